"""Compiler pass 5: lower the checked AST to the typed plan (compiler/plan.py, docs/plan.md).

Runs only when no error was reported, so it may assume names resolve and
types agree. It reads the AST only: expression types come from the typecheck
pass (``ctx.types``) and conditions' and calls' text from the parser
(``Property.source``, ``Playbook.where_source``, ``DeployWhen.source``,
``Call.source``); the source files are only hashed. It builds the plan's
frozen dataclasses directly; alerts, goals and metrics are sorted by name so
that the plan does not depend on file order.

Expressions are lowered recursively: the parser bounds their depth (E102).

>>> from plays.compiler.driver import compile_text
>>> plan = compile_text('metric mau: count\\nalert low { when: mau < 10 }')
>>> plan.alerts[0].when.source, plan.alerts[0].severity
('mau < 10', 'medium')
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal, InvalidOperation

from plays import LANGUAGE_VERSION
from plays.dsl import ast

from . import plan as p
from .context import Context, props_of
from .plan import PLAN_VERSION, Plan
from .types import NUMERIC

_VALUE_TYPES = NUMERIC | {"duration", "date", "bool", "text", "enum"}
_BOOL_OPS = frozenset({"==", "!=", "<", "<=", ">", ">=", "and", "or"})


def lower(ctx: Context, sources) -> Plan:
    """The typed plan of a checked spec set (``sources``: the ``Source``s the modules were parsed from)."""
    digests = sorted((s.path, hashlib.sha256(s.text.encode("utf-8")).hexdigest()) for s in sources)
    whole = hashlib.sha256()
    for path, hexdigest in digests:
        whole.update(f"{path}\0{hexdigest}\n".encode("utf-8"))
    lowerer = _Lowerer(ctx)
    internal = sorted((g for g in ctx.goals.values() if not g.external), key=_by_name)
    external = sorted((g for g in ctx.goals.values() if g.external), key=_by_name)
    return Plan(
        plan_version=PLAN_VERSION,
        language_version=LANGUAGE_VERSION,
        source_hash="sha256:" + whole.hexdigest(),
        sources=tuple(p.SourceFile(path, digest) for path, digest in digests),
        catalog=lowerer.catalog(),
        alerts=tuple(lowerer.alert(a) for a in sorted(ctx.alerts.values(), key=_by_name)),
        goals=tuple(lowerer.goal(g) for g in internal),
        external_goals=tuple(lowerer.external_goal(g) for g in external),
    )


def lower_json(ctx: Context, sources) -> dict:
    """The plan of a checked spec set in its JSON form."""
    return lower(ctx, sources).to_json()


def _by_name(decl) -> str:
    return decl.name


def loc(span) -> p.Loc:
    """A span's start as the plan's ``loc``."""
    return p.Loc(span.path, span.line, span.col)


class _Lowerer:
    def __init__(self, ctx: Context):
        self.cat = ctx.catalog
        self.types = ctx.types

    # catalog -----------------------------------------------------------------
    def catalog(self) -> p.Catalog:
        return p.Catalog(
            attributes=tuple(
                p.Attribute(a.name, a.type, tuple(a.values), loc(a.span)) for a in self.cat.attributes.values()
            ),
            metrics=tuple(
                p.MetricDef(m.name, m.type, m.description, loc(m.span))
                for m in sorted(self.cat.metrics.values(), key=_by_name)
            ),
        )

    # rules -------------------------------------------------------------------
    def alert(self, a: ast.Alert) -> p.Alert:
        props = props_of(a)
        return p.Alert(
            name=a.name,
            title=a.title if a.title is not None else a.name,
            severity=props["severity"].value.name if "severity" in props else "medium",
            where=self.property_condition(props.get("where")),
            when=self.property_condition(props["when"]),
            for_=props["for"].value.value if "for" in props else None,
            cooldown=props["cooldown"].value.value if "cooldown" in props else None,
            playbooks=self.playbooks(a.playbooks, horizon=None),
            loc=loc(a.span),
        )

    def goal(self, g: ast.Goal) -> p.Goal:
        props = props_of(g)
        duration = props["duration"].value.value
        return p.Goal(
            name=g.name,
            title=g.title if g.title is not None else g.name,
            category=props["category"].value.name if "category" in props else "other",
            duration=duration,
            deploy=self.deploy(props["deploy"].value if "deploy" in props else None),
            where=self.property_condition(props.get("where")),
            kpi=self.kpi(props["kpi"]) if "kpi" in props else None,
            playbooks=self.playbooks(g.playbooks, horizon=duration),
            loc=loc(g.span),
        )

    def external_goal(self, g: ast.Goal) -> p.ExternalGoal:
        props = props_of(g)
        start = date.fromisoformat(props["start"].value.value)
        due = date.fromisoformat(props["due"].value.value)
        duration = (due - start).days
        m = props["measure"].value if "measure" in props else None
        return p.ExternalGoal(
            name=g.name,
            title=g.title if g.title is not None else g.name,
            category=props["category"].value.name if "category" in props else "other",
            account=props["account"].value.value,
            measure=p.Measure(m.label, m.op, _number(m.target)) if m else None,
            start=start,
            due=due,
            duration=duration,
            playbooks=self.playbooks(g.playbooks, horizon=duration),
            loc=loc(g.span),
        )

    def deploy(self, v) -> p.Deploy:
        if isinstance(v, ast.DeployOn):
            return p.DeployOn(v.attr.name, v.offset.value if v.offset else 0)
        if isinstance(v, ast.DeployWhen):
            return p.DeployWhen(self.condition(v.condition, v.source))
        return p.DeployManual()  # also the default: a template without `deploy:` is deployed by hand

    def kpi(self, prop: ast.Property) -> p.Kpi:
        v = prop.value
        if isinstance(v, ast.KpiRelative):
            return p.KpiRelative(v.metric.name, v.direction, _number(v.amount))
        return p.KpiCondition(self.condition(v, prop.source))

    # playbooks and tasks -------------------------------------------------------
    def playbooks(self, books, horizon: int | None) -> tuple[p.Playbook, ...]:
        return tuple(
            p.Playbook(
                name=b.name or "default",
                where=self.condition(b.where, b.where_source) if b.where is not None else None,
                tasks=self.tasks(b.tasks, horizon),
                loc=loc(b.span),
            )
            for b in books
        )

    def tasks(self, tasks, horizon: int | None) -> tuple[p.Task, ...]:
        written: dict[str, dict] = {}
        for t in tasks:
            props = props_of(t)
            every = props["every"].value.value if "every" in props else None
            until = props["until"].value.value if "until" in props else (horizon if every is not None else None)
            written[t.name] = {
                "task": t,
                "props": props,
                "due": props["due"].value.value if "due" in props else 0,
                "after": tuple(w.name for w in props["after"].value.names) if "after" in props else (),
                "every": every,
                "until": until,
            }
        offsets = _schedule(written)
        out = []
        for name, w in written.items():
            t, props = w["task"], w["props"]
            out.append(p.Task(
                name=name,
                title=t.title,
                type=props["type"].value.name if "type" in props else "todo",
                owner=props["owner"].value.name if "owner" in props else "csm",
                due=w["due"],
                after=w["after"],
                every=w["every"],
                until=w["until"],
                offset=offsets[name],
                loc=loc(t.span),
            ))
        return tuple(out)

    # expressions ---------------------------------------------------------------
    def property_condition(self, prop: ast.Property | None) -> p.Condition | None:
        return None if prop is None else self.condition(prop.value, prop.source)

    def condition(self, e: ast.Expr, source: str) -> p.Condition:
        """A condition: its tree, where it starts and its text as written (docs/plan.md, "Expressions").

        The parser keeps parentheses (``ast.Paren``), so the expression's span
        starts at a parenthesis that opens it, and ``source`` is the property
        value exactly as the parser read it.
        """
        return p.Condition(self.expr(e), loc(e.span), source)

    def expr(self, e: ast.Expr, enum_context: bool = False) -> p.Expr:
        cat = self.cat
        while isinstance(e, ast.Paren):
            e = e.expr
        if isinstance(e, ast.Literal):
            if e.kind == "string":
                return p.Const("enum" if enum_context else "text", e.value)
            return p.Const(e.kind, _number(e) if e.kind == "percent" else e.value)
        if isinstance(e, ast.Name):
            if e.name in cat.metrics:
                return p.Metric(cat.metrics[e.name].type, e.name)
            if e.name in cat.attributes:
                return p.Attr(cat.attributes[e.name].type, e.name)
            return p.Const("enum", e.name)  # a bare enum value
        if isinstance(e, ast.AttrRef):
            return p.Attr("text" if e.attr == "id" else cat.attributes[e.attr].type, e.attr)
        if isinstance(e, ast.Call):
            return p.Call(self.type_of(e), e.func, tuple(self.expr(a) for a in e.args), e.source)
        if isinstance(e, ast.Unary):
            if e.op == "not":
                return p.Unary("not", "bool", self.expr(e.operand))
            return p.Unary("neg", self.type_of(e), self.expr(e.operand))
        if isinstance(e, ast.Binary):
            enum_cmp = e.op in ("==", "!=") and (self._is_enum(e.left) or self._is_enum(e.right))
            return p.Binary(
                e.op,
                "bool" if e.op in _BOOL_OPS else self.type_of(e),
                self.expr(e.left, enum_cmp),
                self.expr(e.right, enum_cmp),
            )
        if isinstance(e, ast.InList):
            enum_in = self._is_enum(e.operand)
            return p.InList("bool", self.expr(e.operand), tuple(self.expr(i, enum_in) for i in e.items), e.negated)
        if isinstance(e, ast.IsEmpty):
            return p.IsEmpty("bool", self.expr(e.operand), e.negated)
        raise TypeError(f"cannot lower {type(e).__name__}")  # pragma: no cover - the grammar has no other nodes

    def _is_enum(self, node) -> bool:
        """Whether ``node`` is an enum attribute (so a string compared with it is an enum value)."""
        node = ast.unparen(node)
        if isinstance(node, ast.AttrRef):
            name = node.attr
        elif isinstance(node, ast.Name) and node.name not in self.cat.metrics:
            name = node.name
        else:
            return False
        a = self.cat.attributes.get(name)
        return a is not None and a.type == "enum"

    def type_of(self, e: ast.Expr) -> str:
        """The type the typecheck pass recorded for ``e``, as the plan names value types."""
        t = self.types[id(e)].kind
        return t if t in _VALUE_TYPES else "number"


def _schedule(tasks: dict[str, dict]) -> dict[str, int]:
    """Each task's ``offset`` (the planned schedule), without recursion.

    The playbook pass has checked that ``after`` names tasks of the same
    playbook and that they form no cycle; a recurring task follows nothing.
    """
    offset: dict[str, int] = {}
    for name in tasks:
        if name in offset:
            continue
        stack, waiting = [name], {name}
        while stack:
            t = tasks[stack[-1]]
            if t["every"] is not None:
                offset[stack[-1]] = t["every"]
            elif not t["after"]:
                offset[stack[-1]] = t["due"]
            else:
                # The stack is a path of dependencies; `waiting` (the tasks on it) only
                # guards against a cycle that the checks should have stopped: no hang.
                pending = next((a for a in t["after"] if a not in offset and a not in waiting), None)
                if pending is not None:
                    stack.append(pending)
                    waiting.add(pending)
                    continue
                offset[stack[-1]] = max(offset.get(a) or 0 for a in t["after"]) + t["due"]
            waiting.discard(stack.pop())
    return offset


def _number(lit: ast.Literal):
    """A literal's number; percents from their text, so that ``33.3%`` is 0.333 and not 0.33299999999999996."""
    if lit.kind == "percent":
        try:
            return float(Decimal(lit.text.replace(" ", "")[:-1]) / 100)
        except (InvalidOperation, ValueError):
            return lit.value
    return lit.value
