"""The language server's model of a workspace: its spec sets, the editor's unsaved texts, the last check.

Nothing here knows the protocol: paths are file-system paths, positions are
the compiler's (1-based lines, columns in characters). ``Project.check()``
compiles every spec set with ``plays.compiler.driver.compile_sources`` (so the
codes and spans are ``plays check``'s), parsing through one ``ModuleCache``
so that a keystroke re-parses one declaration, not the workspace.

Which files form a spec set: the configuration's ``paths`` (``plays.toml``
or ``[tool.plays]`` in ``pyproject.toml``, found upward from the workspace
folder as ``plays check`` finds it, paths relative to its folder), else every
``.play`` file under the workspace folder (hidden folders skipped, as
``plays check DIR`` does); an open file outside them forms a set with the
``.play`` files of its own folder. The configuration's suppressions and
severities apply (``compile_sources(settings=...)``); a configuration that
does not validate is reported on its own file (C1xx) and the specs are
checked without it.

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
from plays.config import ConfigError, Settings, find_config, read_config
from plays.diagnostics import Diagnostic
from plays.dsl.editing import ModuleCache
from plays.errors import PlaysError
from plays.sources import Source, read_source


@dataclass
class SpecSet:
    """One spec set: its folder (paths in diagnostics are relative to it) and its last check."""

    root: str
    files: dict[str, str]  # absolute path -> display path (relative to ``root``)
    settings: Settings = field(default_factory=Settings)
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
        self.config_errors: dict[str, list[Diagnostic]] = {}  # configuration file -> its C1xx diagnostics
        self.rediscover()

    # --- the files ---------------------------------------------------------------------

    def rediscover(self) -> None:
        """Find the configuration and the spec sets' files again (a file was opened, closed, saved, created...)."""
        self._disk.clear()
        self.config_errors = {}
        configs: dict[str, tuple[Settings, str | None]] = {}
        sets: list[SpecSet] = []
        seen: set[str] = set()
        for folder in self.roots:
            settings, config = self._settings(folder, configs)
            if settings.paths:  # the configured spec set, shown relative to the configuration's folder
                root = settings.root or folder
                found = [p for raw in settings.paths for p in _spec_files(os.path.join(root, raw))]
                scope = [os.path.join(root, raw) for raw in settings.paths]
            else:
                root, found, scope = folder, _play_files(folder), [folder]
            files = {p: _display(p, root) for p in found if p not in seen}
            # An open file in the set's folders is in the set, saved or not (a new file...).
            files.update({p: _display(p, root) for p in self.overlays
                          if p not in seen and any(p == s or _under(p, s) for s in scope)})
            seen.update(files)
            sets.append(SpecSet(root, files, settings))
        loose: dict[str, dict[str, str]] = defaultdict(dict)
        for path in self.overlays:
            if path in seen:
                continue
            folder = os.path.dirname(path)
            loose[folder].update({p: _display(p, folder) for p in _play_files(folder, deep=False)})
            loose[folder][path] = _display(path, folder)
        for folder, files in sorted(loose.items()):
            sets.append(SpecSet(folder, files, self._settings(folder, configs)[0]))
        self.sets = [s for s in sets if s.files]

    def _settings(self, folder: str, configs: dict) -> tuple[Settings, str | None]:
        """The configuration that applies in ``folder`` (as ``plays check`` run there finds it), and its file.

        One that does not validate is recorded in ``config_errors`` and not applied.
        """
        try:
            path = find_config(folder)
        except OSError:
            path = None
        if path is None:
            return Settings(), None
        key = os.path.abspath(path)
        if key not in configs:
            try:
                configs[key] = (read_config(path), key)
            except ConfigError as e:
                self.config_errors[key] = [d for d in e.diagnostics if d.span is not None]
                configs[key] = (Settings(), key)
            except PlaysError:
                configs[key] = (Settings(), None)
        return configs[key]

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

            spec_set.result = compile_sources(sources, lower=False, settings=spec_set.settings, parse=parse)
            for path in spec_set.files:
                by_path.setdefault(path, [])
            for d in spec_set.result.diagnostics:
                if d.span is not None:
                    by_path.setdefault(self.path_of(spec_set, d.span.path), []).append(d)
        for path, diagnostics in self.config_errors.items():
            by_path.setdefault(path, []).extend(diagnostics)
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


def _spec_files(path: str) -> list[str]:
    """The ``.play`` files a configured path names: a folder's, or the file itself (none when missing)."""
    if os.path.isdir(path):
        return _play_files(path)
    return [os.path.abspath(path)] if os.path.isfile(path) else []


def _play_files(folder: str, deep: bool = True) -> list[str]:
    """The ``.play`` files under ``folder`` (hidden folders skipped), or in it when not ``deep``."""
    found = []
    for dirpath, dirs, names in os.walk(folder, onerror=lambda e: None):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if deep else []
        found += [os.path.join(dirpath, n) for n in sorted(names) if n.endswith(".play")]
    return [os.path.abspath(p) for p in found if os.path.isfile(p)]
