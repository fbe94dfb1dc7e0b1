"""Task titles as small template programs: analysed once, rendered many times.

A title is Jinja text. ``compile_title`` reads it once, at the token level:

1. Jinja's lexer splits it; a number written against ``d`` or ``w`` inside
   ``{{ }}``/``{% %}`` (``7d``, ``2w``) becomes one duration token, in days.
   String literals are never touched: ``{{ "due in 7d" }}`` stays as written.
2. Jinja's parser builds the tree. A title is a short line of text, so the
   tree may only use what such a line needs: output, ``{% if %}``, names,
   ``account.NAME``, ``alert``/``goal`` ``.name``/``.title``, ``today``
   (``.year``/``.month``/``.day``), literals, arithmetic other than ``**``,
   comparisons, ``and``/``or``/``not``, ``~``, the filters of
   ``TITLE_FILTERS``, Jinja's tests and calls of the language's functions.
   Loops, macros, assignments, includes, ``**``, repetition of text, method
   calls and deep nesting are refused (E603) before anything is evaluated.
3. What the title uses is recorded (``Title.names``, ``.attributes``,
   ``.calls``) and the tree is rewritten so that every value the runtime
   supplies is a plain name (``pct_change(mau, 7d)`` becomes the value the
   runtime fetched for that call), comparisons and ``~`` go through helpers
   that treat an empty value like the language does, and it is compiled once
   with a sandboxed environment whose operators are intercepted (the second
   line of defence).

``Title.render(TitleValues)`` renders it: numbers are rounded like the
language's arithmetic, an empty value reads ``—``, and the text is cut at
``MAX_TITLE`` characters. ``check_title`` checks a title's names against a
catalog (the compile pass and a hand-edited plan use it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache, wraps
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.lexer import TOKEN_INTEGER, TOKEN_NAME, Token, TokenStream
from jinja2.sandbox import SandboxedEnvironment
from jinja2.tests import TESTS as JINJA_TESTS

from plays.diagnostics import suggest
from plays.dsl.language import DATE_ATTRIBUTE, FUNCTIONS, MAX_DAYS, MAX_DEPTH, UNITS  # one bound on nesting
from plays.errors import PlaysError

from .title_values import (  # noqa: F401  (EMPTY, MAX_TITLE, DECIMALS and the filters are part of this API)
    DECIMALS, EMPTY, MAX_TITLE, TITLE_FILTERS, arith, as_text, compare, fmt_days, fmt_money, fmt_pct, is_number, join,
    plain, rounded_number,
)
from .types import Type

_DATE_PARTS = ("year", "month", "day")
_RULES = ("alert", "goal")


class TitleError(PlaysError):
    """A title that cannot be compiled (``problems``) or rendered (the message says why)."""

    def __init__(self, message: str, problems: tuple[TitleProblem, ...] = ()):
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True, slots=True)
class TitleProblem:
    """One thing wrong with a title; ``offset`` locates it in the title's text when known."""

    code: str
    message: str
    suggestion: str | None = None
    offset: int | None = None


@dataclass(frozen=True, slots=True)
class TitleCall:
    """A call of one of the language's functions in a title.

    ``metric`` is the first argument's name (a metric, or a date attribute for
    ``days_since``/``days_until``), ``days`` the window in days (``None`` for
    one-argument functions), ``written`` the call as the spec wrote it (spaces
    normalised), e.g. ``pct_change(mau, 1w)``. Two spellings of the same call
    (``7d``, ``1w``) are equal.
    """

    func: str
    metric: str | None
    days: int | None
    written: str = field(compare=False)


@dataclass(frozen=True, slots=True)
class TitleValues:
    """What the runtime supplies to render a title for one (account, date, rule).

    ``kind`` is ``"alert"`` or ``"goal"`` (the rule whose playbook holds the
    task), ``rule``/``rule_title`` its name and title, ``today`` the
    evaluation date, ``account`` the account's attributes and ``id``,
    ``metrics`` the metric values at ``today``, ``calls`` a value per
    ``TitleCall``. Only what the title uses is needed (``Title.names``,
    ``.attributes``, ``.calls``); ``None`` is an empty value.
    """

    kind: str
    rule: str
    rule_title: str
    today: date
    account: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    calls: Mapping[TitleCall, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, eq=False)
class _Program:
    """The compiled part of a title: the rewritten tree (compiled to Python on first render) and what the checks need."""

    tree: nodes.Template
    metrics: tuple[str, ...]  # names read as metrics (in ``names``, not account/alert/goal/today)
    rule_attrs: tuple[tuple[str, str, int | None], ...]  # (alert|goal as written, attribute, offset)
    account_attrs: tuple[tuple[str, int | None], ...]  # (attribute, offset), in written order
    called: tuple[tuple[str, int | None], ...]  # names called that are not the language's functions
    call_args: tuple[tuple[TitleCall, int | None], ...]  # every call with the offset of its argument
    operands: tuple[tuple[str, frozenset, frozenset | None, int | None], ...]  # (operator or filter, kinds, offset)
    compiled: list = field(default_factory=list)  # the Jinja template, once rendered

    @property
    def template(self) -> jinja2.Template:
        """Jinja's Python code for the tree, generated at the first render (checking never needs it)."""
        if not self.compiled:
            self.compiled.append(_environment().from_string(self.tree))
        return self.compiled[0]


@dataclass(frozen=True, slots=True, eq=False)
class Title:
    """A task title, analysed once (see the module's docstring)."""

    text: str  # as written in the spec
    names: frozenset[str]  # top-level names: "account", metrics, "alert"/"goal", "today"
    attributes: frozenset[str]  # account attributes read (``account.NAME``; "id" included)
    calls: tuple[TitleCall, ...]  # the language's function calls, deduplicated, in written order
    _program: _Program | None = field(default=None, repr=False)  # None: plain text

    @property
    def is_template(self) -> bool:
        return self._program is not None

    def render(self, values: TitleValues) -> str:
        """The title for one account, date and rule.

        Raises ``TitleError`` when ``values`` lacks something the title uses;
        a title that passed ``check_title`` renders for any values (empty
        ones included).
        """
        p = self._program
        if p is None:
            return self.text
        ctx: dict[str, Any] = {}
        for name in p.metrics:
            ctx[name] = _supplied(values.metrics, name, name)
        for attr in self.attributes:
            ctx["Account_" + attr] = _supplied(values.account, attr, f"account.{attr}")
        for i, call in enumerate(self.calls):
            ctx[f"Call_{i}"] = _supplied(values.calls, call, call.written)
        for rule, attr, _ in p.rule_attrs:
            if rule != values.kind:
                raise TitleError(f"`{rule}` is not in scope in {values.kind} `{values.rule}`")
            ctx["Rule_" + attr] = values.rule if attr == "name" else values.rule_title
        ctx["today"] = values.today
        out: list[str] = []
        size = 0
        try:
            for piece in p.template.generate(ctx):
                out.append(piece)
                size += len(piece)
                if size > MAX_TITLE:
                    break
        except TitleError:
            raise
        except Exception as e:  # the sandbox's refusals and anything the checks did not foresee
            raise TitleError(_reason(e)) from None
        text = "".join(out)
        return text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 1] + "…"


def compile_title(text: str) -> Title:
    """The title program of ``text`` (cached by text); ``TitleError`` with its ``problems`` if it is not one.

    >>> t = compile_title('Call {{ account.name }}: MAU {{ pct_change(mau, 1w) | pct }} ({{ "due in 7d" }})')
    >>> sorted(t.names), sorted(t.attributes), [c.written for c in t.calls], t.calls[0].days
    (['account'], ['name'], ['pct_change(mau, 1w)'], 7)
    >>> t.render(TitleValues("alert", "usage_drop", "Usage dropped", date(2026, 3, 1),
    ...                      account={"id": "acme", "name": "Acme"}, calls={t.calls[0]: -0.3}))
    'Call Acme: MAU -30% (due in 7d)'
    """
    out = _compile(text)
    if isinstance(out, TitleError):
        raise TitleError(str(out), out.problems)  # a fresh exception: the cached one keeps no traceback
    return out


def check_title(title: Title, metrics: Mapping[str, str], attributes: Mapping[str, str], kind: str) -> list[TitleProblem]:
    """What is wrong with ``title`` in a playbook of an ``kind`` (alert or goal) over this catalog.

    ``metrics`` maps each metric to its type (count, number, money, percent),
    ``attributes`` each account attribute to its type (text, date, number,
    enum). Unknown names, attributes and function arguments, and
    arithmetic on text or dates, are problems; an empty list means the title
    renders for any account.
    """
    p = title._program
    if p is None:
        return []
    attrs = {**attributes, "id": "text"}
    scope = {*metrics, *FUNCTIONS, "account", "today", kind}
    out: list[TitleProblem] = []
    for name in sorted(title.names - {"account", "today", "alert", "goal"} - set(metrics)):
        out.append(TitleProblem("E601", f"the title uses `{name}`, which is not in scope", suggest(name, scope)))
    other = "goal" if kind == "alert" else "alert"
    if other in title.names:  # the other kind of rule: say so, and suggest the right one
        article = "an" if kind == "alert" else "a"
        out.append(TitleProblem("E601", f"the title uses `{other}`, which is not in scope (`{other}` is not in scope "
                                        f"in {article} {kind}'s playbook)", kind))
    for name, offset in p.called:
        if name in metrics:
            out.append(TitleProblem("E603", f"the title calls `{name}`, which is a metric, not a function", None, offset))
        else:
            out.append(TitleProblem("E601", f"the title uses `{name}`, which is not in scope",
                                    suggest(name, FUNCTIONS), offset))
    for attr, offset in p.account_attrs:
        if attr not in attrs:
            hint = suggest(attr, attrs)
            out.append(TitleProblem("E601", f"the title uses `account.{attr}`, which is not an attribute",
                                    f"account.{hint}" if hint else None))
    for rule, attr, offset in p.rule_attrs:
        if attr not in ("name", "title"):
            out.append(TitleProblem("E601", f"the title uses `{rule}.{attr}`; it has `name` and `title`"))
    for call, offset in p.call_args:
        out.extend(_check_argument(call, offset, metrics, attrs))
    for op, left, right, offset in p.operands:
        right = None if right is None else _resolve(right, metrics, attrs)
        problem = _operand_problem(op, _resolve(left, metrics, attrs), right, offset)
        if problem:
            out.append(problem)
    return out


# --- compiling ---------------------------------------------------------------------------------------


class _Days(int):
    """A duration literal of a title (``7d``, ``2w``), as its number of days; ``written`` as in the spec."""

    written: str

    def __new__(cls, days: int, written: str):
        self = super().__new__(cls, days)
        self.written = written
        return self


class _TitleEnvironment(SandboxedEnvironment):
    """Jinja's sandbox, reading durations as days and intercepting every operator.

    Tokens carry their offset in the title (plus one) where Jinja keeps a line
    number: titles are one line, and this puts every node of the tree at the
    place it was written.
    """

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    intercepted_unops = frozenset({"+", "-"})

    def _tokenize(self, source, name, filename=None, state=None):
        raw = []
        pos = 0
        for _, kind, value in self.lexer.tokeniter(source, name, filename, state):
            at = source.find(value, pos) if value else pos
            at = pos if at < 0 else at
            raw.append((at + 1, kind, value))
            pos = at + len(value)
        durations = {}  # offset -> (unit, written) of a number written against d or w
        for (at, kind, value), (_, nxt, unit) in zip(raw, raw[1:]):
            if kind == TOKEN_INTEGER and nxt == TOKEN_NAME and unit in UNITS:
                durations[at] = (unit, value + unit)
        return TokenStream(self._durations(self.lexer.wrap(iter(raw), name, filename), durations), name, filename)

    @staticmethod
    def _durations(tokens, durations):
        for tok in tokens:
            if tok.type == TOKEN_INTEGER and tok.lineno in durations:
                unit, written = durations[tok.lineno]
                next(tokens)  # the unit's name token
                yield Token(tok.lineno, TOKEN_INTEGER, _Days(tok.value * UNITS[unit], written))
            else:
                yield tok

    def call_binop(self, context, operator, left, right):
        return arith(operator, left, right)

    def call_unop(self, context, operator, arg):
        if not is_number(arg):
            return None
        return rounded_number(-float(arg) if operator == "-" else float(arg))

    def is_safe_attribute(self, obj, attr, value):
        return isinstance(obj, date) and attr in _DATE_PARTS

    def is_safe_callable(self, obj):
        return obj in _HELPERS.values()


@lru_cache(maxsize=1)
def _environment() -> _TitleEnvironment:
    env = _TitleEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, optimized=False, finalize=as_text)
    env.globals = dict(_HELPERS)  # no range(), lipsum(), dict(), namespace() ...
    env.filters = dict(TITLE_FILTERS)
    env.tests = {name: _safe_test(fn) for name, fn in JINJA_TESTS.items()}
    return env


@lru_cache(maxsize=4096)
def _compile(text: str) -> Title | TitleError:
    if not ("{{" in text or "{%" in text or "{#" in text):
        return Title(text, frozenset(), frozenset(), ())
    env = _environment()
    try:
        tree = env.parse(text)
    except jinja2.TemplateSyntaxError as e:
        return _error(TitleProblem("E600", f"the title is not a valid template: {e.message}"))
    except ValueError:  # Python's limit on the digits of an integer
        return _error(TitleProblem("E600", "the title is not a valid template: a number has too many digits"))
    except RecursionError:
        return _error(_too_deep(None))
    a = _Analysis()
    a.statements(tree.body)
    if a.problems:
        return TitleError(a.problems[0].message, tuple(a.problems))
    tree.set_environment(env)
    program = _Program(
        tree=tree, metrics=tuple(a.names), rule_attrs=tuple(a.rule_attrs),
        account_attrs=tuple(a.account_attrs), called=tuple(a.called),
        call_args=tuple(a.call_args), operands=tuple(a.operands),
    )
    names = set(a.names)
    if a.account_attrs:
        names.add("account")
    names.update(rule for rule, _, _ in a.rule_attrs)
    if a.today:
        names.add("today")
    return Title(text, frozenset(names), frozenset(x for x, _ in a.account_attrs), tuple(a.calls), program)


def _error(problem: TitleProblem) -> TitleError:
    return TitleError(problem.message, (problem,))


def _too_deep(offset: int | None) -> TitleProblem:
    return TitleProblem("E603", f"the title nests too deeply (at most {MAX_DEPTH} levels of operators, parentheses, "
                                "filters and blocks)", None, offset)


def _at(node: nodes.Node) -> int | None:
    return node.lineno - 1 if getattr(node, "lineno", None) else None


_REFUSED = {
    nodes.For: "`{% for %}` loops", nodes.Macro: "`{% macro %}`", nodes.CallBlock: "`{% call %}`",
    nodes.With: "`{% with %}`", nodes.Assign: "`{% set %}`", nodes.AssignBlock: "`{% set %}`",
    nodes.Include: "`{% include %}`", nodes.Import: "`{% import %}`", nodes.FromImport: "`{% import %}`",
    nodes.Extends: "`{% extends %}`", nodes.Block: "`{% block %}`",
}
_ARITH = {nodes.Add: "+", nodes.Sub: "-", nodes.Mul: "*", nodes.Div: "/", nodes.FloorDiv: "//", nodes.Mod: "%"}
_TEXT_FILTERS = frozenset({"pct", "money", "days", "upper", "lower", "capitalize", "title", "trim", "string",
                           "truncate", "replace"})
_NUMBER_FILTERS = frozenset({"round", "abs", "int", "float", "length", "count"})
_NUMERIC_INPUT = frozenset({"pct", "money", "days", "round", "abs"})


class _Analysis:
    """One walk over a parsed title: refuse what titles may not do, record what they use, rewrite for rendering.

    Expressions return the set of kinds their value may have: ``number``,
    ``text``, ``date``, ``bool``, ``list``, ``any``, or ``("name", n)`` /
    ``("attr", a)`` when the catalog decides.
    """

    def __init__(self):
        self.depth = 0  # of expressions and `if` blocks; the walk stops below MAX_DEPTH
        self.problems: list[TitleProblem] = []
        self.names: list[str] = []
        self.account_attrs: list[tuple[str, int | None]] = []
        self.rule_attrs: list[tuple[str, str, int | None]] = []
        self.called: list[tuple[str, int | None]] = []
        self.calls: list[TitleCall] = []
        self.call_args: list[tuple[TitleCall, int | None]] = []
        self.operands: list[tuple[str, frozenset, frozenset | None, int | None]] = []
        self.today = False

    def refuse(self, node: nodes.Node, message: str) -> frozenset:
        self.problems.append(TitleProblem("E603", message, None, _at(node)))
        return frozenset({"any"})

    # statements ---------------------------------------------------------------------------------
    def statements(self, body: list[nodes.Node]) -> None:
        for node in body:
            if isinstance(node, nodes.Output):
                for i, child in enumerate(node.nodes):
                    if not isinstance(child, nodes.TemplateData):
                        node.nodes[i] = self.expr(child)[0]
            elif isinstance(node, nodes.If):
                self.if_(node)
            elif isinstance(node, nodes.FilterBlock):
                self.filter_(node.filter)
                self.statements(node.body)
            elif isinstance(node, nodes.Scope) and node.body and isinstance(node.body[0], nodes.EvalContextModifier):
                self.refuse(node.body[0], "a title cannot use `{% autoescape %}`; titles are one line of text")
            else:
                what = _REFUSED.get(type(node), f"`{type(node).__name__}`")
                self.refuse(node, f"a title cannot use {what}; titles are one line of text")

    def if_(self, node: nodes.If) -> None:
        if self.deeper(node):
            return
        node.test = self.expr(node.test)[0]
        self.statements(node.body)
        for elif_ in node.elif_:
            self.if_(elif_)
        self.statements(node.else_)
        self.depth -= 1

    def deeper(self, node: nodes.Node) -> bool:
        """One level down; past MAX_DEPTH the title is refused once and the walk goes no deeper."""
        if self.depth >= MAX_DEPTH:
            if not any(p.message == _too_deep(None).message for p in self.problems):
                self.problems.append(_too_deep(_at(node)))
            return True
        self.depth += 1
        return False

    # expressions --------------------------------------------------------------------------------
    def expr(self, node: nodes.Expr) -> tuple[nodes.Expr, frozenset]:
        """The rewritten node and the kinds of its value."""
        if self.deeper(node):
            return node, frozenset({"any"})
        try:
            return self._expr(node)
        finally:
            self.depth -= 1

    def _expr(self, node: nodes.Expr) -> tuple[nodes.Expr, frozenset]:
        if isinstance(node, nodes.Const):
            return self.const(node)
        if isinstance(node, nodes.Name):
            return self.name(node)
        if isinstance(node, (nodes.Getattr, nodes.Getitem)):
            return self.member(node)
        if isinstance(node, nodes.Call):
            return self.call(node)
        if isinstance(node, nodes.Filter):
            return self.filter_(node)
        if isinstance(node, nodes.Test):
            node.node = self.expr(node.node)[0]
            self.arguments(node)
            if node.name not in JINJA_TESTS:
                self.problems.append(TitleProblem("E600", f"the title is not a valid template: No test named "
                                                          f"'{node.name}'."))
            return node, frozenset({"bool"})
        if isinstance(node, nodes.Pow):  # refused as a whole: a power inside is not reported again
            return node, self.refuse(node, "a title cannot raise to a power (`**`): titles are short text, "
                                           "and powers grow past any bound")
        if type(node) in _ARITH:
            op = _ARITH[type(node)]
            node.left, left = self.expr(node.left)
            node.right, right = self.expr(node.right)
            self.operand(node, op, left, right)
            if op == "+" and not (left | right) <= {"number"}:
                return node, left | right  # text + text joins; anything else is refused or empty
            return node, frozenset({"number"})
        if isinstance(node, (nodes.Neg, nodes.Pos)):
            node.node, kinds = self.expr(node.node)
            self.operand(node, "-" if isinstance(node, nodes.Neg) else "+", kinds)
            return node, frozenset({"number"})
        if isinstance(node, nodes.Not):
            node.node = self.expr(node.node)[0]
            return node, frozenset({"bool"})
        if isinstance(node, (nodes.And, nodes.Or)):
            node.left, left = self.expr(node.left)
            node.right, right = self.expr(node.right)
            return node, left | right
        if isinstance(node, nodes.CondExpr):
            node.test = self.expr(node.test)[0]
            node.expr1, first = self.expr(node.expr1)
            if node.expr2 is None:  # `x if c` without else: empty text when c is false
                node.expr2, second = nodes.Const("", lineno=node.lineno), frozenset({"text"})
            else:
                node.expr2, second = self.expr(node.expr2)
            return node, first | second
        if isinstance(node, nodes.Compare):
            args = [self.expr(node.expr)[0]]
            for operand in node.ops:
                args.append(self.expr(operand.expr)[0])
            ops = nodes.Const(tuple(o.op for o in node.ops), lineno=node.lineno)
            return _helper("Compare", [ops, *args], node.lineno), frozenset({"bool"})
        if isinstance(node, nodes.Concat):
            parts = [self.expr(n)[0] for n in node.nodes]
            return _helper("Join", parts, node.lineno), frozenset({"text"})
        if isinstance(node, (nodes.List, nodes.Tuple)):
            node.items = [self.expr(n)[0] for n in node.items]
            return node, frozenset({"list"})
        if isinstance(node, nodes.Dict):
            for pair in node.items:
                pair.key, pair.value = self.expr(pair.key)[0], self.expr(pair.value)[0]
            return node, frozenset({"list"})
        if isinstance(node, nodes.Slice):
            return node, self.refuse(node, "a title cannot slice values")
        return node, self.refuse(node, f"a title cannot use `{type(node).__name__}`")

    def const(self, node: nodes.Const) -> tuple[nodes.Expr, frozenset]:
        v = node.value
        if isinstance(v, _Days):
            node.value = int(v)
        if isinstance(v, bool):
            return node, frozenset({"bool"})
        if isinstance(v, str):
            return node, frozenset({"text"})
        if isinstance(v, float) and not math.isfinite(v):
            return node, self.refuse(node, "a number in a title is too large")
        if isinstance(v, (int, float)):
            return node, frozenset({"number"})
        return node, frozenset({"any"})

    def name(self, node: nodes.Name) -> tuple[nodes.Expr, frozenset]:
        n = node.name
        if n in ("account", *_RULES):
            example = "account.name" if n == "account" else f"{n}.title"
            return node, self.refuse(node, f"a title uses `{n}` through its attributes, such as `{example}`")
        if n in FUNCTIONS:
            return node, self.refuse(node, f"`{n}` is a function: call it, e.g. `{_shape(n)}`")
        if n == "today":
            self.today = True
            return node, frozenset({"date"})
        if n not in self.names:
            self.names.append(n)
        return node, frozenset({("name", n)})

    def member(self, node: nodes.Getattr | nodes.Getitem) -> tuple[nodes.Expr, frozenset]:
        base = node.node
        if isinstance(node, nodes.Getattr):
            attr = node.attr
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            attr = node.arg.value
        else:
            attr = None
        if isinstance(base, nodes.Name) and attr is not None and attr.isidentifier():
            if base.name == "account":
                if attr not in (a for a, _ in self.account_attrs):
                    self.account_attrs.append((attr, _at(node)))
                return nodes.Name("Account_" + attr, "load", lineno=node.lineno), frozenset({("attr", attr)})
            if base.name in _RULES:
                self.rule_attrs.append((base.name, attr, _at(node)))
                return nodes.Name("Rule_" + attr, "load", lineno=node.lineno), frozenset({"text"})
            if base.name == "today":
                self.today = True
                if attr not in _DATE_PARTS or isinstance(node, nodes.Getitem):
                    self.problems.append(TitleProblem("E601", f"the title uses `today.{attr}`; it has `year`, "
                                                              "`month` and `day`", None, _at(node)))
                return node, frozenset({"number"})
        self.expr(base)
        if attr is None:
            return node, self.refuse(node, "a title cannot index values (`[...]`); it reads `account.NAME`")
        return node, self.refuse(node, f"a title cannot read `.{attr}` here: only `account`, `alert`, `goal` and "
                                       "`today` have attributes")

    def call(self, node: nodes.Call) -> tuple[nodes.Expr, frozenset]:
        callee = node.node
        if not (isinstance(callee, nodes.Name) and callee.name in FUNCTIONS):
            if isinstance(callee, nodes.Name) and callee.name not in ("account", "today", *_RULES):
                self.called.append((callee.name, _at(callee)))
                return node, frozenset({"any"})
            return node, self.refuse(callee, "a title can call only the language's functions, such as "
                                           "`pct_change(mau, 7d)`")
        func = callee.name
        arity, first = _signature(func)
        if node.kwargs or node.dyn_args or node.dyn_kwargs or len(node.args) != arity:
            self.problems.append(TitleProblem("E301", f"`{func}` takes {arity} argument{'s' if arity > 1 else ''}: "
                                                      f"{_shape(func)}", None, _at(callee)))
            return node, frozenset({"number"})
        arg = node.args[0]
        if isinstance(arg, nodes.Name):
            name, written = arg.name, arg.name
        elif first == "date" and isinstance(arg, nodes.Getattr) and isinstance(arg.node, nodes.Name) \
                and arg.node.name == "account":
            name, written = arg.attr, f"account.{arg.attr}"
        else:
            what = "must be a metric name" if first == "metric" else "must be a date attribute"
            self.problems.append(TitleProblem("E301", f"the first argument of `{func}` {what}", None, _at(arg)))
            return node, frozenset({"number"})
        days = None
        if arity == 2:
            w = node.args[1]
            if not (isinstance(w, nodes.Const) and isinstance(w.value, _Days)):
                self.problems.append(TitleProblem("E301", f"the window of `{func}` must be a duration like 7d",
                                                  None, _at(w)))
                return node, frozenset({"number"})
            if w.value <= 0:
                self.problems.append(TitleProblem("E301", f"the window of `{func}` must be longer than 0d", None,
                                                  _at(w)))
                return node, frozenset({"number"})
            if w.value > MAX_DAYS:  # the language's bound on durations, with its message
                self.problems.append(TitleProblem("E104", f"`{w.value.written}` is too long: durations are at most "
                                                          f"{MAX_DAYS:,}d (100 years)", None, _at(w)))
                return node, frozenset({"number"})
            days = int(w.value)
            written += f", {w.value.written}"
        call = TitleCall(func, name, days, f"{func}({written})")
        self.call_args.append((call, _at(arg)))
        if call not in self.calls:
            self.calls.append(call)
        return nodes.Name(f"Call_{self.calls.index(call)}", "load", lineno=node.lineno), frozenset({"number"})

    def filter_(self, node: nodes.Filter) -> tuple[nodes.Expr, frozenset]:
        kinds = frozenset({"any"})
        if node.node is not None:
            node.node, kinds = self.expr(node.node)
        self.arguments(node)
        name = node.name
        if name not in TITLE_FILTERS:
            if name in JINJA_FILTERS:
                allowed = ", ".join(f"`{f}`" for f in TITLE_FILTERS if f != "d")
                return node, self.refuse(node, f"the title uses the filter `{name}`, which titles do not allow "
                                               f"(they have {allowed})")
            self.problems.append(TitleProblem("E602", f"the title uses the filter `{name}`, which does not exist",
                                              suggest(name, TITLE_FILTERS)))
            return node, frozenset({"any"})
        if name in _NUMERIC_INPUT:
            self.operand(node, f"| {name}", kinds)
        if name in _TEXT_FILTERS:
            return node, frozenset({"text"})
        if name in _NUMBER_FILTERS:
            return node, frozenset({"number"})
        if name in ("default", "d") and node.args:  # either the value or the default
            return node, kinds | self.expr(node.args[0])[1]
        return node, kinds

    def arguments(self, node: nodes.Filter | nodes.Test) -> None:
        node.args = [self.expr(a)[0] for a in node.args]
        for kw in node.kwargs:
            kw.value = self.expr(kw.value)[0]
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            self.refuse(node, "a title cannot pass `*args` or `**kwargs`")

    def operand(self, node: nodes.Node, op: str, left: frozenset, right: frozenset | None = None) -> None:
        """Arithmetic and number filters work on numbers: decide now, or once the catalog is known."""
        if _pending(left) or (right is not None and _pending(right)):
            self.operands.append((op, left, right, _at(node)))
            return
        problem = _operand_problem(op, left, right, _at(node))
        if problem:
            self.problems.append(problem)


def _helper(name: str, args: list[nodes.Expr], lineno: int) -> nodes.Call:
    return nodes.Call(nodes.Name(name, "load", lineno=lineno), args, [], None, None, lineno=lineno)


def _signature(func: str) -> tuple[int, str]:
    """(arity, kind of the first argument: "metric" or "date") of a function of the language."""
    f = FUNCTIONS[func]
    return f.arity, "date" if f.params[0] == DATE_ATTRIBUTE else "metric"


def _shape(func: str) -> str:
    return FUNCTIONS[func].shape


def _resolve(kinds: frozenset, metrics: Mapping[str, str], attrs: Mapping[str, str]) -> frozenset:
    out = set()
    for k in kinds:
        if isinstance(k, tuple):
            what, name = k
            if what == "name":
                out.add("number" if name in metrics else "any")
            else:
                out.add({"text": "text", "enum": "text", "date": "date", "number": "number"}.get(attrs.get(name), "any"))
        else:
            out.add(k)
    return frozenset(out)


def _pending(kinds: frozenset) -> bool:
    return any(isinstance(k, tuple) for k in kinds)


def _operand_problem(op: str, left: frozenset, right: frozenset | None, offset: int | None) -> TitleProblem | None:
    """E603 when an operand of arithmetic (or a number filter) can be text, a date, true/false or a list.

    ``+`` also joins two texts.
    """
    if op == "+" and right is not None and left <= {"text", "any"} and right <= {"text", "any"} \
            and "text" in left | right:
        return None
    bad = (left | (right or frozenset())) & {"text", "date", "bool", "list"}
    if not bad:
        return None
    what = {"text": "text", "date": "a date", "bool": "true/false", "list": "a list"}[sorted(bad)[0]]
    if op.startswith("|"):
        return TitleProblem("E603", f"the filter `{op[2:]}` formats numbers; here it gets {what}", None, offset)
    hint = " (join text with `~`)" if "text" in bad and op in ("+", "*") else ""
    return TitleProblem("E603", f"the title computes `{op}` with {what}: arithmetic in titles works on numbers{hint}",
                        None, offset)


def _check_argument(call: TitleCall, offset: int | None, metrics: Mapping[str, str], attrs: Mapping[str, str]):
    _, first = _signature(call.func)
    name = call.metric
    if first == "metric":
        if name in metrics:
            return []
        if name in attrs:
            return [TitleProblem("E301", f"the first argument of `{call.func}` must be a metric name", None, offset)]
        return [TitleProblem("E601", f"the title uses `{name}`, which is not in scope", suggest(name, metrics))]
    if attrs.get(name) == "date":
        return []
    if name in attrs or name in metrics:
        t = Type("enum", attr=name) if attrs.get(name) == "enum" else Type(attrs.get(name) or metrics[name])
        return [TitleProblem("E301", f"`{call.func}` takes a date attribute, not {t}", None, offset)]
    dates = [a for a, t in attrs.items() if t == "date"]
    return [TitleProblem("E601", f"the title uses `{name}`, which is not in scope", suggest(name, dates))]


# --- rendering helpers -----------------------------------------------------------------------------


def _supplied(values: Mapping, key, written: str):
    try:
        return plain(values[key])
    except KeyError:
        raise TitleError(f"no value for `{written}`") from None


_HELPERS = {"Compare": compare, "Join": join}


def _reason(e: Exception) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0]


def _safe_test(fn):
    @wraps(fn)  # keeps Jinja's pass_environment marks
    def test(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception:
            return False

    return test


def check_plan_titles(plan, error) -> None:
    """Refuse a plan (a hand-edited file) with a task title that does not check: ``raise error(task, why)``.

    ``plan`` is a typed plan (``compiler/plan.py``); the compiler never writes
    such a plan, so the first problem is enough.
    """
    metrics = {m.name: m.type for m in plan.catalog.metrics}
    attrs = {a.name: a.type for a in plan.catalog.attributes}
    for rule in plan.rules:
        kind = "alert" if rule.kind == "alert" else "goal"
        for book in rule.playbooks:
            for t in book.tasks:
                try:
                    problems = check_title(compile_title(t.title), metrics, attrs, kind)
                except TitleError as e:
                    problems = list(e.problems)
                if problems:
                    raise error(t, problems[0].message)
