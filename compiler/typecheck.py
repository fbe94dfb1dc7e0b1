"""Compiler pass 2: the types of every expression and property value.

Unknown names, enum values and functions are found here too: names are
resolved against the catalog while inferring types (``types.infer``). The type
of every expression node is recorded in ``ctx.types`` for lowering.
"""

from __future__ import annotations

from plays.diagnostics import Note
from plays.dsl import ast
from plays.dsl.parser import literal_date

from .context import Context
from .types import check_condition as _check_condition

# Literal-valued properties of alerts and goals and the kind each must be.
_LITERAL_KINDS = {
    "for": "duration",
    "cooldown": "duration",
    "duration": "duration",
    "start": "date",
    "due": "date",  # on an external goal; task `due` is checked by the playbook pass
}
_EXAMPLES = {"duration": "a duration like 30d or 4w", "date": "a date like 2026-04-01"}


def typecheck(ctx: Context) -> None:
    """Check the types of conditions and property values of every alert and goal."""
    report = ctx.diagnostics.append
    catalog = ctx.catalog

    def check_condition(expr, catalog, report, what):  # every type lands in ctx.types, for lowering
        return _check_condition(expr, catalog, report, what, ctx.types)
    for decl in (*ctx.alerts.values(), *ctx.goals.values()):
        what = "alert" if isinstance(decl, ast.Alert) else "goal"
        for p in decl.props:
            v = p.value
            if p.key in ("where", "when"):
                check_condition(v, catalog, report, f"`{p.key}:`")
            elif p.key in _LITERAL_KINDS:
                _check_literal(ctx, p, _LITERAL_KINDS[p.key])
            elif p.key == "deploy":
                if isinstance(v, ast.DeployWhen):
                    check_condition(v.condition, catalog, report, "`deploy: when`")
                elif isinstance(v, ast.DeployOn) and v.offset is not None:
                    _check_kind(ctx, v.offset, "duration", "the deploy offset")
            elif p.key == "kpi":
                if not isinstance(v, ast.KpiRelative):
                    check_condition(v, catalog, report, "`kpi:`")
            elif p.key == "measure":
                t = v.target
                if not (isinstance(t, ast.Literal) and t.kind in ("number", "percent", "money")):
                    ctx.error("E304", "a measure's target is a number, a percent or an amount", t.span)
        for book in decl.playbooks:
            if book.where is not None:
                check_condition(book.where, catalog, report, "a playbook's `where`")
        if what == "goal" and not decl.external:
            _check_duration_positive(ctx, decl)
        if what == "alert":
            _check_cooldown(ctx, decl)


def _check_literal(ctx: Context, p: ast.Property, kind: str) -> None:
    _check_kind(ctx, p.value, kind, f"`{p.key}:`")


def _check_kind(ctx: Context, v, kind: str, what: str) -> None:
    if isinstance(v, ast.Literal) and v.kind == kind:
        if kind == "date" and literal_date(v) is None:
            ctx.error("E305", f"`{v.text}` is not a calendar date", v.span)
        elif kind == "duration" and v.value < 0 and what != "the deploy offset":
            ctx.error("E304", f"{what} cannot be negative", v.span)
        return
    shown = v.text if isinstance(v, ast.Literal) else getattr(v, "name", "this")
    ctx.error("E304", f"{what} takes {_EXAMPLES[kind]}, not `{shown}`", v.span)


def _check_duration_positive(ctx: Context, goal: ast.Goal) -> None:
    for p in goal.props:
        if p.key == "duration" and isinstance(p.value, ast.Literal) and p.value.kind == "duration":
            if p.value.value <= 0:
                ctx.error("E304", "a goal's `duration:` must be longer than 0d", p.value.span)


def _check_cooldown(ctx: Context, alert: ast.Alert) -> None:
    """W201: a `cooldown:` that can never delay a fire, given `for:`.

    After a fire on day f the alert must resolve at a later snapshot (day f + 1 at
    the earliest) and its condition hold again from a snapshot after that (f + 2)
    for `for:` days, so it fires again on day f + 2 + for at the earliest
    (LANGUAGE.md, "Runtime semantics"). A cooldown of at most for + 2 days, which
    blocks only fires before f + cooldown, never blocks one.
    """
    p: dict[str, ast.Property] = {}
    for q in alert.props:
        p.setdefault(q.key, q)
    cooldown, hold = p.get("cooldown"), p.get("for")
    c = cooldown.value if cooldown is not None else None
    if not (isinstance(c, ast.Literal) and c.kind == "duration" and c.value > 0):
        return
    h = hold.value if hold is not None else None
    if h is not None and not (isinstance(h, ast.Literal) and h.kind == "duration" and h.value >= 0):
        return  # E304 says what is wrong with `for:`
    days = h.value if h is not None else 0
    if c.value > days + 2:
        return
    held = f"hold again for {h.text}" if h is not None and days else "be true again at a later one"
    ctx.warning(
        "W201",
        f"`cooldown: {c.text}` never delays a fire: after firing, the alert must resolve at a later snapshot "
        f"and {held}, so it fires again {days + 2} days after the last fire at the earliest",
        c.span,
        notes=[Note(f"a cooldown delays fires only when longer than {days + 2}d; remove it or lengthen it")],
    )
