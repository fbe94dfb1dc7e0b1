"""Benchmark `plays diff` against `plays run` of the one changed alert, on the same generated history.

    python bench/bench_diff.py [--accounts 100000] [--days 365] [--repeat 2]

The example spec set `specs/` is the base; the head changes one alert's
threshold (`usage_drop`: `<= -20%` -> `<= -30%`). Measured alternately in
one run (A B A B), each as a child process on the same Parquet file:

  diff  `plays diff BASE HEAD -s FILE --format json -o OUT`
  run   `plays run ONE -s FILE --format json -o OUT`, where ONE is the head's
        catalog and that one alert alone: what `plays diff` must at least do
        for one side

Target (issue 11, 100,000 accounts x 365 days): diff <= 1.3 x run.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_run import data_file, measure  # noqa: E402  (the same child-process measurement)

ALERT = "usage_drop"
BEFORE, AFTER = "when: pct_change(mau, 7d) <= -20%", "when: pct_change(mau, 7d) <= -30%"


def block(text: str, header: str) -> str:
    """The declaration starting at ``header`` up to its matching closing brace."""
    start = text.index(header)
    depth, i = 0, text.index("{", start)
    while True:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
        if depth == 0:
            return text[start:i] + "\n"


def spec_sets(work: Path) -> tuple[Path, Path, Path]:
    """(base, head, the head's catalog and changed alert alone)."""
    base, head, one = work / "base", work / "head", work / "one"
    shutil.copytree(ROOT / "specs", base, ignore=shutil.ignore_patterns("tests"))
    shutil.copytree(base, head)
    alerts = (head / "alerts.play").read_text("utf-8")
    assert BEFORE in alerts, "the example's usage_drop threshold moved; update bench_diff.py"
    (head / "alerts.play").write_text(alerts.replace(BEFORE, AFTER), "utf-8")
    one.mkdir()
    shutil.copy(head / "catalog.play", one / "catalog.play")
    alert = block((head / "alerts.play").read_text("utf-8"), re.search(rf"alert {ALERT}\b", alerts).group(0))
    (one / "alert.play").write_text(alert, "utf-8")
    return base, head, one


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    data = data_file(a.accounts, a.days)
    plays = Path(sys.executable).parent / "plays"
    with tempfile.TemporaryDirectory(prefix="plays-bench-diff-") as tmp:
        work = Path(tmp)
        base, head, one = spec_sets(work)
        diffs, runs = [], []
        for _ in range(a.repeat):
            diffs.append(measure("diff", [str(plays), "diff", str(base), str(head), "-s", str(data),
                                          "--format", "json", "-o", str(work / "diff.json")], work / "diff.json"))
            runs.append(measure("run", [str(plays), "run", str(one), "-s", str(data), "--format", "json",
                                        "-o", str(work / "run.jsonl")], work / "run.jsonl"))
            print(f"  diff {diffs[-1].seconds:7.1f} s   run of the one alert {runs[-1].seconds:7.1f} s   "
                  f"ratio {diffs[-1].seconds / runs[-1].seconds:.2f}", flush=True)
    best = min(d.seconds for d in diffs) / min(r.seconds for r in runs)
    print(f"{a.accounts:,} accounts x {a.days} days: diff / run of the one alert, best against best: {best:.2f} "
          f"(target <= 1.3)")


if __name__ == "__main__":
    main()
