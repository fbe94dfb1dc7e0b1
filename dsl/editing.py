"""The syntax stage for editors: re-parse only the declarations a keystroke changed, and say what may come next.

``ModuleCache.parse_module(text, path)`` returns exactly what
``parser.parse_module`` returns (the same declarations, the same diagnostics
and spans) but parses a file declaration by declaration (the pieces the
parser's error recovery splits a file into) and keeps each piece's result,
keyed by its text, so that after an edit only the changed declaration is
parsed again. A piece whose text is unchanged but which moved (lines were
added above it) is neither parsed again nor copied: its spans count lines
from the piece's current first line (``_LiveSpan``, one shared offset per
piece), so moving every declaration of a file below a new line costs one
assignment each. A piece with diagnostics is parsed again where it now is
(a message may name a line: "opened at line 9").

Why the pieces give the whole file's result: the grammar is ``start: _decl*``
and LALR(1), so when every piece parses, the file is their concatenation and
parses to the concatenation of their declarations; when a piece fails
before its end (a token the parser cannot take there), the whole-file parse
fails at that same token, and ``parse_module`` then reports piece by piece,
as here. Only a piece that fails at its end (it ran out of text) is
ambiguous, since the next piece could continue it in the whole-file parse
(``external`` at the end of a line and ``goal x {`` on the next); when the
next piece's first word is one the parser would take there, the whole file
is parsed by ``parser.parse_module`` itself.

``keywords_at(text, offset)`` gives the terminals the parser accepts at
``offset`` (Lark's interactive parser), with the words already written in the
declaration, for completion.

>>> cache = ModuleCache()
>>> module, diags = cache.parse_module("metric mau: count\\nmetric mrr: money\\n", "a.play")
>>> [d.name for d in module.declarations], diags
(['mau', 'mrr'], [])
>>> module, _ = cache.parse_module("\\nmetric mau: count\\nmetric mrr: money\\n", "a.play")
>>> module.declarations[1].span.line, cache.parsed_pieces  # only the new blank line was parsed; both moved
(3, 1)
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, fields, is_dataclass

from lark.exceptions import UnexpectedInput, UnexpectedToken
from lark.utils import TextSlice

from plays.diagnostics import Diagnostic, Span, warning

from . import ast
from .parser import _DECL_START, _Builder, _callbacks, _chunks, _lark, _parse_text, _syntax_diagnostic, _too_deep
from .parser import _TooDeep, parse_module

__all__ = ["ModuleCache", "Keywords", "keywords_at"]

# The terminal of the word a piece starts with (the pieces start where _DECL_START matches).
_OPENING = {"alert": "ALERT", "goal": "GOAL", "external": "EXTERNAL", "metric": "METRIC", "account": "ACCOUNT"}


@dataclass(frozen=True, slots=True)
class _Piece:
    """One piece's parse at ``line``: its declarations and diagnostics, and how it ended."""

    line: int
    declarations: tuple
    diagnostics: tuple[Diagnostic, ...]
    failed: bool
    # When the piece failed because its text ran out: the terminals the parser would have taken next.
    open_end: frozenset[str] | None
    parsed_at: int = 0  # the line it was parsed at
    moved: list | None = None  # [lines to add to its spans' lines], shared by every span of its declarations


class ModuleCache:
    """``parse_module`` with each file's declarations kept between calls (one editor session's files)."""

    def __init__(self) -> None:
        self._pieces: dict[str, dict[str, _Piece]] = {}  # path -> piece text -> its last parse
        self.parsed_pieces = 0  # pieces parsed (not reused) by the last call, for tests and benchmarks

    def forget(self, path: str) -> None:
        self._pieces.pop(path, None)

    def parse_module(self, text: str, path: str) -> tuple[ast.Module, list[Diagnostic]]:
        """What ``plays.dsl.parse_module(text, path)`` returns, re-parsing only changed declarations."""
        old = self._pieces.get(path, {})
        new: dict[str, _Piece] = {}
        pieces: list[_Piece] = []
        begins: list[int] = []
        self.parsed_pieces = 0
        line = 1
        prev_end = 0
        for begin, end in _chunks(text):
            line += text.count("\n", prev_end, begin)
            prev_end = begin
            key = text[begin:end]
            piece = old.get(key) if key not in new else None  # a second copy of a text is parsed on its own
            if piece is not None and piece.line != line and (piece.diagnostics or piece.moved is None):
                piece = None  # a message may name a line ("opened at line 9"): parse it again where it is now
            if piece is None:
                piece = _parse_piece(text, path, begin, end, line)
                self.parsed_pieces += 1
            elif piece.line != line:
                piece.moved[0] = line - piece.parsed_at
                piece = _Piece(line, piece.declarations, (), False, None, piece.parsed_at, piece.moved)
            new.setdefault(key, piece)
            pieces.append(piece)
            begins.append(begin)
        self._pieces[path] = new
        first_failed = next((i for i, p in enumerate(pieces) if p.failed), None)
        if first_failed is not None and _may_continue(text, pieces, begins, first_failed):
            return parse_module(text, path)
        decls = tuple(d for p in pieces for d in p.declarations)
        diags = [d for p in pieces for d in p.diagnostics]
        if not decls and not diags:
            diags.append(warning("W100", "this file declares nothing", Span(path, 1, 1, 1, 1)))
        end_line = text.count("\n") + 1
        return ast.Module(path=path, declarations=decls, span=Span(path, 1, 1, end_line, 1)), diags


def _parse_piece(text: str, path: str, begin: int, end: int, line: int) -> _Piece:
    builder = _Builder(path, text)
    try:
        decls = tuple(_parse_text(builder, begin, end, _callbacks(builder)))
        if builder.diagnostics:
            return _Piece(line, decls, tuple(builder.diagnostics), False, None, line)
        moved = [0]
        return _Piece(line, _live(decls, moved), (), False, None, line, moved)
    except UnexpectedInput as e:
        open_end = None
        if isinstance(e, UnexpectedToken) and e.token.type == "$END":
            try:
                open_end = frozenset(e.accepts or e.expected or ())
            except Exception:  # pragma: no cover - accepts is best effort: then assume it may continue
                open_end = frozenset({"NAME", *_OPENING.values()})
        return _Piece(line, (), (_syntax_diagnostic(e, text, path, begin, end),), True, open_end)
    except _TooDeep as e:
        return _Piece(line, (), (_too_deep(e.span),), True, None)


def _may_continue(text: str, pieces: list[_Piece], begins: list[int], i: int) -> bool:
    """Whether the whole-file parse could read past the end of failed piece ``i`` into the next one."""
    accepts = pieces[i].open_end
    if accepts is None or i + 1 >= len(pieces):
        return False  # failed before its end, or at the end of the file: the whole parse fails there too
    m = _DECL_START.match(text, begins[i + 1])
    word = m.group().split()[0].rstrip("{") if m else ""
    return "NAME" in accepts or _OPENING.get(word) in accepts


# --- spans that move with their declaration ------------------------------------------

_LINE, _END_LINE = Span.line, Span.end_line  # the slots of Span's lines (as parsed)


class _LiveSpan(Span):
    """A span of a kept declaration: ``line`` and ``end_line`` add the piece's offset (``moved[0]``).

    It is a ``Span`` in every way that reads it (fields, equality with a
    plain ``Span``, hashing, order, ``repr``); only its piece's parse cache
    ever changes the offset, between two checks.
    """

    __slots__ = ("_moved",)

    def __init__(self, path: str, line: int, col: int, end_line: int, end_col: int):
        # Only for ``dataclasses.replace`` and the like: a span of its own, not moving with any piece.
        for slot, value in ((Span.path, path), (_LINE, line), (Span.col, col), (_END_LINE, end_line),
                            (Span.end_col, end_col), (_LiveSpan._moved, [0])):
            slot.__set__(self, value)

    line = property(lambda self: _LINE.__get__(self) + self._moved[0])
    end_line = property(lambda self: _END_LINE.__get__(self) + self._moved[0])

    def _key(self) -> tuple:
        return (self.path, self.line, self.col, self.end_line, self.end_col)

    def __eq__(self, other):
        if not isinstance(other, Span):
            return NotImplemented
        return self._key() == (other.path, other.line, other.col, other.end_line, other.end_col)

    def __hash__(self):
        return hash(self._key())

    def _cmp(self, other, op):
        if not isinstance(other, Span):
            return NotImplemented
        return op(self._key(), (other.path, other.line, other.col, other.end_line, other.end_col))

    __lt__ = lambda self, other: self._cmp(other, operator.lt)  # noqa: E731
    __le__ = lambda self, other: self._cmp(other, operator.le)  # noqa: E731
    __gt__ = lambda self, other: self._cmp(other, operator.gt)  # noqa: E731
    __ge__ = lambda self, other: self._cmp(other, operator.ge)  # noqa: E731

    def __repr__(self) -> str:
        return repr(Span(*self._key()))


def _live_span(s: Span, moved: list) -> _LiveSpan:
    o = object.__new__(_LiveSpan)
    Span.path.__set__(o, s.path)
    _LINE.__set__(o, s.line)
    Span.col.__set__(o, s.col)
    _END_LINE.__set__(o, s.end_line)
    Span.end_col.__set__(o, s.end_col)
    _LiveSpan._moved.__set__(o, moved)
    return o


def _live(value, moved: list):
    """``value`` (AST nodes, tuples of them, spans) with every span a ``_LiveSpan`` of the piece's offset."""
    convert = _CONVERTERS.get(type(value))
    return value if convert is None else convert(value, moved)


def _live_tuple(t: tuple, moved: list) -> tuple:
    return tuple([_live(v, moved) for v in t])


def _node_converter(cls: type):
    """A function copying a node of ``cls`` with live spans (generated from the dataclass's fields)."""
    lines = ["def convert(n, m):", "    o = new(cls)"]
    for f in fields(cls):
        lines.append(f"    v = n.{f.name}")
        if f.name.endswith("span"):
            lines.append(f"    put(o, {f.name!r}, v if v is None else span(v, m))")
        else:
            lines.append("    c = get(type(v))")
            lines.append(f"    put(o, {f.name!r}, v if c is None else c(v, m))")
    lines.append("    return o")
    scope = {"new": object.__new__, "put": object.__setattr__, "cls": cls, "span": _live_span, "get": _CONVERTERS.get}
    exec("\n".join(lines), scope)  # noqa: S102 - code generated from the AST's own dataclass fields
    return scope["convert"]


_CONVERTERS: dict[type, object] = {tuple: _live_tuple}
for _cls in vars(ast).values():
    if isinstance(_cls, type) and issubclass(_cls, ast.Node) and is_dataclass(_cls):
        _CONVERTERS[_cls] = _node_converter(_cls)


# --- what may come next ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Keywords:
    """What the parser takes at a point: terminal names (``SEVERITY``, ``NAME``, ``COMP_OP``...) and the
    words before it in the same declaration (``["alert", "x", "{", "severity", ":"]``)."""

    accepts: frozenset[str]
    before: tuple[str, ...]
    before_types: tuple[str, ...]


def keywords_at(text: str, offset: int) -> Keywords | None:
    """The terminals acceptable at ``offset`` of ``text`` (the parse of its declaration up to there).

    None when the declaration has a syntax error before ``offset``.

    >>> k = keywords_at('alert x { sev', 10)
    >>> sorted(k.accepts)[:4], k.before[-1]
    (['ACCOUNT', 'CATEGORY', 'COOLDOWN', 'DEPLOY'], '{')
    """
    begin = 0
    for m in _DECL_START.finditer(text, 0, offset):
        begin = m.start()
    ip = _lark().parse_interactive(TextSlice(text, begin, offset))
    before: list[str] = []
    types: list[str] = []
    try:
        for tok in ip.iter_parse():
            before.append(str(tok))
            types.append(tok.type)
        accepts = ip.accepts()
    except (UnexpectedInput, _TooDeep):
        return None
    return Keywords(frozenset(accepts), tuple(before), tuple(types))


def terminal_names() -> tuple[str, ...]:
    """The names of the grammar's terminals, as Lark gave them."""
    return tuple(t.name for t in _lark().terminals)


def terminal_words(name: str) -> tuple[str, ...]:
    """The words a keyword terminal stands for (``SEVERITY`` -> ``("severity",)``, ``DIRECTION`` -> up, down)."""
    for t in _lark().terminals:
        if t.name != name:
            continue
        if t.pattern.type == "str":
            return (t.pattern.value,) if t.pattern.value.replace("_", "").isalpha() else ()
        if name == "DIRECTION":
            return ("up", "down")
    return ()
