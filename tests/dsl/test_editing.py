"""The editor's incremental parse gives exactly the whole-file parse, and re-parses only what changed."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from plays.dsl import parse_module
from plays.dsl.editing import ModuleCache, keywords_at, terminal_words

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted([*ROOT.glob("specs/*.play"), *ROOT.glob("tests/golden/*/input.play")])


def same(cache: ModuleCache, text: str, path: str = "a.play") -> None:
    """The cached parse equals ``parse_module``: declarations with their spans (repr), and diagnostics."""
    module, diags = cache.parse_module(text, path)
    want_module, want_diags = parse_module(text, path)
    assert repr(module) == repr(want_module)
    assert diags == want_diags


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_file_parses_as_the_whole_file_parse(path):
    same(ModuleCache(), path.read_text("utf-8"))


def _edits(text: str, rng: random.Random, n: int):
    """``n`` random edits of the kinds a keystroke makes: a character typed or deleted, a line split or joined."""
    pieces = ["x", "}", "{", "\n", " ", ":", '"', "alert b {", "when: ", "(", ")", ">", "7d", "#", "external", "goal"]
    for _ in range(n):
        at = rng.randrange(len(text) + 1)
        if rng.random() < 0.5 and text:
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + rng.choice(pieces) + text[at:]
        yield text


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_session_of_random_edits_always_parses_as_the_whole_file_parse(path):
    rng = random.Random(path.name)
    cache = ModuleCache()
    text = path.read_text("utf-8")
    same(cache, text)
    for edited in _edits(text, rng, 60):
        same(cache, edited)


def test_only_the_changed_declaration_is_parsed_again():
    cache = ModuleCache()
    text = "metric mau: count\n\nalert a {\n  when: mau > 1\n}\n\nalert b {\n  when: mau > 2\n}\n"
    cache.parse_module(text, "a.play")
    assert cache.parsed_pieces == 3
    cache.parse_module(text.replace("mau > 2", "mau > 3"), "a.play")
    assert cache.parsed_pieces == 1
    module, _ = cache.parse_module("\n\n" + text.replace("mau > 2", "mau > 3"), "a.play")
    assert cache.parsed_pieces == 1  # the new leading blank lines; the three declarations only moved
    assert [d.span.line for d in module.declarations] == [3, 5, 9]


def test_a_declaration_cut_by_a_line_that_looks_like_a_new_one_is_parsed_whole():
    # `external` ends a line and `goal x {` starts the next: one declaration to the whole-file parse,
    # two pieces to the error recovery; the cache must not report the first piece's error.
    text = (
        "account {\n  name: text\n}\nexternal\ngoal x {\n  account: \"acme\"\n  start: 2026-01-01\n"
        "  due: 2026-02-01\n}\n"
    )
    module, diags = ModuleCache().parse_module(text, "a.play")
    assert diags == []
    assert [type(d).__name__ for d in module.declarations] == ["AccountCatalog", "Goal"]
    same(ModuleCache(), text)


def test_an_unclosed_block_before_a_new_declaration_gives_the_same_error():
    text = "metric mau: count\nalert a {\n  when: mau > 1\n\nalert b {\n  when: mau > 2\n}\n"
    cache = ModuleCache()
    same(cache, text)
    module, diags = cache.parse_module(text, "a.play")
    assert [d.code for d in diags] == ["E101"]
    assert [d.name for d in module.declarations] == ["mau", "b"]


def test_keywords_at_a_property_key_of_an_alert():
    text = "alert x {\n  severity: high\n  "
    k = keywords_at(text, len(text))
    assert {"SEVERITY", "WHEN", "PLAYBOOK", "RBRACE"} <= k.accepts
    assert k.before == ("alert", "x", "{", "severity", ":", "high")
    assert terminal_words("SEVERITY") == ("severity",)
    assert terminal_words("DIRECTION") == ("up", "down")
    assert terminal_words("LBRACE") == ()


def test_keywords_at_after_a_syntax_error_is_none():
    assert keywords_at("alert x { when: > > ", 20) is None


def test_a_moved_declarations_spans_are_spans_in_every_way():
    from plays.diagnostics import Span

    cache = ModuleCache()
    cache.parse_module("metric mau: count\n", "a.play")
    (metric,), _ = cache.parse_module("\n\nmetric mau: count\n", "a.play")[0].declarations, None
    plain = Span("a.play", 3, 1, 3, 18)
    s = metric.span
    assert (s.line, s.end_line, s.col, s.end_col) == (3, 3, 1, 18)
    assert s == plain and plain == s and hash(s) == hash(plain) and not (s != plain)
    assert not (s < plain) and s <= plain and plain >= s and Span("a.play", 1, 1, 1, 2) < s
    assert sorted([Span("a.play", 9, 1, 9, 2), s, Span("a.play", 1, 1, 1, 2)])[1] is s
    assert repr(s) == repr(plain) and str(s) == "a.play:3:1" and s.to_json() == plain.to_json()
    assert {s: 1}[plain] == 1
    import dataclasses

    assert dataclasses.replace(s, col=2) == Span("a.play", 3, 2, 3, 18)


def test_checking_a_spec_set_through_the_cache_gives_plays_checks_diagnostics():
    from plays.compiler.driver import compile_sources
    from plays.sources import Source

    rng = random.Random(7)
    texts = {p.name: p.read_text("utf-8") for p in sorted(ROOT.glob("specs/*.play"))}
    cache = ModuleCache()
    for name in [*texts] * 2:
        for edited in _edits(texts[name], rng, 6):
            texts[name] = edited
            sources = [Source(n, t) for n, t in texts.items()]
            got = compile_sources(sources, lower=False, parse=cache.parse_module).diagnostics
            assert got == compile_sources(sources, lower=False).diagnostics


# --- property: any session of edits -------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SEED = (ROOT / "tests" / "data" / "language_examples.play").read_text("utf-8")
FRAGMENTS = ["{", "}", "(", ")", ",", ":", '"', "#", "\n", "\n\n", " ", "-", ">", "==", "and", "7d", "20%",
             "alert a {", "goal g {", "external", "external goal", "metric m: count\n", "account {", "task t \"T\" {",
             "playbook {", "after: ", "when: mau >", "é", "😋", "\t", "\r\n", "9999999999999999", "2026-02-30"]


@st.composite
def sessions(draw):
    """A spec's text and the texts a user's keystrokes make of it, one after another."""
    text = SEED
    texts = []
    for _ in range(draw(st.integers(1, 12))):
        n = len(text)
        a = draw(st.integers(0, n))
        if draw(st.booleans()) and n:
            text = text[:a] + text[min(n, a + draw(st.integers(1, 30))):]
        else:
            text = text[:a] + draw(st.sampled_from(FRAGMENTS)) + text[a:]
        texts.append(text)
    return texts


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sessions())
def test_any_session_of_edits_parses_as_the_whole_file_parse(texts):
    cache = ModuleCache()
    same(cache, SEED)
    for text in texts:
        same(cache, text)
