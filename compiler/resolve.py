"""Compiler pass 1: collect declarations across files and check names and properties.

Fills ``ctx.catalog``, ``ctx.alerts`` and ``ctx.goals``. Reports duplicate
declarations, catalog problems, and properties that do not belong in their
block, repeat, or are missing.
"""

from __future__ import annotations

from plays.diagnostics import Note, suggest
from plays.dsl import ast

from .context import (
    ALERT_KEYS,
    ATTRIBUTE_TYPES,
    CATEGORIES,
    GOAL_KEYS,
    METRIC_TYPES,
    SEVERITIES,
    AttributeInfo,
    Context,
    MetricInfo,
)

# External goals also accept `deploy` and `kpi` here so that the playbook pass
# can give the precise E500/E501 ("automation is for internal goals").
_EXTERNAL_ACCEPTS = ("account", "measure", "start", "due", "category", "deploy", "kpi")
_REQUIRED = {
    "alert": ("when",),
    "goal": ("duration",),
    "external goal": ("account", "start", "due"),
}


def resolve(ctx: Context) -> None:
    """Collect the spec set's declarations into ``ctx`` and check their properties."""
    collect(ctx)
    check_properties(ctx)


def collect(ctx: Context) -> None:
    """Collect the catalog, alerts and goals across files; report names declared twice.

    The one step that compares declarations with each other: it reads the
    catalog's declarations whole, but of an alert or goal only its name, kind,
    span and ``facts_of`` it (the result cache, compiler/cache.py, hands it
    nothing more). Also W200, alerts with the same trigger.
    """
    rules: dict[str, ast.Alert | ast.Goal] = {}
    for module in ctx.modules:
        for decl in module.declarations:
            if isinstance(decl, ast.AccountCatalog):
                _add_catalog(ctx, decl)
            elif isinstance(decl, ast.Metric):
                _add_metric(ctx, decl)
            else:
                first = rules.get(decl.name)
                if first is not None:
                    ctx.error(
                        "E201",
                        f"`{decl.name}` is declared twice (alerts and goals share one namespace)",
                        decl.span,
                        notes=[Note(f"first declared here as {_kind(first)}", first.span)],
                    )
                    continue
                rules[decl.name] = decl
                if isinstance(decl, ast.Alert):
                    ctx.alerts[decl.name] = decl
                else:
                    ctx.goals[decl.name] = decl
    _check_duplicate_alerts(ctx)
    for name, metric in ctx.catalog.metrics.items():
        attr = ctx.catalog.attributes.get(name)
        if attr is not None:
            ctx.error(
                "E203",
                f"`{name}` is both a metric and an account attribute",
                metric.span,
                notes=[Note("the attribute is declared here", attr.span)],
            )


def check_properties(ctx: Context) -> None:
    """Check each alert's and goal's properties: allowed, given once, required ones present, known words."""
    for decl in (*ctx.alerts.values(), *ctx.goals.values()):
        _check_props(ctx, decl)


def _kind(decl) -> str:
    if isinstance(decl, ast.Alert):
        return "an alert"
    return "an external goal" if decl.external else "a goal"


def _add_catalog(ctx: Context, block: ast.AccountCatalog) -> None:
    cat = ctx.catalog
    if cat.span is not None:
        ctx.error(
            "E202",
            "a spec set has one `account` block; this is a second one",
            block.span,
            notes=[Note("the first one is here", cat.span)],
        )
        return
    cat.span = block.span
    for attr in block.attributes:
        typ = attr.type
        if attr.name in cat.attributes:
            ctx.error(
                "E201",
                f"attribute `{attr.name}` is declared twice",
                attr.span,
                notes=[Note("first declared here", cat.attributes[attr.name].span)],
            )
            continue
        if typ.name not in ATTRIBUTE_TYPES:
            ctx.error(
                "E207",
                f"unknown attribute type `{typ.name}`; attributes are {', '.join(ATTRIBUTE_TYPES[:-1])} or enum(...)",
                typ.span,
                suggestion=suggest(typ.name, ATTRIBUTE_TYPES),
            )
            continue
        if attr.name == "id":
            ctx.error("E201", "`id` is reserved: it is the account's identifier", attr.span)
            continue
        values: list[str] = []
        for w in typ.values:
            if w.name in values:
                ctx.error("E209", f"`{w.name}` is listed twice in this enum", w.span)
            else:
                values.append(w.name)
        cat.attributes[attr.name] = AttributeInfo(attr.name, typ.name, tuple(values), attr.span)


def _add_metric(ctx: Context, metric: ast.Metric) -> None:
    cat = ctx.catalog
    typ = metric.type
    first = cat.metrics.get(metric.name)
    if first is not None:
        ctx.error(
            "E201",
            f"metric `{metric.name}` is declared twice",
            metric.span,
            notes=[Note("first declared here", first.span)],
        )
        return
    if typ.name not in METRIC_TYPES:
        ctx.error(
            "E207",
            f"unknown metric type `{typ.name}`; metrics are {', '.join(METRIC_TYPES)}",
            typ.span,
            suggestion=suggest(typ.name, METRIC_TYPES),
        )
        return
    cat.metrics[metric.name] = MetricInfo(metric.name, typ.name, metric.description, metric.span)


def _check_props(ctx: Context, decl: ast.Alert | ast.Goal) -> None:
    if isinstance(decl, ast.Alert):
        kind, allowed = "alert", ALERT_KEYS
    elif decl.external:
        kind, allowed = "external goal", _EXTERNAL_ACCEPTS
    else:
        kind, allowed = "goal", GOAL_KEYS
    seen: dict[str, ast.Property] = {}
    for p in decl.props:
        if p.key not in allowed:
            article = "an" if kind[0] in "ae" else "a"
            shown = [k for k in allowed if not (kind == "external goal" and k in ("deploy", "kpi"))]
            ctx.error(
                "E210",
                f"`{p.key}` is not a property of {article} {kind}",
                p.span,
                notes=[Note(f"{article} {kind} takes: " + ", ".join(shown))],
                suggestion=suggest(p.key, shown),
            )
            continue
        if p.key in seen:
            ctx.error(
                "E211",
                f"`{p.key}` is given twice",
                p.span,
                notes=[Note("first given here", seen[p.key].span)],
            )
            continue
        seen[p.key] = p
        if p.key == "severity":
            _check_word(ctx, p, SEVERITIES, "severity")
        elif p.key == "category":
            _check_word(ctx, p, CATEGORIES, "category")
    for key in _REQUIRED[kind]:
        if key not in seen:
            ctx.error("E212", f"this {kind} has no `{key}:`", decl.span)


def _check_word(ctx: Context, p: ast.Property, allowed: tuple[str, ...], what: str) -> None:
    word = p.value
    if isinstance(word, ast.Word) and word.name not in allowed:
        ctx.error(
            "E208",
            f"`{word.name}` is not a {what}; use one of {', '.join(allowed)}",
            word.span,
            suggestion=suggest(word.name, allowed),
        )


# --- alerts with the same trigger ------------------------------------------------

_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _check_duplicate_alerts(ctx: Context) -> None:
    """W200: two alerts with the same `when`, `where` and `for` fire together for the same accounts.

    Conditions are compared as trees, not text: parentheses, `account.` before an
    attribute, the order of `and`/`or` operands, of `==`/`!=`/`+`/`*` operands
    and of `in (...)` items, the side a comparison is written from (`3 < mau` is
    `mau > 3`) and a number's spelling (`0.5`, `50%`; `14d`, `2w`) do not count.
    """
    first: dict[tuple, ast.Alert] = {}
    for alert in ctx.alerts.values():
        known = ctx.facts.get(id(alert))
        key = (known if known is not None else facts_of(alert)).get("trigger")
        if key is None:
            continue
        other = first.setdefault(key, alert)
        if other is not alert:
            ctx.warning(
                "W200",
                f"alert `{alert.name}` has the same `when`, `where` and `for` as `{other.name}`: "
                "both fire on the same day for the same accounts",
                alert.span,
                notes=[Note(f"`{other.name}` is here", other.span),
                       Note("give both playbooks to one alert (segment playbooks choose between them), "
                            "or make the conditions differ")],
            )


def facts_of(decl) -> dict:
    """What ``collect`` compares of an alert or goal besides its name, kind and span.

    Each fact is computed from the one declaration, so that the result cache
    (compiler/cache.py) keeps them per file and hands ``collect`` declarations
    without their properties, with their facts in ``ctx.facts``. A check that
    compares declarations reads them through here.
    """
    if not isinstance(decl, ast.Alert):
        return {}
    props: dict[str, ast.Property] = {}
    for p in decl.props:
        props.setdefault(p.key, p)
    if "when" not in props:
        return {"trigger": None}
    hold = props.get("for")
    trigger = (
        _canonical(props["when"].value),
        _canonical(props["where"].value) if "where" in props else None,
        _canonical(hold.value) if hold is not None else ("num", 0.0),
    )
    return {"trigger": trigger}


def _canonical(e) -> tuple:
    """A value that two conditions share exactly when they are the same condition up to spelling.

    Operands whose order does not matter go into frozensets; `>`/`>=` are turned
    into `<`/`<=` with their operands swapped. Recursive: the parser bounds an
    expression's depth (E102). Exact-type tests: it runs on every alert.
    """
    t = type(e)
    while t is ast.Paren:
        e = e.expr
        t = type(e)
    if t is ast.Name:
        return ("name", e.name)
    if t is ast.Binary:
        op = e.op
        if op == "and" or op == "or":  # flattened: `a and (b and c)` is `(a and b) and c`
            operands, stack = [], [e]
            while stack:
                x = ast.unparen(stack.pop())
                if type(x) is ast.Binary and x.op == op:
                    stack.append(x.left)
                    stack.append(x.right)
                else:
                    operands.append(_canonical(x))
            return (op, frozenset(operands))
        left, right = _canonical(e.left), _canonical(e.right)
        if op in _COMMUTATIVE:
            return (op, frozenset((left, right)))
        if op == ">" or op == ">=":  # `mau > 3` is `3 < mau`
            return (_MIRROR[op], right, left)
        return (op, left, right)
    if t is ast.Literal:
        if e.kind in _NUMERIC_LITERALS:
            return ("num", float(e.value))
        return ("lit", e.kind, e.value)
    if t is ast.Call:
        return ("call", e.func, tuple([_canonical(a) for a in e.args]))
    if t is ast.AttrRef:
        return ("name", e.attr)  # `account.tier` is `tier`
    if t is ast.Unary:
        return ("unary", e.op, _canonical(e.operand))
    if t is ast.InList:
        return ("in", e.negated, _canonical(e.operand), frozenset([_canonical(i) for i in e.items]))
    if t is ast.IsEmpty:
        return ("empty", e.negated, _canonical(e.operand))
    if t is ast.Word:  # a property value such as `for: 3d` is a literal; a bad one a word
        return ("word", e.name)
    return ("node", repr(e))


_COMMUTATIVE = frozenset({"+", "*", "==", "!="})
_NUMERIC_LITERALS = frozenset({"number", "percent", "money", "duration"})
