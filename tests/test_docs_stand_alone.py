"""The repository's own docs stand alone: no link to a missing file, no absolute path of one machine."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "bench" / "README.md",
               *(ROOT / "docs").glob("*.md")])


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_point_at_files_of_the_repository(doc):
    text = doc.read_text("utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if not re.match(r"[a-z]+:", target):
            assert (doc.parent / target).exists(), f"{doc.name} links to {target}, which is not in the repository"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_absolute_path_of_one_machine(doc):
    text = doc.read_text("utf-8")
    assert not re.search(r"(?<![\w.])/(work|home|root|Users|opt)/", text), doc.name


@pytest.mark.parametrize("doc", [ROOT / "README.md", ROOT / "bench" / "README.md", ROOT / "docs" / "cli.md",
                                 ROOT / "docs" / "state.md", ROOT / "docs" / "ci.md"],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_reference_to_a_contract_outside_the_repository(doc):
    assert "LANGUAGE.md" not in doc.read_text("utf-8"), f"{doc.name}: the reference is docs/language.md"


def test_the_readme_set_up_is_two_commands():
    readme = (ROOT / "README.md").read_text("utf-8")
    setup = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", setup, re.S)
    commands = [line for b in blocks for line in b.splitlines() if line.strip()]
    assert len(commands) == 2
    assert "plays run specs/ --snapshots examples/snapshots.csv" in commands[0]
    assert commands[1].startswith("python -m pytest")
