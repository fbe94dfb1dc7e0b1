"""Property: whatever the input, checking and compiling never raise.

Hypothesis mutates a valid spec set (every example of LANGUAGE.md) by
deleting, inserting, duplicating and swapping pieces of text; the compiler must
answer with diagnostics, never with an exception, and never lower a plan when
it reported an error.
"""

from pathlib import Path

import pytest
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


# --- issue 8's classes: deep/long expressions, literals out of range, date functions -------------

CATALOG = (Path(__file__).parent.parent / "specs" / "catalog.play").read_text("utf-8")

OPERANDS = ["mau", "mrr", "nps", "seat_utilization", "renewal_date", "go_live_date", "segment", "enterprise",
            "account.id", "7d", "20%", "$5", "1", "2026-01-10"]


@st.composite
def deep_expression(draw):
    """A condition nested or chained up to well past the bound (100), in every way it can nest."""
    n = draw(st.integers(1, 220))
    kind = draw(st.sampled_from(["not", "neg", "paren", "and", "or", "arith", "call", "in", "mixed"]))
    leaf = draw(st.sampled_from(OPERANDS))
    if kind == "not":
        return "not " * n + "mau > 1"
    if kind == "neg":
        return "-" * n + f"{leaf} > 1"
    if kind == "paren":
        return "(" * n + "mau > 1" + ")" * n
    if kind in ("and", "or"):
        return f" {kind} ".join(f"mau > {i}" for i in range(n))
    if kind == "arith":
        return " + ".join([leaf] * n) + " > 1"
    if kind == "call":
        return "sum(" * n + "mau" + ", 7d)" * n + " > 1"
    if kind == "in":
        return f"{leaf} in (" + ", ".join(["-" * n + leaf] * 3) + ")"
    ops = draw(st.lists(st.sampled_from(["not ", "-", "(", "("]), min_size=n, max_size=n))
    closing = ")" * sum(op == "(" for op in ops)
    return "".join(ops) + "mau > 1" + closing


@st.composite
def literal_out_of_range(draw):
    kind = draw(st.sampled_from(["number", "decimal", "percent", "money", "duration", "weeks", "date"]))
    digits = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=1, max_size=draw(st.sampled_from([3, 20, 6000])))))
    year = draw(st.integers(0, 9999))
    return {
        "number": digits, "decimal": f"1.{digits}", "percent": f"{digits}%", "money": f"${digits}",
        "duration": f"{digits}d", "weeks": f"{digits}w", "date": f"{year:04d}-{draw(st.integers(1, 12)):02d}-01",
    }[kind]


@st.composite
def date_function_call(draw):
    func = draw(st.sampled_from(["days_since", "days_until"]))
    arg = draw(st.sampled_from([
        "renewal_date", "account.renewal_date", "(renewal_date)", "renewal_date - 2w", "renewal_date + 3d",
        "2026-01-10", "mau", "segment", "name", "nope", "renewal_date - go_live_date", "7d", "renewal_date, 7d", "",
    ]))
    return f"{func}({arg})"


@st.composite
def stressed_spec(draw):
    """The catalog plus one alert whose condition, window and durations come from the classes above."""
    cond = draw(st.one_of(
        deep_expression(),
        literal_out_of_range().map(lambda lit: f"mau > {lit} or renewal_date > {lit}"),
        date_function_call().map(lambda call: f"{call} < 30"),
    ))
    window = draw(st.one_of(st.just("7d"), literal_out_of_range()))
    due = draw(st.one_of(st.just("2d"), literal_out_of_range()))
    return CATALOG + (
        f"alert stress {{\n  when: {cond} and sum(mau, {window}) > 1\n  for: {window}\n"
        f"  playbook {{ task t \"Call\" {{ due: {due} }} }}\n}}\n"
        f"goal g {{ duration: {window}  deploy: on renewal_date - {due}\n"
        f"  playbook {{ task a \"A\" {{ due: {due} }} task b \"B\" {{ after: a  due: {due} }} }} }}\n"
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(stressed_spec())
def test_check_and_compile_agree_on_deep_long_and_out_of_range_input(text):
    """No exception; what `check` accepts, `compile` lowers into a plan that validates and serialises."""
    from plays.compiler.plan import dumps, validate

    checked = compile_sources([Source("stress.play", text)], lower=False)
    compiled = compile_sources([Source("stress.play", text)])
    assert [d.code for d in checked.diagnostics] == [d.code for d in compiled.diagnostics]
    if checked.ok:
        validate(compiled.plan)
        assert dumps(compiled.plan)
    else:
        assert compiled.plan is None
        assert all(d.span is not None and d.span.path == "stress.play" for d in compiled.errors)


EDGE_CONDITIONS = [
    "not " * 99 + "mau > 1",  # exactly the bound, in each way of nesting
    "-" * 99 + "mrr > 1",
    "(" * 99 + "mau > 1" + ")" * 99,
    " or ".join(f"mau == {i}" for i in range(100)),
    " and ".join(f"mau > {i}" for i in range(100)),
    "sum(" * 20 + "mau" + ", 7d)" * 20 + " > 1",  # not a valid nesting of windows: refused, not crashed
    "days_since(go_live_date) > 30 and days_until(account.renewal_date) < 36500",
    "days_until((renewal_date)) < 30",
    "mrr > $999999999999999.999999999999999 or nps < 0.000000000000001",
    "renewal_date > 1900-01-01 and renewal_date < 2999-12-31 and sum(mau, 36500d) > 0",
]


@pytest.mark.parametrize("cond", EDGE_CONDITIONS)
def test_every_condition_that_checks_also_runs(cond, run_cli, tmp_path):
    """`check` accepting a condition means `compile`, `run` and `explain` evaluate it (exit 0)."""
    (tmp_path / "catalog.play").write_text(CATALOG)
    (tmp_path / "edge.play").write_text(
        f"alert edge {{\n  when: {cond}\n  playbook {{ task t \"Call {{{{ account.name }}}}\" {{ due: 36500d }} }}\n}}\n"
    )
    snapshots = str(Path(__file__).parent.parent / "examples" / "snapshots.csv")
    code, out, err = run_cli("check", "catalog.play", "edge.play")
    if code != 0:
        assert code == 1 and "error[" in out and err == ""
        return
    assert run_cli("compile", "catalog.play", "edge.play", "-o", "plan.json")[0] == 0
    code, out, err = run_cli("run", "--plan", "plan.json", "--snapshots", snapshots, "--format", "json")
    assert (code, err) == (0, "")
    code, out, err = run_cli("explain", "edge", "catalog.play", "edge.play", "-s", snapshots, "-a", "acme",
                             "-d", "2026-01-05")
    assert code == 0 and "verdict" in out, err
