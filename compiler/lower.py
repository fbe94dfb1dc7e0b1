"""Compiler pass 5: lower the checked AST to the plan (docs/plan.md).

Runs only when no error was reported, so it may assume names resolve and
types agree. Dicts are built in the contract's key order; elements are
sorted by name so the plan does not depend on file order.
"""

from __future__ import annotations

import hashlib
from datetime import date

from plays import LANGUAGE_VERSION
from plays.dsl import ast

from .context import Context, props_of
from .types import NUMERIC, infer

PLAN_VERSION = 1


def lower(ctx: Context, sources) -> dict:
    """The plan of a checked spec set."""
    texts = {s.path: s.text for s in sources}
    lowerer = _Lowerer(ctx, texts)
    digests = sorted((s.path, hashlib.sha256(s.text.encode("utf-8")).hexdigest()) for s in sources)
    whole = hashlib.sha256()
    for path, hexdigest in digests:
        whole.update(f"{path}\0{hexdigest}\n".encode("utf-8"))
    internal = [g for g in ctx.goals.values() if not g.external]
    external = [g for g in ctx.goals.values() if g.external]
    return {
        "plan_version": PLAN_VERSION,
        "language_version": LANGUAGE_VERSION,
        "source_hash": "sha256:" + whole.hexdigest(),
        "sources": [{"path": p, "sha256": h} for p, h in digests],
        "catalog": lowerer.catalog(),
        "alerts": [lowerer.alert(a) for a in sorted(ctx.alerts.values(), key=lambda a: a.name)],
        "goals": [lowerer.goal(g) for g in sorted(internal, key=lambda g: g.name)],
        "external_goals": [lowerer.external_goal(g) for g in sorted(external, key=lambda g: g.name)],
    }


def loc(span) -> dict:
    return {"path": span.path, "line": span.line, "col": span.col}


class _Lowerer:
    def __init__(self, ctx: Context, texts: dict[str, str]):
        self.ctx = ctx
        self.catalog_ = ctx.catalog
        self.texts = texts
        self._lines: dict[str, list[str]] = {}

    # catalog -----------------------------------------------------------------
    def catalog(self) -> dict:
        c = self.catalog_
        return {
            "attributes": [
                {"name": a.name, "type": a.type, "values": list(a.values), "loc": loc(a.span)}
                for a in c.attributes.values()
            ],
            "metrics": [
                {"name": m.name, "type": m.type, "description": m.description, "loc": loc(m.span)}
                for m in sorted(c.metrics.values(), key=lambda m: m.name)
            ],
        }

    # rules -------------------------------------------------------------------
    def alert(self, a: ast.Alert) -> dict:
        p = props_of(a)
        return {
            "name": a.name,
            "title": a.title if a.title is not None else a.name,
            "severity": p["severity"].value.name if "severity" in p else "medium",
            "where": self.condition(p["where"].value) if "where" in p else None,
            "when": self.condition(p["when"].value),
            "for": p["for"].value.value if "for" in p else None,
            "cooldown": p["cooldown"].value.value if "cooldown" in p else None,
            "playbooks": self.playbooks(a.playbooks, horizon=None),
            "loc": loc(a.span),
        }

    def goal(self, g: ast.Goal) -> dict:
        p = props_of(g)
        duration = p["duration"].value.value
        return {
            "name": g.name,
            "title": g.title if g.title is not None else g.name,
            "category": p["category"].value.name if "category" in p else "other",
            "duration": duration,
            "deploy": self.deploy(p["deploy"].value if "deploy" in p else None),
            "where": self.condition(p["where"].value) if "where" in p else None,
            "kpi": self.kpi(p["kpi"].value) if "kpi" in p else None,
            "playbooks": self.playbooks(g.playbooks, horizon=duration),
            "loc": loc(g.span),
        }

    def external_goal(self, g: ast.Goal) -> dict:
        p = props_of(g)
        start = p["start"].value.value
        due = p["due"].value.value
        duration = (date.fromisoformat(due) - date.fromisoformat(start)).days
        m = p["measure"].value if "measure" in p else None
        return {
            "name": g.name,
            "title": g.title if g.title is not None else g.name,
            "account": p["account"].value.value,
            "measure": {"label": m.label, "op": m.op, "target": m.target.value} if m else None,
            "start": start,
            "due": due,
            "duration": duration,
            "playbooks": self.playbooks(g.playbooks, horizon=duration),
            "loc": loc(g.span),
        }

    def deploy(self, v) -> dict:
        if isinstance(v, ast.DeployOn):
            return {"kind": "on", "attr": v.attr.name, "offset": v.offset.value if v.offset else 0}
        if isinstance(v, ast.DeployWhen):
            return {"kind": "when", "condition": self.condition(v.condition)}
        return {"kind": "manual"}

    def kpi(self, v) -> dict:
        if isinstance(v, ast.KpiRelative):
            return {"kind": "relative", "metric": v.metric.name, "direction": v.direction, "amount": v.amount.value}
        return {"kind": "condition", "condition": self.condition(v)}

    # playbooks and tasks -------------------------------------------------------
    def playbooks(self, books, horizon: int | None) -> list[dict]:
        out = []
        for b in books:
            out.append(
                {
                    "name": b.name or "default",
                    "where": self.condition(b.where) if b.where is not None else None,
                    "tasks": self.tasks(b.tasks, horizon),
                    "loc": loc(b.span),
                }
            )
        return out

    def tasks(self, tasks, horizon: int | None) -> list[dict]:
        lowered = {}
        for t in tasks:
            p = props_of(t)
            every = p["every"].value.value if "every" in p else None
            until = p["until"].value.value if "until" in p else (horizon if every is not None else None)
            lowered[t.name] = {
                "name": t.name,
                "title": t.title,
                "type": p["type"].value.name if "type" in p else "todo",
                "owner": p["owner"].value.name if "owner" in p else "csm",
                "due": p["due"].value.value if "due" in p else 0,
                "after": [w.name for w in p["after"].value.names] if "after" in p else [],
                "every": every,
                "until": until,
                "offset": None,
                "loc": loc(t.span),
            }
        # The planned schedule: dependencies form a DAG (checked by the playbook pass).
        def offset(name: str, seen=()) -> int:
            task = lowered[name]
            if task["offset"] is None:
                if task["every"] is not None:
                    task["offset"] = task["every"]
                elif not task["after"]:
                    task["offset"] = task["due"]
                else:
                    task["offset"] = max(offset(a) for a in task["after"]) + task["due"]
            return task["offset"]

        for name in lowered:
            offset(name)
        return list(lowered.values())

    # expressions ---------------------------------------------------------------
    def condition(self, e: ast.Expr) -> dict:
        return {"expr": self.expr(e), "loc": loc(e.span), "source": self.source(e.span)}

    def source(self, span) -> str:
        lines = self._lines.get(span.path)
        if lines is None:
            lines = self._lines[span.path] = self.texts.get(span.path, "").split("\n")
        if span.line == span.end_line:
            return lines[span.line - 1][span.col - 1 : span.end_col - 1]
        parts = [lines[span.line - 1][span.col - 1 :]]
        parts += lines[span.line : span.end_line - 1]
        parts.append(lines[span.end_line - 1][: span.end_col - 1])
        return " ".join(p.strip() for p in parts)

    def expr(self, e: ast.Expr, enum_context: bool = False) -> dict:
        cat = self.catalog_
        if isinstance(e, ast.Literal):
            if enum_context and e.kind == "string":
                return {"op": "const", "type": "enum", "value": e.value}
            kind = {"string": "text"}.get(e.kind, e.kind)
            return {"op": "const", "type": kind, "value": e.value}
        if isinstance(e, ast.Name):
            if e.name in cat.metrics:
                return {"op": "metric", "type": cat.metrics[e.name].type, "name": e.name}
            if e.name in cat.attributes:
                return {"op": "attr", "type": cat.attributes[e.name].type, "name": e.name}
            return {"op": "const", "type": "enum", "value": e.name}
        if isinstance(e, ast.AttrRef):
            typ = "text" if e.attr == "id" else cat.attributes[e.attr].type
            return {"op": "attr", "type": typ, "name": e.attr}
        if isinstance(e, ast.Call):
            return {
                "op": "call",
                "type": self.type_of(e),
                "func": e.func,
                "args": [self.expr(a) for a in e.args],
            }
        if isinstance(e, ast.Unary):
            if e.op == "not":
                return {"op": "not", "type": "bool", "arg": self.expr(e.operand)}
            return {"op": "neg", "type": self.type_of(e), "arg": self.expr(e.operand)}
        if isinstance(e, ast.Binary):
            enum_cmp = e.op in ("==", "!=") and self._is_enum(e.left, e.right)
            return {
                "op": e.op,
                "type": "bool" if e.op in _BOOL_OPS else self.type_of(e),
                "left": self.expr(e.left, enum_cmp),
                "right": self.expr(e.right, enum_cmp),
            }
        if isinstance(e, ast.InList):
            enum_in = self._is_enum(e.operand)
            return {
                "op": "in",
                "type": "bool",
                "arg": self.expr(e.operand),
                "items": [self.expr(i, enum_in) for i in e.items],
                "negated": e.negated,
            }
        if isinstance(e, ast.IsEmpty):
            return {"op": "is_empty", "type": "bool", "arg": self.expr(e.operand), "negated": e.negated}
        raise TypeError(f"cannot lower {type(e).__name__}")  # pragma: no cover - grammar has no other nodes

    def _is_enum(self, *nodes) -> bool:
        for n in nodes:
            name = n.name if isinstance(n, ast.Name) else n.attr if isinstance(n, ast.AttrRef) else None
            a = self.catalog_.attributes.get(name) if name else None
            if a is not None and a.type == "enum" and not (isinstance(n, ast.Name) and name in self.catalog_.metrics):
                return True
        return False

    def type_of(self, e: ast.Expr) -> str:
        t = infer(e, self.catalog_).kind
        return t if t in NUMERIC or t in ("duration", "date", "bool", "text", "enum") else "number"


_BOOL_OPS = frozenset({"==", "!=", "<", "<=", ">", ">=", "and", "or"})
