"""Compiler state shared by the passes: the catalog, the declarations, diagnostics."""

from __future__ import annotations

from dataclasses import dataclass, field

from plays.diagnostics import Diagnostic, Span, error, suggest, warning
from plays.dsl import ast

from plays.dsl.language import (  # noqa: F401  (re-exported for the passes)
    ALERT_KEYS,
    ATTRIBUTE_TYPES,
    CATEGORIES,
    EXTERNAL_KEYS,
    GOAL_KEYS,
    METRIC_TYPES,
    SEVERITIES,
    TASK_KEYS,
    TASK_TYPES,
)


@dataclass(frozen=True, slots=True)
class AttributeInfo:
    """An attribute of the account catalog."""

    name: str
    type: str  # text | date | number | enum
    values: tuple[str, ...]  # enum values, in written order
    span: Span


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """A metric of the snapshots."""

    name: str
    type: str  # count | number | money | percent
    description: str | None
    span: Span


@dataclass
class Catalog:
    """What the snapshots contain: attributes (written order) and metrics (by name)."""

    attributes: dict[str, AttributeInfo] = field(default_factory=dict)
    metrics: dict[str, MetricInfo] = field(default_factory=dict)
    span: Span | None = None

    def enum_owner(self, value: str) -> list[AttributeInfo]:
        """The enum attributes that have ``value`` among their values."""
        return [a for a in self.attributes.values() if a.type == "enum" and value in a.values]

    def names(self) -> list[str]:
        return [*self.attributes, *self.metrics]


@dataclass
class Context:
    """Everything the passes share. Passes append to ``diagnostics`` and keep going."""

    modules: tuple[ast.Module, ...]
    catalog: Catalog = field(default_factory=Catalog)
    alerts: dict[str, ast.Alert] = field(default_factory=dict)
    goals: dict[str, ast.Goal] = field(default_factory=dict)  # internal and external
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # The type of every expression node, by node identity (``id``), as the
    # typecheck pass inferred it; lowering reads it and never infers again.
    types: dict = field(default_factory=dict)
    # ``resolve.facts_of`` of alerts and goals whose properties are not at hand,
    # by node identity: the result cache's summaries of unchanged files.
    facts: dict = field(default_factory=dict)

    def error(self, code: str, message: str, span: Span | None, **kw) -> None:
        self.diagnostics.append(error(code, message, span, **kw))

    def warning(self, code: str, message: str, span: Span | None, **kw) -> None:
        self.diagnostics.append(warning(code, message, span, **kw))

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    def suggest(self, name: str, candidates) -> str | None:
        return suggest(name, candidates)


def props_of(node) -> dict[str, ast.Property]:
    """The properties of a block or task by key (the first one where a key repeats)."""
    out: dict[str, ast.Property] = {}
    for p in node.props:
        out.setdefault(p.key, p)
    return out
