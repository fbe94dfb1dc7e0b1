"""The formatter: ``.play`` text -> the same spec in the one canonical layout (``plays fmt``).

It works on the parser's own tokens (Lark's contextual lexer, so a keyword is
a keyword exactly where the grammar says so) and on the text between them,
where the comments are: Lark drops ignored terminals, but between two
consecutive significant tokens there is nothing but whitespace and comments,
so each gap is read back as it was written. The structure (declarations,
blocks, items) is found from the token stream of a file that parsed.

The layout (docs/fmt.md): two spaces per block level; one declaration or
property per line; tasks in the short form ``task x "t" { type: call  due: 2d }``
when the line fits in ``WIDTH`` columns, else the properties on one line
inside the block, else one per line; one space around operators and none
inside parentheses; a blank line around every block declaration and at most
one blank line anywhere, kept where the author put one. Literals and strings
are kept as written. Line breaks inside a property value or a playbook's
``where`` are the author's, kept (continuation lines indented four spaces
more, and four more per open parenthesis). Comments stay where they were;
the end-of-line comments of consecutive lines at one indentation are aligned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lark.exceptions import UnexpectedInput

from plays.errors import CompileError

from .parser import _Builder, _callbacks, _lark, _TooDeep, parse_module

__all__ = ["format_source", "WIDTH"]

WIDTH = 120  # the longest line a short-form task may make
INDENT = 2  # per block level
CONTINUATION = 4  # a value's own line breaks, and again per open parenthesis

_LITERALS = {"DATE", "DURATION", "PERCENT", "MONEY", "NUMBER", "STRING", "TRUE", "FALSE"}
_OPERAND_END = _LITERALS | {"NAME", "RPAR", "EMPTY"}


@dataclass(slots=True)
class _Gap:
    """What is between two significant tokens: comments and line breaks."""

    trailing: str | None = None  # a comment on the previous token's line
    comments: list[tuple[bool, str]] = field(default_factory=list)  # own-line comments: (blank line before, text)
    blank: bool = False  # a blank line just before the next token
    newline: bool = False  # the next token starts a new line


@dataclass(slots=True)
class _Tok:
    type: str
    text: str
    unary: bool = False  # a MINUS that negates (no space after it)


def _gap(text: str, has_prev: bool, at_end: bool) -> _Gap:
    """Read the whitespace and comments between two tokens (or before the first, or after the last)."""
    gap = _Gap()
    segments = text.split("\n")
    gap.newline = len(segments) > 1
    if has_prev:
        first = segments[0].strip()
        if first:
            gap.trailing = first
        lines = segments[1:] if at_end else segments[1:-1]
    else:
        lines = segments if at_end else segments[:-1]
    blank = False
    for line in lines:
        line = line.strip()
        if not line:
            blank = True
        else:
            gap.comments.append((blank, line))
            blank = False
    gap.blank = blank
    return gap


def _tokens(text: str, path: str) -> tuple[list[_Tok], list[_Gap]]:
    """The significant tokens of ``text`` and the ``len + 1`` gaps around them.

    One parse, through the same builder as ``parse`` (so the bounds E102-E105
    are checked too); only a text that fails it is parsed again, by
    ``parse_module``, for its diagnostics (``CompileError``).
    """
    builder = _Builder(path, text)
    interactive = _lark().parse_interactive(text)
    interactive.parser_state.parse_conf.callbacks = _callbacks(builder)  # this parse's own configuration
    try:
        found = list(interactive.iter_parse())
        interactive.feed_eof()
    except (UnexpectedInput, _TooDeep):
        found = None
    if found is None or any(d.is_error for d in builder.diagnostics):
        _module, diagnostics = parse_module(text, path)
        raise CompileError([d for d in diagnostics if d.is_error])
    toks: list[_Tok] = []
    gaps: list[_Gap] = []
    pos = 0
    for t in found:
        gaps.append(_gap(text[pos : t.start_pos], bool(toks), False))
        toks.append(_Tok(t.type, str(t)))
        pos = t.end_pos
    gaps.append(_gap(text[pos:], bool(toks), True))
    toks, gaps = _without_trailing_commas(toks, gaps)
    for i, t in enumerate(toks):
        t.unary = t.type == "MINUS" and (i == 0 or toks[i - 1].type not in _OPERAND_END)
    return toks, gaps


def _without_trailing_commas(toks: list[_Tok], gaps: list[_Gap]) -> tuple[list[_Tok], list[_Gap]]:
    """Drop a comma just before ``)`` (``enum(a, b,)``, ``in (a, b,)``), unless a comment follows it."""
    keep_toks, keep_gaps = [], []
    for i, t in enumerate(toks):
        after = gaps[i + 1]
        if t.type == "COMMA" and toks[i + 1].text == ")" and not (after.trailing or after.comments):
            gaps[i + 1] = _Gap(gaps[i].trailing, gaps[i].comments, gaps[i].blank, gaps[i].newline or after.newline)
            continue
        keep_toks.append(t)
        keep_gaps.append(gaps[i])
    keep_gaps.append(gaps[-1])
    return keep_toks, keep_gaps


def _space(a: _Tok, b: _Tok) -> bool:
    """Whether one space separates ``a`` and ``b`` on a line."""
    if a.text in ("(", ".") or a.unary or b.text in (",", ")", ":", "."):
        return False
    if b.text == "(" and (a.type == "NAME" or a.text == "enum"):  # a call, an enum type
        return False
    return not (a.text == "{" and b.text == "}")


@dataclass(slots=True)
class _Line:
    indent: int
    text: str = ""  # the code, once the line is complete (``parts`` while it is being built)
    comment: str | None = None  # an end-of-line comment
    own: bool = False  # a comment on its own line
    parts: list[str] = field(default_factory=list)


class _Printer:
    def __init__(self, toks: list[_Tok], gaps: list[_Gap]):
        self.toks = toks
        self.gaps = gaps
        self.lines: list[_Line | None] = []  # None: a blank line
        self.last: _Tok | None = None  # the token the current line ends with
        depth, self.depth = 0, []
        for t in toks:
            if t.text == ")":
                depth -= 1
            self.depth.append(depth)
            if t.text == "(":
                depth += 1

    # output ------------------------------------------------------------------
    def blank(self) -> None:
        """A blank line, unless at the start, after another or right after an opening ``{``."""
        last = self.lines[-1] if self.lines else None
        if last is not None and (last.own or (last.parts or [last.text])[-1][-1:] != "{"):
            self.lines.append(None)

    def newline(self, indent: int) -> None:
        self.lines.append(_Line(indent))
        self.last = None

    def add(self, i: int) -> None:
        """Token ``i`` at the end of the current line."""
        tok, parts = self.toks[i], self.lines[-1].parts  # joined at the end: a line may hold 100,000 tokens
        if self.last is not None and _space(self.last, tok):
            parts.append(" ")
        parts.append(tok.text)
        self.last = tok

    def trailing(self, comment: str | None) -> None:
        if comment is not None:
            self.lines[-1].comment = comment

    def comments(self, i: int, indent: int, *, blanks: bool = True, force_blank: bool = False) -> None:
        """The comments of gap ``i`` (before token ``i``), and its blank lines when ``blanks``."""
        gap = self.gaps[i]
        self.trailing(gap.trailing)
        for n, (blank, text) in enumerate(gap.comments):
            if blanks and (blank or (force_blank and n == 0)):
                self.blank()
            self.lines.append(_Line(indent, text, own=True))
        if blanks and (gap.blank or (force_blank and not gap.comments)):
            self.blank()

    # runs of tokens on lines ---------------------------------------------------
    def run(self, i: int, j: int, indent: int, keep_from: int | None = None, *, join: bool = False) -> None:
        """Tokens ``i`` to ``j - 1`` from a new line at ``indent`` (``join``: two spaces on, on the current one).

        A comment inside breaks the line; so does a line break of the author's
        from token ``keep_from`` on. Continuation lines are indented.
        """
        if join:
            self.lines[-1].parts.append("  ")
            self.last = None
        else:
            self.newline(indent)
        self.add(i)
        for k in range(i + 1, j):
            gap = self.gaps[k]
            kept = keep_from is not None and k >= keep_from and gap.newline and self.toks[k].text != "{"
            if gap.trailing or gap.comments or kept:
                cont = indent + CONTINUATION * (1 + self.depth[k])
                self.comments(k, cont, blanks=False)
                self.newline(cont)
            self.add(k)

    def text(self, i: int, j: int) -> str:
        """Tokens ``i`` to ``j - 1`` on one line (the caller made sure no comment is among them)."""
        out, prev = "", None
        for k in range(i, j):
            tok = self.toks[k]
            if prev is not None and _space(prev, tok):
                out += " "
            out += tok.text
            prev = tok
        return out

    def quiet(self, i: int, j: int) -> bool:
        """No comment between tokens ``i`` and ``j``."""
        return not any(self.gaps[k].trailing or self.gaps[k].comments for k in range(i + 1, j + 1))

    # structure -----------------------------------------------------------------
    def starts_item(self, k: int) -> bool:
        t = self.toks
        return t[k].type in ("RBRACE", "PLAYBOOK", "TASK") or (k + 1 < len(t) and t[k + 1].type == "COLON")

    def item_end(self, k: int) -> int:
        """The end of the property starting at ``k`` (its key)."""
        k += 2
        while not self.starts_item(k):
            k += 1
        return k

    def close(self, i: int) -> int:
        """The index of the ``}`` that closes the ``{`` at ``i``."""
        depth = 0
        for k in range(i, len(self.toks)):
            if self.toks[k].text == "{":
                depth += 1
            elif self.toks[k].text == "}":
                depth -= 1
                if depth == 0:
                    return k
        raise AssertionError("unbalanced braces in a spec that parsed")  # pragma: no cover

    def brace(self, i: int) -> int:
        while self.toks[i].text != "{":
            i += 1
        return i

    def file(self) -> None:
        toks, i, prev_block = self.toks, 0, False
        while i < len(toks):
            block = toks[i].type != "METRIC"
            self.comments(i, 0, force_blank=block or prev_block)
            i = self.metric(i) if not block else self.block(i, 0, keep_from=None)
            prev_block = block
        self.comments(len(toks), 0)

    def metric(self, i: int) -> int:
        k = i + 3  # metric NAME : TYPE
        if self.toks[k].text == "enum" and k + 1 < len(self.toks) and self.toks[k + 1].text == "(":
            while self.toks[k].text != ")":
                k += 1
        k += 1
        if k < len(self.toks) and self.toks[k].type == "STRING":
            k += 1
        self.run(i, k, 0)
        return k

    def block(self, i: int, indent: int, keep_from: int | None) -> int:
        """A block from its keyword at ``i``: header, items, ``}``; returns the index after the ``}``."""
        lbrace = self.brace(i)
        rbrace = self.close(lbrace)
        kind = self.toks[i].type
        if rbrace == lbrace + 1 and self.quiet(lbrace, rbrace):  # an empty block: {}
            self.run(i, rbrace + 1, indent, keep_from)
            return rbrace + 1
        self.run(i, lbrace + 1, indent, keep_from)
        k, inner = lbrace + 1, indent + INDENT
        while k < rbrace:
            self.comments(k, inner)
            if self.toks[k].type == "PLAYBOOK":
                k = self.block(k, inner, keep_from=self.where(k))
            elif self.toks[k].type == "TASK":
                k = self.task(k, inner)
            else:
                end = self.item_end(k)
                values = kind in ("ALERT", "GOAL", "EXTERNAL")
                # A task with comments (one property per line) keeps properties the author put on one line
                # together, so that an end-of-line comment stays on the line of each property it followed.
                join = kind == "TASK" and k > lbrace + 1 and not self.gaps[k].newline
                self.run(k, end, inner, keep_from=k + 2 if values else None, join=join)
                k = end
        self.comments(rbrace, inner)
        if self.lines[-1] is None:
            self.lines.pop()
        self.newline(indent)
        self.add(rbrace)
        return rbrace + 1

    def where(self, i: int) -> int | None:
        """The token after a playbook header's ``where`` (breaks in its condition are kept)."""
        k = i
        while self.toks[k].text != "{":
            if self.toks[k].type == "WHERE":
                return k + 1
            k += 1
        return None

    def task(self, i: int, indent: int) -> int:
        """A task: the short form on one line when it fits, else wrapped; one property per line with comments."""
        lbrace = self.brace(i)
        rbrace = self.close(lbrace)
        if not self.quiet(i, rbrace):
            return self.block(i, indent, keep_from=None)
        head = self.text(i, lbrace)
        props, k = [], lbrace + 1
        while k < rbrace:
            end = self.item_end(k)
            props.append(self.text(k, end))
            k = end
        if not props:
            self.lines.append(_Line(indent, head + " {}"))
        elif indent + len(head) + len(" {  }") + len("  ".join(props)) <= WIDTH:
            self.lines.append(_Line(indent, head + " { " + "  ".join(props) + " }"))
        else:
            self.lines.append(_Line(indent, head + " {"))
            inner = indent + INDENT
            if inner + len("  ".join(props)) <= WIDTH:
                self.lines.append(_Line(inner, "  ".join(props)))
            else:
                self.lines.extend(_Line(inner, p) for p in props)
            self.lines.append(_Line(indent, "}"))
        self.last = self.toks[rbrace]
        return rbrace + 1

    # the text ------------------------------------------------------------------
    def render(self) -> str:
        lines = self.lines
        for line in lines:
            if line is not None and line.parts:
                line.text = "".join(line.parts)
        while lines and lines[-1] is None:
            lines.pop()
        out: list[str] = []
        n = 0
        while n < len(lines):
            # A run: consecutive code lines at one indentation; their end-of-line comments align.
            line = lines[n]
            if line is None or line.own:
                out.append("" if line is None else " " * line.indent + line.text)
                n += 1
                continue
            m = n
            while m < len(lines) and lines[m] is not None and not lines[m].own and lines[m].indent == line.indent:
                m += 1
            run = lines[n:m]
            width = max((len(x.text) for x in run if x.comment is not None), default=0)
            for x in run:
                code = " " * x.indent + x.text
                if x.comment is not None:
                    code = " " * x.indent + x.text.ljust(width) + "  " + x.comment
                out.append(code)
            n = m
        return "\n".join(out) + "\n" if out else ""


def format_source(text: str, path: str = "<string>") -> str:
    """``text`` in the canonical layout; ``CompileError`` with the syntax diagnostics when it does not parse.

    >>> print(format_source('metric mau:count  "Monthly active users"\\nalert low{when:mau<5 # few\\n}'), end="")
    metric mau: count "Monthly active users"
    <BLANKLINE>
    alert low {
      when: mau < 5  # few
    }
    """
    printer = _Printer(*_tokens(text, path))
    printer.file()
    return printer.render()
