"""Every diagnostic code the product can emit is documented, and vice versa."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("plays", "dsl", "compiler", "runtime", "state", "spectest")
CODE = re.compile(r"""["']([EWRT]\d{3})["']""")
HEADING = re.compile(r"^### ([EWRT]\d{3}) ", re.M)


def codes_in_source():
    """Codes the stages emit (plays/render.py's RULES only describes them, so it does not count)."""
    found = {}
    for d in SOURCE_DIRS:
        for f in (ROOT / d).rglob("*.py"):
            if f.name == "render.py":
                continue
            for code in CODE.findall(f.read_text("utf-8")):
                found.setdefault(code, f.relative_to(ROOT).as_posix())
    return found


def documented():
    return {code for f in (ROOT / "docs").glob("*.md") for code in HEADING.findall(f.read_text("utf-8"))}


def test_every_emitted_code_has_a_documented_paragraph():
    missing = {c: f for c, f in codes_in_source().items() if c not in documented()}
    assert not missing, f"undocumented codes (add a '### CODE — title' section in docs/): {missing}"


def test_every_documented_code_exists_in_the_source():
    stale = documented() - set(codes_in_source())
    assert not stale, f"documented but never emitted: {sorted(stale)}"


def test_each_documented_code_has_an_example():
    for f in (ROOT / "docs").glob("*.md"):
        text = f.read_text("utf-8")
        for section in re.split(r"^### ", text, flags=re.M)[1:]:
            if re.match(r"[EWRT]\d{3} ", section):
                assert "```" in section, f"{f.name}: section {section[:4]} has no example"


def test_sarif_rule_descriptions_cover_every_compiler_code():
    from plays.render import RULES

    compiler_codes = {c for c in codes_in_source() if c[0] in "EW"}
    assert set(RULES) == compiler_codes
