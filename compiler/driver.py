"""Runs the compiler's passes in order over a whole spec set.

>>> from plays.compiler.driver import compile_sources
>>> from plays.sources import Source
>>> result = compile_sources([Source("a.play", 'metric mau: count')])
>>> result.ok, result.plan.catalog.metrics[0].name
(True, 'mau')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from plays.diagnostics import CompileError, Diagnostic
from plays.dsl import parse_module
from plays.sources import Source

from .context import Context

if TYPE_CHECKING:  # the plan's module (and Jinja, for titles) loads when a plan is made: a cached check needs neither
    from .plan import Plan


@dataclass
class Result:
    """Diagnostics of a run (sorted by place) and the plan, when there was no error."""

    diagnostics: list[Diagnostic]
    plan: Plan | None
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]


def _passes():
    """The passes, in order. Only the first looks across declarations (names, the catalog, and
    what ``resolve.facts_of`` gives of each alert and goal); each later one checks one
    alert or goal at a time, against the catalog and nothing else of the spec set:
    the result cache (cache.py) relies on it."""
    # Imported here so that each pass module stays importable on its own.
    from . import playbooks, resolve, templates, typecheck

    return (
        resolve.collect,
        resolve.check_properties,
        typecheck.typecheck,
        playbooks.check_playbooks,
        templates.check_templates,
    )


def compile_sources(sources: list[Source] | tuple[Source, ...], *, lower: bool = True, settings=None,
                    cache=None, parse=None) -> Result:
    """Parse, check and (when clean and ``lower``) lower a spec set to a plan.

    Suppression comments and the configured severities (``settings``, a
    ``plays.config.Settings``) are applied last, in ``suppress.apply``.
    ``cache``, a ``cache.CheckCache``, serves a check (``lower=False``) from
    the results of earlier runs where the files are unchanged; the
    diagnostics are the same as without it. ``parse`` replaces
    ``plays.dsl.parse_module`` (same signature, same result): the language
    server passes one that keeps unchanged declarations parsed. The two are
    alternative ways to reuse earlier work, so giving both is a mistake.
    """
    if cache is not None and parse is not None:
        raise TypeError("compile_sources: give `cache` (plays check) or `parse` (the language server), not both")
    from plays.perf import fewer_collections

    from .suppress import apply

    with fewer_collections():
        if cache is not None and not lower:
            return apply(cache.check(sources), settings)
        return apply(_compile(sources, lower, parse or parse_module), settings)


def _compile(sources, lower: bool, parse) -> Result:
    sources = sorted(sources, key=lambda s: s.path)
    diagnostics: list[Diagnostic] = []
    modules = []
    for src in sources:
        module, diags = parse(src.text, src.path)
        modules.append(module)
        diagnostics.extend(diags)
    ctx = Context(modules=tuple(modules))
    ctx.diagnostics = diagnostics
    for run_pass in _passes():
        run_pass(ctx)
    plan = None
    if lower and not ctx.has_errors:
        from .lower import lower as lower_plan

        plan = lower_plan(ctx, sources)
    diags = sorted(set(ctx.diagnostics), key=Diagnostic.sort_key)
    return Result(diagnostics=diags, plan=plan, sources={s.path: s.text for s in sources})


def compile_text(text: str, path: str = "<string>") -> Plan:
    """Compile one text to a plan, raising ``CompileError`` on errors (a convenience for tests)."""
    result = compile_sources([Source(path, text)])
    if not result.ok:
        raise CompileError(result.diagnostics)
    return result.plan
