"""W200's notion of "the same condition", checked both ways on generated conditions.

Each condition is drawn once as a tree and written twice, each time choosing
independently how to spell it: the order of `and`/`or`, `==`/`!=`, `+`/`*`
operands and of `in (...)` items, the side a comparison is written from,
extra parentheses, `account.` before the attribute, `0.5` or `50%`. Then:

- completeness: the compiler reports the second alert as W200 (the same
  trigger as the first);
- soundness: the runtime gives both alerts the same events on generated
  snapshots, so the respellings W200 ignores never change what an alert does.

A second test writes the second copy "wildly" too (operands of `-` swapped,
comparisons turned around without mirroring the operator): the result is
usually another condition, and whenever W200 still calls it the same, the
events must agree.
"""

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plays.compiler.driver import compile_sources
from plays.sources import Source
from plays.spectest.runner import evaluate_rows

pytestmark = pytest.mark.slow

CATALOG = "account { tier: enum(standard, premium) }\nmetric m: number\nmetric k: number\n"
START = date(2026, 1, 1)
MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}

# A tree: ("leaf", text) | ("half",) (the number 0.5) | ("tier", value) | ("in", operand, items)
#       | ("cmp", op, left, right) | ("arith", op, left, right) | ("logic", op, left, right) | ("not", tree)
operands = st.one_of(
    st.sampled_from(["m", "k", "previous(m)", "sum(k, 3d)", "3", "-2"]).map(lambda t: ("leaf", t)),
    st.just(("half",)),
)
arith = st.one_of(operands, st.tuples(st.just("arith"), st.sampled_from(["+", "*", "-"]), operands, operands))
comparisons = st.one_of(
    st.tuples(st.just("cmp"), st.sampled_from(list(MIRROR)), arith, arith),
    st.sampled_from(["standard", "premium"]).map(lambda v: ("tier", v)),
    st.tuples(st.just("in"), operands, st.lists(st.sampled_from(["1", "3", "5"]), min_size=1, max_size=3, unique=True)),
)
trees = st.recursive(
    comparisons,
    lambda inner: st.one_of(st.tuples(st.just("logic"), st.sampled_from(["and", "or"]), inner, inner),
                            st.tuples(st.just("not"), inner)),
    max_leaves=5,
)


def spell(tree, draw, wild=False) -> str:
    """One way to write ``tree``; every choice is drawn, so two spellings differ anywhere.

    ``wild``: also swap operands where that changes the meaning (`-`, a comparison without mirroring).
    """
    kind = tree[0]
    if kind == "leaf":
        text = tree[1]
    elif kind == "half":
        text = draw(st.sampled_from(["0.5", "50%"]))
    elif kind == "tier":
        text = f"{draw(st.sampled_from(['tier', 'account.tier']))} == {tree[1]}"
        if draw(st.booleans()):
            text = f"{tree[1]} == {draw(st.sampled_from(['tier', 'account.tier']))}"
    elif kind == "in":
        items = draw(st.permutations(tree[2]))
        text = f"{spell(tree[1], draw, wild)} in ({', '.join(items)})"
    elif kind == "not":
        text = f"not ({spell(tree[1], draw, wild)})"
    else:
        _, op, left, right = tree
        swap = (wild and op == "-") or (draw(st.booleans()) and (wild or kind == "logic" or op in MIRROR or op in ("+", "*")))
        if swap:
            left, right = right, left
            if not (wild and draw(st.booleans())):
                op = MIRROR.get(op, op)
        text = f"{spell(left, draw, wild)} {op} {spell(right, draw, wild)}"
        if kind != "cmp" or draw(st.booleans()):
            text = f"({text})"
    return f"({text})" if draw(st.integers(0, 4)) == 0 else text


@st.composite
def respelled(draw):
    tree = draw(trees)
    return spell(tree, draw), spell(tree, draw)


@st.composite
def perturbed(draw):
    tree = draw(trees)
    return spell(tree, draw), spell(tree, draw, wild=True)


@st.composite
def histories(draw):
    rows = []
    for account in ("a", "b"):
        offsets = sorted(draw(st.sets(st.integers(0, 20), min_size=1, max_size=10)))
        tier = draw(st.sampled_from(["standard", "premium", None]))
        for off in offsets:
            rows.append({
                "account": account, "date": START + timedelta(days=off), "tier": tier,
                "m": draw(st.one_of(st.none(), st.integers(-1, 6).map(float))),
                "k": draw(st.one_of(st.none(), st.sampled_from([0.0, 0.5, 1.0, 3.0]))),
            })
    return rows


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def compiled(first, second):
    spec = (f'alert x {{ when: {first}  playbook {{ task t "T" {{ }} }} }}\n'
            f'alert y {{ when: {second}  playbook {{ task t "T" {{ }} }} }}\n')
    result = compile_sources([Source("c.play", CATALOG), Source("s.play", spec)])
    assert result.ok, (spec, result.diagnostics)
    return spec, result, [(d.code, d.span.line) for d in result.diagnostics if d.code == "W200"]


def same_events(result, rows) -> bool:
    events = [(e["event"], e["date"], e["account"], e.get("alert")) for e in evaluate_rows(result.plan, rows)
              if e["event"] in ("alert_fired", "alert_resolved")]
    x = sorted((ev, d, acc) for ev, d, acc, a in events if a == "x")
    y = sorted((ev, d, acc) for ev, d, acc, a in events if a == "y")
    return x == y


@SETTINGS
@given(pair=respelled(), rows=histories())
def test_a_respelled_condition_is_the_same_trigger_and_behaves_the_same(pair, rows):
    spec, result, found = compiled(*pair)
    assert found == [("W200", 2)], spec
    assert same_events(result, rows), spec


@SETTINGS
@given(pair=perturbed(), rows=histories())
def test_what_W200_calls_the_same_behaves_the_same(pair, rows):
    spec, result, found = compiled(*pair)
    if found:
        assert same_events(result, rows), spec
