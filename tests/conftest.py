"""Shared fixtures: the LANGUAGE.md examples and a CLI runner."""

import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"

# The synthetic data generator is a dev tool in bench/, not part of the installed product.
BENCH = Path(__file__).resolve().parent.parent / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))


@pytest.fixture
def examples_text() -> str:
    return (DATA / "language_examples.play").read_text("utf-8")


@pytest.fixture
def run_cli(monkeypatch, tmp_path):
    """Run `plays ARGS` in tmp_path through the real entry point; returns (exit code, stdout, stderr)."""
    from plays.cli import main

    monkeypatch.chdir(tmp_path)

    def run(*args, tty=False):
        """``tty=True`` makes stdout claim to be a terminal (to see colours)."""
        import sys
        from io import StringIO

        class Terminal(StringIO):
            def isatty(self):
                return True

        out, err = (Terminal() if tty else StringIO()), StringIO()
        old = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        try:
            try:
                main(list(args))
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        finally:
            sys.stdout, sys.stderr = old
        return code, out.getvalue(), err.getvalue()

    return run
