"""The semantic change list between two plans: locations and formatting are not changes, meaning is.

Rules are matched by kind and name. Two rules are the same when their
normalized forms are equal: every ``loc`` and every ``source`` text is left
out and expressions are compared as trees, so a reformatted condition, a
moved rule or a reordered spec file is no change. A removed and an added
rule of the same kind with the same body are one rule ``renamed``. Messages
quote the conditions as written (their ``source``).

>>> from plays.compiler.driver import compile_text
>>> base = compile_text('metric mau: count\\nalert low { when: mau < 10\\n cooldown: 30d }')
>>> head = compile_text('metric mau: count\\n\\nalert low {\\n  when: mau<10\\n  cooldown: 14d\\n}')
>>> [(c.name, c.change, c.changes) for c in compare(base, head)]
[('low', 'changed', ('cooldown: 30d → 14d',))]
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass

from plays.compiler.plan import (
    Alert, Attr, Binary, Call, Condition, Const, DeployManual, DeployOn, DeployWhen, ExternalGoal, Goal, InList,
    IsEmpty, KpiCondition, KpiRelative, Metric, Plan, Playbook, Task, Unary, walk,
)

KINDS = ("alert", "goal", "external_goal")
CHANGES = ("added", "removed", "changed", "renamed", "unchanged")


@dataclass(frozen=True, slots=True)
class RuleChange:
    """One rule's change between base and head (``base``/``head`` are None when it is absent on that side)."""

    kind: str
    name: str
    change: str
    changes: tuple[str, ...]
    base: Alert | Goal | ExternalGoal | None
    head: Alert | Goal | ExternalGoal | None
    renamed_from: str | None = None


def compare(base: Plan, head: Plan) -> list[RuleChange]:
    """Every rule of either plan with its change, in head order (then the removed ones, in base order)."""
    out: list[RuleChange] = []
    for kind in KINDS:
        olds = {r.name: r for r in _of(base, kind)}
        news = {r.name: r for r in _of(head, kind)}
        added = [r for n, r in news.items() if n not in olds]
        removed = [r for n, r in olds.items() if n not in news]
        renamed: dict[str, Alert | Goal | ExternalGoal] = {}  # new name -> old rule
        free = list(removed)
        for r in added:
            body = normal(r, with_name=False)
            match = next((o for o in free if normal(o, with_name=False) == body), None)
            if match is not None:
                free.remove(match)
                renamed[r.name] = match
        for name, r in news.items():
            if name in olds:
                diffs = rule_changes(olds[name], r)
                out.append(RuleChange(kind, name, "changed" if diffs else "unchanged", tuple(diffs), olds[name], r))
            elif name in renamed:
                old = renamed[name]
                out.append(RuleChange(kind, name, "renamed", (f"renamed from {old.name}",), old, r, old.name))
            else:
                out.append(RuleChange(kind, name, "added", (), None, r))
        for r in free:
            out.append(RuleChange(kind, r.name, "removed", (), r, None))
    return out


def _of(plan: Plan, kind: str):
    return {"alert": plan.alerts, "goal": plan.goals, "external_goal": plan.external_goals}[kind]


def catalog_changes(base: Plan, head: Plan) -> list[str]:
    """What changed in the account catalog: attributes and metrics added, removed, retyped, re-described."""
    out: list[str] = []
    for what, olds, news in (("attribute", base.catalog.attributes, head.catalog.attributes),
                             ("metric", base.catalog.metrics, head.catalog.metrics)):
        old = {x.name: x for x in olds}
        new = {x.name: x for x in news}
        for name, x in new.items():
            if name not in old:
                out.append(f"{what} {name}: added ({_type(x)})")
            elif _type(old[name]) != _type(x):
                out.append(f"{what} {name}: {_type(old[name])} → {_type(x)}")
            elif getattr(x, "description", None) != getattr(old[name], "description", None):
                out.append(f"{what} {name}: description {_q(old[name].description or '')} → {_q(x.description or '')}")
        out.extend(f"{what} {name}: removed" for name in old if name not in new)
    return out


def _type(x) -> str:
    values = getattr(x, "values", ())
    return f"{x.type}({', '.join(values)})" if values else x.type


# --- normal forms ----------------------------------------------------------------------------------


def expr_key(expr) -> tuple:
    """An expression tree as a flat tuple (pre-order, with each node's arity): equal trees, equal keys; iterative."""
    out = []
    for n in walk(expr):
        if isinstance(n, Const):
            v = n.value
            out.append(("const", n.type, float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v))
        elif isinstance(n, (Metric, Attr)):
            out.append((n.op, n.name))
        elif isinstance(n, Call):
            out.append(("call", n.func, len(n.args)))
        elif isinstance(n, (Unary, Binary)):
            out.append((n.op,))
        elif isinstance(n, IsEmpty):
            out.append(("is_empty", n.negated))
        elif isinstance(n, InList):
            out.append(("in", n.negated, len(n.items)))
    return tuple(out)


def normal(obj, *, with_name: bool = True):
    """A plan element without locations and source text, as nested tuples (conditions as expression keys)."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, Condition):
        return ("cond", expr_key(obj.expr))
    if isinstance(obj, tuple):
        if obj and all(isinstance(t, Task) for t in obj):  # task order in a playbook does not change what it does
            return tuple(sorted((normal(t) for t in obj), key=repr))
        return tuple(normal(x) for x in obj)
    if is_dataclass(obj):
        skip = {"loc", "source"} | (set() if with_name else {"name"})
        return (type(obj).__name__, *((f.name, normal(getattr(obj, f.name))) for f in fields(obj)
                                      if f.name not in skip))
    return repr(obj)


# --- field-level changes, in the language's words ------------------------------------------------


def rule_changes(old, new) -> list[str]:
    """The differences between two versions of one rule, one short line each."""
    out: list[str] = []
    if old.title != new.title:
        out.append(f"title: {_q(old.title)} → {_q(new.title)}")
    if isinstance(old, Alert):
        _field(out, "severity", old.severity, new.severity)
        _cond(out, "where", old.where, new.where)
        _cond(out, "when", old.when, new.when)
        _field(out, "for", _days(old.for_), _days(new.for_))
        _field(out, "cooldown", _days(old.cooldown), _days(new.cooldown))
    elif isinstance(old, Goal):
        _field(out, "category", old.category, new.category)
        _field(out, "duration", _days(old.duration), _days(new.duration))
        if normal(old.deploy) != normal(new.deploy):
            out.append(f"deploy: {_deploy(old.deploy)} → {_deploy(new.deploy)}")
        _cond(out, "where", old.where, new.where)
        if normal(old.kpi) != normal(new.kpi):
            out.append(f"kpi: {_kpi(old.kpi)} → {_kpi(new.kpi)}")
    else:
        _field(out, "category", old.category, new.category)
        _field(out, "account", _q(old.account), _q(new.account))
        if normal(old.measure) != normal(new.measure):
            out.append(f"measure: {_measure(old.measure)} → {_measure(new.measure)}")
        _field(out, "start", old.start.isoformat(), new.start.isoformat())
        _field(out, "due", old.due.isoformat(), new.due.isoformat())
    out.extend(playbook_changes(old.playbooks, new.playbooks))
    return out


def playbook_changes(old: tuple[Playbook, ...], new: tuple[Playbook, ...]) -> list[str]:
    out: list[str] = []
    olds = {b.name: b for b in old}
    news = {b.name: b for b in new}
    for name, b in news.items():
        if name not in olds:
            out.append(f"playbook {name}: added" + (f" (where {b.where.source})" if b.where else ""))
            continue
        o = olds[name]
        if normal(o) == normal(b):
            continue
        head = f"playbook {name}: "
        if normal(o.where) != normal(b.where):
            out.append(head + _cond_text("where", o.where, b.where))
        ot = {t.name: t for t in o.tasks}
        nt = {t.name: t for t in b.tasks}
        for tname, t in nt.items():
            if tname not in ot:
                out.append(head + f"task {tname} added")
            else:
                for d in task_changes(ot[tname], t):
                    out.append(head + f"task {tname}: {d}")
        for tname in ot:
            if tname not in nt:
                out.append(head + f"task {tname} removed")
    for name in olds:
        if name not in news:
            out.append(f"playbook {name}: removed")
    common_old = [n for n in olds if n in news]
    common_new = [n for n in news if n in olds]
    if common_old != common_new:  # the first playbook whose `where` holds is chosen: order matters
        out.append(f"playbook order: {', '.join(common_old)} → {', '.join(common_new)}")
    return out


def task_changes(old: Task, new: Task) -> list[str]:
    out: list[str] = []
    if old.title != new.title:
        out.append(f"title {_q(old.title)} → {_q(new.title)}")
    for label, a, b in (("type", old.type, new.type), ("owner", old.owner, new.owner),
                        ("due", _days(old.due), _days(new.due)),
                        ("after", ", ".join(old.after) or "none", ", ".join(new.after) or "none"),
                        ("every", _days(old.every), _days(new.every)), ("until", _days(old.until), _days(new.until))):
        if a != b:
            out.append(f"{label} {a} → {b}")
    return out


def _field(out: list[str], label: str, a, b) -> None:
    if a != b:
        out.append(f"{label}: {a} → {b}")


def _cond(out: list[str], label: str, a: Condition | None, b: Condition | None) -> None:
    if normal(a) != normal(b):
        out.append(_cond_text(label, a, b))


def _cond_text(label: str, a: Condition | None, b: Condition | None) -> str:
    """``when: pct_change(mau, 7d) <= -20% → <= -30%``: the common beginning (up to a space) said once."""
    if a is None or b is None:
        return f"{label}: {a.source if a else 'none'} → {b.source if b else 'none'}"
    x, y = a.source.split(), b.source.split()
    k = 0
    while k < min(len(x), len(y)) and x[k] == y[k]:
        k += 1
    if k >= 2 and k < len(y):  # one word of context: `<= -20% → <= -30%`
        return f"{label}: {' '.join(x)} → {' '.join(y[k - 1:])}"
    return f"{label}: {' '.join(x)} → {' '.join(y)}"


def _days(n: int | None) -> str:
    return "none" if n is None else f"{n}d"


def _q(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def _deploy(d) -> str:
    if isinstance(d, DeployOn):
        off = f" {'+' if d.offset >= 0 else '-'} {abs(d.offset)}d" if d.offset else ""
        return f"on {d.attr}{off}"
    if isinstance(d, DeployWhen):
        return f"when {d.condition.source}"
    assert isinstance(d, DeployManual)
    return "manual"


def _kpi(k) -> str:
    if k is None:
        return "none"
    if isinstance(k, KpiCondition):
        return k.condition.source
    assert isinstance(k, KpiRelative)
    return f"{k.metric} {k.direction} {k.amount:g}" if k.amount >= 1 else f"{k.metric} {k.direction} {k.amount * 100:g}%"


def _measure(m) -> str:
    return "none" if m is None else f"{_q(m.label)} target {m.op} {m.target:g}"
