"""The language server's model of a workspace: its spec sets, the editor's unsaved texts, the last check.

Nothing here knows the protocol: paths are file-system paths, positions are
the compiler's (1-based lines, columns in characters). ``Project.check()``
compiles every spec set with ``plays.compiler.driver.compile_sources`` (so the
codes and spans are ``plays check``'s), parsing through one ``ModuleCache``
so that a keystroke re-parses one declaration, not the workspace.

Which files form a spec set: every ``.play`` file under the workspace
folders (hidden folders skipped, as ``plays check DIR`` does); an open file
outside them forms a set with the ``.play`` files of its own folder.

>>> import tempfile, os
>>> root = tempfile.mkdtemp()
>>> with open(os.path.join(root, "catalog.play"), "w") as f:
...     _ = f.write("metric mau: count")
>>> project = Project([root])
>>> project.open(os.path.join(root, "alerts.play"), "alert a { when: mau > 1\\n  severity: hgh }")
>>> [(d.code, d.span.path, d.span.line) for d in project.check()[os.path.join(root, "alerts.play")]]
[('W402', 'alerts.play', 1), ('E208', 'alerts.play', 2)]
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from plays.compiler.driver import Result, compile_sources
from plays.diagnostics import Diagnostic
from plays.dsl.editing import ModuleCache
from plays.errors import PlaysError
from plays.sources import Source, read_source


@dataclass
class SpecSet:
    """One spec set: its folder (paths in diagnostics are relative to it) and its last check."""

    root: str
    files: dict[str, str]  # absolute path -> display path (relative to ``root``)
    result: Result | None = None
    modules: dict[str, object] = field(default_factory=dict)  # display path -> its last parsed Module


class Project:
    """The spec sets of a workspace, with the open documents' texts in place of the files' own."""

    def __init__(self, roots: list[str]):
        self.roots = [os.path.abspath(r) for r in roots]
        self.overlays: dict[str, str] = {}  # absolute path -> the editor's text
        self._disk: dict[str, str] = {}  # absolute path -> text read from disk
        # One parse cache per spec set's folder: a kept declaration's spans move with its file's text, so two
        # sets must not share one (two folders can both have an `alerts.play`).
        self._parse: dict[str, ModuleCache] = defaultdict(ModuleCache)
        self.sets: list[SpecSet] = []
        self._published: set[str] = set()
        self.rediscover()

    # --- the files ---------------------------------------------------------------------

    def rediscover(self) -> None:
        """Find the spec sets' files again (a file was opened, closed, saved, created or deleted)."""
        self._disk.clear()
        sets: list[SpecSet] = []
        seen: set[str] = set()
        for root in self.roots:
            files = {p: _display(p, root) for p in _play_files(root)}
            # An open file under the folder is in its set, saved or not (a new file, a file made hidden...).
            files.update({p: _display(p, root) for p in self.overlays if _under(p, root) and p not in seen})
            seen.update(files)
            sets.append(SpecSet(root, files))
        loose: dict[str, dict[str, str]] = defaultdict(dict)
        for path in self.overlays:
            if path in seen:
                continue
            folder = os.path.dirname(path)
            loose[folder].update({p: _display(p, folder) for p in _play_files(folder, deep=False)})
            loose[folder][path] = _display(path, folder)
        sets += [SpecSet(folder, files) for folder, files in sorted(loose.items())]
        self.sets = [s for s in sets if s.files]

    def open(self, path: str, text: str) -> None:
        known = self.set_of(path) is not None
        self.overlays[path] = text
        if not known:
            self.rediscover()

    def change(self, path: str, text: str) -> None:
        self.overlays[path] = text

    def close(self, path: str) -> None:
        self.overlays.pop(path, None)
        self.rediscover()

    def text(self, path: str) -> str | None:
        """The text of ``path``: the editor's when it is open, else the file's (None when unreadable)."""
        if path in self.overlays:
            return self.overlays[path]
        if path not in self._disk:
            try:
                self._disk[path] = read_source(Path(path)).text
            except PlaysError:
                return None
        return self._disk[path]

    def set_of(self, path: str) -> SpecSet | None:
        return next((s for s in self.sets if path in s.files), None)

    def path_of(self, spec_set: SpecSet, display: str) -> str:
        """The absolute path of a diagnostic's or span's path in ``spec_set``."""
        return os.path.normpath(os.path.join(spec_set.root, display))

    # --- checking ----------------------------------------------------------------------

    def check(self) -> dict[str, list[Diagnostic]]:
        """Compile every spec set; the diagnostics by absolute path, with ``[]`` for files that became clean."""
        by_path: dict[str, list[Diagnostic]] = {}
        for spec_set in self.sets:
            sources = []
            for path, shown in spec_set.files.items():
                text = self.text(path)
                if text is not None:
                    sources.append(Source(shown, text))
            modules = spec_set.modules = {}

            def parse(text, shown, modules=modules, cache=self._parse[spec_set.root]):
                module, diags = cache.parse_module(text, shown)
                modules[shown] = module
                return module, diags

            spec_set.result = compile_sources(sources, lower=False, parse=parse)
            for path in spec_set.files:
                by_path.setdefault(path, [])
            for d in spec_set.result.diagnostics:
                if d.span is not None:
                    by_path.setdefault(self.path_of(spec_set, d.span.path), []).append(d)
        for path in self._published - set(by_path):  # no longer in a spec set (a new file closed unsaved)
            by_path[path] = []
        now = {p for p, ds in by_path.items() if ds}
        out = {p: ds for p, ds in by_path.items() if ds or p in self._published}
        self._published = now
        return out


def _under(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # another drive
        return False


def _display(path: str, root: str) -> str:
    rel = os.path.relpath(path, root)
    return Path(rel).as_posix() if not rel.startswith("..") else Path(path).as_posix()


def _play_files(folder: str, deep: bool = True) -> list[str]:
    """The ``.play`` files under ``folder`` (hidden folders skipped), or in it when not ``deep``."""
    found = []
    for dirpath, dirs, names in os.walk(folder, onerror=lambda e: None):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if deep else []
        found += [os.path.join(dirpath, n) for n in sorted(names) if n.endswith(".play")]
    return [os.path.abspath(p) for p in found if os.path.isfile(p)]
