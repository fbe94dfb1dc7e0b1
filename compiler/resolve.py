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
    catalog's declarations whole, but of an alert or goal only its name, kind
    and span (the result cache, compiler/cache.py, hands it nothing more).
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
