"""Run the examples of plays/codes.toml the way `plays` would, and say what each gives.

- E/W codes: the example is a .play file, checked with the examples' catalog
  (as `plays check catalog.play example.play`), unless the entry says
  ``standalone = true`` (then it is the whole spec set).
- R1xx: the example is a snapshot file, validated against that catalog (as
  `plays run --snapshots export.csv`); a ``.parquet`` example is the DuckDB SQL
  that writes the file; ``encoding`` saves a text example in another encoding.
- T1xx: the example is a spec test file next to the catalog (as `plays test`).
- C1xx: the example is a configuration file (`plays.toml`, or the entry's
  `pyproject.toml`), validated as `plays check` reads it.
- R2xx: evaluation problems of a whole run; their examples are command lines,
  shown but not run here (``runnable`` is false).

Used by tests/test_diagnostic_docs.py and by ``gen_diagnostics_md.py --update-diagnostics``.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from plays.codes import catalog, docs
from plays.diagnostics import Diagnostic
from plays.render import render_text
from plays.sources import Source


def runnable(code: str) -> bool:
    return not code.startswith("R2")


def run(code: str, text: str) -> tuple[list[Diagnostic], str]:
    """The diagnostics that ``text``, as ``code``'s example file, gives, and how `plays` prints them."""
    d = docs(code)
    if code.startswith("R1"):
        return _snapshots(d, text)
    if code.startswith("T"):
        return _test_file(d, text)
    if code.startswith("C"):
        return _config(d, text)
    return _spec(d, text)


def _config(d, text: str):
    from plays.config import ConfigError, parse_config

    try:
        parse_config(text + "\n", d.file, pyproject=d.file == "pyproject.toml")
    except ConfigError as e:
        return list(e.diagnostics), render_text(list(e.diagnostics), e.sources, with_summary=False)
    return [], ""


def _spec(d, text: str):
    from plays.compiler.driver import compile_sources

    sources = [Source(d.file, text)]
    if not d.standalone:
        sources.append(Source("catalog.play", catalog()))
    result = compile_sources(sources, lower=False)
    return result.diagnostics, render_text(result.diagnostics, result.sources, with_summary=False)


def _plan():
    from plays.compiler.driver import compile_sources

    result = compile_sources([Source("catalog.play", catalog())])
    assert result.ok, result.diagnostics
    return result.plan


def _snapshots(d, text: str):
    import duckdb

    from plays.runtime.snapshots import SnapshotError, load_snapshots

    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        if d.file.endswith(".parquet"):
            duckdb.connect().execute(text)
        else:
            Path(d.file).write_bytes(text.encode(d.encoding))
        try:
            diags = list(load_snapshots([d.file], _plan()).warnings)
        except SnapshotError as e:
            diags = list(e.diagnostics)
    return diags, render_text(diags, {}, with_summary=False)


def _test_file(d, text: str):
    from plays.spectest.runner import run_files

    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        Path("catalog.play").write_text(catalog(), "utf-8")
        Path(d.file).write_text(text + "\n", "utf-8")
        results = run_files([Path(d.file)])
    diags = [x for p in results.problems for x in p.diagnostics]
    failed = [o for o in results.outcomes if not o.passed]
    assert not failed or diags, f"{d.code}: tests fail without a problem in the file: {failed}"
    return diags, render_text(diags, {}, with_summary=False)

