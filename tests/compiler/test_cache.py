"""The check's result cache (compiler/cache.py): the same diagnostics as without it, whatever is cached."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plays.compiler import cache as cache_mod
from plays.compiler.cache import CheckCache
from plays.compiler.driver import compile_sources
from plays.render import render_text
from plays.sources import Source, discover

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "input.play").exists())
SEED = (ROOT / "tests" / "data" / "language_examples.play").read_text("utf-8")
DECL_START = re.compile(r"^(alert|goal|external|metric|account)\b")


def plain(sources):
    return compile_sources(sources, lower=False)


def cached(sources, folder):
    return compile_sources(sources, lower=False, cache=CheckCache(folder))


def same(a, b) -> None:
    assert sorted(map(repr, a.diagnostics)) == sorted(map(repr, b.diagnostics))
    assert render_text(a.diagnostics, a.sources) == render_text(b.diagnostics, b.sources)
    assert a.sources == b.sources and b.plan is None


def split(text: str, prefix: str) -> list[Source]:
    """One file per top-level declaration (comments go with the declaration after them)."""
    parts, current = [], []
    for line in text.splitlines(keepends=True):
        if DECL_START.match(line) and any(DECL_START.match(x) for x in current):
            parts.append(current)
            current = []
        current.append(line)
    parts.append(current)
    return [Source(f"{prefix}/{i:03d}.play", "".join(p)) for i, p in enumerate(parts)]


def entries(folder: Path) -> list[Path]:
    return sorted((folder / "entries").iterdir())


def golden_sources(case: str) -> list[Source]:
    return [Source(f"{case}/input.play", (GOLDEN / case / "input.play").read_text("utf-8"))]


SETS = {
    "specs": lambda: discover([str(ROOT / "specs")]),
    **{f"golden {c}": (lambda c=c: golden_sources(c)) for c in CASES},
    **{f"golden {c}, a file per declaration": (lambda c=c: split(golden_sources(c)[0].text, c)) for c in CASES},
    # names declared in several files, two catalogs, errors of every pass
    "every golden as one spec set": lambda: [s for c in CASES for s in golden_sources(c)],
}


@pytest.mark.parametrize("name", SETS)
def test_a_cold_and_a_warm_check_report_what_an_uncached_check_does(name, tmp_path):
    sources = SETS[name]()
    expected = plain(sources)
    same(expected, cached(sources, tmp_path))  # cold: computes and writes
    assert entries(tmp_path)
    same(expected, cached(sources, tmp_path))  # warm: the whole set's entry
    # another set (one file more) that shares the files: their entries, not the set's
    more = [*reversed(sources), Source("zz_extra.play", "# nothing here\n")]
    before = {p.name: p.stat().st_mtime_ns for p in entries(tmp_path)}
    same(plain(more), cached(more, tmp_path))
    assert len(entries(tmp_path)) == len(before) + 3  # the new file, its checks, the new set


def test_editing_one_file_gives_that_files_new_diagnostics(tmp_path):
    catalog = Source("catalog.play", "metric mau: count\nmetric mrr: money\n")
    a = Source("a.play", 'alert low_mau {\n  when: mau < 10\n  playbook { task t "T" { type: todo  due: 1d } }\n}\n')
    b = Source("b.play", 'alert low_mrr {\n  when: mrr < $100\n  playbook { task t "T" { type: todo  due: 1d } }\n}\n')
    assert cached([catalog, a, b], tmp_path).diagnostics == []
    broken = Source("b.play", b.text.replace("mrr < $100", "mrrr < $100"))
    result = cached([catalog, a, broken], tmp_path)
    assert [(d.code, d.span.path, d.span.line, d.span.col) for d in result.diagnostics] == [("E200", "b.play", 2, 9)]
    assert result.diagnostics == plain([catalog, a, broken]).diagnostics
    assert cached([catalog, a, b], tmp_path).diagnostics == []  # and back


def test_editing_the_catalog_rechecks_every_file(tmp_path):
    catalog = Source("catalog.play", "metric mau: count\nmetric mrr: money\n")
    a = Source("a.play", 'alert low_mrr {\n  when: mrr < $100\n  playbook { task t "T" { type: todo  due: 1d } }\n}\n')
    assert cached([catalog, a], tmp_path).diagnostics == []
    fewer = Source("catalog.play", "metric mau: count\n")
    result = cached([fewer, a], tmp_path)
    assert [(d.code, d.span.path, d.span.line) for d in result.diagnostics] == [("E200", "a.play", 2)]
    # the same names in the same places, another enum value: a different catalog too
    enum = Source("catalog.play", "account { plan: enum(basic, pro) }\nmetric mrr: money\n")
    b = Source("b.play", 'alert pro {\n  when: plan == pro\n  playbook { task t "T" { type: todo  due: 1d } }\n}\n')
    assert cached([enum, b], tmp_path).diagnostics == []
    other = Source("catalog.play", "account { plan: enum(basic, max) }\nmetric mrr: money\n")
    result = cached([other, b], tmp_path)
    assert [(d.span.path, d.span.line) for d in result.diagnostics] == [("b.play", 2)]
    assert result.diagnostics == plain([other, b]).diagnostics



def test_a_name_declared_twice_checks_the_first_one_only_and_the_second_once_the_first_goes(tmp_path):
    catalog = Source("c.play", "metric mau: count\n")
    first = Source("a.play", 'alert x {\n  when: mau < 1\n  playbook { task t "T" { type: todo  due: 1d } }\n}\n')
    second = Source("b.play", 'alert x {\n  when: mau < 1\n  severity: urgent\n'
                              '  playbook { task t "T" { type: todo  due: 1d } }\n}\n')
    both = cached([catalog, first, second], tmp_path)
    assert [d.code for d in both.diagnostics] == ["E201"]  # b's x is not checked further
    emptied = Source("a.play", "metric other: count\n")
    alone = cached([catalog, emptied, second], tmp_path)
    assert [(d.code, d.span.path, d.span.line) for d in alone.diagnostics] == [("E208", "b.play", 3)]
    assert alone.diagnostics == plain([catalog, emptied, second]).diagnostics


DAMAGE = {
    "truncated": lambda data: data[: len(data) // 2],
    "empty": lambda data: b"",
    "one byte flipped": lambda data: data[:-1] + bytes([data[-1] ^ 1]),
    "another format": lambda data: b"plays-cache 0\n" + data[len(cache_mod.FORMAT):],
    "garbage": lambda data: os.urandom(len(data)),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_entry_is_ignored(damage, tmp_path):
    sources = [s for c in CASES for s in golden_sources(c)]
    expected = plain(sources)
    cached(sources, tmp_path)
    for p in entries(tmp_path):
        p.write_bytes(DAMAGE[damage](p.read_bytes()))
    same(expected, cached(sources, tmp_path))
    same(expected, cached(sources, tmp_path))  # rewritten whole


def test_an_entry_with_a_valid_digest_but_the_wrong_shape_is_ignored(tmp_path):
    import pickle

    sources = golden_sources("bad_names")
    expected = plain(sources)
    cached(sources, tmp_path)
    for p in entries(tmp_path):
        payload = pickle.dumps({"not": "a result"})
        p.write_bytes(cache_mod.FORMAT + cache_mod._digest(payload) + payload)
    same(expected, cached(sources, tmp_path))


def test_a_folder_that_cannot_be_written_is_ignored(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    sources = golden_sources("bad_types")
    same(plain(sources), cached(sources, tmp_path / "file" / "cache"))
    assert (tmp_path / "file").read_text() == "not a folder"


def test_the_cache_folder_is_marked_as_one(tmp_path):
    cached(golden_sources("bad_types"), tmp_path / "c")
    assert (tmp_path / "c" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (tmp_path / "c" / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")


def test_other_code_or_settings_do_not_read_each_others_entries(tmp_path, monkeypatch):
    sources = golden_sources("bad_names")
    cached(sources, tmp_path)
    n = len(entries(tmp_path))
    compile_sources(sources, lower=False, cache=CheckCache(tmp_path, settings="strict"))
    assert len(entries(tmp_path)) == 2 * n
    monkeypatch.setattr(cache_mod, "_VERSION_KEY", b"another build of plays")
    cached(sources, tmp_path)
    assert len(entries(tmp_path)) == 3 * n


def test_the_version_key_covers_the_grammar_and_the_passes():
    cache_mod._version_key()
    h = cache_mod._VERSION_KEY
    assert isinstance(h, bytes) and len(h) == 20
    seen = []
    real = Path.read_bytes

    def spy(self):
        seen.append(self.name)
        return real(self)

    try:
        cache_mod._VERSION_KEY = None
        Path.read_bytes = spy
        assert cache_mod._version_key() == h
    finally:
        Path.read_bytes = real
    assert {"grammar.lark", "parser.py", "resolve.py", "typecheck.py", "playbooks.py", "diagnostics.py",
            "codes.toml"} <= set(seen)


def test_least_recently_used_entries_go_when_the_folder_is_full(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_mod, "MAX_BYTES", 4000)
    for c in CASES:
        cached(golden_sources(c), tmp_path)
    total = sum(p.stat().st_size for p in entries(tmp_path))
    assert total <= 4000
    sources = golden_sources(CASES[-1])
    same(plain(sources), cached(sources, tmp_path))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_edit_of_one_file_of_a_warm_cache_reports_what_an_uncached_check_does(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("cache")
    sources = split(SEED, "seed")
    cached(sources, folder)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(sources) - 1))
        text = sources[i].text
        lines = text.splitlines(keepends=True) or ["\n"]
        op = data.draw(st.sampled_from(["delete line", "duplicate line", "rename", "retype", "cut"]))
        j = data.draw(st.integers(0, len(lines) - 1))
        if op == "delete line":
            del lines[j]
        elif op == "duplicate line":
            lines.insert(j, lines[j])
        elif op == "rename":  # a name that may now be declared twice, or no longer exist
            lines[j] = re.sub(r"\b(mau|mrr|seat_utilization|segment|kickoff)\b", data.draw(st.sampled_from(
                ["mau", "mrr", "health_score", "segment", "region", "kickoff", "renamed"])), lines[j], count=1)
        elif op == "retype":
            lines[j] = re.sub(r"\b(count|money|percent|number|text|date)\b", data.draw(st.sampled_from(
                ["count", "money", "percent", "number", "text", "date"])), lines[j], count=1)
        else:
            lines = lines[: j]
        sources[i] = Source(sources[i].path, "".join(lines))
        same(plain(sources), cached(sources, folder))


@pytest.mark.slow
def test_concurrent_checks_share_one_cache_folder(tmp_path):
    specs = tmp_path / "specs"
    specs.mkdir()
    for s in [s for c in CASES for s in golden_sources(c)]:
        (specs / s.path.replace("/", "_")).write_text(s.text, "utf-8")
    env = {**os.environ, "PLAYS_CACHE_DIR": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "plays.cli", "check", "--max-diagnostics", "0", "specs"]
    expected = subprocess.run([*cmd, "--no-cache"], cwd=tmp_path, capture_output=True, text=True, env=env)
    for _ in range(2):  # the first round writes, concurrently; the second reads what they wrote
        runs = [subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                for _ in range(4)]
        for p in runs:
            out, err = p.communicate(timeout=120)
            assert (p.returncode, out, err) == (expected.returncode, expected.stdout, expected.stderr)
    assert not [p for p in entries(tmp_path / "cache") if p.name.startswith(".tmp-")]


def test_plays_check_writes_its_cache_in_the_current_folder_unless_told_not_to(run_cli, tmp_path):
    (tmp_path / "a.play").write_text("metric mau: count\n")
    assert run_cli("check", "--no-cache", "a.play")[0] == 0
    assert not (tmp_path / ".plays_cache").exists()
    assert run_cli("check", "a.play") == (0, "1 file checked: no problems\n", "")
    assert entries(tmp_path / ".plays_cache")
    assert run_cli("check", "--cache-dir", "elsewhere", "a.play")[0] == 0
    assert entries(tmp_path / "elsewhere")
    (tmp_path / "a.play").write_text("metric mau: count\nmetric mau: count\n")
    code, out, _ = run_cli("check", "a.play")
    assert code == 1 and "E201" in out


def test_alerts_with_one_trigger_in_two_files_are_found_from_the_summaries_of_unchanged_files(tmp_path):
    catalog = Source("c.play", "metric mau: count\nmetric mrr: money\n")
    a = Source("a.play", 'alert x {\n  when: mau < 1\n  playbook { task t "T" { type: todo  due: 1d } }\n}\n')
    b = Source("b.play", 'alert y {\n  when: 1 > mau\n  playbook { task t "T" { type: todo  due: 1d } }\n}\n')
    assert [(d.code, d.span.path) for d in cached([catalog, a, b], tmp_path).diagnostics] == [("W200", "b.play")]
    other = Source("o.play", "metric other: count\n")  # a new file: a and b come from their summaries
    result = cached([catalog, a, b, other], tmp_path)
    assert [(d.code, d.span.path, d.notes[0].span.path) for d in result.diagnostics] == [("W200", "b.play", "a.play")]
    assert result.diagnostics == plain([catalog, a, b, other]).diagnostics
    differs = Source("b.play", b.text.replace("1 > mau", "2 > mau"))
    assert cached([catalog, a, differs, other], tmp_path).diagnostics == []


def test_the_cache_folder_goes_next_to_the_configuration(run_cli, tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()  # the configuration search stops at a repository's root
    (tmp_path / "plays.toml").write_text('paths = ["specs/"]\n')
    (tmp_path / "specs" / "deep").mkdir(parents=True)
    (tmp_path / "specs" / "a.play").write_text("metric mau: count\n")
    monkeypatch.chdir(tmp_path / "specs" / "deep")
    from plays.cli import main

    with pytest.raises(SystemExit) as e:
        main(["check"])
    assert e.value.code == 0
    assert entries(tmp_path / ".plays_cache") and not (tmp_path / "specs" / "deep" / ".plays_cache").exists()


def test_suppressions_apply_to_cached_results_as_to_fresh_ones(tmp_path):
    text = 'metric p: percent\nalert a {\n  when: p > 5  # plays: disable=W300\n  playbook { task t "T" {} }\n}\n'
    sources = [Source("s.play", text)]
    assert cached(sources, tmp_path).diagnostics == plain(sources).diagnostics == []
    assert cached(sources, tmp_path).diagnostics == []  # from the set's entry, suppressed again
    unsuppressed = [Source("s.play", text.replace("  # plays: disable=W300", ""))]
    assert [d.code for d in cached(unsuppressed, tmp_path).diagnostics] == ["W300"]


# --- a changed file, declaration by declaration -------------------------------------------

CATALOG = "metric mau: count\nmetric mrr: money\n"
RULES = ('# low usage\nalert low_mau "Low MAU" {\n  when: mau < 10\n'
         '  playbook { task t "T" { type: todo  due: 1d } }\n}\n\n'
         'alert low_mrr "Low MRR" {\n  when: mrr < $100\n  playbook { task t "T" { type: todo  due: 1d } }\n}\n'
         'goal g "G" {\n  duration: 30d\n  deploy: manual\n  kpi: mau >= 5\n'
         '  playbook { task t "T" { type: todo  due: 1d } }\n}\n')


def count_piece_parses(monkeypatch) -> list:
    """The pieces parsed alone (``_parse_text`` with a ``begin``), and whole-file parses (``begin`` 0, no end)."""
    from plays.dsl import parser

    calls = []
    real = parser._parse_text

    def counting(builder, begin=0, end=None, callbacks=None):
        calls.append((begin, end))
        return real(builder, begin, end, callbacks)

    monkeypatch.setattr(parser, "_parse_text", counting)
    return calls


def test_editing_one_declaration_parses_only_that_declaration(tmp_path, monkeypatch):
    sources = [Source("catalog.play", CATALOG), Source("rules.play", RULES)]
    assert cached(sources, tmp_path).diagnostics == []
    calls = count_piece_parses(monkeypatch)
    edited = [sources[0], Source("rules.play", RULES.replace("mrr < $100", "mrrr < $100"))]
    result = cached(edited, tmp_path)
    # the rules file has 4 pieces (the leading comment, two alerts, the goal): only the edited one is parsed
    start = edited[1].text.index("alert low_mrr")
    assert calls == [(start, edited[1].text.index("goal g"))]
    assert [(d.code, d.span.line, d.span.col) for d in result.diagnostics] == [("E200", 8, 9)]
    assert result.diagnostics == plain(edited).diagnostics
    # a blank line added after low_mau: its piece (trailing blank lines included) changed, the pieces below it
    # moved: the goal (nothing found in it) is kept with its spans moved, low_mrr (a diagnostic: a message may
    # name a line) is parsed again, the leading comment is kept
    calls.clear()
    text = edited[1].text.replace("\nalert low_mrr", "\n\nalert low_mrr")
    moved = [sources[0], Source("rules.play", text)]
    result = cached(moved, tmp_path)
    assert calls == [(text.index("alert low_mau"), text.index("alert low_mrr")),
                     (text.index("alert low_mrr"), text.index("goal g"))]
    same(plain(moved), result)
    # two lines added above every piece: the goal and low_mau move, the comment and low_mrr are parsed
    calls.clear()
    top = [sources[0], Source("rules.play", "\n\n" + text)]
    result = cached(top, tmp_path)
    assert calls == [(0, top[1].text.index("alert low_mau")),
                     (top[1].text.index("alert low_mrr"), top[1].text.index("goal g"))]
    same(plain(top), result)
    # and the header of the cross-file step moved with them: a second goal g below reports the first's line
    twice = [sources[0], Source("rules.play", top[1].text + 'goal g "Again" {\n  duration: 30d\n  deploy: manual\n'
                                                           '  kpi: mau >= 5\n}\n')]
    result = cached(twice, tmp_path)
    assert result.diagnostics == plain(twice).diagnostics
    assert [d.code for d in result.diagnostics] == ["E200", "E201"]


def test_a_file_whose_pieces_do_not_all_parse_is_parsed_whole(tmp_path, monkeypatch):
    sources = [Source("catalog.play", CATALOG), Source("rules.play", RULES)]
    cached(sources, tmp_path)
    broken = [sources[0], Source("rules.play", RULES.replace("when: mrr < $100", "when: mrr <"))]
    calls = count_piece_parses(monkeypatch)
    result = cached(broken, tmp_path)
    assert (0, None) in calls  # gave up on the pieces: the whole file, as parse_module does
    assert [d.code for d in result.diagnostics] == [d.code for d in plain(broken).diagnostics]
    same(plain(broken), cached(broken, tmp_path))
    fixed = [sources[0], Source("rules.play", RULES.replace("mau < 10", "mau < 11"))]
    same(plain(fixed), cached(fixed, tmp_path))


def test_a_kept_piece_is_checked_again_against_another_catalog(tmp_path):
    sources = [Source("catalog.play", CATALOG), Source("rules.play", RULES)]
    cached(sources, tmp_path)
    fewer = [Source("catalog.play", "metric mau: count\n"), Source("rules.play", RULES.replace('"G"', '"G2"'))]
    result = cached(fewer, tmp_path)
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("E200", 8)]
    assert result.diagnostics == plain(fewer).diagnostics


def test_a_damaged_pieces_entry_is_ignored(tmp_path):
    sources = [Source("catalog.play", CATALOG), Source("rules.play", RULES)]
    cached(sources, tmp_path)
    pieces = tmp_path / "entries" / cache_mod._pieces_key(cache_mod._version_key(), "rules.play")
    assert pieces.exists()
    for damage in DAMAGE.values():
        pieces.write_bytes(damage(pieces.read_bytes()))
        edited = [sources[0], Source("rules.play", RULES.replace("mau < 10", "mrr < 10"))]
        same(plain(edited), cached(edited, tmp_path))
        for p in [p for p in entries(tmp_path) if p.name != pieces.name]:
            p.unlink()  # keep only the damaged pieces entry for the next round
        cached(sources, tmp_path)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_edit_inside_a_file_of_many_declarations_reports_what_an_uncached_check_does(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("cache")
    cut = data.draw(st.integers(1, len(SEED.splitlines())))
    lines = SEED.splitlines(keepends=True)
    sources = [Source("seed/a.play", "".join(lines[:cut])), Source("seed/b.play", "".join(lines[cut:]))]
    cached(sources, folder)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, 1))
        lines = sources[i].text.splitlines(keepends=True) or ["\n"]
        op = data.draw(st.sampled_from(["retitle", "delete line", "duplicate line", "rename", "retype", "move"]))
        j = data.draw(st.integers(0, len(lines) - 1))
        if op == "retitle":  # the same lines, one declaration's text changed
            lines[j] = re.sub(r'"([^"\n]*)"', lambda m: f'"{m.group(1)}!"', lines[j], count=1)
        elif op == "delete line":
            del lines[j]
        elif op == "duplicate line":
            lines.insert(j, lines[j])
        elif op == "rename":
            lines[j] = re.sub(r"\b(mau|mrr|seat_utilization|segment|kickoff|usage_drop)\b", data.draw(
                st.sampled_from(["mau", "mrr", "health_score", "segment", "kickoff", "usage_drop", "renamed"])),
                lines[j], count=1)
        elif op == "retype":
            lines[j] = re.sub(r"\b(count|money|percent|number|text|date)\b", data.draw(st.sampled_from(
                ["count", "money", "percent", "number", "text", "date"])), lines[j], count=1)
        else:  # a declaration's lines moved down by a blank line
            lines.insert(j, "\n")
        sources[i] = Source(sources[i].path, "".join(lines))
        same(plain(sources), cached(sources, folder))
