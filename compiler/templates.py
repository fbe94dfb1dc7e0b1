"""Compiler pass 4: task titles are Jinja templates; check their syntax and names.

The runtime renders titles with the same environment (``make_environment``):
sandboxed, undefined names an error, no autoescaping (titles are plain text).
Only the spec's titles are templates; account data is passed in as values and
never rendered as a template.

Rendering context (built by the runtime): ``account`` (attributes and ``id``),
every metric's value at the evaluation date, the expression functions called
as ``f(name, days)`` (``to_jinja`` rewrites ``pct_change(mau, 7d)`` into
``pct_change("mau", 7)``), ``alert`` or ``goal`` (``name``, ``title``) and
``today``.
"""

from __future__ import annotations

import re
from functools import cache

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from plays.diagnostics import Span, suggest
from plays.dsl import ast

from .context import Context
from .types import FUNCTIONS


def fmt_pct(value, digits: int = 0) -> str:
    """0.2 -> "20%"; -0.314 -> "-31%"; empty -> "n/a"."""
    if value is None:
        return "n/a"
    return f"{value * 100:.{digits}f}%"


def fmt_money(value) -> str:
    """1234.5 -> "$1,234.50"; 1200 -> "$1,200"; empty -> "n/a"."""
    if value is None:
        return "n/a"
    sign = "-" if value < 0 else ""
    v = abs(value)
    return f"{sign}${v:,.0f}" if float(v).is_integer() else f"{sign}${v:,.2f}"


def fmt_days(value) -> str:
    """7 -> "7 days"; 1 -> "1 day"; empty -> "n/a"."""
    if value is None:
        return "n/a"
    n = int(value) if float(value).is_integer() else value
    return f"{n} day" if n in (1, -1) else f"{n} days"


FILTERS = {"pct": fmt_pct, "money": fmt_money, "days": fmt_days}


@cache
def make_environment() -> SandboxedEnvironment:
    """The sandboxed Jinja environment titles are checked and rendered with."""
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters.update(FILTERS)
    return env


@cache
def compile_title(text: str) -> jinja2.Template:
    """The compiled template of a title (cached by text)."""
    return make_environment().from_string(to_jinja(text))


_BLOCK = re.compile(r"{{.*?}}|{%.*?%}", re.S)
_DURATION = re.compile(r"(?<![\w.])(\d+)([dw])\b")
_FUNC_ARG = re.compile(r"\b(" + "|".join(FUNCTIONS) + r")\(\s*([a-z_][a-z0-9_]*)\s*(?=[,)])")


def to_jinja(title: str) -> str:
    """Rewrite the language's own forms inside ``{{ }}``/``{% %}`` into Jinja.

    Titles use the expression language's functions as LANGUAGE.md writes them:
    ``{{ pct_change(mau, 7d) | pct }}``. Jinja has no duration literals and
    would pass ``mau``'s value, not the metric; so durations become whole days
    and a function's first argument becomes the metric's (or date attribute's)
    name: ``pct_change("mau", 7)``.

    >>> to_jinja("MAU {{ pct_change(mau, 2w) | pct }} since {{ days_since(go_live_date) }}")
    'MAU {{ pct_change("mau", 14) | pct }} since {{ days_since("go_live_date") }}'
    """

    def block(m: re.Match) -> str:
        text = _DURATION.sub(lambda d: str(int(d.group(1)) * (7 if d.group(2) == "w" else 1)), m.group())
        return _FUNC_ARG.sub(lambda f: f'{f.group(1)}("{f.group(2)}"', text)

    return _BLOCK.sub(block, title)


def _is_template(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def check_templates(ctx: Context) -> None:
    """Parse every task title and check the names and filters it uses."""
    env = make_environment()
    metrics = set(ctx.catalog.metrics)
    attrs = set(ctx.catalog.attributes) | {"id"}
    base = metrics | set(FUNCTIONS) | {"account", "today"}
    cache: dict[tuple[str, str], list] = {}
    for kind, rules in (("alert", ctx.alerts.values()), ("goal", ctx.goals.values())):
        scope = base | {kind}
        for rule in rules:
            for book in rule.playbooks:
                for task in book.tasks:
                    if not _is_template(task.title):
                        continue
                    key = (kind, task.title)
                    if key not in cache:
                        cache[key] = _problems(env, task.title, scope, attrs, kind)
                    for code, message, hint in cache[key]:
                        ctx.error(code, message, _title_span(task), suggestion=hint)


def _title_span(task: ast.Task) -> Span:
    return task.title_span


def _problems(env, text: str, scope: set[str], attrs: set[str], kind: str) -> list[tuple[str, str, str | None]]:
    try:
        tree = env.parse(to_jinja(text))
    except jinja2.TemplateSyntaxError as e:
        return [("E600", f"the title is not a valid template: {e.message}", None)]
    out = []
    for node in tree.find_all(nodes.Filter):
        if node.name not in env.filters:
            out.append(("E602", f"the title uses the filter `{node.name}`, which does not exist",
                        suggest(node.name, FILTERS) or suggest(node.name, env.filters)))
    try:
        # Runs Jinja's code generator, which also rejects unknown filters and tests.
        undeclared = meta.find_undeclared_variables(tree)
    except jinja2.TemplateAssertionError as e:
        if out:  # an unknown filter, reported above: list the names by walking the tree
            stored = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
            undeclared = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"} - stored
        else:
            return [("E600", f"the title is not a valid template: {e.message}", None)]
    for name in sorted(undeclared):
        if name not in scope:
            other = "goal" if kind == "alert" else "alert"
            if name == other:  # the other kind of rule: say so, and suggest the right one
                article = "an" if kind == "alert" else "a"
                out.append(("E601", f"the title uses `{name}`, which is not in scope (`{name}` is not in scope "
                                    f"in {article} {kind}'s playbook)", kind))
                continue
            out.append(("E601", f"the title uses `{name}`, which is not in scope", suggest(name, scope)))
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name == "account" and node.attr not in attrs:
            out.append(("E601", f"the title uses `account.{node.attr}`, which is not an attribute",
                        (f"account.{h}" if (h := suggest(node.attr, attrs)) else None)))
        if isinstance(node.node, nodes.Name) and node.node.name in ("alert", "goal") and node.attr not in ("name", "title"):
            out.append(("E601", f"the title uses `{node.node.name}.{node.attr}`; it has `name` and `title`", None))
    return out
