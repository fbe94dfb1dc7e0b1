"""The check's result cache: per-file results keyed by content, so that a re-check parses only what changed.

A check is three kinds of work (``driver._passes``), and the cache keeps the
result of each under a key that names everything the result depends on:

- **the file**: its parse diagnostics and a *header* (the catalog's
  declarations whole; of each alert and goal its kind, name, title, span and
  ``resolve.facts_of`` it, such as an alert's trigger), keyed by the file's
  path and text;
- **the cross-file step** (``resolve.collect``: the catalog, names declared
  twice, alerts with one trigger) runs every time, on the headers alone, which
  is cheap;
- **the file's checks** (every later pass: one declaration at a time against
  the catalog), keyed by the file's key, the catalog (its ``repr``, spans
  included) and which of the file's alerts and goals won their name (a second
  declaration of a name is reported and not checked further);
- and the whole spec set's diagnostics, keyed by every file's key, so that a
  re-check of unchanged files reads one entry.

Every key also holds the cache format, the Python version, Lark's and
Jinja's versions and a digest of the source of the base, ``dsl`` and
``compiler`` layers (so an upgrade, or an edit of the grammar or of a pass in
a checkout, starts afresh). Editing a file re-parses that file only, and of
a file whose declarations all parse cleanly, only the declarations whose text
changed (per file path, the last version's per-declaration
results are kept: see "a file piece by piece" below); editing the catalog
re-checks every file (so parses them all, like a first run).

Entries are files in ``DIR/entries/``, each written to a temporary and renamed
over (a reader sees a whole entry or none; concurrent writers of one key write
the same bytes) and led by a digest of its contents: an entry that is
truncated, corrupt or of another format is a miss, like a folder that cannot
be read or written. The cache never changes a result and never fails a check.
When the folder grows past ``MAX_BYTES``, the entries least recently used go.
Entries are Python pickles: keep the cache folder as private as the specs.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from plays.diagnostics import Diagnostic, Span
from plays.dsl import ast, parse_module
from plays.sources import Source

from .context import Catalog, Context

FORMAT = b"plays-cache 2\n"
DIRNAME = ".plays_cache"
MAX_BYTES = 64 * 1024 * 1024  # pruned down to 3/4 of this, least recently used first
_DIGEST = 16


@dataclass(frozen=True, slots=True)
class _Part:
    """One piece of a file: its key (its text), first line, header items, and its declarations (parsed now) or
    its record (kept from the last version: first line, header items, catalog digest, mask, diagnostics)."""

    key: str
    line: int
    items: list
    decls: tuple | None
    record: tuple | None


def default_dir(root: str | None = None) -> Path:
    """``.plays_cache`` in ``root`` (the configuration file's folder) when given, else in the current folder."""
    return Path(root, DIRNAME) if root else Path(DIRNAME)


class CheckCache:
    """A cache folder for ``compile_sources(..., lower=False, cache=CheckCache(folder))``."""

    def __init__(self, directory: str | os.PathLike, *, settings: str = ""):
        self.directory = Path(directory)
        self.entries = self.directory / "entries"
        self._settings = settings  # anything else that changes what a check reports
        self._base = b""
        self._wrote = False
        self._writable = True

    # --- the check ------------------------------------------------------------

    def check(self, sources):
        """The ``Result`` of checking ``sources`` (no plan), from the cache where it can be."""
        from .driver import Result

        sources = sorted(sources, key=lambda s: s.path)
        base = self._base = _version_key() + self._settings.encode()
        file_keys = [_key(base, b"file", s.path.encode(), s.text.encode("utf-8", "surrogatepass")) for s in sources]
        set_key = _key(base, b"set", *(k.encode() for k in file_keys))
        texts = {s.path: s.text for s in sources}
        diags = self._load(set_key, _is_diagnostics)
        if diags is None:
            diags = self._check(sources, file_keys)
            self._store(set_key, diags)
        if self._wrote:
            self._prune()
        return Result(diagnostics=diags, plan=None, sources=texts)

    def _check(self, sources: list[Source], file_keys: list[str]) -> list[Diagnostic]:
        parsed: dict[int, ast.Module] = {}
        split: dict[int, list[_Part]] = {}  # files parsed piece by piece: their pieces
        headers = []
        for i, (src, key) in enumerate(zip(sources, file_keys)):
            entry = self._load(key, _is_header)
            if entry is None:
                parts, module, diags = self._parts(src)
                if parts is not None:
                    split[i] = parts
                    entry = ([], [item for part in parts for item in part.items])
                else:
                    parsed[i] = module
                    entry = (list(diags), _header(module))
                self._store(key, entry)
            headers.append(entry)
        cross, *local = _passes()
        facts: dict = {}
        modules = [_module(src.path, decls, facts) for src, (_, decls) in zip(sources, headers)]
        ctx = Context(modules=tuple(modules), facts=facts)
        cross(ctx)
        out: list[Diagnostic] = list(ctx.diagnostics)
        checked = {id(d) for d in (*ctx.alerts.values(), *ctx.goals.values())}
        fingerprint = repr((ctx.catalog.attributes, ctx.catalog.metrics, ctx.catalog.span)).encode()
        for i, (src, key) in enumerate(zip(sources, file_keys)):
            out += headers[i][0]
            mask = bytes(id(d) in checked for d in modules[i].declarations if isinstance(d, (ast.Alert, ast.Goal)))
            local_key = _key(b"local", key.encode(), fingerprint, mask)
            diags = self._load(local_key, _is_diagnostics)
            if diags is None:
                diags = None if i not in split else self._check_parts(src, split[i], ctx.catalog, fingerprint, mask,
                                                                      local)
                if diags is None:
                    module = parsed.get(i) or parse_module(src.text, src.path)[0]
                    diags = _check_file(module, ctx.catalog, mask, local)
                self._store(local_key, diags)
            out += diags
        return sorted(set(out), key=Diagnostic.sort_key)

    # --- a file piece by piece --------------------------------------------------
    #
    # A changed file is parsed and checked declaration by declaration (the
    # pieces of ``dsl.parser._chunks``, as the language server's
    # ``dsl.editing.ModuleCache`` does), and each piece's result is kept in one
    # entry per file path (the last version checked), keyed by the piece's text:
    # after an edit, only the pieces whose text changed are parsed and checked
    # again, and those that moved to other lines (lines added or removed above
    # them) when they hold a catalog declaration or a diagnostic (``_kept``).
    # This holds only for a file whose every
    # piece parses alone without a diagnostic: then the file parses to the
    # concatenation of the pieces' declarations (the grammar is ``start:
    # _decl*``, LALR(1), and no token spans two lines), and each piece's alerts
    # and goals are checked on their own (``driver._passes``). Any other file
    # is parsed and checked whole, as before.

    def _parts(self, src: Source) -> tuple[list[_Part] | None, ast.Module | None, list[Diagnostic]]:
        """The file's pieces (from the last version's entry, or parsed now), or when it cannot be split into
        clean pieces, ``(None, module, diagnostics)`` of ``parse_module``."""
        from lark.exceptions import UnexpectedInput

        from plays.dsl.parser import _DECL_START, _Builder, _callbacks, _chunks, _parse_text, _TooDeep

        text = src.text
        chunks = []  # (begin, end, first line, key)
        line, prev = 1, 0
        for begin, end in _chunks(text):
            line += text.count("\n", prev, begin)
            prev = begin
            chunks.append((begin, end, line, _key(text[begin:end].encode("utf-8", "surrogatepass"))))
        kept = self._load(_pieces_key(self._base, src.path), _is_pieces) or {}
        if any(c[3] in kept for c in chunks):  # an edit of a file checked before: parse only what changed
            builder = _Builder(src.path, text)
            callbacks = _callbacks(builder)
            parts: list[_Part] = []
            for begin, end, line, pkey in chunks:
                record = _kept(kept.get(pkey), line)
                if record is not None:
                    parts.append(_Part(pkey, line, record[1], None, record))
                    continue
                builder.diagnostics = []
                try:
                    decls = tuple(_parse_text(builder, begin, end, callbacks))
                except (UnexpectedInput, _TooDeep):
                    break
                if builder.diagnostics:
                    break
                parts.append(_Part(pkey, line, _header_items(decls), decls, None))
            else:
                if any(part.items for part in parts):  # else W100 ("declares nothing"), the whole file's
                    return parts, None, []
        # Parsed whole (as fast as any split): its pieces when each declaration is exactly one piece.
        module, diags = parse_module(text, src.path)
        decls = module.declarations
        starts = [c for c in chunks if _DECL_START.match(text, c[0])]
        if diags or not decls or len(starts) != len(decls) or any(
                d.span.line != c[2] or d.span.col != 1 for d, c in zip(decls, starts)):
            return None, module, diags
        one = iter(decls)
        parts = []
        for begin, _, line, pkey in chunks:
            piece = (next(one),) if _DECL_START.match(text, begin) else ()
            parts.append(_Part(pkey, line, _header_items(piece), piece, None))
        return parts, None, []

    def _check_parts(self, src: Source, parts: list[_Part], catalog: Catalog, fingerprint: bytes, mask: bytes,
                     passes) -> list[Diagnostic] | None:
        """What ``_check_file`` reports on the file, piece by piece, reusing the pieces kept; None if it cannot."""
        catalog_key = _digest(fingerprint)
        records: dict = {}
        out: list[Diagnostic] = []
        at = 0
        for part in parts:
            rules = sum(1 for item in part.items if type(item) is tuple)
            piece_mask = mask[at:at + rules]
            at += rules
            record = part.record
            if record is not None and record[2] == catalog_key and record[3] == piece_mask:
                diags = record[4]
            elif part.decls is not None:
                diags = _check_file(ast.Module(path=src.path, declarations=part.decls, span=Span(src.path, 1, 1, 1, 1)),
                                    catalog, piece_mask, passes)
            else:
                return None  # a kept piece, checked against another catalog: the file is checked whole
            records[part.key] = (part.line, part.items, catalog_key, piece_mask, list(diags))
            out += diags
        self._store(_pieces_key(self._base, src.path), records)
        return out

    # --- entries --------------------------------------------------------------

    def _load(self, key: str, valid):
        try:
            data = (self.entries / key).read_bytes()
        except OSError:
            return None
        head = len(FORMAT) + _DIGEST
        if data[: len(FORMAT)] != FORMAT or data[len(FORMAT) : head] != _digest(data[head:]):
            return None
        try:
            value = pickle.loads(data[head:])
        except Exception:  # noqa: BLE001  (any damage is a miss, never an error)
            return None
        if not valid(value):
            return None
        try:
            os.utime(self.entries / key)  # least recently used goes first when pruning
        except OSError:
            pass
        return value

    def _store(self, key: str, value) -> None:
        if not self._writable:
            return
        try:
            payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            if not self.entries.is_dir():
                self._create()
            fd, tmp = tempfile.mkstemp(dir=self.entries, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(FORMAT + _digest(payload) + payload)
                os.replace(tmp, self.entries / key)
            except BaseException:
                _unlink(tmp)
                raise
            self._wrote = True
        except (OSError, pickle.PicklingError, RecursionError):
            self._writable = False  # a read-only or full disk: check without writing

    def _create(self) -> None:
        self.entries.mkdir(parents=True, exist_ok=True)
        # Like pytest's and ruff's caches: never committed, skipped by backup tools.
        for name, text in ((".gitignore", "# created by plays\n*\n"),
                           ("CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n"
                                            "# This file is a cache directory tag created by plays.\n")):
            path = self.directory / name
            if not path.exists():
                path.write_text(text, encoding="utf-8")

    def _prune(self) -> None:
        """Remove the least recently used entries while the folder holds more than ``MAX_BYTES``."""
        try:
            found = []
            now = time.time()
            with os.scandir(self.entries) as it:
                for e in it:
                    st = e.stat()
                    if e.name.startswith(".tmp-"):
                        if now - st.st_mtime > 3600:  # left by a killed writer
                            _unlink(e.path)
                        continue
                    found.append((st.st_mtime, st.st_size, e.path))
        except OSError:
            return
        total = sum(size for _, size, _ in found)
        if total <= MAX_BYTES:
            return
        for _, size, path in sorted(found):
            _unlink(path)
            total -= size
            if total <= MAX_BYTES * 3 // 4:
                break


def _passes():
    from . import resolve
    from .driver import _passes as passes

    cross, *local = passes()
    if cross is not resolve.collect:  # a programming error: the cache's split no longer holds
        raise RuntimeError("compiler/cache.py expects resolve.collect as the first pass")
    return [cross, *local]


def _check_file(module: ast.Module, catalog: Catalog, mask: bytes, passes) -> list[Diagnostic]:
    """What the per-declaration passes report on one file's alerts and goals that won their names."""
    ctx = Context(modules=(module,), catalog=catalog)
    rules = [d for d in module.declarations if isinstance(d, (ast.Alert, ast.Goal))]
    for decl, checked in zip(rules, mask):
        if checked:
            (ctx.alerts if isinstance(decl, ast.Alert) else ctx.goals)[decl.name] = decl
    for run_pass in passes:
        run_pass(ctx)
    return ctx.diagnostics


# --- headers: what the cross-file step reads of a file ---------------------------


def _header(module: ast.Module) -> list:
    """The file as ``resolve.collect`` reads it: catalog declarations whole, rules as (kind, name, ..., facts)."""
    return _header_items(module.declarations)


def _header_items(declarations) -> list:
    from .resolve import facts_of

    out = []
    for d in declarations:
        if isinstance(d, ast.Alert):
            out.append(("alert", d.name, d.title, False, _span(d.span), facts_of(d)))
        elif isinstance(d, ast.Goal):
            out.append(("goal", d.name, d.title, d.external, _span(d.span), facts_of(d)))
        else:
            out.append(d)
    return out


def _span(s: Span) -> tuple:
    return (s.path, s.line, s.col, s.end_line, s.end_col)


def _module(path: str, header: list, facts: dict) -> ast.Module:
    """A module of a header's declarations (rules without properties or playbooks); their facts go to ``facts``."""
    decls = []
    for d in header:
        if type(d) is tuple:
            kind, name, title, external, span, known = d
            if kind == "alert":
                decl = ast.Alert(name=name, title=title, props=(), playbooks=(), span=Span(*span))
            else:
                decl = ast.Goal(name=name, title=title, external=external, props=(), playbooks=(), span=Span(*span))
            facts[id(decl)] = known
            decls.append(decl)
        else:
            decls.append(d)
    return ast.Module(path=path, declarations=tuple(decls), span=Span(path, 1, 1, 1, 1))


def _is_header(value) -> bool:
    return (isinstance(value, tuple) and len(value) == 2 and _is_diagnostics(value[0])
            and isinstance(value[1], list) and all(_is_header_item(d) for d in value[1]))


def _is_header_item(d) -> bool:
    if type(d) is tuple:
        return (len(d) == 6 and d[0] in ("alert", "goal") and isinstance(d[4], tuple) and len(d[4]) == 5
                and isinstance(d[5], dict))
    return isinstance(d, (ast.AccountCatalog, ast.Metric))


def _is_pieces(value) -> bool:
    """A file's pieces entry: piece key -> (first line, header items, catalog digest, mask, diagnostics)."""
    return isinstance(value, dict) and all(
        isinstance(k, str) and type(r) is tuple and len(r) == 5 and type(r[0]) is int and isinstance(r[1], list)
        and all(_is_header_item(d) for d in r[1]) and isinstance(r[2], bytes) and isinstance(r[3], bytes)
        and len(r[3]) == sum(1 for d in r[1] if type(d) is tuple) and _is_diagnostics(r[4])
        for k, r in value.items())


def _kept(record: tuple | None, line: int) -> tuple | None:
    """A kept piece's record for the piece now at ``line``: as kept, or moved to ``line`` when it can be.

    Only a piece of alerts and goals that the checks found nothing in moves:
    its spans are the header's, one line number each; a diagnostic's message
    may name a line, and the catalog's declarations are kept whole.
    """
    if record is None or record[0] == line:
        return record
    was, items, catalog_key, mask, diags = record
    if diags or not all(type(d) is tuple for d in items):
        return None
    delta = line - was
    moved = [(kind, name, title, external, (path, a + delta, col, b + delta, end_col), facts)
             for kind, name, title, external, (path, a, col, b, end_col), facts in items]
    return (line, moved, catalog_key, mask, diags)


def _pieces_key(base: bytes, path: str) -> str:
    return _key(base, b"pieces", path.encode("utf-8", "surrogatepass"))


def _is_diagnostics(value) -> bool:
    return isinstance(value, list) and all(isinstance(d, Diagnostic) for d in value)


# --- keys ---------------------------------------------------------------------------


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=_DIGEST).digest()


def _key(*parts: bytes) -> str:
    h = hashlib.blake2b(digest_size=20)
    for p in parts:
        h.update(len(p).to_bytes(8, "little"))
        h.update(p)
    return h.hexdigest()


_VERSION_KEY: bytes | None = None


def _version_key() -> bytes:
    """What every key holds besides its inputs: the format, the Python and library versions, the code."""
    global _VERSION_KEY
    if _VERSION_KEY is None:
        from importlib.util import find_spec

        import plays
        from plays import compiler, dsl

        h = hashlib.blake2b(FORMAT, digest_size=20)
        h.update(repr(sys.version_info[:3]).encode())
        for lib in ("lark", "jinja2"):  # their __init__ holds __version__ (faster than importlib.metadata)
            spec = find_spec(lib)
            try:
                h.update(lib.encode() + _digest(Path(spec.origin).read_bytes()))
            except (OSError, TypeError, AttributeError):
                h.update(f"{lib} -".encode())
        for package in (plays, dsl, compiler):
            for folder in package.__path__:
                for name in sorted(os.listdir(folder)):
                    if name.endswith((".py", ".lark", ".toml", ".json")):  # code, grammar, the codes registry
                        try:
                            data = Path(folder, name).read_bytes()
                        except OSError:
                            data = b"?"
                        h.update(name.encode() + b"\0" + _digest(data))
        _VERSION_KEY = h.digest()
    return _VERSION_KEY


def _unlink(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
