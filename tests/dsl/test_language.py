"""The language table (dsl/language.py) is the one list: the grammar, the schema and the docs agree with it."""

import json
import re
from pathlib import Path

import pytest

from plays.dsl import language

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_plan_schema_names_exactly_the_functions():
    schema = json.loads((ROOT / "schemas" / "plan.schema.json").read_text("utf-8"))
    assert schema["$defs"]["expr_call"]["properties"]["func"]["enum"] == list(language.FUNCTIONS)


@pytest.mark.parametrize("doc", ["docs/language.md", "docs/plan.md"])
def test_the_docs_name_every_function(doc):
    text = (ROOT / doc).read_text("utf-8")
    missing = [f for f in language.FUNCTIONS if f"`{f}" not in text and f"{f}/" not in text and f"/{f}" not in text]
    assert missing == []


def test_the_grammar_accepts_exactly_the_block_and_task_keys():
    grammar = (ROOT / "dsl" / "grammar.lark").read_text("utf-8")
    keys = set(re.findall(r'"(\w+)" ":" [^\n]*-> prop_\w+', grammar))
    assert keys == set(language.BLOCK_KEYS) | set(language.TASK_KEYS)
    assert len(language.BLOCK_KEYS) == 13  # docs/language.md: "each of the 13 block keys"


def test_docs_language_lists_the_block_keys():
    text = (ROOT / "docs" / "language.md").read_text("utf-8").replace("\n  ", " ")
    listed = re.search(r"13 block keys \(`([a-z ]+)`\)", text).group(1).split()
    assert sorted(listed) == sorted(language.BLOCK_KEYS)
    tasks = re.search(r"six keys \(`([a-z ]+)`\)", text).group(1).split()
    assert tasks == list(language.TASK_KEYS)


@pytest.mark.parametrize("text, days", [("7d", 7), ("2w", 14), ("0d", 0), ("36500d", 36500)])
def test_durations(text, days):
    assert language.parse_duration(text) == days


@pytest.mark.parametrize("text", ["7", "d", "7h", "-7d", "७d", "1.5d", ""])
def test_not_durations(text):
    with pytest.raises(ValueError):
        language.parse_duration(text)


def test_bounds_are_the_documented_ones():
    text = (ROOT / "docs" / "language.md").read_text("utf-8")
    assert f"{language.MAX_DEPTH} levels" in text and "36,500 days" in text and "15 digits" in text
    assert f"from {language.MIN_DATE} to {language.MAX_DATE}" in text
