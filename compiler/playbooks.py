"""Compiler pass 3: playbooks, tasks and goal rules.

Alert playbooks hold single tasks; goal playbooks' dependencies form a DAG;
segment-specific playbooks are checked for one that can never be chosen and,
without a default, for enum combinations none covers. External goals take no
automation and no account metric as KPI.
"""

from __future__ import annotations

from datetime import date
from itertools import product

from plays.diagnostics import Note, suggest
from plays.dsl import ast

from plays.dsl.language import MAX_DAYS

from .context import TASK_TYPES, Context, props_of

# Above this many enum combinations the coverage analysis is skipped.
MAX_COMBINATIONS = 4096


def check_playbooks(ctx: Context) -> None:
    """Check every alert's and goal's playbooks, tasks and goal-specific rules."""
    for alert in ctx.alerts.values():
        _check_block(ctx, alert, is_alert=True)
    for goal in ctx.goals.values():
        _check_block(ctx, goal, is_alert=False)
        _check_goal(ctx, goal)


def _check_block(ctx: Context, decl, *, is_alert: bool) -> None:
    what = "alert" if is_alert else "external goal" if decl.external else "goal"
    books = decl.playbooks
    if not books:
        ctx.warning("W402", f"this {what} has no playbook: it creates no tasks", decl.span)
        return
    horizon = None if is_alert else _goal_days(decl)
    names: dict[str, ast.Playbook] = {}
    for i, b in enumerate(books):
        last = i == len(books) - 1
        if b.name is None and len(books) > 1:
            ctx.error("E405", "name this playbook: a block with several playbooks names each one", b.span)
        elif b.name is not None:
            if b.name in names:
                ctx.error("E403", f"playbook `{b.name}` is declared twice", b.span,
                          notes=[Note("first declared here", names[b.name].span)])
            else:
                names[b.name] = b
        if b.where is None and not last:
            ctx.error(
                "E404",
                "a playbook without `where` is the default and must come last",
                b.span,
                notes=[Note("the playbooks after it could never be chosen")],
            )
        _check_tasks(ctx, b, is_alert=is_alert, horizon=horizon)
    _check_coverage(ctx, decl, books)


def _goal_days(goal: ast.Goal) -> int | None:
    """How many days a goal lasts (its `duration:`, or an external goal's `due` - `start`); None when unknown."""
    p = {q.key: q.value for q in reversed(goal.props)}  # the first of a repeated key, as props_of
    if not goal.external:
        v = p.get("duration")
        return v.value if isinstance(v, ast.Literal) and v.kind == "duration" and v.value > 0 else None
    start, due = p.get("start"), p.get("due")
    if not all(isinstance(v, ast.Literal) and v.kind == "date" for v in (start, due)):
        return None
    try:
        days = (date.fromisoformat(due.value) - date.fromisoformat(start.value)).days
    except ValueError:  # not a calendar date: E305 says so
        return None
    return days if days > 0 else None


# --- tasks ---------------------------------------------------------------------


def _check_tasks(ctx: Context, book: ast.Playbook, *, is_alert: bool, horizon: int | None = None) -> None:
    tasks: dict[str, ast.Task] = {}
    for t in book.tasks:
        if t.name in tasks:
            ctx.error("E402", f"task `{t.name}` is declared twice in this playbook", t.span,
                      notes=[Note("first declared here", tasks[t.name].span)])
            continue
        tasks[t.name] = t
    followed: set[str] = set()
    for t in tasks.values():
        seen: dict[str, ast.Property] = {}
        for p in t.props:
            if p.key in seen:
                ctx.error("E211", f"`{p.key}` is given twice", p.span, notes=[Note("first given here", seen[p.key].span)])
                continue
            seen[p.key] = p
            if is_alert and p.key in ("after", "every", "until"):
                ctx.error(
                    "E400",
                    f"alert playbooks hold single tasks: `{p.key}` belongs in a goal's playbook",
                    p.span,
                )
            elif p.key == "type":
                w = p.value
                if w.name not in TASK_TYPES:
                    ctx.error("E208", f"`{w.name}` is not a task type; use one of {', '.join(TASK_TYPES)}",
                              w.span, suggestion=suggest(w.name, TASK_TYPES))
            elif p.key in ("due", "every", "until"):
                _check_duration(ctx, p)
            elif p.key == "after" and not is_alert:
                for w in p.value.names:
                    if w.name not in tasks:
                        ctx.error("E205", f"unknown task `{w.name}` in `after`", w.span,
                                  suggestion=suggest(w.name, [n for n in tasks if n != t.name]))
                    else:
                        followed.add(w.name)
        if "until" in seen and "every" not in seen and not is_alert:
            ctx.error("E406", "`until` goes with `every`: this task does not recur", seen["until"].span)
        if "every" in seen and "after" in seen and not is_alert:
            ctx.error("E407", "a recurring task cannot follow other tasks: its due dates come from `every`",
                      seen["after"].span)
    if not is_alert:
        for name in sorted(followed):
            t = tasks[name]
            every = next((p for p in t.props if p.key == "every"), None)
            if every is not None:
                ctx.error("E407", f"recurring task `{name}` cannot be followed by other tasks: it has no single due date",
                          every.span)
        if _check_cycles(ctx, tasks):
            offsets = _check_schedule(ctx, tasks)
            if offsets is not None:
                _check_within_goal(ctx, tasks, offsets, horizon)


def _days(t: ast.Task, key: str) -> int:
    p = next((p for p in t.props if p.key == key), None)
    v = p.value if p is not None else None
    return v.value if isinstance(v, ast.Literal) and v.kind == "duration" else 0


def _check_schedule(ctx: Context, tasks: dict[str, ast.Task]) -> dict[str, int] | None:
    """E408: a task planned more than ``MAX_DAYS`` after the start (chained `due:`s add up).

    Returns each task's planned day (its offset from the start), or None after an E408.
    """
    deps = {name: [w.name for p in t.props if p.key == "after" for w in p.value.names if w.name in tasks]
            for name, t in tasks.items()}
    offset: dict[str, int] = {}
    for root in tasks:  # iterative: a dependency's offset before its follower's (no cycle here)
        stack = [root]
        while stack:
            name = stack[-1]
            if name in offset:
                stack.pop()
                continue
            pending = [d for d in deps[name] if d not in offset]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            offset[name] = max((offset[d] for d in deps[name]), default=0) + _days(tasks[name], "due")
            if offset[name] > MAX_DAYS:
                ctx.error("E408", f"task `{name}` would be due {offset[name]:,} days after the start; "
                                  f"plans reach at most {MAX_DAYS:,} days (100 years)", tasks[name].span)
                return None  # once per playbook, not again for every task after it
    return offset


def _check_within_goal(ctx: Context, tasks: dict[str, ast.Task], offset: dict[str, int], horizon: int | None) -> None:
    """W403: a task due, or recurring, after its goal ends; W404: a recurring task with no occurrence.

    ``offset`` is each single task's planned day (chained `after:` dues added up, as lowering plans
    them); a recurring task is due at k * every for k = 1, 2, ... while k * every <= until (default:
    the goal's duration), LANGUAGE.md's "Task due dates".
    """
    for name, t in tasks.items():
        p = props_of(t)
        every, until = _duration(p.get("every")), _duration(p.get("until"))
        if "every" in p:
            if not every:  # not a duration, or 0d: E304 says so
                continue
            last = until if until is not None else horizon
            if last is None:
                continue
            if every > last:
                why = (f"every {every}d but only until day {until}" if until is not None
                       else f"every {every}d but the goal lasts {horizon}d")
                ctx.warning("W404", f"task `{name}` is never created: it recurs {why}", p["every"].value.span)
            elif horizon is not None and until is not None and (until // every) * every > horizon:
                n = (until // every) - (horizon // every)
                ctx.warning("W403", f"task `{name}` recurs until day {until} of a {horizon}-day goal: "
                                    f"{n} of its occurrences fall after the goal ends", p["until"].value.span,
                            suggestion=f"{horizon}d")
            continue
        if horizon is None or offset[name] <= horizon:
            continue
        deps = [w.name for w in p["after"].value.names if w.name in offset] if "after" in p else []
        if any(offset[d] > horizon for d in deps):
            continue  # the task it follows is already late: that one is reported
        notes = []
        if deps:
            first = max(deps, key=lambda d: offset[d])
            notes.append(Note(f"it is due {offset[name] - offset[first]}d after `{first}`, "
                              f"which is due on day {offset[first]}", tasks[first].span))
        span = p["due"].value.span if "due" in p else t.span
        ctx.warning("W403", f"task `{name}` is due on day {offset[name]} of a {horizon}-day goal: "
                            f"after the goal ends", span, notes=notes)


def _duration(p: ast.Property | None) -> int | None:
    v = p.value if p is not None else None
    return v.value if isinstance(v, ast.Literal) and v.kind == "duration" and v.value >= 0 else None


def _check_duration(ctx: Context, p: ast.Property) -> None:
    v = p.value
    if not (isinstance(v, ast.Literal) and v.kind == "duration"):
        shown = v.text if isinstance(v, ast.Literal) else getattr(v, "name", "this")
        ctx.error("E304", f"`{p.key}:` takes a duration like 5d or 2w, not `{shown}`", p.value_span)
    elif v.value < 0:
        ctx.error("E304", f"`{p.key}:` cannot be negative", v.span)
    elif p.key == "every" and v.value == 0:
        ctx.error("E304", "`every:` must be longer than 0d", v.span)


def _check_cycles(ctx: Context, tasks: dict[str, ast.Task]) -> bool:
    """Report each dependency cycle once, naming its members in order; whether there was none."""
    clean = True
    deps = {
        name: [w.name for p in t.props if p.key == "after" for w in p.value.names if w.name in tasks]
        for name, t in tasks.items()
    }
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for root in tasks:
        if state.get(root):
            continue
        # iterative DFS: (node, index of the next dependency)
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = [root]
        state[root] = 1
        while stack:
            node, i = stack[-1]
            if i < len(deps[node]):
                stack[-1] = (node, i + 1)
                nxt = deps[node][i]
                if state.get(nxt) == 1:
                    clean = False
                    cycle = path[path.index(nxt):]
                    members = " -> ".join([*cycle, nxt])
                    first = tasks[cycle[0]]
                    if len(cycle) == 1:  # point at the name in its own `after:` list
                        own = next(w for p in first.props if p.key == "after" for w in p.value.names if w.name == nxt)
                        ctx.error("E401", f"task `{nxt}` lists itself in `after:`; a task cannot come after itself",
                                  own.span)
                    else:
                        ctx.error(
                            "E401",
                            f"these tasks depend on each other in a circle: {members}",
                            first.span,
                            notes=[Note(f"`{m}` is here", tasks[m].span) for m in cycle[1:]],
                        )
                elif not state.get(nxt):
                    state[nxt] = 1
                    stack.append((nxt, 0))
                    path.append(nxt)
            else:
                state[node] = 2
                stack.pop()
                path.pop()
    return clean


# --- segment coverage ------------------------------------------------------------


class _Unknown:
    """A sub-condition that is not about enum attributes: neither true nor false here."""


UNKNOWN = _Unknown()


def _enum_attrs_used(ctx: Context, expr, out: set[str]) -> None:
    attributes = ctx.catalog.attributes
    for node in ast.find_all(expr, (ast.Name, ast.AttrRef)):
        name = node.name if isinstance(node, ast.Name) else node.attr
        if name in attributes and attributes[name].type == "enum":
            out.add(name)


def _enum_value(ctx: Context, e, combo: dict[str, str]):
    """The enum value an operand stands for under ``combo``: an attribute's value or a bare word."""
    e = ast.unparen(e)
    name = e.name if isinstance(e, ast.Name) else e.attr if isinstance(e, ast.AttrRef) else None
    if name is not None and name in combo:
        return ("attr", combo[name])
    if isinstance(e, ast.Name) and name not in ctx.catalog.attributes and name not in ctx.catalog.metrics:
        return ("word", e.name)
    if isinstance(e, ast.Literal) and e.kind == "string":
        return ("word", e.value)
    return None


def _holds(ctx: Context, e, combo: dict[str, str]):
    """Three-valued truth of ``e`` for one combination of enum values (UNKNOWN when it depends on more).

    Recursive over ``and``/``or``/``not``: the parser bounds the depth (E102).
    """
    e = ast.unparen(e)
    if isinstance(e, ast.Binary):
        if e.op in ("and", "or"):
            a, b = _holds(ctx, e.left, combo), _holds(ctx, e.right, combo)
            if e.op == "and":
                if a is False or b is False:
                    return False
                return True if a is True and b is True else UNKNOWN
            if a is True or b is True:
                return True
            return False if a is False and b is False else UNKNOWN
        if e.op in ("==", "!="):
            left, right = _enum_value(ctx, e.left, combo), _enum_value(ctx, e.right, combo)
            if left and right and "attr" in (left[0], right[0]):
                same = left[1] == right[1]
                return same if e.op == "==" else not same
        return UNKNOWN
    if isinstance(e, ast.Unary) and e.op == "not":
        v = _holds(ctx, e.operand, combo)
        return UNKNOWN if v is UNKNOWN else not v
    if isinstance(e, ast.InList):
        left = _enum_value(ctx, e.operand, combo)
        items = [_enum_value(ctx, i, combo) for i in e.items]
        if left and left[0] == "attr" and all(items):
            inside = any(i[1] == left[1] for i in items)
            return inside != e.negated
        return UNKNOWN
    if isinstance(e, ast.Literal) and e.kind == "bool":
        return e.value
    return UNKNOWN


def _check_coverage(ctx: Context, decl, books) -> None:
    if len(books) < 2 and (not books or books[0].where is None):
        return
    used: set[str] = set()
    for b in books:
        if b.where is not None:
            _enum_attrs_used(ctx, b.where, used)
    attrs = sorted(used)
    sizes = [len(ctx.catalog.attributes[a].values) for a in attrs]
    total = 1
    for n in sizes:
        total *= n
    if not attrs or total > MAX_COMBINATIONS or 0 in sizes:
        return
    combos = [dict(zip(attrs, values)) for values in product(*(ctx.catalog.attributes[a].values for a in attrs))]
    verdicts = [[True if b.where is None else _holds(ctx, b.where, c) for c in combos] for b in books]
    # A playbook can be chosen for a combination when no earlier one surely takes it and its own
    # `where` may hold there.
    taken = [False] * len(combos)
    for i, (b, verdict) in enumerate(zip(books, verdicts)):
        choosable = any(v is not False and not t for v, t in zip(verdict, taken))
        after_default = any(x.where is None for x in books[:i])
        if not choosable and b.where is not None and not after_default:  # after a default: E404 says it
            why = ("its `where` can never hold" if all(v is False for v in verdict)
                   else "the playbooks before it already take every account it matches")
            ctx.warning("W400", f"playbook `{b.name or 'default'}` can never be chosen: {why}", b.span)
        taken = [t or v is True for t, v in zip(taken, verdict)]
    if any(b.where is None for b in books):
        return
    uncovered = [c for i, c in enumerate(combos) if all(v[i] is False for v in verdicts)]
    if uncovered:
        shown = ["(" + ", ".join(f"{a} = {c[a]}" for a in attrs) + ")" for c in uncovered[:5]]
        more = f" and {len(uncovered) - 5} more" if len(uncovered) > 5 else ""
        ctx.warning(
            "W401",
            f"no playbook covers {', '.join(shown)}{more}; accounts there get no tasks",
            books[-1].span,
            notes=[Note("add a default playbook (one without `where`) last, or cover these")],
        )


# --- goals -------------------------------------------------------------------------


def _check_goal(ctx: Context, goal: ast.Goal) -> None:
    p = props_of(goal)
    deploy = p.get("deploy")
    kpi = p.get("kpi")
    cat = ctx.catalog
    if goal.external:
        if deploy is not None and not isinstance(deploy.value, ast.DeployManual):
            ctx.error(
                "E500",
                "automation is for internal goals: an external goal is deployed by its CSM on its `start` date",
                deploy.span,
            )
        if kpi is not None:
            metrics = _metrics_in(kpi.value, cat)
            ctx.error(
                "E501",
                "an external goal's KPI is a customer-tracked `measure:`, not an account metric"
                + (f" (`{metrics[0]}`)" if metrics else ""),
                kpi.span,
            )
        start, due = p.get("start"), p.get("due")
        if start and due and isinstance(start.value, ast.Literal) and isinstance(due.value, ast.Literal):
            if start.value.kind == due.value.kind == "date" and due.value.value <= start.value.value:
                ctx.error("E504", f"`due` ({due.value.text}) must come after `start` ({start.value.text})", due.value.span)
        return
    if deploy is not None and isinstance(deploy.value, ast.DeployOn):
        attr = deploy.value.attr
        dates = [a.name for a in cat.attributes.values() if a.type == "date"]
        if attr.name not in cat.attributes:
            ctx.error("E200", f"unknown attribute `{attr.name}`", attr.span, suggestion=suggest(attr.name, dates))
        elif attr.name not in dates:
            ctx.error("E502", f"`deploy: on` takes a date attribute; `{attr.name}` is {cat.attributes[attr.name].type}",
                      attr.span, suggestion=suggest(attr.name, dates))
    if kpi is not None and isinstance(kpi.value, ast.KpiRelative):
        rel = kpi.value
        if rel.metric.name not in cat.metrics:
            ctx.error("E503", f"`{rel.metric.name} {rel.direction} ...` needs a metric; `{rel.metric.name}` is not one",
                      rel.metric.span, suggestion=suggest(rel.metric.name, cat.metrics))
        if not (isinstance(rel.amount, ast.Literal) and rel.amount.kind == "percent"):
            ctx.error("E304", f"`{rel.direction}` takes a percent like 10%", rel.amount.span)
        elif rel.metric.name in cat.metrics:
            _check_relative_base(ctx, goal, rel, p)


def _check_relative_base(ctx: Context, goal: ast.Goal, rel: ast.KpiRelative, p: dict[str, ast.Property]) -> None:
    """W500: ``mau up 20%`` measured from a deploy value that nothing keeps above 0.

    ``up P%`` holds when m >= (1 + P) * m0 and ``down P%`` when m <= (1 - P) * m0, m0 being the
    value at the deploy snapshot (LANGUAGE.md). From m0 = 0 both hold at once (any m >= 0 is at
    least 0, and a count or amount that stays at 0 is "down"); from an empty m0 never. Any metric
    can be 0 at deploy (a new account's MAU, a trial's MRR, 0% adoption), so an automatic deploy
    (`on`, `when`) is sound only when the goal's `where:` or `deploy: when` requires the metric
    above 0. A manual deploy (also the default) is not flagged: the CSM who deploys picks the account.
    """
    m = rel.metric.name
    if not ("deploy" in p and isinstance(p["deploy"].value, (ast.DeployOn, ast.DeployWhen))):
        return
    guards = [p["where"].value if "where" in p else None]
    if "deploy" in p and isinstance(p["deploy"].value, ast.DeployWhen):
        guards.append(p["deploy"].value.condition)
    if any(g is not None and _requires_positive(g, m) for g in guards):
        return
    pct = rel.amount.text
    met = "met at once (every value of 0 or more counts)" if rel.direction == "up" else "met as long as it stays at 0"
    ctx.warning(
        "W500",
        f"`{m} {rel.direction} {pct}` is measured from {m} at deploy: from 0 it is {met}, "
        f"and from an empty value never",
        rel.metric.span,
        notes=[Note(f"deploy only where there is a base to measure from: add `{m} > 0` to the goal's `where:`")],
    )


def _requires_positive(e, metric: str) -> bool:
    """Whether condition ``e`` holds only when ``metric`` is above 0: one of its top-level `and`
    operands is ``metric > c`` (c >= 0) or ``metric >= c`` (c > 0), either way round."""
    stack = [e]
    while stack:
        e = ast.unparen(stack.pop())
        if isinstance(e, ast.Binary) and e.op == "and":
            stack.extend((e.left, e.right))
            continue
        if not (isinstance(e, ast.Binary) and e.op in ("<", "<=", ">", ">=")):
            continue
        left, right, op = ast.unparen(e.left), ast.unparen(e.right), e.op
        if isinstance(left, ast.Literal):  # `0 < m` is `m > 0`
            left, right, op = right, left, {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
        if not (isinstance(left, ast.Name) and left.name == metric and isinstance(right, ast.Literal)
                and right.kind in ("number", "percent", "money")):
            continue
        if (op == ">" and right.value >= 0) or (op == ">=" and right.value > 0):
            return True
    return False


def _metrics_in(e, cat) -> list[str]:
    if isinstance(e, ast.KpiRelative):
        return [e.metric.name]
    return [n.name for n in ast.find_all(e, ast.Name) if n.name in cat.metrics]
