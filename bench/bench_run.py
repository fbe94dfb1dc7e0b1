"""Benchmark `plays run` on generated snapshots (Parquet) with the example specs.

    python bench/bench_run.py [--accounts 100000] [--days 90] [--repeat 2] [--jobs N]
    python bench/bench_run.py --baseline 60686e7 --repeat 2      # A B A B against a git revision
    python bench/bench_run.py --memory-scaling                   # peak RSS at 400,000 x 90 vs 100,000 x 90 (4 x --accounts)
    python bench/bench_run.py --engine spark                     # Spark local mode: time only

Measures:
  end to end  `plays run specs/ -s FILE --format json -o OUT` in a child process: seconds, rows per
              second, peak memory: the largest process's max RSS (os.wait4's rusage, which covers the
              child and the processes it waited for) and the whole process tree's RSS sampled every
              50 ms (what a pool of workers adds up to)
  --baseline  the same command from REV (a temporary git worktree with its own venv, REV installed),
              alternating baseline, working tree, baseline, ... --repeat times on the same file;
              the outputs are compared (sha256) and the ratios working tree / baseline printed
  conditions  the engine's generated SQL for every alert condition vs the same conditions written by
              hand as one DuckDB query, both over the Parquet file (best of --repeat)
Targets (issue 10, 2-core machine, 100,000 x 90): end to end <= 0.33 x baseline 60686e7, peak memory
<= 1.5 GB; memory scaling <= 1.2 x; conditions within 1.5 x hand-written SQL.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"

# The example alerts (specs/alerts.play), written by hand.
HAND_WRITTEN = """
SELECT count(*) FILTER (WHERE h0), count(*) FILTER (WHERE h1), count(*) FILTER (WHERE h2),
       count(*) FILTER (WHERE h3), count(*) FILTER (WHERE h4), count(*) FILTER (WHERE h5)
FROM (SELECT
  (mau - LAST_VALUE(mau) OVER past7) / NULLIF(LAST_VALUE(mau) OVER past7, 0) <= -0.2 AS h0,
  stage <> 'onboarding' AND feature_adoption - LAST_VALUE(feature_adoption) OVER past14 <= -0.1
      AND feature_adoption IS NOT NULL AS h1,
  invoice_days_overdue > 30 AS h2,
  (mrr - LAST_VALUE(mrr) OVER past30) / NULLIF(LAST_VALUE(mrr) OVER past30, 0) < -0.05 AS h3,
  SUM(tickets_opened) OVER last7 >= 10 AS h4,
  nps IS NOT NULL AND nps <= 6 AS h5
FROM read_parquet('{file}')
WINDOW past7 AS (PARTITION BY account ORDER BY date RANGE BETWEEN UNBOUNDED PRECEDING AND INTERVAL 7 DAYS PRECEDING),
       past14 AS (PARTITION BY account ORDER BY date RANGE BETWEEN UNBOUNDED PRECEDING AND INTERVAL 14 DAYS PRECEDING),
       past30 AS (PARTITION BY account ORDER BY date RANGE BETWEEN UNBOUNDED PRECEDING AND INTERVAL 30 DAYS PRECEDING),
       last7 AS (PARTITION BY account ORDER BY date RANGE BETWEEN INTERVAL 6 DAYS PRECEDING AND CURRENT ROW))
"""


# --- measuring a child process ---------------------------------------------------------------


@dataclass
class Run:
    label: str
    seconds: float
    peak_gb: float  # the largest process of the tree (wait4)
    tree_gb: float  # the whole tree, sampled
    output: str  # sha256 of the output file


def _tree_rss(root: int) -> int:
    """Bytes resident in ``root`` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/statm") as f:
                resident = int(f.read().split()[1])
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        parents[int(entry)] = ppid
        rss[int(entry)] = resident * page
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        for child, parent in parents.items():
            if parent == p and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(p, 0) for p in tree)


def measure(label: str, cmd: list[str], output: Path, env=None) -> Run:
    """Run ``cmd``; wall time, peak RSS (wait4), sampled RSS of the process tree; fail loudly."""
    if output.exists():
        shutil.rmtree(output) if output.is_dir() else output.unlink()
    start = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_tree = 0
    done = threading.Event()

    def sample():
        nonlocal peak_tree
        while not done.is_set():
            try:
                peak_tree = max(peak_tree, _tree_rss(child.pid))
            except Exception:
                pass
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    # read stderr while waiting (a full pipe would block the child)
    err_chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: err_chunks.append(child.stderr.read()), daemon=True)
    reader.start()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    sampler.join()
    reader.join()
    if child.returncode != 0:
        err = b"".join(err_chunks).decode("utf-8", "replace").strip().splitlines()[-5:]
        sys.exit(f"{label}: `{' '.join(cmd)}` failed (exit {child.returncode}):\n" + "\n".join(err))
    digest = _digest(output)
    return Run(label, seconds, usage.ru_maxrss / 1024 / 1024, peak_tree / 1024**3, digest)


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in files:
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:12]


def show(r: Run, rows: int) -> None:
    print(f"  {r.label:<10} {r.seconds:7.1f} s  {rows / r.seconds:>10,.0f} rows/s  "
          f"peak {r.peak_gb:5.2f} GB (largest process)  {r.tree_gb:5.2f} GB (process tree)  output {r.output}")


# --- what to run --------------------------------------------------------------------------------


def data_file(accounts: int, days: int) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"snapshots-{accounts}x{days}.parquet"
    if not path.exists():
        # in a child process: DuckDB's memory for generating would otherwise stay in this process's
        # high-water mark, which every child it forks inherits (ru_maxrss survives fork and exec)
        t = time.perf_counter()
        subprocess.run([sys.executable, str(HERE / "generate.py"), "--large", "--accounts", str(accounts),
                        "--days", str(days), "-o", str(path)], check=True, stdout=subprocess.DEVNULL)
        print(f"generated {path.name} in {time.perf_counter() - t:.1f} s")
    return path


def plays_cmd(venv_bin: Path, specs: Path, data: Path, out: Path, extra=()) -> list[str]:
    return [str(venv_bin / "plays"), "run", str(specs), "-s", str(data), "--format", "json", "-o", str(out), *extra]


def supports(venv_bin: Path, option: str) -> bool:
    help_text = subprocess.run([str(venv_bin / "plays"), "run", "--help"], capture_output=True, text=True).stdout
    return option in help_text


class Baseline:
    """A git revision checked out in a temporary worktree, installed in its own venv."""

    def __init__(self, rev: str):
        self.rev = rev
        self.tmp = Path(tempfile.mkdtemp(prefix="plays-baseline-"))
        self.tree = self.tmp / "tree"

    def __enter__(self) -> Baseline:
        sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{self.rev}^{{commit}}"],
                             capture_output=True, text=True)
        if sha.returncode != 0:
            shutil.rmtree(self.tmp, ignore_errors=True)
            sys.exit(f"--baseline {self.rev}: not a revision of this repository")
        self.sha = sha.stdout.strip()
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(self.tree), self.sha],
                       check=True)
        print(f"baseline {self.rev} ({self.sha[:10]}): installing into a temporary venv ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(self.tmp / "venv")], check=True)
        self.bin = self.tmp / "venv" / "bin"
        pip = subprocess.run([str(self.bin / "python"), "-m", "pip", "install", "--quiet",
                              "--disable-pip-version-check", str(self.tree)], capture_output=True, text=True)
        if pip.returncode != 0:
            self.__exit__()
            sys.exit(f"--baseline {self.rev}: pip install failed:\n{pip.stderr.strip()[-2000:]}")
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(self.tree)],
                       capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


# --- modes --------------------------------------------------------------------------------------


def end_to_end(a, data: Path, rows: int) -> None:
    here = Path(sys.executable).parent
    extra = []
    if a.jobs is not None:
        if not supports(here, "--jobs"):
            sys.exit("--jobs: this working tree's `plays run` has no --jobs option")
        extra = ["--jobs", str(a.jobs)]
    ours = lambda i: measure("working", plays_cmd(here, ROOT / "specs", data, OUT / "events.jsonl", extra),  # noqa: E731
                             OUT / "events.jsonl")
    if not a.baseline:
        runs = [ours(i) for i in range(a.repeat)]
        for r in runs:
            show(r, rows)
        return
    with Baseline(a.baseline) as base:
        theirs = lambda i: measure("baseline", plays_cmd(base.bin, base.tree / "specs", data,  # noqa: E731
                                                         OUT / "events-baseline.jsonl"), OUT / "events-baseline.jsonl")
        pairs = []
        for i in range(a.repeat):  # A B A B: both see the same drift of the machine's load
            pairs.append((theirs(i), ours(i)))
            show(pairs[-1][0], rows)
            show(pairs[-1][1], rows)
    same = all(b.output == w.output for b, w in pairs)
    print(f"outputs: {'byte-identical' if same else 'DIFFERENT'} (sha256 of the JSON Lines)")
    t_ratio = [w.seconds / b.seconds for b, w in pairs]
    m_ratio = [w.tree_gb / b.tree_gb for b, w in pairs]
    best_b = min(b.seconds for b, _ in pairs)
    best_w = min(w.seconds for _, w in pairs)
    print(f"time, working / baseline {a.baseline}: per pair {', '.join(f'{r:.2f}' for r in t_ratio)}; "
          f"best {best_w:.1f} s / {best_b:.1f} s = {best_w / best_b:.2f} (target <= 0.33)")
    print(f"peak memory (process tree), working / baseline: per pair {', '.join(f'{r:.2f}' for r in m_ratio)}; "
          f"working max {max(w.tree_gb for _, w in pairs):.2f} GB (target <= 1.5 GB)")


def memory_scaling(a) -> None:
    """Peak RSS at 4 x --accounts against --accounts (default: 400,000 x 90 against 100,000 x 90)."""
    here = Path(sys.executable).parent
    n_small, n_large = a.accounts, 4 * a.accounts
    out = OUT / "events.jsonl"
    runs = []
    for n in (n_small, n_large):
        data = data_file(n, a.days)
        r = measure(f"{n:,}", plays_cmd(here, ROOT / "specs", data, out), out)
        show(r, n * a.days)
        runs.append(r)
    small, large = runs
    print(f"memory scaling: peak RSS (process tree) at {n_large:,} x {a.days} / {n_small:,} x {a.days} = "
          f"{large.tree_gb / small.tree_gb:.2f} (target <= 1.2); largest process "
          f"{large.peak_gb / small.peak_gb:.2f}; time per row ratio {(large.seconds / 4) / small.seconds:.2f}")


def spark(a, data: Path, rows: int) -> None:
    here = Path(sys.executable).parent
    out = OUT / "events-spark.parquet"
    if supports(here, "--engine"):
        cmd = [str(here / "plays"), "run", str(ROOT / "specs"), "-s", str(data), "--engine", "spark",
               "--spark-master", a.spark_master, "-o", str(out)]
    else:  # the Python API, as a driver script would call it
        code = (
            "import sys; from plays.compiler.driver import compile_sources; from plays.sources import discover; "
            "from plays.spark import run_files; "
            "plan = compile_sources(discover([sys.argv[1]])).plan; "
            "run_files(plan, [sys.argv[2]], sys.argv[3], master=sys.argv[4])"
        )
        cmd = [sys.executable, "-c", code, str(ROOT / "specs"), str(data), str(out), a.spark_master]
    for _ in range(a.repeat):
        show(measure(f"spark {a.spark_master}", cmd, out), rows)
    print("(Spark local mode is about correctness here: no target; the process tree includes Spark's JVM "
          "and its Python workers)")


def conditions(a, data: Path) -> None:
    import duckdb

    from plays.compiler.driver import compile_sources
    from plays.runtime.sql import condition_sql
    from plays.sources import discover

    plan = compile_sources(discover([str(ROOT / "specs")])).plan
    alerts = plan.alerts
    conds = ", ".join(f"{condition_sql(al.where)} AND {condition_sql(al.when)} AS h{i}" for i, al in enumerate(alerts))
    counts = ", ".join(f"count(*) FILTER (WHERE h{i})" for i in range(len(alerts)))
    con = duckdb.connect()
    ours = f"SELECT {counts} FROM (SELECT {conds} FROM read_parquet('{data}'))"
    hand = HAND_WRITTEN.format(file=data)
    # plan alerts are sorted by name; the hand-written ones follow specs/alerts.play's order
    order = ["usage_drop", "adoption_decline", "overdue_invoice", "mrr_contraction", "ticket_burst", "detractor_nps"]
    ours_counts = dict(zip((al.name for al in alerts), con.execute(ours).fetchone()))
    hand_counts = dict(zip(order, con.execute(hand).fetchone()))

    def best(sql):
        out = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            con.execute(sql).fetchall()
            out.append(time.perf_counter() - t)
        return min(out)

    t_ours, t_hand = best(ours), best(hand)
    print(f"conditions: generated SQL {t_ours:.2f} s, hand-written SQL {t_hand:.2f} s, ratio {t_ours / t_hand:.2f} "
          f"(target <= 1.5)")
    same = "the same" if ours_counts == hand_counts else f"different: {ours_counts} vs {hand_counts}"
    print(f"rows where each alert condition holds: {same}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--repeat", type=int, default=2, help="runs of each (A B A B with --baseline)")
    ap.add_argument("--baseline", metavar="REV", help="also run this git revision, alternating with the working tree")
    ap.add_argument("--jobs", type=int, help="pass --jobs N to the working tree's plays run")
    ap.add_argument("--engine", choices=["local", "spark"], default="local")
    ap.add_argument("--spark-master", default="local[2]", help="with --engine spark (default local[2])")
    ap.add_argument("--memory-scaling", action="store_true",
                    help="peak RSS at 4 x ACCOUNTS against ACCOUNTS (default 400,000 vs 100,000; working tree only)")
    ap.add_argument("--no-conditions", action="store_true", help="skip the generated vs hand-written SQL measure")
    a = ap.parse_args()
    sys.path.insert(0, str(HERE))
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens, also into a file

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    if a.memory_scaling:
        memory_scaling(a)
        return
    data = data_file(a.accounts, a.days)
    rows = a.accounts * a.days
    print(f"snapshots: {a.accounts:,} accounts x {a.days} days = {rows:,} rows (Parquet, {data.stat().st_size / 1e6:.0f} MB)")
    if a.engine == "spark":
        spark(a, data, rows)
        return
    end_to_end(a, data, rows)
    events = sum(1 for _ in open(OUT / "events.jsonl", "rb"))
    print(f"events: {events:,}")
    if not a.no_conditions:
        conditions(a, data)


if __name__ == "__main__":
    main()
