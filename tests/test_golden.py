"""Golden cases: tests/golden/<case>/input.play with expected.txt or expected.plan.json.

`expected.txt` holds the rendered text diagnostics; `expected.plan.json` the
plan. Rewrite them after an intended change with

    PLAYS_UPDATE_GOLDENS=1 python -m pytest tests/test_golden.py

and review the diff like code.
"""

import json
import os
from pathlib import Path

import jsonschema
import pytest

from plays.compiler.driver import compile_sources
from plays.sources import Source
from plays.compiler.plan import Plan, dumps
from plays.render import render_text

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = json.loads((Path(__file__).parent.parent / "schemas" / "plan.schema.json").read_text())
UPDATE = os.environ.get("PLAYS_UPDATE_GOLDENS") == "1"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "input.play").exists())


def compile_case(case: str):
    text = (GOLDEN / case / "input.play").read_text("utf-8")
    return compile_sources([Source(f"{case}/input.play", text)])


def check_or_update(path: Path, actual: str) -> None:
    if UPDATE:
        path.write_text(actual, "utf-8")
    assert path.exists(), f"{path} is missing: run with PLAYS_UPDATE_GOLDENS=1 and review it"
    assert actual == path.read_text("utf-8")


@pytest.mark.parametrize("case", CASES)
def test_golden(case):
    result = compile_case(case)
    d = GOLDEN / case
    if (d / "expected.plan.json").exists() or (UPDATE and result.ok and not (d / "expected.txt").exists()):
        assert result.ok, render_text(result.diagnostics, result.sources)
        data = result.plan.to_json()
        jsonschema.Draft202012Validator(SCHEMA).validate(data)  # an independent validator instance
        text = dumps(result.plan)
        assert json.loads(text) == data  # survives a JSON round trip
        assert Plan.from_json(json.loads(text)) == result.plan  # and reads back as the same typed plan
        check_or_update(d / "expected.plan.json", text)
    else:
        check_or_update(d / "expected.txt", render_text(result.diagnostics, result.sources))
