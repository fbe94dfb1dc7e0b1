"""Plan expressions -> DuckDB SQL over the ``snapshots`` table (all rows at once).

Every function of the language is a window over the account's snapshots,
ordered by date; dates are whole days, so a window ``(t - w, t]`` is the RANGE
frame ``INTERVAL (w - 1) DAYS PRECEDING .. CURRENT ROW``. Nulls propagate as
SQL does; division by zero is null; a condition that ends unknown is false
(``COALESCE(..., FALSE)`` at the top, see ``condition_sql``).

Identifiers and literals are quoted by sqlglot, so no name or text of the spec
can change the query's meaning.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp

from plays.compiler.plan import Attr, Call, Condition, Const, Expr, InList, IsEmpty, Metric, Unary, walk

PARTITION = 'PARTITION BY "account" ORDER BY "date"'

# Arithmetic results are rounded to this many decimal places, so that what a
# person computes by hand holds: 50% - 60% is exactly -10%, not
# -0.09999999999999998 (which would not be <= -10%).
DECIMALS = 10


def _round(sql: str) -> str:
    return f"ROUND({sql}, {DECIMALS})"


def ident(name: str) -> str:
    """A safely quoted column name."""
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")


def text(value: str) -> str:
    """A safely quoted string literal."""
    return exp.Literal.string(value).sql(dialect="duckdb")


def window(days: int, *, upto_before: bool = False) -> str:
    if upto_before:
        # rows dated on or before t - w
        return f"OVER ({PARTITION} RANGE BETWEEN UNBOUNDED PRECEDING AND INTERVAL {days} DAYS PRECEDING)"
    return f"OVER ({PARTITION} RANGE BETWEEN INTERVAL {days - 1} DAYS PRECEDING AND CURRENT ROW)"


def value_at_sql(metric: str, days: int) -> str:
    return f"LAST_VALUE({ident(metric)}) {window(days, upto_before=True)}"


WINDOWED = frozenset({"value_at", "previous", "change", "pct_change", "sum", "avg", "min", "max", "count"})


def call_sql(node: Call, windows: Mapping[str, str] | None = None) -> str:
    """SQL of a function call of the language (LANGUAGE.md's table).

    ``windows`` maps the SQL of window calls computed once beforehand to the
    column that holds them (see ``window_columns``).
    """
    sql = _call_sql(node)
    return windows.get(sql, sql) if windows else sql


def window_columns(calls) -> dict[str, str]:
    """A column name (``_w0``, ``_w1``, ...) for each distinct window call: computed once, read by every query."""
    out: dict[str, str] = {}
    for node in calls:
        if node.func in WINDOWED:
            out.setdefault(_call_sql(node), f"_w{len(out)}")
    return out


def _call_sql(node: Call) -> str:
    func, first = node.func, node.metric
    col = ident(first)
    if func in ("days_since", "days_until"):
        a, b = (col, '"date"') if func == "days_since" else ('"date"', col)
        return f"CAST(date_diff('day', {a}, {b}) AS DOUBLE)"
    if func == "previous":
        return f"LAG({col}) OVER ({PARTITION})"
    days = node.days
    if func == "value_at":
        return value_at_sql(first, days)
    if func == "change":
        return _round(f"({col} - {value_at_sql(first, days)})")
    if func == "pct_change":
        past = value_at_sql(first, days)
        return _round(f"(({col} - {past}) / NULLIF({past}, 0))")
    agg = {"sum": "SUM", "avg": "AVG", "min": "MIN", "max": "MAX", "count": "COUNT"}[func]
    out = f"CAST({agg}({col}) {window(days)} AS DOUBLE)"
    return _round(out) if func in ("sum", "avg") else out


def const_sql(node: Const) -> str:
    t, v = node.type, node.value
    if t == "date":
        return f"DATE {text(v)}"
    if t == "bool":
        return "TRUE" if v else "FALSE"
    if t in ("text", "enum"):
        return text(v)
    return repr(float(v)) if isinstance(v, float) else str(int(v))


_COMPARE = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def expr_sql(node: Expr, windows: Mapping[str, str] | None = None) -> str:
    """SQL for one plan expression node (window calls read from ``windows`` columns where given)."""
    if isinstance(node, Const):
        return const_sql(node)
    if isinstance(node, Metric):
        return ident(node.name)
    if isinstance(node, Attr):
        return '"account"' if node.name == "id" else ident(node.name)
    if isinstance(node, Call):
        return call_sql(node, windows)
    if isinstance(node, Unary):
        if node.op == "neg":
            # the space matters: "-" before a negative constant would read "--", a SQL comment
            return f"(- {expr_sql(node.arg, windows)})"
        return f"(NOT {expr_sql(node.arg, windows)})"
    if isinstance(node, IsEmpty):
        return f"({expr_sql(node.arg, windows)} IS {'NOT ' if node.negated else ''}NULL)"
    if isinstance(node, InList):
        items = ", ".join(expr_sql(i, windows) for i in node.items)
        return f"({expr_sql(node.arg, windows)} {'NOT ' if node.negated else ''}IN ({items}))"
    op, left, right = node.op, node.left, node.right
    a, b = expr_sql(left, windows), expr_sql(right, windows)
    if op in ("and", "or"):
        return f"({a} {op.upper()} {b})"
    if op in _COMPARE:
        return f"({a} {_COMPARE[op]} {b})"
    lt, rt = left.type, right.type
    if op in ("+", "-") and lt == "date" and rt == "duration":
        return f"CAST({a} {op} CAST({b} AS INTEGER) AS DATE)"
    if op == "+" and lt == "duration" and rt == "date":
        return f"CAST({b} + CAST({a} AS INTEGER) AS DATE)"
    if op == "-" and lt == rt == "date":
        return f"CAST(date_diff('day', {b}, {a}) AS DOUBLE)"
    if op == "/":
        return _round(f"(CAST({a} AS DOUBLE) / NULLIF({b}, 0))")
    return _round(f"({a} {op} {b})")


def condition_sql(cond: Condition | None, windows: Mapping[str, str] | None = None) -> str:
    """A condition as a boolean column: unknown counts as false; no condition is true."""
    if cond is None:
        return "TRUE"
    return f"COALESCE({expr_sql(cond.expr, windows)}, FALSE)"


def value_nodes(cond: Condition | None) -> dict[str, Expr]:
    """The metrics and function calls a condition uses, keyed by how they read (an event's ``values``)."""
    found: dict[str, Expr] = {}
    if cond is None:
        return found
    for node in walk(cond.expr):
        if isinstance(node, Metric):
            found.setdefault(node.name, node)
        elif isinstance(node, Call):
            for arg in node.args:  # `mau` before `pct_change(mau, 7d)`
                if isinstance(arg, Metric):
                    found.setdefault(arg.name, arg)
            found.setdefault(node.describe(), node)
    return found
