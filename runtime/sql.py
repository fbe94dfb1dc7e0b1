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

from sqlglot import exp

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


def call_sql(func: str, args: list[dict]) -> str:
    """SQL of a function call of the language (LANGUAGE.md's table)."""
    first = args[0]["name"]
    col = ident(first)
    if func in ("days_since", "days_until"):
        a, b = (col, '"date"') if func == "days_since" else ('"date"', col)
        return f"CAST(date_diff('day', {a}, {b}) AS DOUBLE)"
    if func == "previous":
        return f"LAG({col}) OVER ({PARTITION})"
    days = int(args[1]["value"])
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


def const_sql(node: dict) -> str:
    t, v = node["type"], node["value"]
    if t == "date":
        return f"DATE {text(v)}"
    if t == "bool":
        return "TRUE" if v else "FALSE"
    if t in ("text", "enum"):
        return text(v)
    return repr(float(v)) if isinstance(v, float) else str(int(v))


def expr_sql(node: dict) -> str:
    """SQL for one plan expression node."""
    op = node["op"]
    if op == "const":
        return const_sql(node)
    if op == "metric":
        return ident(node["name"])
    if op == "attr":
        return '"account"' if node["name"] == "id" else ident(node["name"])
    if op == "call":
        return call_sql(node["func"], node["args"])
    if op == "neg":
        # the space matters: "-" before a negative constant would read "--", a SQL comment
        return f"(- {expr_sql(node['arg'])})"
    if op == "not":
        return f"(NOT {expr_sql(node['arg'])})"
    if op == "is_empty":
        return f"({expr_sql(node['arg'])} IS {'NOT ' if node['negated'] else ''}NULL)"
    if op == "in":
        items = ", ".join(expr_sql(i) for i in node["items"])
        return f"({expr_sql(node['arg'])} {'NOT ' if node['negated'] else ''}IN ({items}))"
    left, right = node["left"], node["right"]
    a, b = expr_sql(left), expr_sql(right)
    if op in ("and", "or"):
        return f"({a} {op.upper()} {b})"
    if op in ("==", "!=", "<", "<=", ">", ">="):
        sql_op = {"==": "=", "!=": "<>"}.get(op, op)
        return f"({a} {sql_op} {b})"
    lt, rt = left["type"], right["type"]
    if op in ("+", "-") and lt == "date" and rt == "duration":
        return f"CAST({a} {op} CAST({b} AS INTEGER) AS DATE)"
    if op == "+" and lt == "duration" and rt == "date":
        return f"CAST({b} + CAST({a} AS INTEGER) AS DATE)"
    if op == "-" and lt == rt == "date":
        return f"CAST(date_diff('day', {b}, {a}) AS DOUBLE)"
    if op == "/":
        return _round(f"(CAST({a} AS DOUBLE) / NULLIF({b}, 0))")
    return _round(f"({a} {op} {b})")


def condition_sql(cond: dict | None) -> str:
    """A condition as a boolean column: unknown counts as false; no condition is true."""
    if cond is None:
        return "TRUE"
    return f"COALESCE({expr_sql(cond['expr'])}, FALSE)"


def calls_in(node: dict, out: dict[str, dict]) -> dict[str, dict]:
    """The metrics and function calls an expression uses, keyed by how they read (for `values`)."""
    op = node["op"]
    if op == "metric":
        out.setdefault(node["name"], node)
    elif op == "call":
        for a in node["args"]:
            if a["op"] == "metric":
                out.setdefault(a["name"], a)
        out.setdefault(describe(node), node)
    for key in ("arg", "left", "right"):
        if key in node:
            calls_in(node[key], out)
    for item in node.get("items", ()):
        calls_in(item, out)
    return out


def describe(node: dict) -> str:
    """A call as the spec writes it: ``pct_change(mau, 7d)``."""
    args = []
    for a in node["args"]:
        if a["op"] == "const" and a["type"] == "duration":
            args.append(f"{a['value']}d")
        else:
            args.append(a.get("name", str(a.get("value"))))
    return f"{node['func']}({', '.join(args)})"
