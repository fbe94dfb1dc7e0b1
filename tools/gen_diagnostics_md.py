"""Write docs/diagnostics.md from the registry of codes (plays/codes.py and plays/codes.toml).

    python tools/gen_diagnostics_md.py                       # rewrite the file
    python tools/gen_diagnostics_md.py --check               # exit 1 when the committed file is out of date
    python tools/gen_diagnostics_md.py --update-diagnostics  # first rewrite each example's `diagnostic`
                                                             # in codes.toml with what it gives now
    python tools/gen_diagnostics_md.py --format-examples     # first lay out the .play examples that
                                                             # parse as `plays fmt` does

After ``--update-diagnostics``, read the diff of plays/codes.toml: each new
text is what a user sees. tests/test_diagnostic_docs.py runs the check and the
examples.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "diagnostics.md"
TOML = ROOT / "plays" / "codes.toml"
sys.path.insert(0, str(ROOT / "tools"))


def _replace(text: str, code: str, key: str, value: str) -> str:
    """``text`` (codes.toml) with ``key = '''...'''`` of ``[codes.CODE]`` set to ``value``."""
    start = re.search(rf"^\[codes\.{code}\]$", text, re.M).end()
    m = re.compile(rf"^{key} = '''\n.*?^'''$", re.M | re.S).search(text, start)
    return text[: m.start()] + f"{key} = '''\n{value.rstrip()}\n'''" + text[m.end():]


def format_examples() -> None:
    from plays.codes import _data, docs, documented
    from plays.dsl.fmt import format_source
    from plays.dsl.parser import parse_module

    text = TOML.read_text("utf-8")
    for code in documented():
        d = docs(code)
        if d.lang != "play":
            continue
        for key, example in (("example", d.example), ("fixed", d.fixed)):
            _, diags = parse_module(example + "\n", d.file)
            if not any(x.is_error for x in diags):
                text = _replace(text, code, key, format_source(example + "\n", d.file))
    TOML.write_text(text, "utf-8")
    _data.cache_clear()


def update_diagnostics() -> None:
    import code_examples

    from plays.codes import _data, docs, documented

    text = TOML.read_text("utf-8")
    for code in documented():
        if not code_examples.runnable(code):
            continue
        _, shown = code_examples.run(code, docs(code).example)
        text = _replace(text, code, "diagnostic", shown)
    TOML.write_text(text, "utf-8")
    _data.cache_clear()


def main() -> int:
    if "--format-examples" in sys.argv[1:]:
        format_examples()
    if "--update-diagnostics" in sys.argv[1:]:
        update_diagnostics()
    from plays.codes import reference_markdown

    text = reference_markdown()
    if "--check" in sys.argv[1:]:
        if TARGET.read_text("utf-8") != text:
            print(f"{TARGET.name} is out of date: run python tools/gen_diagnostics_md.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
