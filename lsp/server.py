"""The protocol: ``plays lsp`` speaks LSP over stdio (pygls), on top of ``project``, ``symbols`` and ``features``.

Positions: the compiler counts lines from 1 and columns in characters from
1; LSP counts both from 0 and columns in the client's code units (UTF-16
unless the client asks for another): the conversions are here and only here.

Every change is checked at once, synchronously: a keystroke re-parses one
declaration (``plays.dsl.editing``) and runs the passes over the spec set,
then the diagnostics of every file of the set are published (``[]`` for a
file that became clean), so an error that a change in one file causes in
another shows there too.
"""

from __future__ import annotations

import logging
import os

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from plays import __version__
from plays.diagnostics import Diagnostic, Span

from .features import Item, code_doc, complete, hover
from .project import Project, SpecSet
from .symbols import Index

_KINDS = {
    "keyword": lsp.CompletionItemKind.Keyword,
    "metric": lsp.CompletionItemKind.Variable,
    "attribute": lsp.CompletionItemKind.Field,
    "enum value": lsp.CompletionItemKind.EnumMember,
    "function": lsp.CompletionItemKind.Function,
    "task": lsp.CompletionItemKind.Reference,
    "value": lsp.CompletionItemKind.Value,
    "type": lsp.CompletionItemKind.TypeParameter,
}


class PlaysLanguageServer(LanguageServer):
    """The server: one ``Project`` for the workspace, one name index per spec set (rebuilt after each check)."""

    def __init__(self):
        super().__init__("plays", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self._project: Project | None = None
        self._indexes: dict[str, tuple[object, Index]] = {}  # spec set's folder -> (the check it indexes, index)

    @property
    def project(self) -> Project:
        if self._project is None:
            roots = [to_fs_path(f.uri) for f in self.workspace.folders.values()]
            if not roots and self.workspace.root_path:
                roots = [self.workspace.root_path]
            self._project = Project([r for r in roots if r and os.path.isdir(r)])
        return self._project

    def check_and_publish(self, changed: str | None = None) -> None:
        """Check, and publish every file whose diagnostics are not empty or were not (and ``changed``, always:
        the client sees each edit answered, even by "still clean")."""
        results = self.project.check()
        if changed is not None and changed not in results and self.project.set_of(changed) is not None:
            results[changed] = []
        for path, diagnostics in results.items():
            lines = (self.project.text(path) or "").split("\n")
            spec_set = self.project.set_of(path)
            self.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(
                    uri=from_fs_path(path), diagnostics=[self.to_lsp(d, lines, spec_set) for d in diagnostics]
                )
            )

    # --- positions ---------------------------------------------------------------------

    def _units(self, line: str, chars: int) -> int:
        head = line[:chars]
        return len(head) if head.isascii() else self.workspace.position_codec.client_num_units(head)

    def range_of(self, span: Span, lines: list[str]) -> lsp.Range:
        """``span`` in LSP's terms, ``lines`` being its file's text split at newlines."""

        def pos(line: int, col: int) -> lsp.Position:
            if line - 1 >= len(lines):
                return lsp.Position(line=max(len(lines) - 1, 0), character=self._units(lines[-1], len(lines[-1])))
            return lsp.Position(line=line - 1, character=self._units(lines[line - 1], col - 1))

        return lsp.Range(start=pos(span.line, span.col), end=pos(span.end_line, span.end_col))

    def location(self, spec_set: SpecSet, span: Span) -> lsp.Location:
        path = self.project.path_of(spec_set, span.path)
        return lsp.Location(uri=from_fs_path(path), range=self.range_of(span, (self.project.text(path) or "").split("\n")))

    def to_lsp(self, d: Diagnostic, lines: list[str], spec_set: SpecSet | None) -> lsp.Diagnostic:
        """``d`` as LSP has it: the range in the client's units, the suggestion and span-less notes in the message."""
        message = d.message
        if d.suggestion:
            message += f" (did you mean `{d.suggestion}`?)"
        related = []
        for note in d.notes:
            if note.span is None:
                message += f"\nnote: {note.message}"
            elif spec_set is not None:
                related.append(lsp.DiagnosticRelatedInformation(self.location(spec_set, note.span), note.message))
        return lsp.Diagnostic(
            range=self.range_of(d.span, lines),
            message=message,
            severity=lsp.DiagnosticSeverity.Error if d.is_error else lsp.DiagnosticSeverity.Warning,
            code=d.code,
            source="plays",
            related_information=related or None,
        )

    # --- what is under the cursor ---------------------------------------------------------

    def index_of(self, spec_set: SpecSet) -> Index:
        cached = self._indexes.get(spec_set.root)
        if cached is not None and cached[0] is spec_set.result:
            return cached[1]
        texts = {shown: self.project.text(path) or "" for path, shown in spec_set.files.items()}
        index = Index.build(list(spec_set.modules.values()), texts)
        self._indexes[spec_set.root] = (spec_set.result, index)
        return index

    def at(self, uri: str, position: lsp.Position):
        """(spec set, index, occurrence, compiler line, compiler column) at ``position`` of ``uri``."""
        path = _file(uri)
        spec_set = self.project.set_of(path) if path else None
        if spec_set is None:
            return None
        doc = self.workspace.get_text_document(uri)
        server_pos = doc.position_codec.position_from_client_units(doc.lines, position)
        line, col = server_pos.line + 1, server_pos.character + 1
        index = self.index_of(spec_set)
        return spec_set, index, index.at(spec_set.files[path], line, col), line, col


server = PlaysLanguageServer()


@server.feature(lsp.INITIALIZED)
def initialized(ls: PlaysLanguageServer, params: lsp.InitializedParams):
    """Ask the client to report .play files (and the configuration) changed outside the editor, when it can."""
    caps = ls.client_capabilities.workspace
    watched = caps.did_change_watched_files if caps is not None else None
    if watched is not None and watched.dynamic_registration:
        globs = ("**/*.play", "**/plays.toml", "**/pyproject.toml")  # the specs, and the configuration
        options = lsp.DidChangeWatchedFilesRegistrationOptions(watchers=[lsp.FileSystemWatcher(glob_pattern=g) for g in globs])
        ls.client_register_capability(
            lsp.RegistrationParams(registrations=[
                lsp.Registration(id="plays-watch", method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options)
            ])
        )


def _file(uri: str) -> str | None:
    """The file-system path of a ``file:`` URI; None for others (an unsaved ``untitled:`` buffer): not checked."""
    path = to_fs_path(uri) if uri.startswith("file:") else None
    return os.path.abspath(path) if path else None


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: PlaysLanguageServer, params: lsp.DidOpenTextDocumentParams):
    path = _file(params.text_document.uri)
    if path is None:
        return
    ls.project.open(path, params.text_document.text)
    ls.check_and_publish(changed=path)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: PlaysLanguageServer, params: lsp.DidChangeTextDocumentParams):
    doc = ls.workspace.get_text_document(params.text_document.uri)
    path = _file(doc.uri)
    if path is None:
        return
    ls.project.change(path, doc.source)
    ls.check_and_publish(changed=path)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: PlaysLanguageServer, params: lsp.DidSaveTextDocumentParams):
    ls.project.rediscover()
    ls.check_and_publish()


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: PlaysLanguageServer, params: lsp.DidCloseTextDocumentParams):
    path = _file(params.text_document.uri)
    if path is None:
        return
    ls.project.close(path)
    ls.check_and_publish()


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: PlaysLanguageServer, params: lsp.DidChangeWatchedFilesParams):
    ls.project.rediscover()
    ls.check_and_publish()


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=[".", ":", ",", "("]))
def completion(ls: PlaysLanguageServer, params: lsp.CompletionParams):
    doc = ls.workspace.get_text_document(params.text_document.uri)
    path = _file(doc.uri)
    spec_set = ls.project.set_of(path) if path else None
    index = ls.index_of(spec_set) if spec_set is not None else None
    shown = spec_set.files[path] if spec_set is not None else ""
    items = complete(doc.source, doc.offset_at_position(params.position), index, shown)
    return lsp.CompletionList(is_incomplete=False, items=[_item(i) for i in items])


def _item(item: Item) -> lsp.CompletionItem:
    return lsp.CompletionItem(label=item.label, kind=_KINDS.get(item.kind), detail=item.detail or item.kind)


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def on_hover(ls: PlaysLanguageServer, params: lsp.HoverParams):
    found = ls.at(params.text_document.uri, params.position)
    if found is None:
        return None
    spec_set, index, occ, line, col = found
    parts = []
    if occ is not None:
        text = hover(occ, index)
        if text:
            parts.append(text)
    shown = spec_set.files[_file(params.text_document.uri)]
    for d in spec_set.result.diagnostics if spec_set.result else ():
        s = d.span
        if s is not None and s.path == shown and (s.line, s.col) <= (line, col) <= (s.end_line, s.end_col):
            parts.append(code_doc(d.code))
    if not parts:
        return None
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)))


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
def definition(ls: PlaysLanguageServer, params: lsp.DefinitionParams):
    found = ls.at(params.text_document.uri, params.position)
    if found is None or found[2] is None:
        return None
    spec_set, index, occ, _, _ = found
    return [ls.location(spec_set, o.span) for o in index.definitions(occ)] or None


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
def references(ls: PlaysLanguageServer, params: lsp.ReferenceParams):
    found = ls.at(params.text_document.uri, params.position)
    if found is None or found[2] is None:
        return None
    spec_set, index, occ, _, _ = found
    with_decl = params.context.include_declaration
    return [ls.location(spec_set, o.span) for o in index.occurrences(occ.kind, occ.name, occ.scope)
            if with_decl or not o.definition]


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
def formatting(ls: PlaysLanguageServer, params: lsp.DocumentFormattingParams):
    from plays.dsl.fmt import format_source
    from plays.errors import CompileError

    doc = ls.workspace.get_text_document(params.text_document.uri)
    path = _file(doc.uri)
    spec_set = ls.project.set_of(path) if path else None
    try:
        new = format_source(doc.source, spec_set.files[path] if spec_set else "<buffer>")
    except CompileError:
        return []  # a file that does not parse is left as it is
    if new == doc.source:
        return []
    lines = doc.lines
    end = lsp.Position(line=len(lines), character=0)
    return [lsp.TextEdit(range=lsp.Range(start=lsp.Position(line=0, character=0), end=end), new_text=new)]


def serve() -> None:
    """Speak LSP over standard input and output until the client says exit."""
    logging.basicConfig(level=logging.WARNING)
    server.start_io()
