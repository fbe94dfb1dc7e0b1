"""Shared fixtures: the LANGUAGE.md examples and a CLI runner."""

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


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
