"""Property: the CLI as a whole answers bad input with exit 0, 1 or 2 and one line, in bounded time.

Hypothesis generates spec files and paths that are bad in every way a user
or a checkout can make them (odd names with newlines and escape sequences,
binary and Latin-1 bytes, broken links and loops, pipes, empty folders,
mutated specs) for `plays check`, and mutated or hostile test files (nested
aliases, impossible and out-of-range dates, huge durations and repeat
counts, broken YAML) for `plays test`. Whatever the input: no traceback, no
internal error (exit 70), no hang; exit 2 says so in one `plays: error:`
line on stderr.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from plays.cli import main

pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data"
SPEC = """\
account { name: text  tier: enum(standard, premium)  renewal_date: date }
metric mau: count
alert low "MAU is low" {
  when: mau < 10
  for: 2d
  playbook { task call "Call {{ account.name }}" { type: call  due: 2d } }
}
goal grow "Grow" {
  duration: 30d
  deploy: manual
  kpi: mau >= 20
  playbook { task k "Kickoff" { due: 3d } }
}
"""
TEST = """\
specs: [..]
tests:
  - name: low usage fires
    start: 2026-01-01
    every: 1d
    accounts:
      acme:
        attributes: {name: Acme, tier: premium, renewal_date: 2026-06-01}
        series: {mau: "5x4 20x3"}
    deploy:
      - {goal: grow, account: acme, date: 2026-01-02}
    expect:
      - {event: alert_fired, alert: low, account: acme, date: 2026-01-03}
    expect_none:
      - {event: alert_fired, alert: low, date: 2026-01-07}
"""
SCALE = int(os.environ.get("PLAYS_FUZZ_SCALE", "1"))  # more examples for a longer hunt: PLAYS_FUZZ_SCALE=10
BOUND_S = 20  # any one command, on these small inputs; a hang trips the alarm instead of the suite


class Hung(Exception):
    pass


def run(cwd: Path, *args: str) -> tuple[int, str, str, float]:
    """``plays ARGS`` in ``cwd`` through the real entry point: (exit code, stdout, stderr, seconds)."""
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()

    def alarm(signum, frame):
        raise Hung(f"plays {' '.join(args)} ran past {BOUND_S} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(BOUND_S)
    started = time.perf_counter()
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(old)
    return code, out.getvalue(), err.getvalue(), time.perf_counter() - started


def assert_well_behaved(code: int, out: str, err: str, elapsed: float) -> None:
    event(f"exit {code}")
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in out + err and "internal error" not in err, err
    assert "\x1b" not in out + err, "an escape sequence reached the terminal"
    assert elapsed < BOUND_S
    if code == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("plays: error: "), err


# --- plays check on bad files and paths ------------------------------------------------------

NAME_CHARS = st.sampled_from(list("abc_-. é名") + ["\n", "\x1b[31m", "\t", "\r", "%", ",", ":", "\u202e", "::error "])
names = st.lists(NAME_CHARS, min_size=1, max_size=6).map(lambda parts: "".join(parts) + ".play").filter(
    lambda n: "/" not in n and n not in (".play", "..play"))

FRAGMENTS = ["{", "}", "(", ")", "\n", "alert", "goal", "when:", "mau", "{{", "}}", "2026-02-30", "9999-12-31",
             "99999999999999999999d", "\x00", "\xff", "\x1b[2J", "\u2028", "not " * 50, "(" * 200, "é"]


@st.composite
def spec_bytes(draw) -> bytes:
    kind = draw(st.sampled_from(["mutated"] * 6 + ["binary", "latin1", "empty", "bom", "utf16"]))
    if kind == "binary":
        return draw(st.binary(max_size=200))
    if kind == "empty":
        return b""
    text = SPEC
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(FRAGMENTS)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(0, 30)):]
    if kind == "latin1":
        return text.encode("latin-1", "replace") + b"\xe9"
    if kind == "bom":
        return b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")
    if kind == "utf16":
        return text.encode("utf-16")
    return text.encode("utf-8", "surrogatepass")


@st.composite
def spec_tree(draw):
    """A list of (kind, name, content) to lay out, and the paths to give `plays check`."""
    entries = []
    # mostly files (their contents make exits 0 and 1), sometimes a path that is bad in itself (exit 2)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["file"] * 12 + ["dir"] * 3 + ["empty_dir", "broken_link", "loop", "fifo",
                                                                   "hidden_dir"]))
        entries.append((kind, draw(names), draw(spec_bytes())))
    extra = draw(st.sampled_from([[]] * 8 + [["nope.play"], [""], ["."], ["nope/"], ["x" * 300]]))
    return entries, extra


def lay_out(root: Path, entries) -> list[str]:
    given_paths = []
    for i, (kind, name, content) in enumerate(entries):
        name = f"{i}{name}"
        p = root / name
        if kind == "file":
            p.write_bytes(content)
        elif kind in ("dir", "hidden_dir"):
            folder = root / ((".h" if kind == "hidden_dir" else "d") + str(i))
            folder.mkdir()
            (folder / name).write_bytes(content)
            p = folder
        elif kind == "empty_dir":
            p = root / f"e{i}"
            p.mkdir()
        elif kind == "broken_link":
            p.symlink_to(root / f"gone{i}")
        elif kind == "loop":
            p.symlink_to(p)
        else:
            os.mkfifo(p)
        given_paths.append(str(p.relative_to(root)))
    return given_paths


@settings(max_examples=60 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec_tree(), st.sampled_from(["text", "json", "github", "sarif"]), st.sampled_from([[], ["--strict"]]))
def test_check_on_bad_files_and_paths_exits_0_1_or_2_with_one_line(tree, fmt, strict):
    entries, extra = tree
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        paths = lay_out(root, entries) + extra
        code, out, err, elapsed = run(root, "check", "--format", fmt, *strict, *paths)
        assert_well_behaved(code, out, err, elapsed)
        if code == 1 and fmt == "text":
            # diagnostics, one per `path:line:col: severity[CODE]` line; a file name cannot forge another
            assert not any(line.startswith("::") for line in out.splitlines())


# --- plays test on bad test files ------------------------------------------------------------

TEST_FRAGMENTS = [
    "2026-02-30", "9999-12-31", "1899-01-01", "99999999999d", "0d", "5300w", "x99999999999999999999",
    "100x999999999", "&a ", "*a", "*nope", "[", "]", "{", "}", ": ", "\n", "  ", "\t", "- ", "_", "%", "$",
    "\x00", "\x1b[2J", "é", "specs: [../nope]\n", "specs: 7\n", "tests: 3\n", "~", "!!python/object:os.system ",
    "<<: *a\n", "? ", "|\n", "'", '"', ".nan", ".inf", "true", "null", "[1, 2]", "{a: 1}", "1e400",
]


@st.composite
def spec_test_text(draw) -> str:
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "laughs", "noise"]))
    if kind == "noise":
        return draw(st.text(max_size=200))
    if kind == "laughs":
        depth = draw(st.integers(3, 12))
        lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
        lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, depth)]
        return "\n".join(lines) + f"\ntests: *a{depth - 1}\n"
    text = TEST
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(TEST_FRAGMENTS)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(0, 20)):]
    return text


@settings(max_examples=40 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(spec_test_text(), min_size=1, max_size=3), st.sampled_from(["text", "json"]))
def test_plays_test_on_bad_test_files_exits_0_1_or_2_with_one_line(texts, fmt):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "specs" / "tests").mkdir(parents=True)
        (root / "specs" / "a.play").write_text(SPEC)
        for i, text in enumerate(texts):
            (root / "specs" / "tests" / f"t{i}.test.yaml").write_text(text, "utf-8", errors="surrogatepass")
        code, out, err, elapsed = run(root, "test", "specs", "--format", fmt, "--junit-xml", "report.xml")
        assert_well_behaved(code, out, err, elapsed)
        if fmt == "json":
            import json

            json.loads(out)
        # every test file is accounted for in the JUnit report, run or errored
        from junitparser import JUnitXml

        xml = JUnitXml.fromfile(str(root / "report.xml"))
        assert {s.name for s in xml} == {f"specs/tests/t{i}.test.yaml" for i in range(len(texts))}


def test_the_seeds_themselves_are_clean():
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "specs" / "tests").mkdir(parents=True)
        (root / "specs" / "a.play").write_text(SPEC)
        (root / "specs" / "tests" / "t.test.yaml").write_text(TEST)
        assert run(root, "check", "specs")[:3] == (0, "1 file checked: no problems\n", "")
        code, out, err, _ = run(root, "test", "specs")
        assert (code, out.splitlines()[-1], err) == (0, "1 passed, 0 failed", "")
