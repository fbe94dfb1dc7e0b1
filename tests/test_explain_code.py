"""`plays explain-code`: a code's documentation from the installed registry; unknown codes are one line, exit 2."""

from plays.codes import CODES, docs, explain


def test_a_code_prints_its_title_severity_explanation_examples_and_fix(run_cli):
    code, out, err = run_cli("explain-code", "E302")
    assert (code, err) == (0, "")
    assert out.startswith("E302 — enum value not in the enum (error)\n\nAn enum compared with a value it does not list.\n")
    d = docs("E302")
    bad, fixed = out.split("\nFixed:\n")
    assert "    where: tier == premum" in bad and "    where: tier == premium" in fixed
    assert "\n".join("    " + line for line in d.diagnostic.splitlines()) in bad  # the diagnostic, indented


def test_case_and_spaces_do_not_matter(run_cli):
    assert run_cli("explain-code", " w300 ")[1] == run_cli("explain-code", "W300")[1]


def test_markdown_is_the_registrys(run_cli):
    code, out, _ = run_cli("explain-code", "R103", "--format", "markdown")
    assert code == 0 and out == explain("R103")
    assert "```csv\naccount,date,segment,mau\nacme,2026-01-02,enterprise,many\n" in out


def test_list_has_every_code_once_with_its_severity_and_title(run_cli):
    code, out, _ = run_cli("explain-code", "--list")
    lines = out.splitlines()
    assert code == 0 and len(lines) == len(CODES)
    assert "R102  warning  unknown column (warning)" in lines
    assert lines[0] == "E100  error    syntax error"


def test_a_letter_o_or_l_typed_for_a_digit_is_still_recognised(run_cli):
    assert run_cli("explain-code", "W3OO") == (2, "", "plays: error: `W3OO` is not a diagnostic code of plays; "
                                                      "did you mean W300?\n")
    assert "did you mean W100?" in run_cli("explain-code", "wl00")[2]
    assert "`plays explain RULE` explains a rule" in run_cli("explain-code", "will")[2]


def test_list_in_markdown_is_a_table(run_cli):
    # was: the text list, --format markdown silently ignored
    code, out, _ = run_cli("explain-code", "--list", "--format", "markdown")
    lines = out.splitlines()
    assert code == 0 and lines[:3] == ["| code | severity | title |", "|---|---|---|", "| E100 | error | syntax error |"]
    assert len(lines) == len(CODES) + 2 and "| R102 | warning | unknown column (warning) |" in lines


def test_an_unknown_code_is_one_line_with_the_closest_code(run_cli):
    code, out, err = run_cli("explain-code", "E3022")
    assert (code, out) == (2, "")
    assert err == "plays: error: `E3022` is not a diagnostic code of plays; did you mean E302?\n"
    code, _, err = run_cli("explain-code", "X999")
    assert code == 2 and err == "plays: error: `X999` is not a diagnostic code of plays; `plays explain-code --list` lists them\n"


def test_a_rule_name_points_at_plays_explain(run_cli):
    code, _, err = run_cli("explain-code", "usage_drop")
    assert code == 2 and len(err.splitlines()) == 1 and "`plays explain RULE` explains a rule" in err


def test_a_control_character_in_the_argument_cannot_forge_output(run_cli):
    code, _, err = run_cli("explain-code", "E3\x1b[2J\nforged")
    assert code == 2 and len(err.splitlines()) == 1 and "\\x1b" in err


def test_no_code_or_both_code_and_list_is_a_usage_error(run_cli):
    assert run_cli("explain-code")[0] == 2
    code, _, err = run_cli("explain-code", "--list", "E100")
    assert code == 2 and err == "plays: error: give a CODE or --list, not both\n"


def test_the_example_in_cli_md_is_what_the_command_prints(run_cli):
    from pathlib import Path

    cli_md = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text("utf-8")
    section = cli_md.split("## `plays explain-code CODE`", 1)[1].split("\n## ", 1)[0]
    shown = section.split("```text\n", 1)[1].split("```", 1)[0]
    head = shown.split("  …\n", 1)[0]  # the docs cut the output short
    assert run_cli("explain-code", "E302")[1].startswith(head) and len(head) > 200
