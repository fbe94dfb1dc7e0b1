"""Compiler pass 5: lower the checked AST to the plan (docs/plan.md).

Runs only when no error was reported, so it may assume names resolve and
types agree. Dicts are built in the contract's key order; alerts, goals and
metrics are sorted by name so that the plan does not depend on file order.

>>> from plays.compiler.driver import compile_text
>>> plan = compile_text('metric mau: count\\nalert low { when: mau < 10 }')
>>> plan.alerts[0].when.source, plan.alerts[0].severity
('mau < 10', 'medium')
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from datetime import date
from decimal import Decimal, InvalidOperation

from plays import LANGUAGE_VERSION
from plays.dsl import ast

from .context import Context, props_of
from .plan import PLAN_VERSION, Plan
from .types import NUMERIC, infer

_VALUE_TYPES = NUMERIC | {"duration", "date", "bool", "text", "enum"}
_BOOL_OPS = frozenset({"==", "!=", "<", "<=", ">", ">=", "and", "or"})


def lower(ctx: Context, sources) -> Plan:
    """The typed plan of a checked spec set (``sources``: the ``Source``s the modules were parsed from)."""
    return Plan.from_json(lower_json(ctx, sources), validated=True)


def lower_json(ctx: Context, sources) -> dict:
    """The plan of a checked spec set in its JSON form."""
    texts = {s.path: s.text for s in sources}
    digests = sorted((s.path, hashlib.sha256(s.text.encode("utf-8")).hexdigest()) for s in sources)
    whole = hashlib.sha256()
    for path, hexdigest in digests:
        whole.update(f"{path}\0{hexdigest}\n".encode("utf-8"))
    lowerer = _Lowerer(ctx, texts)
    internal = sorted((g for g in ctx.goals.values() if not g.external), key=_by_name)
    external = sorted((g for g in ctx.goals.values() if g.external), key=_by_name)
    return {
        "plan_version": PLAN_VERSION,
        "language_version": LANGUAGE_VERSION,
        "source_hash": "sha256:" + whole.hexdigest(),
        "sources": [{"path": p, "sha256": h} for p, h in digests],
        "catalog": lowerer.catalog(),
        "alerts": [lowerer.alert(a) for a in sorted(ctx.alerts.values(), key=_by_name)],
        "goals": [lowerer.goal(g) for g in internal],
        "external_goals": [lowerer.external_goal(g) for g in external],
    }


def _by_name(decl) -> str:
    return decl.name


def loc(span) -> dict:
    """A span's start as the plan's ``loc``."""
    return {"path": span.path, "line": span.line, "col": span.col}


class _Lowerer:
    def __init__(self, ctx: Context, texts: dict[str, str]):
        self.cat = ctx.catalog
        self.texts = texts
        self._line_starts: dict[str, list[int]] = {}

    # catalog -----------------------------------------------------------------
    def catalog(self) -> dict:
        return {
            "attributes": [
                {"name": a.name, "type": a.type, "values": list(a.values), "loc": loc(a.span)}
                for a in self.cat.attributes.values()
            ],
            "metrics": [
                {"name": m.name, "type": m.type, "description": m.description, "loc": loc(m.span)}
                for m in sorted(self.cat.metrics.values(), key=_by_name)
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
            "category": p["category"].value.name if "category" in p else "other",
            "account": p["account"].value.value,
            "measure": {"label": m.label, "op": m.op, "target": _number(m.target)} if m else None,
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
        return {"kind": "manual"}  # also the default: a template without `deploy:` is deployed by hand

    def kpi(self, v) -> dict:
        if isinstance(v, ast.KpiRelative):
            return {"kind": "relative", "metric": v.metric.name, "direction": v.direction, "amount": _number(v.amount)}
        return {"kind": "condition", "condition": self.condition(v)}

    # playbooks and tasks -------------------------------------------------------
    def playbooks(self, books, horizon: int | None) -> list[dict]:
        return [
            {
                "name": b.name or "default",
                "where": self.condition(b.where) if b.where is not None else None,
                "tasks": self.tasks(b.tasks, horizon),
                "loc": loc(b.span),
            }
            for b in books
        ]

    def tasks(self, tasks, horizon: int | None) -> list[dict]:
        lowered: dict[str, dict] = {}
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
        _schedule(lowered)
        return list(lowered.values())

    # expressions ---------------------------------------------------------------
    def condition(self, e: ast.Expr) -> dict:
        start, text = self.source(e.span)
        return {"expr": self.expr(e), "loc": start, "source": text}

    def source(self, span) -> tuple[dict, str]:
        """The condition's ``loc`` and its text exactly as written (docs/plan.md, "Expressions").

        An expression's span stops at its first and last operands, so a condition
        that begins or ends with a parenthesis, as in ``(a or b) and c``,
        ``not (a and b)`` or ``(a)``, is widened over the parentheses that
        balance or enclose it.
        """
        text = self.texts.get(span.path)
        if text is None:  # a Context built without its sources (tests): nothing to slice
            return loc(span), ""
        begin, end = self._offset(span.path, span.line, span.col), self._offset(span.path, span.end_line, span.end_col)
        lowest, depth = _paren_depths(text, begin, end)
        for _ in range(-lowest):  # unmatched `)`: take the `(` before the start
            i = _blank_before(text, begin)
            if i < 0 or text[i] != "(":
                break
            begin = i
        for _ in range(depth - lowest):  # unmatched `(`: take the `)` after the end
            i = _skip_blanks(text, end)
            if i >= len(text) or text[i] != ")":
                break
            end = i + 1
        while True:  # a condition is a whole property value: parentheses around it are its own
            i, j = _blank_before(text, begin), _skip_blanks(text, end)
            if i < 0 or j >= len(text) or text[i] != "(" or text[j] != ")":
                break
            begin, end = i, j + 1
        if begin == self._offset(span.path, span.line, span.col):
            where = loc(span)
        else:
            starts = self._starts(span.path)
            line = bisect_right(starts, begin)
            where = {"path": span.path, "line": line, "col": begin - starts[line - 1] + 1}
        return where, text[begin:end].replace("\r\n", "\n")

    def _starts(self, path: str) -> list[int]:
        starts = self._line_starts.get(path)
        if starts is None:
            text, starts = self.texts[path], [0]
            i = text.find("\n")
            while i != -1:
                starts.append(i + 1)
                i = text.find("\n", i + 1)
            self._line_starts[path] = starts
        return starts

    def _offset(self, path: str, line: int, col: int) -> int:
        # Lark counts lines by "\n" and columns in characters from 1, as Python indexes str.
        return self._starts(path)[line - 1] + col - 1

    def expr(self, e: ast.Expr, enum_context: bool = False) -> dict:
        cat = self.cat
        if isinstance(e, ast.Literal):
            if e.kind == "string":
                return {"op": "const", "type": "enum" if enum_context else "text", "value": e.value}
            return {"op": "const", "type": e.kind, "value": _number(e) if e.kind == "percent" else e.value}
        if isinstance(e, ast.Name):
            if e.name in cat.metrics:
                return {"op": "metric", "type": cat.metrics[e.name].type, "name": e.name}
            if e.name in cat.attributes:
                return {"op": "attr", "type": cat.attributes[e.name].type, "name": e.name}
            return {"op": "const", "type": "enum", "value": e.name}  # a bare enum value
        if isinstance(e, ast.AttrRef):
            return {"op": "attr", "type": "text" if e.attr == "id" else cat.attributes[e.attr].type, "name": e.attr}
        if isinstance(e, ast.Call):
            return {"op": "call", "type": self.type_of(e), "func": e.func, "args": [self.expr(a) for a in e.args]}
        if isinstance(e, ast.Unary):
            if e.op == "not":
                return {"op": "not", "type": "bool", "arg": self.expr(e.operand)}
            return {"op": "neg", "type": self.type_of(e), "arg": self.expr(e.operand)}
        if isinstance(e, ast.Binary):
            enum_cmp = e.op in ("==", "!=") and (self._is_enum(e.left) or self._is_enum(e.right))
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
        raise TypeError(f"cannot lower {type(e).__name__}")  # pragma: no cover - the grammar has no other nodes

    def _is_enum(self, node) -> bool:
        """Whether ``node`` is an enum attribute (so a string compared with it is an enum value)."""
        if isinstance(node, ast.AttrRef):
            name = node.attr
        elif isinstance(node, ast.Name) and node.name not in self.cat.metrics:
            name = node.name
        else:
            return False
        a = self.cat.attributes.get(name)
        return a is not None and a.type == "enum"

    def type_of(self, e: ast.Expr) -> str:
        t = infer(e, self.cat).kind
        return t if t in _VALUE_TYPES else "number"


def _schedule(tasks: dict[str, dict]) -> None:
    """Fill in each task's ``offset`` (the planned schedule), without recursion.

    The playbook pass has checked that ``after`` names tasks of the same
    playbook and that they form no cycle; a recurring task follows nothing.
    """
    for name, task in tasks.items():
        if task["offset"] is not None:
            continue
        stack, waiting = [name], {name}
        while stack:
            t = tasks[stack[-1]]
            if t["every"] is not None:
                t["offset"] = t["every"]
            elif not t["after"]:
                t["offset"] = t["due"]
            else:
                # The stack is a path of dependencies; `waiting` (the tasks on it) only
                # guards against a cycle that the checks should have stopped: no hang.
                pending = next((a for a in t["after"] if tasks[a]["offset"] is None and a not in waiting), None)
                if pending is not None:
                    stack.append(pending)
                    waiting.add(pending)
                    continue
                t["offset"] = max(tasks[a]["offset"] or 0 for a in t["after"]) + t["due"]
            waiting.discard(stack.pop())


def _number(lit: ast.Literal):
    """A literal's number; percents from their text, so that ``33.3%`` is 0.333 and not 0.33299999999999996."""
    if lit.kind == "percent":
        try:
            return float(Decimal(lit.text.replace(" ", "")[:-1]) / 100)
        except (InvalidOperation, ValueError):
            return lit.value
    return lit.value


def _paren_depths(text: str, begin: int, end: int) -> tuple[int, int]:
    """The lowest and the final parenthesis depth over ``text[begin:end]``, outside strings and comments."""
    depth = lowest = 0
    i = begin
    while i < end:
        c = text[i]
        if c == '"':
            i += 1
            while i < end and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == "#":
            while i < end and text[i] != "\n":
                i += 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            lowest = min(lowest, depth)
        i += 1
    return lowest, depth


def _blank_before(text: str, i: int) -> int:
    """The index of the last character before ``i`` that is not whitespace (-1 if none)."""
    i -= 1
    while i >= 0 and text[i] in " \t\r\n":
        i -= 1
    return i


def _skip_blanks(text: str, i: int) -> int:
    """The index of the next character after whitespace and comments."""
    n = len(text)
    while i < n:
        if text[i] in " \t\r\n":
            i += 1
        elif text[i] == "#":
            while i < n and text[i] != "\n":
                i += 1
        else:
            break
    return i
