"""The syntax stage's output: a typed AST of the playbook language, with spans.

Every node is a small frozen dataclass; ``span`` is excluded from equality so
that tests can compare trees without positions (Jinja does the same with
``lineno``). Nothing here is checked for meaning: that is the compiler's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from plays.diagnostics import Span

_NODE = dict(frozen=True, slots=True, kw_only=True)

# Which property keys each kind of block takes. The grammar accepts every key
# in every block so that a misplaced key gets a precise message from the
# compiler; the parser uses these lists to say what a misspelt key could be.
ALERT_KEYS = ("severity", "where", "when", "for", "cooldown")
GOAL_KEYS = ("category", "duration", "deploy", "where", "kpi")
EXTERNAL_KEYS = ("account", "measure", "start", "due", "category")
TASK_KEYS = ("type", "owner", "due", "after", "every", "until")


# --- expressions -----------------------------------------------------------


@dataclass(**_NODE)
class Literal:
    """A literal: number, percent (as a fraction), duration (days), date, money, bool or string."""

    kind: str  # number | percent | duration | date | money | bool | string
    value: object  # float | int | str (ISO date, string) | bool
    text: str  # as written, for messages
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Name:
    """A bare name: a metric, an attribute or an enum value, resolved later."""

    name: str
    span: Span = field(compare=False)


@dataclass(**_NODE)
class AttrRef:
    """``account.ATTR``: an attribute of the account catalog."""

    attr: str
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Call:
    """A function call such as ``pct_change(mau, 7d)``."""

    func: str
    args: tuple[Expr, ...]
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Unary:
    """``-x`` or ``not x``."""

    op: str  # "-" | "not"
    operand: Expr
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Binary:
    """Arithmetic (``+ - * /``), comparison (``== != < <= > >=``) or logic (``and``, ``or``)."""

    op: str
    left: Expr
    right: Expr
    span: Span = field(compare=False)


@dataclass(**_NODE)
class InList:
    """``x in (a, b)`` or ``x not in (a, b)``."""

    operand: Expr
    items: tuple[Expr, ...]
    negated: bool
    span: Span = field(compare=False)


@dataclass(**_NODE)
class IsEmpty:
    """``x is empty`` or ``x is not empty``."""

    operand: Expr
    negated: bool
    span: Span = field(compare=False)


Expr = Union[Literal, Name, AttrRef, Call, Unary, Binary, InList, IsEmpty]


# --- property values -------------------------------------------------------


@dataclass(**_NODE)
class Word:
    """A bare word as a property value: ``severity: high``, ``type: call``."""

    name: str
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Text:
    """A quoted string as a property value: ``account: "acme"``."""

    value: str
    span: Span = field(compare=False)


@dataclass(**_NODE)
class NameList:
    """``after: a, b``: task names."""

    names: tuple[Word, ...]
    span: Span = field(compare=False)


@dataclass(**_NODE)
class DeployOn:
    """``deploy: on DATEATTR [+|- offset]``."""

    attr: Word
    offset: Literal | None  # a duration, negative for ``-``
    span: Span = field(compare=False)


@dataclass(**_NODE)
class DeployWhen:
    """``deploy: when EXPR``: deploys when EXPR becomes true."""

    condition: Expr
    span: Span = field(compare=False)


@dataclass(**_NODE)
class DeployManual:
    """``deploy: manual``."""

    span: Span = field(compare=False)


@dataclass(**_NODE)
class KpiRelative:
    """``kpi: mrr up 10%``: relative to the metric's value at deploy."""

    metric: Word
    direction: str  # up | down
    amount: Literal
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Measure:
    """``measure: "label" target <= 30``: an external goal's hand-recorded measure."""

    label: str
    op: str
    target: Literal
    span: Span = field(compare=False)


Value = Union[Expr, Word, Text, NameList, DeployOn, DeployWhen, DeployManual, KpiRelative, Measure]


@dataclass(**_NODE)
class Property:
    """``key: value`` inside an alert, goal or task block."""

    key: str
    value: Value
    span: Span = field(compare=False)  # the key
    value_span: Span = field(compare=False)


# --- declarations ----------------------------------------------------------


@dataclass(**_NODE)
class TypeRef:
    """An attribute or metric type: ``text``, ``date``, ``enum(a, b)``, ``percent``..."""

    name: str
    values: tuple[Word, ...] = ()
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Attribute:
    """One line of the ``account`` block."""

    name: str
    type: TypeRef
    span: Span = field(compare=False)


@dataclass(**_NODE)
class AccountCatalog:
    """The ``account { ... }`` block: the snapshot's attributes."""

    attributes: tuple[Attribute, ...]
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Metric:
    """``metric NAME: TYPE "description"``."""

    name: str
    type: TypeRef
    description: str | None
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Task:
    """``task NAME "title" { props }``; the title is a Jinja template."""

    name: str
    title: str
    title_span: Span = field(compare=False)
    props: tuple[Property, ...]
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Playbook:
    """``playbook [NAME] [where EXPR] { tasks }``."""

    name: str | None
    where: Expr | None
    tasks: tuple[Task, ...]
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Alert:
    """``alert NAME "title" { props playbooks }``."""

    name: str
    title: str | None
    props: tuple[Property, ...]
    playbooks: tuple[Playbook, ...]
    span: Span = field(compare=False)


@dataclass(**_NODE)
class Goal:
    """``goal NAME "title" { ... }`` (a template) or ``external goal ...``."""

    name: str
    title: str | None
    external: bool
    props: tuple[Property, ...]
    playbooks: tuple[Playbook, ...]
    span: Span = field(compare=False)


Declaration = Union[AccountCatalog, Metric, Alert, Goal]


@dataclass(**_NODE)
class Module:
    """One parsed ``.play`` file."""

    path: str
    declarations: tuple[Declaration, ...]
    span: Span = field(compare=False)
