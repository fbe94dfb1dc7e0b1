"""Write docs/diagnostics.md from the registry of codes (plays/codes.py and plays/codes.toml).

    python tools/gen_diagnostics_md.py          # rewrite the file
    python tools/gen_diagnostics_md.py --check  # exit 1 when the committed file is out of date

tests/test_diagnostic_docs.py runs the check.
"""

import sys
from pathlib import Path

from plays.codes import reference_markdown

TARGET = Path(__file__).resolve().parent.parent / "docs" / "diagnostics.md"


def main() -> int:
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
