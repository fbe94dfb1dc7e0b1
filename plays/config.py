"""Configuration: ``[tool.plays]`` in a ``pyproject.toml``, or a ``plays.toml``, found upward from a folder.

The search starts in the current folder and goes up; in each folder a
``plays.toml`` comes before a ``pyproject.toml`` (which counts only when it
has a ``[tool.plays]`` table); the first found is the configuration (files
are not merged), and the search stops at the root of the repository (a folder
holding ``.git`` or ``.hg``), so that a spec repository never picks up a file
from outside it. ``load(config=FILE)`` reads one named file; ``isolated=True``
reads none. Paths in the file are relative to its folder. docs/cli.md
("Configuration") documents every key.

Every key is validated: an unknown key, a value of the wrong type or one not
allowed is a diagnostic (C100-C103, docs/diagnostics.md) positioned at the
key or value in the file, with a "did you mean" suggestion; ``ConfigError``
(exit 2) carries them all.

>>> s = parse_config('paths = ["specs/"]\\nstrict = true\\n[severity]\\nW402 = "off"\\n', "plays.toml")
>>> s.paths, s.strict, dict(s.severity)
(('specs/',), True, {'W402': 'off'})
>>> parse_config('stict = true', "plays.toml")
Traceback (most recent call last):
...
plays.config.ConfigError: plays.toml:1:1: unknown key `stict`
"""

from __future__ import annotations

import os
import re
import tomllib
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from plays.codes import CODES
from plays.diagnostics import Diagnostic, Span, error, suggest, suggest_code
from plays.errors import InputError, UsageError

CONFIG_FILE = "plays.toml"
PYPROJECT = "pyproject.toml"
SEVERITIES = ("error", "warning", "off")
KEYS = ("paths", "test-paths", "strict", "fail-under", "severity")
# Suppression codes are configurable too (e.g. `W900 = "off"`); they are warnings of the spec checker.
_REPO_MARKERS = (".git", ".hg")


class ConfigError(InputError):
    """A configuration file that cannot be read or does not validate: exit 2 with its diagnostics.

    ``sources`` maps the file (as shown) to its text, so that the diagnostics can show their line.
    """

    default_message = "bad configuration"

    def __init__(self, diagnostics, sources: dict[str, str] | None = None):
        super().__init__(diagnostics)
        self.sources = sources or {}


@dataclass(frozen=True)
class Settings:
    """What a configuration says; ``None`` where it says nothing (the command's own default applies).

    ``today`` is the date expiring suppressions are compared with: ``None`` is
    the run's local date (``date.today()``); tests inject one.
    """

    file: str | None = None  # the configuration file as shown in messages; None: no configuration
    root: str | None = None  # its folder (absolute): paths in it are relative to this
    paths: tuple[str, ...] | None = None
    test_paths: tuple[str, ...] | None = None
    strict: bool | None = None
    fail_under: float | None = None
    severity: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    today: date | None = None

    def spec_paths(self) -> list[str]:
        """``paths`` as the current folder reaches them (``[]`` when the configuration gives none)."""
        return [self._here(p) for p in self.paths or ()]

    def test_files_paths(self) -> list[str]:
        """``test-paths`` (or else ``paths``) as the current folder reaches them; ``[]`` when neither is given."""
        return [self._here(p) for p in (self.test_paths if self.test_paths is not None else self.paths or ())]

    def _here(self, p: str) -> str:
        if os.path.isabs(p):
            return p
        full = os.path.join(self.root or os.getcwd(), p)
        try:
            return os.path.relpath(full)
        except ValueError:  # on another drive (Windows)
            return full

    def run_date(self) -> date:
        return self.today or date.today()


NO_SETTINGS = Settings()


# --- finding and loading --------------------------------------------------------------


def find_config(start: str | os.PathLike | None = None) -> Path | None:
    """The configuration file that applies in ``start`` (default: the current folder), or ``None``."""
    folder = Path(os.path.abspath(start or os.getcwd()))
    for d in (folder, *folder.parents):
        own = d / CONFIG_FILE
        if own.is_file():
            return own
        pyproject = d / PYPROJECT
        if pyproject.is_file() and _has_plays_table(pyproject):
            return pyproject
        if any((d / m).exists() for m in _REPO_MARKERS):
            return None
    return None


_MENTIONS_PLAYS = re.compile(r"""tool\s*\.\s*["']?plays\b|^\s*plays\s*[.=]""", re.M)


def _has_plays_table(path: Path) -> bool:
    """Whether a pyproject.toml configures plays; one that does not parse counts only if it mentions plays."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return bool(_MENTIONS_PLAYS.search(text))
    tool = data.get("tool")
    return isinstance(tool, dict) and "plays" in tool


def load(start: str | os.PathLike | None = None, *, config: str | os.PathLike | None = None,
         isolated: bool = False, today: date | None = None) -> Settings:
    """The settings that apply: from ``config`` when given, else the file found upward from ``start``.

    ``isolated`` reads no file. ``UsageError`` for a named file that does not
    exist; ``ConfigError`` for one that does not validate.
    """
    if config is not None and isolated:
        raise UsageError("give --config or --isolated, not both")
    if isolated:
        return Settings(today=today)
    if config is not None:
        path = Path(config)
        if not path.is_file():
            raise UsageError(f"{config}: no such configuration file" if not path.exists()
                             else f"{config}: not a file")
    else:
        path = find_config(start)
        if path is None:
            return Settings(today=today)
    return read_config(path, today=today, named=config is not None)


def read_config(path: str | os.PathLike, *, today: date | None = None, named: bool = False) -> Settings:
    """Read and validate one configuration file (``plays.toml`` keys at the top level, pyproject's under [tool.plays])."""
    from plays.sources import display_path

    path = Path(path)
    shown = display_path(path)
    if os.path.isabs(shown):  # above the current folder: ../pyproject.toml reads better
        try:
            shown = Path(os.path.relpath(path)).as_posix()
        except ValueError:
            pass
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise ConfigError([error("C100", f"cannot read the configuration: {e.strerror or e}",
                                 Span(shown, 1, 1, 1, 1))]) from None
    except UnicodeDecodeError as e:
        raise ConfigError([error("C100", f"the configuration is not UTF-8 text (byte {e.start + 1})",
                                 Span(shown, 1, 1, 1, 1))]) from None
    in_pyproject = path.name == PYPROJECT
    settings = parse_config(text.removeprefix("\ufeff"), shown, pyproject=in_pyproject, today=today,
                            require_table=named)
    return _with_root(settings, str(path.resolve().parent))


def _with_root(s: Settings, root: str) -> Settings:
    from dataclasses import replace

    return replace(s, root=root)


def parse_config(text: str, shown: str, *, pyproject: bool = False, today: date | None = None,
                 require_table: bool = False) -> Settings:
    """Validate a configuration's text (``shown`` names it in messages); ``ConfigError`` with every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([_toml_error(e, text, shown)], {shown: text}) from None
    locate = _Locator(text, shown)
    prefix: tuple = ()
    table = data
    if pyproject:
        prefix = ("tool", "plays")
        tool = data.get("tool")
        table = tool.get("plays") if isinstance(tool, dict) else None
        if table is None:
            if require_table:
                raise UsageError(f"{shown}: no [tool.plays] table (the configuration of plays goes there)")
            return Settings(file=shown, today=today)
        if not isinstance(table, dict):
            raise ConfigError([error("C102", f"`tool.plays` must be a table ([tool.plays]), not {_kind(table)}",
                                     locate.value(prefix))], {shown: text})
    where = "[tool.plays]" if pyproject else None
    diags: list[Diagnostic] = []
    values: dict = {}
    for key, value in table.items():
        path = (*prefix, key)
        if key not in KEYS:
            diags.append(_unknown_key(key, locate.key(path), where, pyproject))
            continue
        checked = _CHECKS[key](key, value, path, locate, diags)
        if checked is not None:
            values[key.replace("-", "_")] = checked
    if diags:
        raise ConfigError(sorted(diags, key=Diagnostic.sort_key), {shown: text})
    return Settings(file=shown, today=today, **values)


def _unknown_key(key: str, span: Span, where: str | None, pyproject: bool) -> Diagnostic:
    near = suggest(key, KEYS) or suggest(key.replace("_", "-"), KEYS)
    notes = ()
    if key == "tool" and not pyproject:
        notes = ("in plays.toml the keys are at the top level, without a [tool.plays] table",)
    elif near is None:
        notes = (f"the keys are: {', '.join(KEYS)}",)
    from plays.diagnostics import Note

    return error("C101", f"unknown key `{key}`" + (f" in {where}" if where else ""), span,
                 notes=tuple(Note(n) for n in notes), suggestion=near)


def _toml_error(e: tomllib.TOMLDecodeError, text: str, shown: str) -> Diagnostic:
    message = str(e)
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    lines = text.split("\n")
    if m:
        line, col = int(m.group(1)), int(m.group(2))
        message = message[: m.start()]
    else:
        message = re.sub(r"\s*\(at end of document\)$", "", message)
        line, col = len(lines), len(lines[-1]) + 1
    while 1 < line <= len(lines) and col == 1 and not lines[line - 1].strip():  # a blank line: the end of the one above
        line -= 1
        col = len(lines[line - 1]) + 1
    return error("C100", f"not valid TOML: {message[:1].lower()}{message[1:]}", Span(shown, line, col, line, col + 1))


# --- the keys ----------------------------------------------------------------------------


def _kind(value) -> str:
    """A TOML value's kind, in TOML's words."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"


def _paths(key, value, path, locate, diags):
    example = f'{key} = ["specs/"]'
    if not isinstance(value, list):
        hint = f'{key} = ["{value}"]' if isinstance(value, str) else None
        diags.append(error("C102", f"`{key}` takes an array of paths like {example}, not {_kind(value)}",
                           locate.value(path), suggestion=hint))
        return None
    if not value:  # else `plays check` alone says to set `paths`, which the user did
        diags.append(error("C103", f"`{key}` is empty; list the spec paths, like {example}", locate.value(path)))
        return None
    ok = True
    for i, item in enumerate(value):
        if not isinstance(item, str):
            diags.append(error("C102", f"`{key}` holds paths (strings), not {_kind(item)}", locate.value((*path, i))))
            ok = False
        elif not item.strip():
            diags.append(error("C103", f"`{key}` holds an empty path", locate.value((*path, i))))
            ok = False
    return tuple(value) if ok else None


def _strict(key, value, path, locate, diags):
    if not isinstance(value, bool):
        hint = {"true": "true", "false": "false"}.get(str(value).strip().lower()) if isinstance(value, str) else None
        diags.append(error("C102", f"`{key}` takes true or false, not {_kind(value)}", locate.value(path),
                           suggestion=hint and f"{key} = {hint}"))
        return None
    return value


def _fail_under(key, value, path, locate, diags):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        diags.append(error("C102", f"`{key}` takes a number from 0 to 100 (a percentage of coverage), "
                                   f"not {_kind(value)}", locate.value(path)))
        return None
    if not 0 <= value <= 100:
        diags.append(error("C103", f"`{key}` is {value:g}; coverage is a percentage from 0 to 100",
                           locate.value(path)))
        return None
    return float(value)


def configurable(code: str) -> str | None:
    """Why ``code``'s severity cannot be configured, or ``None`` when it can (a warning of the spec checker)."""
    c = CODES.get(code)
    if c is None:
        return "unknown"
    if c.code[0] == "W":
        return None
    if c.severity == "error" and c.code[0] == "E":
        return (f"{code} is an error: an error makes the spec set uncompilable, so it cannot be turned "
                "into a warning or off")
    return (f"{code} is not reported by the spec checker (only its warnings, W…, can be configured)")


def _severity(key, value, path, locate, diags):
    if not isinstance(value, dict):
        diags.append(error("C102", f'`{key}` takes a table of codes like {key} = {{ W402 = "off" }}, '
                                   f"not {_kind(value)}", locate.value(path)))
        return None
    table: dict[str, str] = {}
    for code, level in value.items():
        where = (*path, code)
        why = configurable(code)
        if why == "unknown":
            near = suggest_code(code, [c for c in CODES if configurable(c) is None])
            diags.append(error("C103", f"`{code}` is not a diagnostic code", locate.key(where), suggestion=near))
            continue
        if why is not None:
            diags.append(error("C103", why, locate.key(where)))
            continue
        if not isinstance(level, str):
            diags.append(error("C102", f'the severity of {code} is one of "error", "warning", "off", '
                                       f"not {_kind(level)}", locate.value(where)))
            continue
        if level not in SEVERITIES:
            near = suggest(level.lower(), SEVERITIES) or ("off" if level.lower() in ("ignore", "none", "disable", "disabled") else None)
            diags.append(error("C103", f"`{level}` is not a severity; use error, warning or off", locate.value(where),
                               suggestion=near))
            continue
        table[code] = level
    return MappingProxyType(dict(sorted(table.items())))


_CHECKS = {"paths": _paths, "test-paths": _paths, "strict": _strict, "fail-under": _fail_under,
           "severity": _severity}


# --- where a key is in the text ------------------------------------------------------------


class _Locator:
    """Spans of keys and values in a TOML text, by their key path (tomllib keeps no positions).

    The text has been parsed by tomllib already, so it is valid TOML: this
    scanner only follows its structure (tables, dotted keys, inline tables,
    arrays, the four kinds of strings, comments) to note where each key and
    value starts. A path it does not find falls back to line 1.
    """

    def __init__(self, text: str, shown: str):
        self.text = text
        self.shown = shown
        self.keys: dict[tuple, tuple[int, int]] = {}
        self.values: dict[tuple, tuple[int, int]] = {}
        self._newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        try:
            self._document()
        except Exception:  # noqa: BLE001 - positions only: what was found so far is kept, the rest is line 1
            pass

    def key(self, path: tuple) -> Span:
        return self._span(self.keys.get(path) or self.values.get(path))

    def value(self, path: tuple) -> Span:
        return self._span(self.values.get(path) or self.keys.get(path))

    def _span(self, where: tuple[int, int] | None) -> Span:
        if where is None:
            return Span(self.shown, 1, 1, 1, 1)
        start, end = where
        line = bisect_right(self._newlines, start - 1) + 1
        line_start = self._newlines[line - 2] + 1 if line > 1 else 0
        line_end = self._newlines[line - 1] if line - 1 < len(self._newlines) else len(self.text)
        end = max(min(end, line_end), start + 1)
        return Span(self.shown, line, start - line_start + 1, line, end - line_start + 1)

    # -- the scanner --
    def _skip(self, i: int, newlines: bool) -> int:
        t = self.text
        while i < len(t):
            ch = t[i]
            if ch in " \t" or (newlines and ch in "\r\n"):
                i += 1
            elif ch == "#" and newlines:
                while i < len(t) and t[i] != "\n":
                    i += 1
            else:
                break
        return i

    def _document(self) -> None:
        t, i, table = self.text, 0, ()
        while True:
            i = self._skip(i, True)
            if i >= len(t):
                return
            if t[i] == "[":
                double = t.startswith("[[", i)
                i = self._skip(i + (2 if double else 1), False)
                parts, i = self._key(i, ())
                table = tuple(parts)
                i = self._skip(i, False) + (2 if double else 1)
                while i < len(t) and t[i] != "\n":  # a comment after the header
                    i += 1
                continue
            parts, i = self._key(i, table)
            i = self._skip(i, False) + 1  # '='
            i = self._value(self._skip(i, False), (*table, *parts))

    def _key(self, i: int, base: tuple) -> tuple[list, int]:
        t, parts = self.text, []
        while True:
            i = self._skip(i, False)
            start = i
            if t[i] in "\"'":
                end = self._string_end(i)
                raw = t[i:end]
                name = tomllib.loads(f"k = {raw}")["k"]
                i = end
            else:
                m = re.compile(r"[A-Za-z0-9_-]+").match(t, i)
                name, i = m.group(), m.end()
            parts.append(name)
            self.keys.setdefault((*base, *parts), (start, i))
            j = self._skip(i, False)
            if j < len(t) and t[j] == ".":
                i = j + 1
                continue
            return parts, i

    def _string_end(self, i: int) -> int:
        t = self.text
        for quote in ('"""', "'''"):
            if t.startswith(quote, i):
                j = i + 3
                while True:
                    if quote == '"""' and t[j] == "\\":
                        j += 2
                    elif t.startswith(quote, j):
                        j += 3
                        while j < len(t) and t[j] == quote[0]:  # up to two quotes of the content end it
                            j += 1
                        return j
                    else:
                        j += 1
        q, j = t[i], i + 1
        while t[j] != q:
            j += 2 if (q == '"' and t[j] == "\\") else 1
        return j + 1

    def _value(self, i: int, path: tuple) -> int:
        t = self.text
        start = i
        if t[i] in "\"'":
            i = self._string_end(i)
        elif t[i] == "[":
            i, index = i + 1, 0
            while True:
                i = self._skip(i, True)
                if t[i] == "]":
                    i += 1
                    break
                i = self._value(i, (*path, index))
                index += 1
                i = self._skip(i, True)
                if t[i] == ",":
                    i += 1
        elif t[i] == "{":
            i += 1
            while True:
                i = self._skip(i, True)
                if t[i] == "}":
                    i += 1
                    break
                parts, i = self._key(i, path)
                i = self._skip(i, False) + 1
                i = self._value(self._skip(i, False), (*path, *parts))
                i = self._skip(i, True)
                if t[i] == ",":
                    i += 1
        else:
            m = re.compile(r"[^,\]}\n#]*").match(t, i)
            i = start + len(m.group().rstrip())
        self.values.setdefault(path, (start, i))
        return i
