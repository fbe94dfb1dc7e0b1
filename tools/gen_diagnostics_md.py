"""Write docs/diagnostics.md from the registry of codes (plays/codes.py and plays/codes.toml).

    python tools/gen_diagnostics_md.py                       # rewrite the file
    python tools/gen_diagnostics_md.py --check               # exit 1 when the committed file is out of date
    python tools/gen_diagnostics_md.py --update-diagnostics  # first rewrite each example's `diagnostic`
                                                             # in codes.toml with what it gives now

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


def update_diagnostics() -> None:
    import code_examples

    from plays.codes import _data, docs, documented

    text = TOML.read_text("utf-8")
    for code in documented():
        if not code_examples.runnable(code):
            continue
        _, shown = code_examples.run(code, docs(code).example)
        start = text.index(f"\n[codes.{code}]\n")
        m = re.compile(r"^diagnostic = '''\n.*?^'''$", re.M | re.S).search(text, start)
        text = text[: m.start()] + f"diagnostic = '''\n{shown.rstrip()}\n'''" + text[m.end():]
    TOML.write_text(text, "utf-8")
    _data.cache_clear()


def main() -> int:
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
