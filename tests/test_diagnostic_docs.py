"""The registry of codes (plays/codes.py), the docs and the source agree, in every direction."""

import re
from pathlib import Path

from plays.codes import CODES

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("plays", "dsl", "compiler", "runtime", "state", "spectest")
CODE = re.compile(r"""["']([CEWRT]\d{3})["']""")
HEADING = re.compile(r"^### ([CEWRT]\d{3}) — (.+)$", re.M)


def codes_in_source():
    """Codes the stages emit (the registry itself only describes them, so it does not count)."""
    found = {}
    for d in SOURCE_DIRS:
        for f in (ROOT / d).rglob("*.py"):
            if f.as_posix().endswith("plays/codes.py"):
                continue
            for code in CODE.findall(f.read_text("utf-8")):
                found.setdefault(code, f.relative_to(ROOT).as_posix())
    return found


def documented() -> dict[str, str]:
    """code -> the title of its ``### CODE — title`` section in docs/."""
    return {code: title for f in (ROOT / "docs").glob("*.md") for code, title in HEADING.findall(f.read_text("utf-8"))}


def test_every_code_used_in_the_source_is_registered():
    unregistered = {c: f for c, f in codes_in_source().items() if c not in CODES}
    assert not unregistered, f"codes used but not in plays/codes.py: {unregistered}"


def test_every_registered_code_is_used_somewhere():
    unused = set(CODES) - set(codes_in_source())
    assert not unused, f"registered but never emitted: {sorted(unused)}"


def test_every_registered_code_has_a_documented_section_with_its_title():
    docs = documented()
    missing = sorted(set(CODES) - set(docs))
    assert not missing, f"undocumented codes (add a '### CODE — title' section in docs/): {missing}"
    different = {c: (CODES[c].title, docs[c]) for c in CODES if docs[c] != CODES[c].title}
    assert not different, f"registry title != docs heading: {different}"


def test_every_documented_code_is_registered():
    stale = set(documented()) - set(CODES)
    assert not stale, f"documented but not registered: {sorted(stale)}"


def test_each_documented_code_has_an_example():
    for f in (ROOT / "docs").glob("*.md"):
        text = f.read_text("utf-8")
        for section in re.split(r"^### ", text, flags=re.M)[1:]:
            if re.match(r"[CEWRT]\d{3} ", section):
                assert "```" in section, f"{f.name}: section {section[:4]} has no example"


def test_severity_follows_the_letter():
    for c in CODES.values():
        expected = "warning" if c.code[0] == "W" or c.code == "R102" else "error"
        assert c.severity == expected, c


def test_sarif_rules_describe_every_registered_code():
    import json

    from plays.diagnostics import Diagnostic, Severity
    from plays.render import render_sarif

    diags = [Diagnostic(c.code, Severity(c.severity), "m", None) for c in CODES.values()]
    rules = json.loads(render_sarif(diags))["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(CODES)
    for r in rules:
        assert r["shortDescription"]["text"] == CODES[r["id"]].title.replace("`", "")
        assert r["fullDescription"]["text"] == CODES[r["id"]].help


def test_an_unregistered_code_fails_fast():
    import pytest

    from plays.diagnostics import error, warning

    with pytest.raises(KeyError, match="not registered"):
        error("E999", "m", None)
    with pytest.raises(ValueError, match="registered as error"):
        warning("E100", "m", None)
