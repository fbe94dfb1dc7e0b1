"""The syntax stage: ``.play`` text -> ``Module`` AST, or syntax diagnostics.

The Lark LALR tables are built once per process (and cached on disk between
processes, in the user's cache folder). Each file gets its own ``_Builder``,
applied inline as the parser reduces (no parse tree is built, nothing is
recursive), so parses share no mutable state. Spans come from the tokens.
A file is first parsed whole; only when that fails is it split at its
top-level declarations and each one parsed alone (as a slice of the same
text, so positions stay the file's), so that one mistake yields one error
and the other declarations still reach the compiler.

The builder also enforces the language's bounds (dsl/language.py): nesting
depth (E102), digits of a number (E103), durations (E104) and dates (E105).
"""

from __future__ import annotations

import os
import re
import sys
from datetime import date
from functools import cache
from importlib import resources

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.utils import TextSlice

from plays.diagnostics import CompileError, Diagnostic, Span, error, suggest, warning

from . import ast
from .language import (
    ALERT_KEYS,
    BLOCK_KEYS,
    EXTERNAL_KEYS,
    GOAL_KEYS,
    MAX_DATE,
    MAX_DAYS,
    MAX_DEPTH,
    MAX_DIGITS,
    MIN_DATE,
    TASK_KEYS,
    UNITS,
)

__all__ = ["parse", "parse_module", "parse_expression"]


# --- building the AST ------------------------------------------------------


def _esc(s: str) -> str:
    return s[1:-1].replace('\\"', '"').replace("\\\\", "\\")


class _TooDeep(Exception):
    """An expression nests deeper than ``MAX_DEPTH``: the declaration is refused (E102)."""

    def __init__(self, span: Span):
        self.span = span


class _Builder:
    """Turns Lark's reductions into AST nodes for one file (``path``, ``text``).

    Besides the nodes it keeps, by node identity, each node's character range
    in ``text`` (for the ``source`` of conditions) and each expression's depth,
    and collects the bound diagnostics (E103-E105) in ``diagnostics``.
    """

    def __init__(self, path: str, text: str):
        self._path = path
        self._text = text
        self.diagnostics: list[Diagnostic] = []
        self._range: dict[int, tuple[int, int]] = {}
        self._depth: dict[int, int] = {}

    # spans and ranges ------------------------------------------------------
    def _tok_span(self, t: Token) -> Span:
        return Span(self._path, t.line, t.column, t.end_line, t.end_column)

    def _bounds(self, x) -> tuple[int, int]:
        if isinstance(x, Token):
            return x.start_pos, x.end_pos
        return self._range[id(x)]

    def _span(self, first, last) -> Span:
        if isinstance(first, Token):
            line, col = first.line, first.column
        else:
            line, col = first.span.line, first.span.col
        if isinstance(last, Token):
            end_line, end_col = last.end_line, last.end_column
        else:
            end_line, end_col = last.span.end_line, last.span.end_col
        return Span(self._path, line, col, end_line, end_col)

    def _node(self, cls, first, last, **fields):
        """A node of ``cls`` spanning ``first``..``last`` (tokens or nodes), whose text is never needed."""
        return cls(span=self._span(first, last), **fields)

    def _mk(self, cls, first, last, **fields):
        """A value or expression node: also records its character range (for ``source``)."""
        node = cls(span=self._span(first, last), **fields)
        self._range[id(node)] = (
            first.start_pos if isinstance(first, Token) else self._range[id(first)][0],
            last.end_pos if isinstance(last, Token) else self._range[id(last)][1],
        )
        return node

    def _expr(self, cls, first, last, children, **fields):
        """An expression node; refuses it (``_TooDeep``) past ``MAX_DEPTH`` levels."""
        node = self._mk(cls, first, last, **fields)
        # An operand (a name, a literal) is level 0; each operator, call or pair of parentheses adds one.
        depth = 1 + max((self._depth[id(c)] for c in children), default=-1)
        if depth > MAX_DEPTH:
            raise _TooDeep(node.span)
        self._depth[id(node)] = depth
        return node

    def _source(self, first, last) -> str:
        a, b = self._bounds(first)[0], self._bounds(last)[1]
        return self._text[a:b].replace("\r\n", "\n")

    def start(self, c):
        return c

    # catalog -------------------------------------------------------------
    def account_block(self, c):
        attrs = tuple(x for x in c if isinstance(x, ast.Attribute))
        return self._node(ast.AccountCatalog, c[0], c[-1], attributes=attrs)

    def attribute(self, c):
        name, typ = c
        return self._node(ast.Attribute, name, typ, name=str(name), type=typ)

    def simple_type(self, c):
        (t,) = c
        return self._node(ast.TypeRef, t, t, name=str(t))

    def enum_type(self, c):
        words = tuple(x for x in c if isinstance(x, ast.Word))
        return self._node(ast.TypeRef, words[0], words[-1], name="enum", values=words)

    def metric(self, c):
        kw, name, _colon, typ, *rest = c
        desc = _esc(rest[0]) if rest else None
        return self._node(ast.Metric, kw, rest[0] if rest else typ, name=str(name), type=typ, description=desc)

    # declarations ----------------------------------------------------------
    def _block(self, c):
        """Split a block's children into (name token, title, props, playbooks)."""
        name = next(t for t in c if isinstance(t, Token) and t.type == "NAME")
        title = next((_esc(t) for t in c if isinstance(t, Token) and t.type == "STRING"), None)
        props = tuple(x for x in c if isinstance(x, ast.Property))
        books = tuple(x for x in c if isinstance(x, ast.Playbook))
        return name, title, props, books

    def alert(self, c):
        name, title, props, books = self._block(c)
        return self._node(ast.Alert, c[0], name, name=str(name), title=title, props=props, playbooks=books)

    def goal(self, c, external=False):
        name, title, props, books = self._block(c)
        return self._node(
            ast.Goal, c[0], name, name=str(name), title=title, external=external, props=props, playbooks=books
        )

    def external_goal(self, c):
        return self.goal(c, external=True)

    def playbook(self, c):
        kw = c[0]
        name = c[1] if isinstance(c[1], Token) and c[1].type == "NAME" else None
        where = next((x for x in c if not isinstance(x, (Token, ast.Task))), None)
        tasks = tuple(x for x in c if isinstance(x, ast.Task))
        head_end = name or kw
        return self._node(
            ast.Playbook,
            kw,
            where if where is not None else head_end,
            name=str(name) if name else None,
            where=where,
            tasks=tasks,
            where_source=self._source(where, where) if where is not None else "",
        )

    def task(self, c):
        kw, name, title = c[0], c[1], c[2]
        props = tuple(x for x in c if isinstance(x, ast.Property))
        return self._node(
            ast.Task, kw, name, name=str(name), title=_esc(title), title_span=self._tok_span(title), props=props
        )

    # properties -------------------------------------------------------------
    def _prop(self, c):
        key, value = c[0], c[-1]
        return self._node(
            ast.Property,
            key,
            key,
            key=str(key),
            value=value,
            value_span=self._span(c[2], value),
            source=self._source(c[2], value),
        )

    prop_severity = prop_category = prop_where = prop_when = prop_for = _prop
    prop_cooldown = prop_duration = prop_deploy = prop_kpi = prop_account = _prop
    prop_measure = prop_start = prop_due = _prop
    prop_type = prop_owner = prop_every = prop_until = _prop

    def prop_after(self, c):
        key = c[0]
        words = tuple(x for x in c if isinstance(x, ast.Word))
        names = self._mk(ast.NameList, words[0], words[-1], names=words)
        return self._node(
            ast.Property, key, key, key=str(key), value=names, value_span=names.span,
            source=self._source(words[0], words[-1]),
        )

    def word(self, c):
        t = c[-1]
        return self._mk(ast.Word, c[0], t, name=str(t))

    def text(self, c):
        (t,) = c
        return self._mk(ast.Text, t, t, value=_esc(t))

    def value(self, c):
        return c[0]

    def neg_value(self, c):
        minus, lit = c
        return self._negate(lit, minus)

    def _negate(self, lit, minus: Token):
        """``-lit``: a negative literal when ``lit`` is a number, percent, duration or amount."""
        inner = ast.unparen(lit)
        if isinstance(inner, ast.Literal) and inner.kind in ("number", "percent", "duration", "money"):
            return self._expr(
                ast.Literal, minus, lit, (), kind=inner.kind, value=-inner.value, text="-" + inner.text
            )
        return self._expr(ast.Unary, minus, lit, (lit,), op="-", operand=lit)

    def deploy_on(self, c):
        (attr,) = c
        return self._mk(ast.DeployOn, attr, attr, attr=attr, offset=None)

    def deploy_on_plus(self, c):
        attr, _plus, off = c
        return self._mk(ast.DeployOn, attr, off, attr=attr, offset=off)

    def deploy_on_minus(self, c):
        attr, minus, off = c
        if isinstance(off, ast.Literal):
            off = self._negate(off, minus)
        return self._mk(ast.DeployOn, attr, off, attr=attr, offset=off)

    def deploy_when(self, c):
        (expr,) = c
        return self._mk(ast.DeployWhen, expr, expr, condition=expr, source=self._source(expr, expr))

    def deploy_manual(self, c):
        return self._mk(ast.DeployManual, c[0], c[0])

    def kpi_condition(self, c):
        return c[0]

    def kpi_relative(self, c):
        metric, direction, amount = c
        return self._mk(ast.KpiRelative, metric, amount, metric=metric, direction=str(direction), amount=amount)

    def measure(self, c):
        label, op, target = c
        return self._mk(ast.Measure, label, target, label=_esc(label), op=str(op), target=target)

    # expressions -------------------------------------------------------------
    def name(self, c):
        (t,) = c
        return self._expr(ast.Name, t, t, (), name=str(t))

    def attr(self, c):
        kw, name = c
        return self._expr(ast.AttrRef, kw, name, (), attr=str(name))

    def call(self, c):
        name, args, rpar = c
        args = tuple(args or ())
        return self._expr(ast.Call, name, rpar, args, func=str(name), args=args, source=self._source(name, rpar))

    def expr_list(self, c):
        return tuple(c)

    def paren(self, c):
        lpar, expr, rpar = c
        return self._expr(ast.Paren, lpar, rpar, (expr,), expr=expr)

    def or_(self, c):
        return self._expr(ast.Binary, c[0], c[1], c, op="or", left=c[0], right=c[1])

    def and_(self, c):
        return self._expr(ast.Binary, c[0], c[1], c, op="and", left=c[0], right=c[1])

    def not_(self, c):
        kw, operand = c
        return self._expr(ast.Unary, kw, operand, (operand,), op="not", operand=operand)

    def compare(self, c):
        left, op, right = c
        return self._expr(ast.Binary, left, right, (left, right), op=str(op), left=left, right=right)

    arith = compare

    def neg(self, c):
        minus, operand = c
        return self._negate(operand, minus)

    def in_(self, c):
        operand, items, rpar = c
        return self._expr(ast.InList, operand, rpar, (operand, *items), operand=operand, items=items, negated=False)

    def not_in(self, c):
        operand, _not, items, rpar = c
        return self._expr(ast.InList, operand, rpar, (operand, *items), operand=operand, items=items, negated=True)

    def is_empty(self, c):
        operand, kw = c
        return self._expr(ast.IsEmpty, operand, kw, (operand,), operand=operand, negated=False)

    def is_not_empty(self, c):
        operand, _not, kw = c
        return self._expr(ast.IsEmpty, operand, kw, (operand,), operand=operand, negated=True)

    # literals ----------------------------------------------------------------
    def _lit(self, kind, value, t):
        return self._expr(ast.Literal, t, t, (), kind=kind, value=value, text=str(t))

    def _num(self, digits: str, t: Token):
        """Integers stay ints; anything with a point is a float (``0.5``). E103 past ``MAX_DIGITS``."""
        whole, _, fraction = digits.partition(".")
        if len(whole.lstrip("0")) > MAX_DIGITS or len(fraction) > MAX_DIGITS:
            self.diagnostics.append(error(
                "E103",
                f"`{_shorten(str(t))}` has too many digits: numbers have at most {MAX_DIGITS} digits "
                f"before the point and {MAX_DIGITS} after it",
                self._tok_span(t),
            ))
            return 0
        return float(digits) if "." in digits else int(digits)

    def number(self, c):
        (t,) = c
        return self._lit("number", self._num(str(t), t), t)

    def percent(self, c):
        (t,) = c
        return self._lit("percent", self._num(t[:-1], t) / 100, t)

    def money(self, c):
        (t,) = c
        return self._lit("money", self._num(t[1:], t), t)

    def duration(self, c):
        (t,) = c
        digits = t[:-1].lstrip("0") or "0"
        days = int(digits) * UNITS[t[-1]] if len(digits) <= 6 else MAX_DAYS + 1
        if days > MAX_DAYS:
            self.diagnostics.append(error(
                "E104",
                f"`{_shorten(str(t))}` is too long: durations are at most {MAX_DAYS:,}d (100 years)",
                self._tok_span(t),
            ))
            days = 0
        return self._lit("duration", days, t)

    def date(self, c):
        (t,) = c
        if not MIN_DATE.year <= int(t[:4]) <= MAX_DATE.year:
            self.diagnostics.append(error(
                "E105",
                f"`{t}` is out of range: dates are from {MIN_DATE.isoformat()} to {MAX_DATE.isoformat()}",
                self._tok_span(t),
            ))
        return self._lit("date", str(t), t)

    def string(self, c):
        (t,) = c
        return self._lit("string", _esc(t), t)

    def true(self, c):
        return self._lit("bool", True, c[0])

    def false(self, c):
        return self._lit("bool", False, c[0])


def _shorten(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- the parser ------------------------------------------------------------


def _cache_file() -> str | bool:
    """Where Lark keeps the analysed grammar between runs: the user's cache folder (False: none)."""
    home = os.path.expanduser("~")
    base = os.environ.get("XDG_CACHE_HOME") or (os.path.join(home, ".cache") if os.path.isabs(home) else "")
    if not os.path.isabs(base):  # no usable home: no cache rather than a folder in the current one
        return False
    folder = os.path.join(base, "plays")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return False
    # Lark's cache is a pickle: use it only from a folder that is ours alone.
    try:
        st = os.stat(folder)
    except OSError:
        return False
    if (hasattr(os, "getuid") and st.st_uid != os.getuid()) or st.st_mode & 0o022:
        return False
    if not os.access(folder, os.W_OK | os.R_OK):
        return False
    return os.path.join(folder, "grammar-py%d%d.lark-cache" % sys.version_info[:2])


@cache
def _lark() -> Lark:
    """The LALR tables, built once per process (loaded from the cache file when it is current).

    Lark checks the cache file against the grammar's and its own version's hash
    and rebuilds it when they differ; an unreadable or unwritable cache only
    costs the build.
    """
    grammar = resources.files(__package__).joinpath("grammar.lark").read_text("utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        start="start",
        maybe_placeholders=True,
        cache=_cache_file(),
    )


def _parse_text(builder: _Builder, begin: int = 0, end: int | None = None, callbacks: dict | None = None) -> list:
    """The declarations of the builder's text from ``begin`` to ``end``, built by ``builder``."""
    lark = _lark()
    text = builder._text
    interactive = lark.parse_interactive(TextSlice(text, begin, len(text) if end is None else end))
    # This parse's own state: the callbacks of this file's builder replace the
    # tree-building ones, in this parse's configuration only (Lark makes a new
    # one per parse); the Lark object itself is never changed.
    interactive.parser_state.parse_conf.callbacks = callbacks or _callbacks(builder)
    return interactive.resume_parse()


def _callbacks(builder: _Builder) -> dict:
    """Lark's reduce callbacks (``?rule`` inlining, placeholders, token filtering) calling ``builder``."""
    return _lark()._parse_tree_builder.create_callback(builder)


# A top-level declaration begins a line in column 1. Used only to recover from
# a syntax error: each declaration is then parsed on its own.
_DECL_START = re.compile(
    r"^(?:alert[ \t]+\w|goal[ \t]+\w|external[ \t]+goal\b|metric[ \t]+\w|account[ \t]*\{)",
    re.M,
)


def _chunks(text: str):
    """``(begin, end)`` offsets of ``text``'s pieces, one per top-level declaration."""
    starts = [m.start() for m in _DECL_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    starts.append(len(text))
    return list(zip(starts, starts[1:]))


def parse_module(text: str, path: str) -> tuple[ast.Module, list[Diagnostic]]:
    """Parse one file's text, returning the declarations that parsed and the diagnostics.

    >>> module, diags = parse_module('metric mau: count "Monthly active users"', "a.play")
    >>> module.declarations[0].name, diags
    ('mau', [])
    """
    builder = _Builder(path, text)
    callbacks = _callbacks(builder)  # once per file, not per declaration
    diags: list[Diagnostic] = []
    try:
        decls = tuple(_parse_text(builder, callbacks=callbacks))
        diags.extend(builder.diagnostics)
    except (UnexpectedInput, _TooDeep):
        decls_list = []
        for begin, end in _chunks(text):
            builder.diagnostics = []
            try:
                decls_list.extend(_parse_text(builder, begin, end, callbacks))
                diags.extend(builder.diagnostics)
            except UnexpectedInput as e:
                diags.append(_syntax_diagnostic(e, text, path, begin, end))
            except _TooDeep as e:
                diags.append(_too_deep(e.span))
        decls = tuple(decls_list)
    if not decls and not diags:
        diags.append(warning("W100", "this file declares nothing", Span(path, 1, 1, 1, 1)))
    end_line = text.count("\n") + 1
    return ast.Module(path=path, declarations=decls, span=Span(path, 1, 1, end_line, 1)), diags


def _too_deep(span: Span) -> Diagnostic:
    return error(
        "E102",
        f"this expression nests more than {MAX_DEPTH} levels deep (operators, calls, parentheses and "
        "chained `and`/`or` each count); split it, or use `in (...)` for a long list of alternatives",
        Span.point(span.path, span.line, span.col),
    )


def parse(text: str, path: str = "<string>") -> ast.Module:
    """Parse ``text`` into a ``Module``; raise ``CompileError`` on a syntax error.

    >>> parse('metric mrr: money').declarations[0].type.name
    'money'
    """
    module, diags = parse_module(text, path)
    if any(d.is_error for d in diags):
        raise CompileError(diags)
    return module


def parse_expression(text: str, path: str = "<expr>") -> ast.Expr:
    """Parse a lone expression (used by tests and ``plays explain``)."""
    module = parse(f"alert _ {{ when: {text} }}", path)
    return module.declarations[0].props[0].value


# --- syntax errors in a CS admin's words ------------------------------------

_WORDS = {
    "NAME": "a name",
    "STRING": 'a quoted text like "Onboarding"',
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "RPAR": "`)`",
    "LPAR": "`(`",
    "COLON": "`:`",
    "COMMA": "`,`",
    "DOT": "`.`",
    "COMP_OP": "a comparison (`==`, `!=`, `<`, `<=`, `>`, `>=`)",
    "DATE": "a date like 2026-03-01",
    "DURATION": "a duration like 7d or 2w",
    "PERCENT": "a percent like 20%",
    "MONEY": "an amount like $1200",
    "NUMBER": "a number",
    "PLUS": "`+`",
    "MINUS": "`-`",
    "STAR": "`*`",
    "SLASH": "`/`",
    "DIRECTION": "`up` or `down`",
    "$END": "the end of the file",
}

_BLOCK_KEYS = set(BLOCK_KEYS)
_TASK_KEYS = set(TASK_KEYS)
_KEYS_BY_BLOCK = {
    "alert": ALERT_KEYS,
    "goal": tuple(dict.fromkeys(GOAL_KEYS + EXTERNAL_KEYS)),
    "task": TASK_KEYS,
}
_TOP_LEVEL = {"ALERT", "GOAL", "EXTERNAL", "METRIC", "ACCOUNT"}
_OPENERS = ("account", "alert", "goal", "playbook", "task")


def _terminal_text(name: str) -> str | None:
    """The literal text of a keyword terminal (``SEVERITY`` -> ``severity``), if it is one."""
    for t in _lark().terminals:
        if t.name == name and t.pattern.type == "str":
            return t.pattern.value
    return None


_OPERANDS = {"DATE", "DURATION", "PERCENT", "MONEY", "NUMBER", "STRING", "TRUE", "FALSE", "NAME", "LPAR", "MINUS", "NOT"}
_OPERATORS = {"COMP_OP", "PLUS", "MINUS", "STAR", "SLASH", "AND", "OR", "IN", "IS", "NOT", "LPAR"}


def _describe_expected(expected: set[str]) -> str:
    words, keys, task_keys = [], [], []
    if len(expected & _OPERATORS) >= 3:
        expected = expected - _OPERATORS - {"COMMA", "RPAR"}
        words.append("an operator")
    if len(expected & _OPERANDS) >= 4:
        expected = expected - _OPERANDS - {"ACCOUNT"}
        words.append("a value (a name, a number, 20%, 7d, 2026-03-01, ...)")
    in_task = any(_terminal_text(n) in (_TASK_KEYS - {"due"}) for n in expected)
    for name in sorted(expected):
        lit = _terminal_text(name)
        if in_task and lit == "due":
            task_keys.append(lit)
        elif lit in _BLOCK_KEYS and len(expected) > 6:
            keys.append(lit)
        elif lit in _TASK_KEYS and len(expected) > 3:
            task_keys.append(lit)
        elif name in _WORDS:
            words.append(_WORDS[name])
        elif lit is not None:
            words.append(f"`{lit}`")
        else:
            words.append(name.lower())
    if keys:
        words.insert(0, "a property (" + ", ".join(f"`{k}:`" for k in sorted(keys)) + ")")
    if task_keys:
        words.insert(0, "a task property (" + ", ".join(f"`{k}:`" for k in sorted(task_keys)) + ")")
    words = list(dict.fromkeys(words))
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _open_blocks(text: str, begin: int, upto: int) -> list[tuple[str, int]]:
    """The blocks opened in ``text[begin:upto]`` and still open at ``upto``: (keyword, line) innermost last."""
    stack: list[tuple[str, int]] = []
    line = text.count("\n", 0, begin) + 1
    last_kw = ("block", line)
    for m in re.finditer(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|\n|[{}]|\b(?:account|alert|goal|playbook|task)\b', text[begin:upto]):
        tok = m.group()
        if tok == "\n":
            line += 1
        elif tok == "{":
            stack.append(last_kw if last_kw[1] == line or not stack else ("block", line))
            stack[-1] = (stack[-1][0], line)
        elif tok == "}":
            if stack:
                stack.pop()
        elif tok in _OPENERS:
            last_kw = (tok, line)
    return stack


_CHAR_HINTS = {
    "=": "use `==` to compare",
    "'": 'texts are written in double quotes: "like this"',
    "&&": "write `and`",
    "||": "write `or`",
    "!": "write `not`, or `!=` to compare",
    "[": "lists are written in parentheses: `in (a, b)`",
}


def _syntax_diagnostic(e: UnexpectedInput, text: str, path: str, begin: int, end: int) -> Diagnostic:
    """The E100/E101 of a syntax error in ``text[begin:end]`` (one declaration, or the whole file)."""
    line = e.line if e.line and e.line > 0 else text.count("\n", 0, end) + 1
    col = e.column if e.column and e.column > 0 else 1
    if isinstance(e, UnexpectedCharacters):
        ch = text[e.pos_in_stream] if e.pos_in_stream < end else ""
        span = Span.point(path, line, col)
        if ch.isalpha() and ch.isupper():
            return error(
                "E100",
                f"unexpected `{ch}`: names are lowercase letters, digits and `_`",
                span,
                suggestion=_snake_case(_word_at(text, e.pos_in_stream)),
            )
        if ch == '"':
            return error("E100", "this text is not closed by a `\"` on the same line", span)
        shown = ch if ch.isprintable() else repr(ch)
        unit = re.compile(r"\d+(?:\.\d+)?([a-z]+)").match(text, e.pos_in_stream, end)
        if unit and unit.group(1) not in ("d", "w"):
            return error(
                "E100",
                f"`{unit.group()}` is not a duration: durations are whole days or weeks, like 7d or 2w",
                Span(path, line, col, line, col + len(unit.group())),
            )
        hint = _context_hint(text, begin, e.pos_in_stream, ch)
        hint = hint or _CHAR_HINTS.get(text[e.pos_in_stream : min(e.pos_in_stream + 2, end)]) or _CHAR_HINTS.get(ch)
        msg = f"unexpected character `{shown}`"
        if hint:
            msg += f": {hint}"
        return error("E100", msg, span)

    # LALR merges lookaheads, so `expected` over-reports; `accepts` replays the
    # parser to find the tokens that would really be accepted here.
    try:
        accepted = e.accepts if isinstance(e, UnexpectedToken) else None
    except Exception:  # pragma: no cover - accepts is best effort
        accepted = None
    expected = {x for x in (accepted or e.expected or ()) if x not in ("WS", "COMMENT")}
    tok = getattr(e, "token", None)
    at_end = isinstance(e, UnexpectedEOF) or tok is None or tok.type == "$END"
    if tok is not None and not at_end:
        span = Span(path, tok.line, tok.column, tok.end_line, tok.end_column)
    else:
        span = Span.point(path, line, col)
    top_level_next = tok is not None and (tok.type in _TOP_LEVEL or str(tok) in ("alert", "goal", "external", "metric"))
    if "RBRACE" in expected and (at_end or top_level_next):
        pos = tok.start_pos if tok is not None and tok.start_pos is not None and not at_end else end
        opened = _open_blocks(text, begin, pos)
        if opened:
            kw, at = opened[-1]
            what = {"block": "block", "account": "account block"}.get(kw, kw)
            return error(
                "E101",
                f"expected `}}` to close the {what} opened at line {at}",
                span,
                notes=[],
            )
    where = "the end of the file" if at_end else f"`{tok}`"
    if tok is not None and not at_end:
        hint = _token_hint(text, begin, tok)
        if hint:
            return error("E100", f"unexpected {where}: {hint}", span)
    expected_text = _describe_expected(expected) if expected else "nothing more here"
    suggestion = None
    if tok is not None and not at_end and tok.type == "NAME":
        keys = {_terminal_text(x) for x in expected} - {None}
        if keys & (_BLOCK_KEYS | _TASK_KEYS):
            # Name only the keys of the block that is open here.
            opened = _open_blocks(text, begin, tok.start_pos)
            kind = opened[-1][0] if opened else None
            block_keys = _KEYS_BY_BLOCK.get(kind)
            if block_keys:
                others = {"`playbook`" if kind in ("alert", "goal") else None, "`}`"} - {None}
                expected_text = ", ".join(f"`{k}:`" for k in block_keys) + ", " + " or ".join(sorted(others))
                keys = set(block_keys)
            msg = f"unknown property `{tok}`; expected {expected_text}"
            return error("E100", msg, span, suggestion=suggest(str(tok), keys))
        suggestion = suggest(str(tok), keys)
    return error("E100", f"unexpected {where}; expected {expected_text}", span, suggestion=suggestion)


def _context_hint(text: str, begin: int, pos: int, ch: str) -> str | None:
    """A hint that depends on what comes around the unexpected character at ``pos``."""
    before = text[begin:pos].rstrip(" \t")
    after = text[pos + 1 : pos + 40]
    if ch == "=" and before[-1:] in ("<", ">", "!", "=") and before != text[begin:pos]:
        return f"write `{before[-1]}=` without a space"
    if ch == "=" and before[-2:] in ("<=", ">=", "==", "!=") and before == text[begin:pos]:
        return f"`{before[-2:]}=` is not an operator: write `{before[-2:]}`"
    if ch == "=" and after[:1] in ("<", ">"):  # `=>`, `=<`: the `=` comes second
        return f"write `{after[0]}=`"
    if ch in ("=", "!") and after[:1] in (" ", "\t") and after.lstrip(" \t")[:1] == "=":  # `= =`, `! =`
        return f"write `{ch}=` without a space"
    if ch == "[" and re.search(r"\bafter\s*:\s*$", before):
        return "write the task names without brackets: `after: a, b`"
    return None


_AFTER_LIST = re.compile(r"\bafter\s*:\s*[a-z_][a-z0-9_]*(?:\s*,\s*[a-z_][a-z0-9_]*)*\s+$")


def _token_hint(text: str, begin: int, tok: Token) -> str | None:
    """A hint for an unexpected token that depends on what comes around it: a hint names what was meant."""
    before, word = text[begin : tok.start_pos], str(tok)
    if word == ">" and before.endswith("<"):  # `<>`
        return "write `!=` for \"is not equal to\""
    if word == "(" and re.search(r"\bafter\s*:\s*$", before):
        return "write the task names without parentheses: `after: a, b`"
    # `after: a b` or `after: a and b`: a name that does not start a property (`b` is not followed by `:`)
    if (re.fullmatch(r"[a-z_][a-z0-9_]*", word) and _AFTER_LIST.search(before)
            and not re.match(r"\s*:", text[tok.end_pos : tok.end_pos + 40])):
        return "separate the task names with commas: `after: a, b`"
    return None


def _snake_case(word: str) -> str:
    """``LowSeats`` -> ``low_seats``, ``MAU`` -> ``mau``: the name as the language writes names."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", word).lower()


def _word_at(text: str, pos: int) -> str:
    """The whole word around ``pos`` (``mau2X`` for the ``X``), so that the suggestion is the whole name."""
    start = pos
    while start > 0 and (text[start - 1].isascii() and (text[start - 1].isalnum() or text[start - 1] == "_")):
        start -= 1
    m = re.compile(r"[A-Za-z0-9_]+").match(text, start)
    return m.group() if m and m.end() > pos else text[pos : pos + 1]


def literal_date(lit: ast.Literal) -> date | None:
    """The calendar date of a date literal, or None when it is not a real day (2026-02-30)."""
    try:
        return date.fromisoformat(lit.value)
    except ValueError:
        return None
