"""The syntax stage's output: a typed AST of the playbook language, with spans.

Every node is a small frozen dataclass; ``span`` is excluded from equality so
that tests can compare trees without positions (Jinja does the same with
``lineno``). Nothing here is checked for meaning: that is the compiler's job.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Union

from plays.diagnostics import Span

_NODE = dict(frozen=True, slots=True, kw_only=True)


class Node:
    """The base of every AST node (walk them with ``iter_child_nodes``, ``walk``, ``find_all``)."""

    __slots__ = ()


# --- expressions -----------------------------------------------------------


@dataclass(**_NODE)
class Literal(Node):
    """A literal: number, percent (as a fraction), duration (days), date, money, bool or string."""

    kind: str  # number | percent | duration | date | money | bool | string
    value: object  # float | int | str (ISO date, string) | bool
    text: str  # as written, for messages
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Name(Node):
    """A bare name: a metric, an attribute or an enum value, resolved later."""

    name: str
    span: Span = field(compare=False)


@dataclass(**_NODE)
class AttrRef(Node):
    """``account.ATTR``: an attribute of the account catalog."""

    attr: str
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Call(Node):
    """A function call such as ``pct_change(mau, 7d)``."""

    func: str
    args: tuple[Expr, ...]
    span: Span = field(compare=False)
    source: str = field(default="", compare=False, repr=False)  # the call as written


@dataclass(**_NODE)
class Unary(Node):
    """``-x`` or ``not x``."""

    op: str  # "-" | "not"
    operand: Expr
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Binary(Node):
    """Arithmetic (``+ - * /``), comparison (``== != < <= > >=``) or logic (``and``, ``or``)."""

    op: str
    left: Expr
    right: Expr
    span: Span = field(compare=False)


@dataclass(**_NODE)
class InList(Node):
    """``x in (a, b)`` or ``x not in (a, b)``."""

    operand: Expr
    items: tuple[Expr, ...]
    negated: bool
    span: Span = field(compare=False)


@dataclass(**_NODE)
class IsEmpty(Node):
    """``x is empty`` or ``x is not empty``."""

    operand: Expr
    negated: bool
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Paren(Node):
    """``( expr )``: kept so that spans cover the parentheses as written; means ``expr``."""

    expr: Expr
    span: Span = field(compare=False)


Expr = Union[Literal, Name, AttrRef, Call, Unary, Binary, InList, IsEmpty, Paren]


def unparen(e: Expr) -> Expr:
    """``e`` without the parentheses around it."""
    while isinstance(e, Paren):
        e = e.expr
    return e


# --- property values -------------------------------------------------------


@dataclass(**_NODE)
class Word(Node):
    """A bare word as a property value: ``severity: high``, ``type: call``."""

    name: str
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Text(Node):
    """A quoted string as a property value: ``account: "acme"``."""

    value: str
    span: Span = field(compare=False)


@dataclass(**_NODE)
class NameList(Node):
    """``after: a, b``: task names."""

    names: tuple[Word, ...]
    span: Span = field(compare=False)


@dataclass(**_NODE)
class DeployOn(Node):
    """``deploy: on DATEATTR [+|- offset]``."""

    attr: Word
    offset: Literal | None  # a duration, negative for ``-``
    span: Span = field(compare=False)


@dataclass(**_NODE)
class DeployWhen(Node):
    """``deploy: when EXPR``: deploys when EXPR becomes true."""

    condition: Expr
    span: Span = field(compare=False)
    source: str = field(default="", compare=False, repr=False)  # the condition as written


@dataclass(**_NODE)
class DeployManual(Node):
    """``deploy: manual``."""

    span: Span = field(compare=False)


@dataclass(**_NODE)
class KpiRelative(Node):
    """``kpi: mrr up 10%``: relative to the metric's value at deploy."""

    metric: Word
    direction: str  # up | down
    amount: Literal
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Measure(Node):
    """``measure: "label" target <= 30``: an external goal's hand-recorded measure."""

    label: str
    op: str
    target: Literal
    span: Span = field(compare=False)


Value = Union[Expr, Word, Text, NameList, DeployOn, DeployWhen, DeployManual, KpiRelative, Measure]


@dataclass(**_NODE)
class Property(Node):
    """``key: value`` inside an alert, goal or task block."""

    key: str
    value: Value
    span: Span = field(compare=False)  # the key
    value_span: Span = field(compare=False)
    # The value exactly as written (comments and line breaks kept, CRLF as LF):
    # a condition's ``source`` in the plan.
    source: str = field(default="", compare=False, repr=False)


# --- declarations ----------------------------------------------------------


@dataclass(**_NODE)
class TypeRef(Node):
    """An attribute or metric type: ``text``, ``date``, ``enum(a, b)``, ``percent``..."""

    name: str
    values: tuple[Word, ...] = ()
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Attribute(Node):
    """One line of the ``account`` block."""

    name: str
    type: TypeRef
    span: Span = field(compare=False)


@dataclass(**_NODE)
class AccountCatalog(Node):
    """The ``account { ... }`` block: the snapshot's attributes."""

    attributes: tuple[Attribute, ...]
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Metric(Node):
    """``metric NAME: TYPE "description"``."""

    name: str
    type: TypeRef
    description: str | None
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Task(Node):
    """``task NAME "title" { props }``; the title is a Jinja template."""

    name: str
    title: str
    title_span: Span = field(compare=False)
    props: tuple[Property, ...]
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Playbook(Node):
    """``playbook [NAME] [where EXPR] { tasks }``."""

    name: str | None
    where: Expr | None
    tasks: tuple[Task, ...]
    span: Span = field(compare=False)
    where_source: str = field(default="", compare=False, repr=False)  # the `where` as written


@dataclass(**_NODE)
class Alert(Node):
    """``alert NAME "title" { props playbooks }``."""

    name: str
    title: str | None
    props: tuple[Property, ...]
    playbooks: tuple[Playbook, ...]
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Goal(Node):
    """``goal NAME "title" { ... }`` (a template) or ``external goal ...``."""

    name: str
    title: str | None
    external: bool
    props: tuple[Property, ...]
    playbooks: tuple[Playbook, ...]
    span: Span = field(compare=False)


Declaration = Union[AccountCatalog, Metric, Alert, Goal]


@dataclass(**_NODE)
class Module(Node):
    """One parsed ``.play`` file."""

    path: str
    declarations: tuple[Declaration, ...]
    span: Span = field(compare=False)


# --- walking ---------------------------------------------------------------


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if not f.name.endswith("span"))


def iter_child_nodes(node: Node) -> Iterator[Node]:
    """The direct children of ``node``, in field order (like Jinja's ``Node.iter_child_nodes``).

    >>> from plays.dsl import ast, parse_expression
    >>> [type(c).__name__ for c in ast.iter_child_nodes(parse_expression("mau > 1"))]
    ['Name', 'Literal']
    """
    for name in _field_names(type(node)):
        value = getattr(node, name)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, Node):
                    yield item


def walk(node: Node) -> Iterator[Node]:
    """``node`` and every node under it, depth first in written order, without recursion.

    >>> from plays.dsl import ast, parse_expression
    >>> [getattr(n, "name", n.__class__.__name__) for n in ast.walk(parse_expression("a and (b or c)"))]
    ['Binary', 'a', 'Paren', 'Binary', 'b', 'c']
    """
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        children = list(iter_child_nodes(n))
        children.reverse()
        stack.extend(children)


def find_all(node: Node, types) -> Iterator[Node]:
    """Every node of ``types`` (a class or a tuple of classes) under ``node``, ``node`` included."""
    for n in walk(node):
        if isinstance(n, types):
            yield n
