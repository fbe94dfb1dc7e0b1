"""Property: whatever the input, checking and compiling never raise.

Hypothesis mutates a valid spec set (every example of LANGUAGE.md) by
deleting, inserting, duplicating and swapping pieces of text; the compiler must
answer with diagnostics, never with an exception, and never lower a plan when
it reported an error.
"""

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plays.compiler.driver import compile_sources
from plays.sources import Source

SEED = (Path(__file__).parent / "data" / "language_examples.play").read_text("utf-8")
LINES = SEED.splitlines(keepends=True)

FRAGMENTS = [
    "{", "}", "(", ")", ",", ":", '"', "#", "\n", " ", "-", "+", "*", "/", "%", "$", ".",
    "==", "!=", "<=", ">", "and", "or", "not", "in", "is", "empty", "true", "7d", "2w", "20%",
    "$1200", "2026-02-30", "2026-03-01", "0", "1e9", "account", "alert", "goal", "external",
    "metric", "playbook", "task", "where", "when", "for", "cooldown", "deploy", "on", "manual",
    "kpi", "up", "down", "after", "every", "until", "due", "type", "owner", "severity", "start",
    "measure", "target", "mau", "mrr", "segment", "enterprise", "pct_change(mau, 7d)",
    "value_at(", "{{ account.name }}", "{{ nope }}", "{% if %}", "é", "\t", "\x00", "\ufeff",
    "enum(a, a)", "kickoff", "welcome",
]


@st.composite
def mutated(draw):
    text = SEED
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "insert", "duplicate_line", "swap_lines", "truncate"]))
        n = len(text)
        if op == "delete" and n:
            a = draw(st.integers(0, n - 1))
            b = draw(st.integers(a, min(n, a + 40)))
            text = text[:a] + text[b:]
        elif op == "insert":
            a = draw(st.integers(0, n))
            text = text[:a] + draw(st.sampled_from(FRAGMENTS)) + text[a:]
        elif op == "duplicate_line":
            lines = text.splitlines(keepends=True) or [""]
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            text = "".join(lines)
        elif op == "swap_lines":
            lines = text.splitlines(keepends=True)
            if len(lines) > 1:
                i = draw(st.integers(0, len(lines) - 2))
                j = draw(st.integers(i + 1, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
                text = "".join(lines)
        else:
            text = text[: draw(st.integers(0, n))]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_compiling_a_mutated_spec_never_raises(text):
    result = compile_sources([Source("mutant.play", text)])
    if result.ok:
        assert result.plan is not None
    else:
        assert result.plan is None
        assert all(d.span is not None and d.span.path == "mutant.play" for d in result.errors)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_raises(text):
    result = compile_sources([Source("noise.play", text)])
    assert result.ok == (result.plan is not None)


def test_the_seed_itself_is_clean():
    result = compile_sources([Source("seed.play", SEED)], lower=False)
    assert result.errors == []
