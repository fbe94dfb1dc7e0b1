"""Where names are declared and used in a spec set: metrics, attributes, enum values and tasks.

Built from the parsed modules of the last check (no parsing here). Every
occurrence is the span of the name itself (``mau`` in ``pct_change(mau, 7d)``,
``go_live_date`` in ``on account.go_live_date``, ``kickoff`` in
``after: kickoff``), so the editor can jump from it, find it, and hover it.
Task names are local to their playbook: ``after:`` refers to a task of the
same playbook (E205 otherwise).

>>> from plays.dsl import parse
>>> m = parse('account { segment: enum(smb, mid) }\\nmetric mau: count\\nalert a { when: mau > 1 and segment == smb }', "a.play")
>>> index = Index.build([m], {"a.play": 'account { segment: enum(smb, mid) }\\nmetric mau: count\\nalert a { when: mau > 1 and segment == smb }'})
>>> [(o.kind, o.name, o.span.line, o.span.col) for o in index.occurrences("metric", "mau")]
[('metric', 'mau', 2, 8), ('metric', 'mau', 3, 17)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from plays.diagnostics import Span
from plays.dsl import ast

METRIC, ATTRIBUTE, ENUM_VALUE, TASK, FUNCTION = "metric", "attribute", "enum value", "task", "function"
_NAME = "name"  # a bare name in an expression, before it is known to be a metric, an attribute or an enum value
_TITLE_NAME = "title name"  # a bare name in a task title's template: a metric, a function, or nothing of ours


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One place a name is written: declared (``definition``) or used."""

    kind: str
    name: str
    span: Span
    definition: bool = False
    scope: tuple = ()  # a task's playbook: (path, rule name, playbook index); an enum value's attribute


@dataclass(frozen=True, slots=True)
class MetricDecl:
    name: str
    type: str
    description: str | None


@dataclass(frozen=True, slots=True)
class AttributeDecl:
    name: str
    type: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TaskDecl:
    name: str
    title: str
    rule: str


def _tail(span: Span, name: str) -> Span:
    """The span of ``name`` written at the end of ``span`` (``account.x`` -> ``x``)."""
    return Span(span.path, span.end_line, span.end_col - len(name), span.end_line, span.end_col)


def _head(span: Span, name: str) -> Span:
    return Span(span.path, span.line, span.col, span.line, span.col + len(name))


class Index:
    """Declarations and occurrences of one spec set's names."""

    def __init__(self):
        self.metrics: dict[str, MetricDecl] = {}
        self.attributes: dict[str, AttributeDecl] = {}
        self.tasks: dict[tuple, dict[str, TaskDecl]] = {}  # playbook scope -> name -> task
        self.occurrences_by_path: dict[str, list[Occurrence]] = {}

    # --- building ----------------------------------------------------------------------

    @classmethod
    def build(cls, modules, texts: dict[str, str]) -> Index:
        """The index of ``modules``; ``texts`` (display path -> text) locates metric names in their headers."""
        index = cls()
        for module in modules:
            index._module(module, texts.get(module.path, ""))
        index._resolve_names()
        for occs in index.occurrences_by_path.values():
            occs.sort(key=lambda o: (o.span.line, o.span.col))
        return index

    def _add(self, occ: Occurrence) -> None:
        self.occurrences_by_path.setdefault(occ.span.path, []).append(occ)

    def _module(self, module: ast.Module, text: str) -> None:
        self._lines = lines = text.split("\n")
        for decl in module.declarations:
            if isinstance(decl, ast.AccountCatalog):
                for attr in decl.attributes:
                    values = tuple(w.name for w in attr.type.values)
                    self.attributes.setdefault(attr.name, AttributeDecl(attr.name, attr.type.name, values))
                    self._add(Occurrence(ATTRIBUTE, attr.name, _head(attr.span, attr.name), True))
                    for w in attr.type.values:
                        self._add(Occurrence(ENUM_VALUE, w.name, w.span, True, (attr.name,)))
            elif isinstance(decl, ast.Metric):
                self.metrics.setdefault(decl.name, MetricDecl(decl.name, decl.type.name, decl.description))
                self._add(Occurrence(METRIC, decl.name, _metric_name_span(decl, lines), True))
            else:
                self._rule(decl)

    def _rule(self, decl: ast.Alert | ast.Goal) -> None:
        for prop in decl.props:
            self._value(prop.value)
        for i, book in enumerate(decl.playbooks):
            scope = (decl.span.path, decl.name, i)
            tasks = self.tasks.setdefault(scope, {})
            if book.where is not None:
                self._value(book.where)
            for task in book.tasks:
                tasks.setdefault(task.name, TaskDecl(task.name, task.title, decl.name))
                self._add(Occurrence(TASK, task.name, _tail(task.span, task.name), True, scope))
                self._title(task.title_span)
                for prop in task.props:
                    if isinstance(prop.value, ast.NameList):
                        for w in prop.value.names:
                            self._add(Occurrence(TASK, w.name, w.span, False, scope))

    def _title(self, span: Span) -> None:
        """The names a task title's template uses: ``account.NAME``, metrics and functions in ``{{ }}``/``{% %}``."""
        if span.line != span.end_line or span.line > len(self._lines):
            return
        raw = self._lines[span.line - 1][span.col - 1 : span.end_col - 1]
        for block in _TEMPLATE_BLOCK.finditer(raw):
            for m in _TEMPLATE_NAME.finditer(raw, block.start(), block.end()):
                name, kind = (m.group(1), ATTRIBUTE) if m.group(1) else (m.group(2), _TITLE_NAME)
                if name is None:
                    continue
                at = span.col + m.start(1 if m.group(1) else 2)
                self._add(Occurrence(kind, name, Span(span.path, span.line, at, span.line, at + len(name))))

    def _value(self, value) -> None:
        if isinstance(value, ast.DeployOn):
            self._add(Occurrence(ATTRIBUTE, value.attr.name, _tail(value.attr.span, value.attr.name)))
        elif isinstance(value, ast.KpiRelative):
            self._add(Occurrence(METRIC, value.metric.name, _tail(value.metric.span, value.metric.name)))
        if not isinstance(value, ast.Node) or isinstance(value, (ast.Word, ast.Text, ast.NameList, ast.Measure)):
            return
        for node in ast.walk(value):
            if isinstance(node, ast.Name):
                self._add(Occurrence(_NAME, node.name, node.span))  # which kind: once every file is read
            elif isinstance(node, ast.AttrRef):
                self._add(Occurrence(ATTRIBUTE, node.attr, _tail(node.span, node.attr)))
            elif isinstance(node, ast.Call):
                self._add(Occurrence(FUNCTION, node.func, _head(node.span, node.func)))

    # --- queries -----------------------------------------------------------------------

    def _resolve_names(self) -> None:
        """Give the bare names their kind, once every declaration is known (a metric may be in a later file)."""
        from plays.dsl.language import FUNCTIONS

        for path, occs in self.occurrences_by_path.items():
            for i, o in enumerate(occs):
                if o.kind == _NAME:
                    kind = METRIC if o.name in self.metrics else ATTRIBUTE if o.name in self.attributes else ENUM_VALUE
                    occs[i] = Occurrence(kind, o.name, o.span, False, o.scope)
                elif o.kind == _TITLE_NAME:
                    kind = METRIC if o.name in self.metrics else FUNCTION if o.name in FUNCTIONS else None
                    occs[i] = Occurrence(kind, o.name, o.span) if kind else None
            occs[:] = [o for o in occs if o is not None]

    def at(self, path: str, line: int, col: int) -> Occurrence | None:
        """The occurrence under ``line``:``col`` of ``path`` (the character after the cursor, or before it)."""
        for o in self.occurrences_by_path.get(path, ()):
            s = o.span
            if s.line == line and s.col <= col <= s.end_col:
                return o
        return None

    def occurrences(self, kind: str, name: str, scope: tuple = ()) -> list[Occurrence]:
        """Every occurrence of the name, declarations first, in path and position order."""
        out = []
        for path in sorted(self.occurrences_by_path):
            for o in self.occurrences_by_path[path]:
                if o.kind == kind and o.name == name and (kind != TASK or o.scope == scope):
                    out.append(o)
        return sorted(out, key=lambda o: (not o.definition, o.span.path, o.span.line, o.span.col))

    def definitions(self, occ: Occurrence) -> list[Occurrence]:
        found = [o for o in self.occurrences(occ.kind, occ.name, occ.scope) if o.definition]
        if occ.kind == ENUM_VALUE and not occ.definition:
            return found  # every enum that has the value (the checker says which one a comparison means)
        return found[:1]


# In a title (as written, escapes and all): the template blocks, and in them `account.NAME` or a name that
# is not an attribute of something (`goal.title`), a filter (`| pct`) or in a string.
_TEMPLATE_BLOCK = re.compile(r"\{\{.*?(?:\}\}|$)|\{%.*?(?:%\}|$)")
_TEMPLATE_NAME = re.compile(r"\\?\"(?:[^\"\\]|\\[^\"])*\\?\"|'[^']*'|\baccount\s*\.\s*([a-z_][a-z0-9_]*)"
                            r"|(?<![\w.|])(?<!\|\s)([a-z_][a-z0-9_]*)")
_NAME_AFTER_KEYWORD = re.compile(r"metric(?:\s|#[^\n]*)+([a-z_][a-z0-9_]*)")


def _metric_name_span(decl: ast.Metric, lines: list[str]) -> Span:
    """Where a metric's name is written: after ``metric``, usually on the same line."""
    s = decl.span
    rest = "\n".join(lines[s.line - 1 : s.end_line])[s.col - 1 :]
    m = _NAME_AFTER_KEYWORD.match(rest)
    if m is None or m.group(1) != decl.name:
        return _head(s, "metric")
    before = rest[: m.start(1)]
    line = s.line + before.count("\n")
    col = (s.col + len(before)) if "\n" not in before else len(before) - before.rfind("\n")
    return Span(s.path, line, col, line, col + len(decl.name))
