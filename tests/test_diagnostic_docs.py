"""The registry of codes (plays/codes.py, plays/codes.toml), the docs and the source agree, in every direction."""

import re
import sys
from pathlib import Path

import pytest

from plays.codes import CODES, catalog, docs, documented

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


def sections() -> dict[str, str]:
    """code -> the title of its ``### CODE — title`` section in docs/."""
    return {code: title for f in (ROOT / "docs").glob("*.md") for code, title in HEADING.findall(f.read_text("utf-8"))}


def test_every_code_used_in_the_source_is_registered():
    unregistered = {c: f for c, f in codes_in_source().items() if c not in CODES}
    assert not unregistered, f"codes used but not in plays/codes.py: {unregistered}"


def test_every_registered_code_is_used_somewhere():
    unused = set(CODES) - set(codes_in_source())
    assert not unused, f"registered but never emitted: {sorted(unused)}"


def test_every_registered_code_has_a_documented_section_with_its_title():
    found = sections()
    missing = sorted(set(CODES) - set(found))
    assert not missing, f"undocumented codes (add a [codes.CODE] entry to plays/codes.toml): {missing}"
    different = {c: (CODES[c].title, found[c]) for c in CODES if found[c] != CODES[c].title}
    assert not different, f"registry title != docs heading: {different}"


def test_every_documented_code_is_registered():
    stale = set(sections()) - set(CODES)
    assert not stale, f"documented but not registered: {sorted(stale)}"


def test_each_documented_code_has_an_example():
    for f in (ROOT / "docs").glob("*.md"):
        text = f.read_text("utf-8")
        for section in re.split(r"^### ", text, flags=re.M)[1:]:
            if re.match(r"[CEWRT]\d{3} ", section):
                assert "```" in section, f"{f.name}: section {section[:4]} has no example"


def test_every_registered_code_has_an_entry_in_codes_toml_and_no_other_code_does():
    assert sorted(set(CODES) - set(documented())) == [], "add a [codes.CODE] entry to plays/codes.toml"
    assert sorted(set(documented()) - set(CODES)) == [], "codes.toml documents codes plays/codes.py lacks"


def test_every_code_is_in_exactly_one_group_of_the_docs():
    from plays.codes import groups

    placed = [c for _, _, members in groups() for c in members]
    assert sorted(placed) == sorted(CODES), "each code's prefix must match one [[groups]] entry of codes.toml"


def test_docs_diagnostics_md_is_generated_from_the_registry():
    """docs/diagnostics.md is written by tools/gen_diagnostics_md.py; edit plays/codes.toml, then run it."""
    from plays.codes import reference_markdown

    committed = (ROOT / "docs" / "diagnostics.md").read_text("utf-8")
    assert committed == reference_markdown(), "docs/diagnostics.md is out of date: python tools/gen_diagnostics_md.py"


def test_the_generator_script_finds_the_committed_file_up_to_date():
    import subprocess
    import sys

    script = ROOT / "tools" / "gen_diagnostics_md.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_explain_is_markdown_with_the_title_severity_and_example():
    from plays.codes import explain

    text = explain("E302")
    assert text.startswith("**E302 — enum value not in the enum** (error)\n\nAn enum compared with a value it does not list.")
    assert "```text\n" in text and "error[E302]" in text
    # links into docs/ lead nowhere outside the repository: written as file names
    assert "](" not in explain("E202") and "docs/language.md" in explain("E202")


def test_severity_follows_the_letter():
    for c in CODES.values():
        expected = "warning" if c.code[0] == "W" or c.code == "R102" else "error"
        assert c.severity == expected, c


def test_sarif_rules_describe_every_registered_code_with_its_help():
    import json

    import jsonschema

    from plays.diagnostics import Diagnostic, Severity
    from plays.render import render_sarif

    diags = [Diagnostic(c.code, Severity(c.severity), "m", None) for c in CODES.values()]
    log = json.loads(render_sarif(diags))
    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text("utf-8"))
    jsonschema.Draft7Validator(schema).validate(log)
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(CODES)
    for r in rules:
        code = CODES[r["id"]]
        assert r["shortDescription"]["text"] == code.title.replace("`", "")
        assert r["fullDescription"]["text"].startswith(code.help)
        assert docs(code.code).example.splitlines()[0] in r["help"]["text"]
        assert docs(code.code).diagnostic in r["help"]["markdown"] and docs(code.code).fixed in r["help"]["markdown"]
        assert "helpUri" not in r


def test_an_unregistered_code_fails_fast():
    import pytest

    from plays.diagnostics import error, warning

    with pytest.raises(KeyError, match="not registered"):
        error("E999", "m", None)
    with pytest.raises(ValueError, match="registered as error"):
        warning("E100", "m", None)


# --- the examples of plays/codes.toml give what they say -------------------------------------

sys.path.insert(0, str(ROOT / "tools"))
import code_examples  # noqa: E402  (tools/ is a dev folder, not installed)

RUNNABLE = [c for c in documented() if code_examples.runnable(c)]


def test_every_code_has_a_bad_example_its_diagnostic_and_a_fixed_example():
    for code in documented():
        d = docs(code)
        assert d.example and d.fixed and d.diagnostic, code
        assert d.example != d.fixed, code
        if code_examples.runnable(code):
            assert f"[{code}]" in d.diagnostic, code
    # the examples that cannot run on one machine are the evaluation ones, and only they
    assert sorted(set(documented()) - set(RUNNABLE)) == ["R200", "R201", "R202"]


@pytest.mark.parametrize("code", RUNNABLE)
def test_the_bad_example_gives_its_code_and_the_documented_diagnostic(code):
    d = docs(code)
    diags, shown = code_examples.run(code, d.example)
    assert code in {x.code for x in diags}, shown
    assert {x.code for x in diags} == {code, *d.also}, (
        f"the example of {code} should show that code alone (or list the others in `also`):\n{shown}")
    assert shown.rstrip("\n") == d.diagnostic, (
        f"codes.toml shows another diagnostic for {code}; check the new one, then run "
        f"python tools/gen_diagnostics_md.py --update-diagnostics\n{shown}"
    )


@pytest.mark.parametrize("code", RUNNABLE)
def test_the_fixed_example_gives_no_diagnostic(code):
    diags, shown = code_examples.run(code, docs(code).fixed)
    assert not diags, shown


def test_the_examples_catalog_is_the_one_of_specs():
    shipped = (ROOT / "specs" / "catalog.play").read_text("utf-8")
    uncommented = [line.split("#")[0].rstrip() for line in shipped.splitlines() if not line.startswith("#")]
    assert catalog() == "\n".join(uncommented).strip("\n") + "\n"


def test_r200_the_evaluation_example_runs_as_shown(run_cli, tmp_path):
    """R200's transcript, step by step: a manual deploy whose template then leaves the spec set."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "catalog.play").write_text(catalog(), "utf-8")
    (tmp_path / "specs" / "save_plan.play").write_text(
        'goal save_plan {\n  duration: 45d\n  deploy: manual\n  playbook { task call "Call" { due: 3d } }\n}\n', "utf-8")
    (tmp_path / "export.csv").write_text("account,date,segment,mau\nacme,2026-01-02,enterprise,120\n", "utf-8")
    run = ("run", "specs/", "--snapshots", "export.csv", "--state", "plays.db")
    assert run_cli(*run)[0] == 0
    assert run_cli("goal", "deploy", "save_plan", "--account", "acme", "--on", "2026-01-02", "--state", "plays.db")[0] == 0
    saved = (tmp_path / "specs" / "save_plan.play").read_text("utf-8")
    (tmp_path / "specs" / "save_plan.play").unlink()
    code, _, err = run_cli(*run)
    assert code == 1 and err.strip().endswith(docs("R200").diagnostic)
    (tmp_path / "specs" / "save_plan.play").write_text(saved, "utf-8")  # the fix
    assert run_cli(*run)[0] == 0


def test_codes_toml_entries_have_only_known_keys():
    import tomllib

    data = tomllib.loads((ROOT / "plays" / "codes.toml").read_text("utf-8"))
    assert set(data) == {"intro", "catalog", "groups", "codes"}
    known = {"details", "example", "diagnostic", "fixed", "file", "standalone", "encoding", "also"}
    odd = {code: sorted(set(entry) - known) for code, entry in data["codes"].items() if set(entry) - known}
    assert not odd, f"keys codes.toml does not know (a typo?): {odd}"


SPEC_EXAMPLES = [(c, key) for c in documented() if docs(c).lang == "play" for key in ("example", "fixed")]


@pytest.mark.parametrize("code,key", SPEC_EXAMPLES)
def test_spec_examples_that_parse_are_in_the_canonical_layout(code, key):
    """What the docs show is what `plays fmt` writes (a bad example that does not parse is shown as it is)."""
    from plays.dsl.fmt import format_source
    from plays.dsl.parser import parse_module

    text = getattr(docs(code), key) + "\n"
    _, diags = parse_module(text, "example.play")
    if any(d.is_error for d in diags):
        assert key == "example", f"the fixed example of {code} does not parse"
        return
    assert format_source(text, "example.play") == text, (
        f"{code}'s {key} is not laid out as plays fmt does: python tools/gen_diagnostics_md.py --format-examples")


def test_the_generator_rewrites_one_key_of_one_code_only():
    import gen_diagnostics_md

    text = ("[codes.E100]\nexample = '''\na\n'''\ndiagnostic = '''\n'''\nfixed = '''\nb\n'''\n\n"
            "[codes.E101]\nexample = '''\nc\n'''\ndiagnostic = '''\nold\n'''\n")
    out = gen_diagnostics_md._replace(text, "E100", "diagnostic", "x.play:1:1: error[E100]: m\n")
    assert out == text.replace("diagnostic = '''\n'''", "diagnostic = '''\nx.play:1:1: error[E100]: m\n'''", 1)
    out = gen_diagnostics_md._replace(out, "E101", "diagnostic", "new")
    assert out.endswith("[codes.E101]\nexample = '''\nc\n'''\ndiagnostic = '''\nnew\n'''\n")
