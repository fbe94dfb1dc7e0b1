"""The syntax stage: ``.play`` text -> ``Module`` AST, or syntax diagnostics.

The Lark LALR parser is built once, with the transformer applied inline (no
parse tree is built), and spans are taken from the tokens. A file is first
parsed whole; only when that fails is it split at its top-level declarations
and each one parsed alone, so that one mistake yields one error and the other
declarations still reach the compiler.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from importlib import resources

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from plays.diagnostics import CompileError, Diagnostic, Span, error, warning

from . import ast

__all__ = ["parse", "parse_module", "parse_expression"]


# --- building the AST ------------------------------------------------------


def _esc(s: str) -> str:
    return s[1:-1].replace('\\"', '"').replace("\\\\", "\\")


class _Builder(Transformer):
    """Turns Lark's callbacks into AST nodes; ``path`` and ``line_offset`` are set per parse."""

    path = "<string>"
    line_offset = 0

    # spans ---------------------------------------------------------------
    def _tok_span(self, t: Token) -> Span:
        o = self.line_offset
        return Span(self.path, t.line + o, t.column, t.end_line + o, t.end_column)

    def _span(self, first, last) -> Span:
        a = self._tok_span(first) if isinstance(first, Token) else first.span
        b = self._tok_span(last) if isinstance(last, Token) else last.span
        return Span(a.path, a.line, a.col, b.end_line, b.end_col)

    def start(self, c):
        return c

    # catalog -------------------------------------------------------------
    def account_block(self, c):
        attrs = tuple(x for x in c if isinstance(x, ast.Attribute))
        return ast.AccountCatalog(attributes=attrs, span=self._span(c[0], c[-1]))

    def attribute(self, c):
        name, typ = c
        return ast.Attribute(name=str(name), type=typ, span=self._span(name, typ))

    def simple_type(self, c):
        (t,) = c
        return ast.TypeRef(name=str(t), span=self._tok_span(t))

    def enum_type(self, c):
        words = tuple(x for x in c if isinstance(x, ast.Word))
        return ast.TypeRef(name="enum", values=words, span=self._span(words[0], words[-1]))

    def metric(self, c):
        kw, name, _colon, typ, *rest = c
        desc = _esc(rest[0]) if rest else None
        return ast.Metric(
            name=str(name), type=typ, description=desc, span=self._span(kw, rest[0] if rest else typ)
        )

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
        return ast.Alert(
            name=str(name), title=title, props=props, playbooks=books, span=self._span(c[0], name)
        )

    def goal(self, c, external=False):
        name, title, props, books = self._block(c)
        return ast.Goal(
            name=str(name),
            title=title,
            external=external,
            props=props,
            playbooks=books,
            span=self._span(c[0], name),
        )

    def external_goal(self, c):
        return self.goal(c, external=True)

    def playbook(self, c):
        kw = c[0]
        name = c[1] if isinstance(c[1], Token) and c[1].type == "NAME" else None
        where = next((x for x in c if not isinstance(x, (Token, ast.Task))), None)
        tasks = tuple(x for x in c if isinstance(x, ast.Task))
        head_end = name or kw
        return ast.Playbook(
            name=str(name) if name else None,
            where=where,
            tasks=tasks,
            span=self._span(kw, where if where is not None else head_end),
        )

    def task(self, c):
        kw, name, title = c[0], c[1], c[2]
        props = tuple(x for x in c if isinstance(x, ast.Property))
        return ast.Task(
            name=str(name),
            title=_esc(title),
            title_span=self._tok_span(title),
            props=props,
            span=self._span(kw, name),
        )

    # properties -------------------------------------------------------------
    def _prop(self, c):
        key, value = c[0], c[-1]
        return ast.Property(
            key=str(key), value=value, span=self._tok_span(key), value_span=self._span(c[2], value)
        )

    prop_severity = prop_category = prop_where = prop_when = prop_for = _prop
    prop_cooldown = prop_duration = prop_deploy = prop_kpi = prop_account = _prop
    prop_measure = prop_start = prop_due = _prop
    prop_type = prop_owner = prop_every = prop_until = _prop

    def prop_after(self, c):
        key = c[0]
        words = tuple(x for x in c if isinstance(x, ast.Word))
        names = ast.NameList(names=words, span=self._span(words[0], words[-1]))
        return ast.Property(key=str(key), value=names, span=self._tok_span(key), value_span=names.span)

    def word(self, c):
        t = c[-1]
        return ast.Word(name=str(t), span=self._span(c[0], t))

    def text(self, c):
        (t,) = c
        return ast.Text(value=_esc(t), span=self._tok_span(t))

    def value(self, c):
        return c[0]

    def neg_value(self, c):
        minus, lit = c
        return self._negate(lit, minus)

    def _negate(self, lit: ast.Literal, minus: Token) -> ast.Literal:
        if lit.kind in ("number", "percent", "duration", "money"):
            return ast.Literal(
                kind=lit.kind, value=-lit.value, text="-" + lit.text, span=self._span(minus, lit)
            )
        return ast.Unary(op="-", operand=lit, span=self._span(minus, lit))

    def deploy_on(self, c):
        (attr,) = c
        return ast.DeployOn(attr=attr, offset=None, span=attr.span)

    def deploy_on_plus(self, c):
        attr, _plus, off = c
        return ast.DeployOn(attr=attr, offset=off, span=self._span(attr, off))

    def deploy_on_minus(self, c):
        attr, minus, off = c
        if isinstance(off, ast.Literal):
            off = self._negate(off, minus)
        return ast.DeployOn(attr=attr, offset=off, span=self._span(attr, off))

    def deploy_when(self, c):
        (expr,) = c
        return ast.DeployWhen(condition=expr, span=expr.span)

    def deploy_manual(self, c):
        return ast.DeployManual(span=self._tok_span(c[0]))

    def kpi_condition(self, c):
        return c[0]

    def kpi_relative(self, c):
        metric, direction, amount = c
        return ast.KpiRelative(
            metric=metric, direction=str(direction), amount=amount, span=self._span(metric, amount)
        )

    def measure(self, c):
        label, op, target = c
        return ast.Measure(label=_esc(label), op=str(op), target=target, span=self._span(label, target))

    # expressions -------------------------------------------------------------
    def name(self, c):
        (t,) = c
        return ast.Name(name=str(t), span=self._tok_span(t))

    def attr(self, c):
        kw, name = c
        return ast.AttrRef(attr=str(name), span=self._span(kw, name))

    def call(self, c):
        name, args, rpar = c
        return ast.Call(func=str(name), args=tuple(args or ()), span=self._span(name, rpar))

    def expr_list(self, c):
        return tuple(c)

    def paren(self, c):
        return c[0]

    def or_(self, c):
        return ast.Binary(op="or", left=c[0], right=c[1], span=self._span(c[0], c[1]))

    def and_(self, c):
        return ast.Binary(op="and", left=c[0], right=c[1], span=self._span(c[0], c[1]))

    def not_(self, c):
        kw, operand = c
        return ast.Unary(op="not", operand=operand, span=self._span(kw, operand))

    def compare(self, c):
        left, op, right = c
        return ast.Binary(op=str(op), left=left, right=right, span=self._span(left, right))

    arith = compare

    def neg(self, c):
        minus, operand = c
        if isinstance(operand, ast.Literal):
            return self._negate(operand, minus)
        return ast.Unary(op="-", operand=operand, span=self._span(minus, operand))

    def in_(self, c):
        operand, items, rpar = c
        return ast.InList(operand=operand, items=items, negated=False, span=self._span(operand, rpar))

    def not_in(self, c):
        operand, _not, items, rpar = c
        return ast.InList(operand=operand, items=items, negated=True, span=self._span(operand, rpar))

    def is_empty(self, c):
        operand, kw = c
        return ast.IsEmpty(operand=operand, negated=False, span=self._span(operand, kw))

    def is_not_empty(self, c):
        operand, _not, kw = c
        return ast.IsEmpty(operand=operand, negated=True, span=self._span(operand, kw))

    # literals ----------------------------------------------------------------
    def _lit(self, kind, value, t):
        return ast.Literal(kind=kind, value=value, text=str(t), span=self._tok_span(t))

    def number(self, c):
        (t,) = c
        return self._lit("number", _num(t), t)

    def percent(self, c):
        (t,) = c
        return self._lit("percent", _num(t[:-1]) / 100, t)

    def money(self, c):
        (t,) = c
        return self._lit("money", _num(t[1:]), t)

    def duration(self, c):
        (t,) = c
        n = int(t[:-1])
        return self._lit("duration", n * 7 if t.endswith("w") else n, t)

    def date(self, c):
        (t,) = c
        return self._lit("date", str(t), t)

    def string(self, c):
        (t,) = c
        return self._lit("string", _esc(t), t)

    def true(self, c):
        return self._lit("bool", True, c[0])

    def false(self, c):
        return self._lit("bool", False, c[0])


def _num(text: str):
    """Integers stay ints; anything with a point is a float (``0.5``)."""
    return float(text) if "." in text else int(text)


# --- the parser ------------------------------------------------------------

_BUILDER = _Builder()


@cache
def _lark(start: str = "start") -> Lark:
    grammar = resources.files(__package__).joinpath("grammar.lark").read_text("utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        start=start,
        transformer=_BUILDER,
        maybe_placeholders=True,
        cache=False,
    )


def _parse_text(text: str, path: str, line_offset: int):
    _BUILDER.path = path
    _BUILDER.line_offset = line_offset
    return _lark().parse(text)


# A top-level declaration begins a line in column 1. Used only to recover from
# a syntax error: each declaration is then parsed on its own.
_DECL_START = re.compile(
    r"^(?:alert[ \t]+\w|goal[ \t]+\w|external[ \t]+goal\b|metric[ \t]+\w|account[ \t]*\{)",
    re.M,
)


def _chunks(text: str):
    """Yield ``(line_offset, chunk)`` pieces of ``text``, one per top-level declaration."""
    starts = [m.start() for m in _DECL_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    starts.append(len(text))
    line = 0
    for a, b in zip(starts, starts[1:]):
        chunk = text[a:b]
        yield line, chunk
        line += chunk.count("\n")


def parse_module(text: str, path: str) -> tuple[ast.Module, list[Diagnostic]]:
    """Parse one file's text, returning the declarations that parsed and the syntax errors.

    >>> module, diags = parse_module('metric mau: count "Monthly active users"', "a.play")
    >>> module.declarations[0].name, diags
    ('mau', [])
    """
    diags: list[Diagnostic] = []
    try:
        decls = tuple(_parse_text(text, path, 0))
    except UnexpectedInput:
        decls_list = []
        for offset, chunk in _chunks(text):
            try:
                decls_list.extend(_parse_text(chunk, path, offset))
            except UnexpectedInput as e:
                diags.append(_syntax_diagnostic(e, chunk, path, offset))
        decls = tuple(decls_list)
    if not decls and not diags:
        diags.append(
            warning("W100", "this file declares nothing", Span(path, 1, 1, 1, 1))
        )
    end_line = text.count("\n") + 1
    return ast.Module(path=path, declarations=decls, span=Span(path, 1, 1, end_line, 1)), diags


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

_BLOCK_KEYS = {
    "severity", "category", "where", "when", "for", "cooldown", "duration",
    "deploy", "kpi", "account", "measure", "start", "due",
}
_TASK_KEYS = {"type", "owner", "due", "after", "every", "until"}
_KEYS_BY_BLOCK = {
    "alert": ast.ALERT_KEYS,
    "goal": tuple(dict.fromkeys(ast.GOAL_KEYS + ast.EXTERNAL_KEYS)),
    "task": ast.TASK_KEYS,
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


def _open_blocks(chunk: str, upto: int) -> list[tuple[str, int]]:
    """The blocks still open at offset ``upto``: (keyword, line) innermost last."""
    stack: list[tuple[str, int]] = []
    last_kw = ("block", 1)
    line = 1
    for m in re.finditer(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|\n|[{}]|\b(?:account|alert|goal|playbook|task)\b', chunk[:upto]):
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


def _syntax_diagnostic(e: UnexpectedInput, chunk: str, path: str, offset: int) -> Diagnostic:
    line = (e.line if e.line and e.line > 0 else chunk.count("\n") + 1) + offset
    col = e.column if e.column and e.column > 0 else 1
    if isinstance(e, UnexpectedCharacters):
        ch = chunk[e.pos_in_stream] if e.pos_in_stream < len(chunk) else ""
        span = Span.point(path, line, col)
        if ch.isalpha() and ch.isupper():
            return error(
                "E100",
                f"unexpected `{ch}`: names are lowercase letters, digits and `_`",
                span,
                suggestion=_word_at(chunk, e.pos_in_stream).lower(),
            )
        if ch == '"':
            return error("E100", "this text is not closed by a `\"` on the same line", span)
        shown = ch if ch.isprintable() else repr(ch)
        unit = re.compile(r"\d+(?:\.\d+)?([a-z]+)").match(chunk, e.pos_in_stream)
        if unit and unit.group(1) not in ("d", "w"):
            return error(
                "E100",
                f"`{unit.group()}` is not a duration: durations are whole days or weeks, like 7d or 2w",
                Span(path, line, col, line, col + len(unit.group())),
            )
        hint = _CHAR_HINTS.get(chunk[e.pos_in_stream : e.pos_in_stream + 2]) or _CHAR_HINTS.get(ch)
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
        span = Span(path, tok.line + offset, tok.column, tok.end_line + offset, tok.end_column)
    else:
        span = Span.point(path, line, col)
    top_level_next = tok is not None and (tok.type in _TOP_LEVEL or str(tok) in ("alert", "goal", "external", "metric"))
    if "RBRACE" in expected and (at_end or top_level_next):
        pos = tok.start_pos if tok is not None and tok.start_pos is not None and not at_end else len(chunk)
        opened = _open_blocks(chunk, pos)
        if opened:
            kw, at = opened[-1]
            what = {"block": "block", "account": "account block"}.get(kw, kw)
            return error(
                "E101",
                f"expected `}}` to close the {what} opened at line {at + offset}",
                span,
                notes=[],
            )
    where = "the end of the file" if at_end else f"`{tok}`"
    expected_text = _describe_expected(expected) if expected else "nothing more here"
    suggestion = None
    if tok is not None and not at_end and tok.type == "NAME":
        keys = {_terminal_text(x) for x in expected} - {None}
        from plays.diagnostics import suggest

        if keys & (_BLOCK_KEYS | _TASK_KEYS):
            # Name only the keys of the block that is open here.
            opened = _open_blocks(chunk, tok.start_pos)
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


def _word_at(text: str, pos: int) -> str:
    m = re.compile(r"[A-Za-z0-9_]+").match(text, pos)
    return m.group() if m else text[pos : pos + 1]


def literal_date(lit: ast.Literal) -> date | None:
    """The calendar date of a date literal, or None when it is not a real day (2026-02-30)."""
    try:
        return date.fromisoformat(lit.value)
    except ValueError:
        return None
