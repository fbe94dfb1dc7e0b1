"""Types of expressions: inference over the AST, run once by the typecheck pass.

``infer(expr, catalog, report, types)`` returns the expression's ``Type``,
reports every problem it meets through ``report`` and records the type of
every node it visits in ``types`` (by node identity: ``Context.types``), which
lowering reads to label plan nodes; nothing infers a type twice.

Inference recurses over the tree: the parser refuses expressions nested more
than ``MAX_DEPTH`` levels (E102), so the depth is bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from plays.diagnostics import Diagnostic, Note, error, suggest, warning
from plays.dsl import ast
from plays.dsl.language import DATE_ATTRIBUTE, FUNCTIONS, METRIC

from .context import Catalog

NUMERIC = frozenset({"number", "count", "money", "percent"})


@dataclass(frozen=True, slots=True)
class Type:
    """A value's type; ``attr`` names the enum attribute, ``value`` a bare enum word."""

    kind: str  # number count money percent duration date bool text enum enum_value unknown
    attr: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        if self.kind == "enum":
            return f"{self.attr} (an enum)"
        if self.kind == "enum_value":
            return f"the word `{self.value}`"
        return {"count": "a count", "number": "a number", "money": "money", "percent": "a percent",
                "duration": "a duration", "date": "a date", "bool": "true/false", "text": "text",
                "unknown": "unknown"}[self.kind]


UNKNOWN = Type("unknown")
BOOL = Type("bool")
NUMBER = Type("number")
PERCENT = Type("percent")
DURATION = Type("duration")
DATE = Type("date")
COUNT = Type("count")

Report = Callable[[Diagnostic], None] | None


def literal_type(lit: ast.Literal) -> Type:
    kind = {"string": "text", "bool": "bool"}.get(lit.kind, lit.kind)
    return Type(kind)


def attribute_type(catalog: Catalog, name: str) -> Type:
    a = catalog.attributes[name]
    return Type("enum", attr=name) if a.type == "enum" else Type(a.type)


def infer(expr: ast.Expr, catalog: Catalog, report: Report = None, types: dict | None = None) -> Type:
    """The type of ``expr``; problems go to ``report`` and each node's type to ``types`` when given."""
    return _Infer(catalog, report, types).visit(expr)


class _Infer:
    def __init__(self, catalog: Catalog, report: Report, types: dict | None = None):
        self.catalog = catalog
        self.report = report
        self.types = {} if types is None else types

    def err(self, code, message, span, **kw) -> Type:
        if self.report:
            self.report(error(code, message, span, **kw))
        return UNKNOWN

    def warn(self, code, message, span, **kw) -> None:
        if self.report:
            self.report(warning(code, message, span, **kw))

    def visit(self, e: ast.Expr) -> Type:
        t = getattr(self, "visit_" + type(e).__name__)(e)
        self.types[id(e)] = t
        return t

    def visit_Paren(self, e: ast.Paren) -> Type:
        return self.visit(e.expr)

    # operands ----------------------------------------------------------------
    def visit_Literal(self, e: ast.Literal) -> Type:
        if e.kind == "date":
            from plays.dsl.parser import literal_date

            if literal_date(e) is None:
                return self.err("E305", f"`{e.text}` is not a calendar date", e.span)
        return literal_type(e)

    def visit_Name(self, e: ast.Name) -> Type:
        c = self.catalog
        if e.name in c.metrics:
            return Type(c.metrics[e.name].type)
        if e.name in c.attributes:
            return attribute_type(c, e.name)
        # Not a metric or attribute: an enum value, checked where it is compared.
        return Type("enum_value", value=e.name)

    def visit_AttrRef(self, e: ast.AttrRef) -> Type:
        if e.attr == "id":
            return Type("text")
        if e.attr not in self.catalog.attributes:
            hint = suggest(e.attr, [*self.catalog.attributes, "id"])
            return self.err(
                "E200", f"unknown account attribute `{e.attr}`", e.span,
                suggestion=f"account.{hint}" if hint else None,
            )
        return attribute_type(self.catalog, e.attr)

    def unknown_name(self, t: Type, e: ast.Expr) -> Type:
        """A bare word used where a value is needed: an unknown name."""
        if t.kind != "enum_value":
            return t
        c = self.catalog
        owners = c.enum_owner(t.value)
        hint = suggest(t.value, c.names())
        if owners:
            msg = f"`{t.value}` is a value of `{owners[0].name}`, not a value by itself here"
            return self.err("E300", msg, e.span, suggestion=f"{owners[0].name} == {t.value}")
        return self.err("E200", f"unknown name `{t.value}`: not a metric or an attribute", e.span,
                        suggestion=hint)

    # functions ---------------------------------------------------------------
    def visit_Call(self, e: ast.Call) -> Type:
        f = FUNCTIONS.get(e.func)
        if f is None:
            return self.err("E204", f"unknown function `{e.func}`", e.span,
                            suggestion=suggest(e.func, FUNCTIONS))
        if len(e.args) != f.arity:
            return self.err("E301", f"`{e.func}` takes {f.arity} argument{'s' if f.arity > 1 else ''}: {f.shape}",
                            e.span)
        arg = ast.unparen(e.args[0])
        if f.params[0] == METRIC:
            if not (isinstance(arg, ast.Name) and arg.name in self.catalog.metrics):
                t = self.visit(arg)
                if t.kind == "unknown":
                    return UNKNOWN
                hint = suggest(getattr(arg, "name", ""), self.catalog.metrics) if isinstance(arg, ast.Name) else None
                return self.err("E301", f"the first argument of `{e.func}` must be a metric name", arg.span,
                                suggestion=hint)
            self.visit(e.args[0])
            mtype = self.catalog.metrics[arg.name].type
        elif f.params[0] == DATE_ATTRIBUTE:
            return self.date_argument(e, f, arg)
        if f.windowed:
            w = ast.unparen(e.args[1])
            if not (isinstance(w, ast.Literal) and w.kind == "duration"):
                return self.err("E301", f"the window of `{e.func}` must be a duration like 7d", w.span)
            if w.value <= 0:
                return self.err("E301", f"the window of `{e.func}` must be longer than 0d", w.span)
            self.visit(e.args[1])
        return Type(mtype) if f.result == "metric" else Type(f.result)

    def date_argument(self, e: ast.Call, f, arg: ast.Expr) -> Type:
        """``days_since(d)``/``days_until(d)``: ``d`` is a date attribute (LANGUAGE.md), bare or ``account.``."""
        t = self.visit(arg)
        if t.kind == "unknown":
            return UNKNOWN
        dates = [a.name for a in self.catalog.attributes.values() if a.type == "date"]
        is_attribute = isinstance(arg, ast.AttrRef) or (isinstance(arg, ast.Name) and arg.name in self.catalog.attributes)
        if is_attribute and t.kind == "date":
            self.visit(e.args[0])
            return NUMBER
        if isinstance(arg, (ast.Name, ast.AttrRef)):
            if t.kind == "enum_value":
                t = self.unknown_name(t, arg)
                if t.kind == "unknown":
                    return UNKNOWN
            return self.err("E301", f"`{e.func}` takes a date attribute, not {t}", arg.span,
                            suggestion=suggest(getattr(arg, "name", getattr(arg, "attr", "")), dates))
        example = f" like `{dates[0]}`" if dates else ""
        # A date computed from an attribute and a duration: shift the result instead.
        hint = None
        if isinstance(arg, ast.Binary) and arg.op in ("+", "-"):
            base, off = ast.unparen(arg.left), ast.unparen(arg.right)
            if (isinstance(off, ast.Literal) and off.kind == "duration"
                    and isinstance(base, (ast.Name, ast.AttrRef)) and self.types.get(id(base)) == DATE):
                # days_since(d + n) = days_since(d) - n; days_until(d + n) = days_until(d) + n
                later = (arg.op == "+") == (e.func == "days_until")
                name = base.name if isinstance(base, ast.Name) else f"account.{base.attr}"
                hint = f"{e.func}({name}) {'+' if later else '-'} {abs(off.value)}"
        what = "a date literal" if isinstance(arg, ast.Literal) else "an expression"
        return self.err("E301", f"`{e.func}` takes a date attribute{example}, not {what}", arg.span,
                        suggestion=hint)

    # operators ---------------------------------------------------------------
    def visit_Unary(self, e: ast.Unary) -> Type:
        t = self.unknown_name(self.visit(e.operand), e.operand)
        if t.kind == "unknown":
            return t
        if e.op == "not":
            if t.kind != "bool":
                return self.err("E303", f"`not` needs a condition, not {t}", e.operand.span)
            return BOOL
        if t.kind not in NUMERIC and t.kind != "duration":
            return self.err("E300", f"cannot negate {t}", e.span)
        return t

    def visit_Binary(self, e: ast.Binary) -> Type:
        if e.op in ("and", "or"):
            ok = True
            for side in (e.left, e.right):
                t = self.unknown_name(self.visit(side), side)
                if t.kind not in ("bool", "unknown"):
                    self.err("E303", f"`{e.op}` joins conditions; this is {t}", side.span)
                    ok = False
            return BOOL if ok else UNKNOWN
        left, right = self.visit(e.left), self.visit(e.right)
        if e.op in ("==", "!=", "<", "<=", ">", ">="):
            return self.compare(e, left, right)
        return self.arith(e, left, right)

    def arith(self, e: ast.Binary, left: Type, right: Type) -> Type:
        left = self.unknown_name(left, e.left)
        right = self.unknown_name(right, e.right)
        if UNKNOWN in (left, right):
            return UNKNOWN
        lk, rk, op = left.kind, right.kind, e.op
        if lk in NUMERIC and rk in NUMERIC:
            if op in ("+", "-") and lk == rk:
                return left
            if op in ("*", "/") and "percent" in (lk, rk) and {lk, rk} <= {"percent", "number"} and not (op == "/" and rk == "percent"):
                return left if lk != "percent" else right if rk != "percent" else NUMBER
            if op in ("*", "/") and "money" in (lk, rk) and not (op == "/" and rk == "money"):
                return Type("money")
            return NUMBER
        if lk == "date" and rk == "duration" and op in ("+", "-"):
            return DATE
        if lk == "duration" and rk == "date" and op == "+":
            return DATE
        if lk == "date" and rk == "date" and op == "-":
            return DURATION
        if lk == rk == "duration" and op in ("+", "-"):
            return DURATION
        if {lk, rk} == {"duration", "number"} and op == "*" or (lk == "duration" and rk == "number" and op == "/"):
            return DURATION
        return self.err("E300", f"cannot compute {left} {op} {right}", e.span)

    def compare(self, e: ast.Binary, left: Type, right: Type) -> Type:
        # enum comparisons: the bare word on one side is a value of the other side's enum
        for a, b, bnode in ((left, right, e.right), (right, left, e.left)):
            if a.kind == "enum":
                if e.op not in ("==", "!="):
                    return self.err("E300", f"`{a.attr}` is an enum: compare it with `==`, `!=` or `in`", e.span)
                return self.enum_value_check(a, b, bnode)
        left = self.unknown_name(left, e.left)
        if left is UNKNOWN and right.kind == "enum_value":
            return UNKNOWN  # `segmnt == enterprise`: one error, not two
        right = self.unknown_name(right, e.right)
        if UNKNOWN in (left, right):
            return UNKNOWN
        lk, rk = left.kind, right.kind
        if lk in NUMERIC and rk in NUMERIC:
            self.unit_hints(e, left, right)
            return BOOL
        if lk == rk and lk in ("date", "duration", "text", "bool"):
            if lk == "bool" and e.op not in ("==", "!="):
                return self.err("E300", "true/false can only be compared with `==` or `!=`", e.span)
            return BOOL
        return self.err("E300", f"cannot compare {left} with {right}", e.span)

    def unit_hints(self, e: ast.Binary, left: Type, right: Type) -> None:
        """W300/W301 for a comparison whose literal side is in another unit than the other side."""
        self.unit_hint(left, e.right, e.left)
        self.unit_hint(right, e.left, e.right)

    def unit_hint(self, t: Type, node: ast.Expr, operand: ast.Expr) -> None:
        """``operand`` (of type ``t``) is compared with ``node``: a unit mistake when ``node`` is a literal
        of another unit (a plain number above 1 for a percent, a percent for a count, number or amount)."""
        lit = ast.unparen(node)
        if not isinstance(lit, ast.Literal):
            return
        if t.kind == "percent" and lit.kind in ("number", "money") and abs(lit.value) > 1:
            digits = lit.text.replace("$", "")
            what = "the plain number" if lit.kind == "number" else "the amount"
            self.warn(
                "W300",
                f"comparing a percent with {what} {lit.text}; percents are fractions (0.8 is 80%)",
                lit.span,
                suggestion=f"{digits}%",
            )
        elif t.kind in ("count", "number", "money") and lit.kind == "percent" and lit.value != 0:
            operand = ast.unparen(operand)
            if isinstance(operand, ast.Binary) and operand.op in ("*", "/"):
                return  # a ratio or a scaling (`tickets_opened / mau > 5%`): a fraction, compared as one
            self.percent_of_plain(t, lit, operand)

    def percent_of_plain(self, t: Type, lit: ast.Literal, operand: ast.Expr) -> None:
        """W301: ``health_score >= 70%`` (70% is 0.7), ``mrr < 5%`` (five cents)."""
        sign, digits = ("-", lit.text[1:-1]) if lit.text.startswith("-") else ("", lit.text[:-1])
        fraction = _plain(abs(lit.value))
        subject = _subject(operand)
        what = f"{t} ({subject})" if subject else str(t)
        if t.kind == "money":
            what = f"an amount ({subject})" if subject else "an amount"
            meant, value = f"{sign}${digits}", f"{sign}${fraction}"
        else:
            meant, value = f"{sign}{digits}", f"{sign}{fraction}"
        notes = []
        if t.kind == "number" and isinstance(operand, (ast.Name, ast.AttrRef)):  # a stored number may be a fraction
            notes.append(Note(f"if {subject} is a fraction from 0 to 1, write {value}: the same value"))
        change = _relative_change(operand, self.catalog) if t.kind in ("count", "money") else None
        if change:
            notes.append(Note(f"for a change relative to an earlier value, compare `{change}` (or another window) "
                              f"with {lit.text}"))
        self.warn("W301", f"comparing {what} with the percent {lit.text}, which is {value}",
                  lit.span, notes=notes, suggestion=meant)

    def enum_value_check(self, enum: Type, other: Type, node: ast.Expr) -> Type:
        values = self.catalog.attributes[enum.attr].values
        node = ast.unparen(node)
        if other.kind == "enum_value" or (other.kind == "text" and isinstance(node, ast.Literal)):
            value = other.value if other.kind == "enum_value" else node.value
            if value not in values:
                return self.err(
                    "E302", f"`{value}` is not a value of `{enum.attr}` ({', '.join(values)})", node.span,
                    suggestion=suggest(value, values),
                )
            return BOOL
        if other.kind == "enum" and other.attr == enum.attr:
            return BOOL
        if other.kind == "unknown":
            return UNKNOWN
        return self.err("E300", f"cannot compare `{enum.attr}` (an enum) with {other}", node.span)

    def visit_InList(self, e: ast.InList) -> Type:
        t = self.visit(e.operand)
        if t.kind == "enum":
            results = [self.enum_value_check(t, self.visit(i), i) for i in e.items]
            return UNKNOWN if UNKNOWN in results else BOOL
        t = self.unknown_name(t, e.operand)
        if t.kind == "unknown":
            return t
        ok = True
        for i in e.items:
            it = self.unknown_name(self.visit(i), i)
            if it.kind == "unknown":
                ok = False
            elif not (it.kind == t.kind or (it.kind in NUMERIC and t.kind in NUMERIC)):
                self.err("E300", f"cannot compare {t} with {it}", i.span)
                ok = False
            elif t.kind in NUMERIC:
                self.unit_hint(t, i, e.operand)
        return BOOL if ok else UNKNOWN

    def visit_IsEmpty(self, e: ast.IsEmpty) -> Type:
        t = self.unknown_name(self.visit(e.operand), e.operand)
        return UNKNOWN if t.kind == "unknown" else BOOL


def _plain(x: float) -> str:
    """A fraction as a short decimal: 0.7, 0.05, -0.2 (no float noise, no trailing zeros)."""
    text = f"{x:.15f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def _subject(e: ast.Expr) -> str | None:
    """How a message names the compared operand: `mau`, `account.employees`, `sum(mau, 7d)`."""
    if isinstance(e, ast.Name):
        return f"`{e.name}`"
    if isinstance(e, ast.AttrRef):
        return f"`account.{e.attr}`"
    if isinstance(e, ast.Call) and e.source:
        return f"`{e.source}`"
    return None


def _relative_change(e: ast.Expr, catalog: Catalog) -> str | None:
    """``pct_change`` of the metric a count or amount comparison is about: a bare metric or ``change(m, w)``."""
    if isinstance(e, ast.Name) and e.name in catalog.metrics:
        return f"pct_change({e.name}, 30d)"  # an example window: the note says so
    if isinstance(e, ast.Call) and e.func == "change" and e.source:
        return "pct_" + e.source
    return None


def check_condition(expr: ast.Expr, catalog: Catalog, report: Report, what: str, types: dict | None = None) -> Type:
    """Infer ``expr`` and require a condition (true/false); ``what`` names the place."""
    t = infer(expr, catalog, report, types)
    if t.kind == "enum_value":
        t = _Infer(catalog, report).unknown_name(t, expr)
    if t.kind not in ("bool", "unknown") and report:
        report(error("E303", f"{what} must be a condition (true or false), not {t}", expr.span))
        return UNKNOWN
    return t
