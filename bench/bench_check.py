"""Benchmark `plays check` against Lark's bare parse of the same text.

    python bench/bench_check.py [--repeat 3] [--alerts 5000] [--goals 500] [--out DIR]

Generates the spec set (bench/gen_specs.py) into bench/out/specs (git-ignored),
checks that it is clean (a spec set full of errors would time the wrong
thing), then times (best of --repeat, garbage collected before each run):
  bare parse  Lark LALR with the same grammar, building its parse tree (the floor)
  parse       plays.dsl.parse_module (inline transformer, spans)
  check       every compiler pass, as `plays check` runs them (no lowering)
  compile     check + lowering to the plan
  cli         the `plays check` command end to end in a subprocess (start-up included)
  check, gc   `check` again with the cyclic GC's first threshold raised to 200,000
              (mypy's setting): how much of the time is garbage collection
              walking the growing AST, a what-if figure, not what `plays check` does
and with the result cache (compiler/cache.py; a fresh folder under --out's parent):
  cache cold   `check` into an empty cache (computes and writes every entry)
  cache warm   `check` again, nothing changed
  cache edit   `check` after editing one file (another title for an alert of the
              middle file each time: re-parses and re-checks that alert alone, the
              file's other declarations coming from the cache's per-declaration entry)
  cli cold / cli edit   the same two through `plays check --cache-dir` in a subprocess
              (the `cli` row above is `plays check --no-cache`)
  cli move     `cli edit` plus one comment line more at the top of the edited file each
              time, so that every declaration of the file moves down a line
Targets (2-core machine): check <= 3 s and <= 1.5 x bare parse; cache edit <= 10% of check.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gen_specs import generate  # noqa: E402


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--alerts", type=int, default=5000)
    ap.add_argument("--goals", type=int, default=500)
    ap.add_argument("--out", type=Path, default=HERE / "out" / "specs", help="where to generate (default bench/out/specs)")
    a = ap.parse_args()
    if a.repeat < 1:
        ap.error("--repeat must be at least 1")
    # Other work on the machine shows up in the figures: print the load before we add ours.
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    from lark import Lark

    from plays.compiler.driver import compile_sources
    from plays.dsl import parse_module
    from plays.sources import discover

    out = a.out
    paths = generate(out, a.alerts, a.goals)
    sources = discover([str(out)])
    first = compile_sources(sources, lower=False)
    if first.diagnostics:
        shown = "\n".join(f"  {d.code} {d.span.path}:{d.span.line}: {d.message}" for d in first.diagnostics[:10])
        sys.exit(f"the generated spec set is not clean ({len(first.diagnostics)} diagnostics):\n{shown}")
    del first  # a second live AST would make every GC pass slower
    size = sum(len(s.text) for s in sources)
    lines = sum(s.text.count("\n") for s in sources)
    grammar = resources.files("plays.dsl").joinpath("grammar.lark").read_text()
    bare = Lark(grammar, parser="lalr", lexer="contextual")

    rows = [
        ("bare parse", best(lambda: [bare.parse(s.text) for s in sources], a.repeat)),
        ("parse", best(lambda: [parse_module(s.text, s.path) for s in sources], a.repeat)),
        ("check", best(lambda: compile_sources(sources, lower=False), a.repeat)),
        ("compile", best(lambda: compile_sources(sources, lower=True), a.repeat)),
    ]
    plays = Path(sys.executable).parent / "plays"
    cmd = [str(plays), "check"] if plays.exists() else [sys.executable, "-m", "plays.cli", "check"]
    rows.append(("cli", best(lambda: subprocess.run([*cmd, "--no-cache", str(out)], check=True, capture_output=True),
                             a.repeat)))
    rows += cached_rows(sources, out, cmd, a.repeat)
    saved = gc.get_threshold()
    gc.set_threshold(200_000, 30, 30)
    try:
        rows.append(("check, gc", best(lambda: compile_sources(sources, lower=False), a.repeat)))
    finally:
        gc.set_threshold(*saved)
    floor = rows[0][1]
    times = dict(rows)
    print(f"spec set: {len(paths)} files, {size / 1e6:.1f} MB, {lines:,} lines, "
          f"{a.alerts} alerts, {a.goals} goals x 10 tasks; best of {a.repeat}; load average {load:.2f}")
    print(f"{'step':<12}{'seconds':>9}{'x bare':>9}")
    for name, t in rows:
        print(f"{name:<12}{t:>9.2f}{t / floor:>9.2f}")
    check = rows[2][1]
    ok = check <= 3.0 and check <= 1.5 * floor
    print(f"target check <= 3 s and <= 1.5 x bare parse: {'met' if ok else 'MISSED'}")
    edit = times["cache edit"] / times["check"]
    print(f"target cache edit <= 10% of check: {edit:.1%} ({'met' if edit <= 0.10 else 'MISSED'}); "
          f"cli edit is {times['cli edit'] / times['cli']:.1%} of cli")


def cached_rows(sources, out: Path, cmd: list[str], repeat: int) -> list[tuple[str, float]]:
    """Cold, warm and one-file-edited checks with the result cache, in process and through the CLI."""
    from plays.compiler.cache import CheckCache
    from plays.compiler.driver import compile_sources
    from plays.sources import Source

    folder = out.parent / "cache"
    edited = len(sources) // 2
    edits = iter(range(1, 10_000))

    def fresh():
        shutil.rmtree(folder, ignore_errors=True)

    def run(srcs):
        result = compile_sources(srcs, lower=False, cache=CheckCache(folder))
        assert not result.diagnostics, result.diagnostics[:3]

    def with_edit() -> list:
        n = next(edits)
        text = re.sub(r'"Alert number (\d+)"', lambda m: f'"Alert number {m.group(1)}, edit {n}"', sources[edited].text,
                      count=1)
        assert text != sources[edited].text
        return [*sources[:edited], Source(sources[edited].path, text), *sources[edited + 1:]]

    rows = []
    rows.append(("cache cold", timed(fresh, lambda: run(sources), repeat)))
    rows.append(("cache warm", timed(lambda: None, lambda: run(sources), repeat)))
    pending = []
    rows.append(("cache edit", timed(lambda: pending.append(with_edit()), lambda: run(pending.pop()), repeat)))

    # Through the CLI: the edit is written to the file, and put back afterwards.
    path = out / Path(sources[edited].path).name
    original = path.read_text("utf-8")
    cli = [*cmd, "--cache-dir", str(folder), str(out)]

    def write_edit():
        path.write_text(with_edit()[edited].text, "utf-8")

    moves = iter(range(1, 10_000))

    def write_move():  # one line more above each time: every declaration moves again
        path.write_text("# moved\n" * next(moves) + with_edit()[edited].text, "utf-8")

    try:
        rows.append(("cli cold", timed(fresh, lambda: subprocess.run(cli, check=True, capture_output=True), repeat)))
        rows.append(("cli edit", timed(write_edit, lambda: subprocess.run(cli, check=True, capture_output=True),
                                       repeat)))
        rows.append(("cli move", timed(write_move, lambda: subprocess.run(cli, check=True, capture_output=True),
                                       repeat)))
    finally:
        path.write_text(original, "utf-8")
        fresh()
    return rows


def timed(prepare, fn, repeat: int) -> float:
    """Best of ``repeat`` runs of ``fn``, each after an untimed ``prepare``."""
    times = []
    for _ in range(repeat):
        prepare()
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


if __name__ == "__main__":
    main()
