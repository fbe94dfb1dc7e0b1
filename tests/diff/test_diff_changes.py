"""The semantic change list, hand-computed: every kind of change, formatting-only edits, renames."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plays.compiler.driver import compile_text
from plays.diff.changes import compare

CATALOG = """
account { name: text  tier: enum(standard, premium)  renewal_date: date }
metric mau: count
metric mrr: money
"""

BASE = CATALOG + """
alert usage_drop "MAU fell" {
  severity: high
  when: pct_change(mau, 7d) <= -20%
  for: 3d
  cooldown: 30d
  playbook premium where tier == premium {
    task call "Call {{ account.name }}" { type: call  owner: csm  due: 2d }
  }
  playbook standard {
    task nudge "Nudge" { type: email  due: 1d }
  }
}
alert low_mrr "Low MRR" { when: mrr < $100  playbook { task t "T" { due: 1d } } }
alert gone "Gone" { when: mau == 0 }
alert steady "Steady" { when: mau > 1000 and mrr > $5 }
goal renewal "Renewal" {
  duration: 90d
  deploy: on renewal_date - 120d
  kpi: mrr up 10%
  playbook enterprise { task review "Review" { type: meeting  due: 7d } }
}
"""

HEAD = CATALOG + """
alert steady "Steady" {
  when: (mau>1000)   and mrr > $5
}
alert usage_drop "MAU fell" {
  severity: high
  when: pct_change(mau, 7d) <= -30%
  for: 3d
  cooldown: 14d
  playbook premium where tier == premium {
    task call "Call {{ account.name }}" { type: call  owner: manager  due: 2d }
  }
  playbook standard {
    task nudge "Nudge" { type: email  due: 1d }
  }
}
alert small_mrr "Low MRR" { when: mrr < $100  playbook { task t "T" { due: 1d } } }
alert fresh "Fresh" { when: mau > 5 }
goal renewal "Renewal" {
  duration: 90d
  deploy: on renewal_date - 120d
  kpi: mrr up 10%
  playbook enterprise {
    task review "Review" { type: meeting  due: 7d }
    task call "Call" { type: call  after: review  due: 3d }
  }
}
"""


def _changes(base: str, head: str):
    return [(c.kind, c.name, c.change, list(c.changes)) for c in compare(compile_text(base), compile_text(head))]


def test_every_kind_of_change_in_the_languages_words():
    assert _changes(BASE, HEAD) == [  # in the plan's order (by name), the removed ones last
        ("alert", "fresh", "added", []),
        ("alert", "small_mrr", "renamed", ["renamed from low_mrr"]),
        ("alert", "steady", "unchanged", []),
        ("alert", "usage_drop", "changed", [
            "when: pct_change(mau, 7d) <= -20% → <= -30%",
            "cooldown: 30d → 14d",
            "playbook premium: task call: owner csm → manager",
        ]),
        ("alert", "gone", "removed", []),
        ("goal", "renewal", "changed", ["playbook enterprise: task call added"]),
    ]


def test_a_renamed_rule_names_its_old_name():
    (renamed,) = [c for c in compare(compile_text(BASE), compile_text(HEAD)) if c.change == "renamed"]
    assert (renamed.renamed_from, renamed.base.name, renamed.head.name) == ("low_mrr", "low_mrr", "small_mrr")


def test_formatting_reordering_and_comments_are_no_change():
    moved = CATALOG + """
# the same rules, reformatted and in another order
alert steady "Steady" { when: (mau > 1000) and (mrr > $5) }
alert gone "Gone" {
    when:    mau    ==    0
}
goal renewal "Renewal" {
  kpi: mrr up 10%
  deploy: on renewal_date - 120d
  duration: 90d
  playbook enterprise { task review "Review" { due: 7d  type: meeting } }
}
alert low_mrr "Low MRR" { playbook { task t "T" { due: 1d } }  when: mrr<$100 }
alert usage_drop "MAU fell" {
  cooldown: 30d
  for: 3d
  when: pct_change( mau , 7d ) <= -20%
  severity: high
  playbook premium where (tier == premium) {
    task call "Call {{ account.name }}" { owner: csm  type: call  due: 2d }
  }
  playbook standard { task nudge "Nudge" { type: email  due: 1d } }
}
"""
    assert {c[2] for c in _changes(BASE, moved)} == {"unchanged"}


def test_a_change_of_meaning_that_keeps_the_text_close_is_a_change():
    a = CATALOG + 'alert x "X" { when: mau > 1 and mrr > $5 or mau < 0 }'
    b = CATALOG + 'alert x "X" { when: mau > 1 and (mrr > $5 or mau < 0) }'
    [(_, _, change, diffs)] = _changes(a, b)
    assert change == "changed" and diffs == ["when: mau > 1 and mrr > $5 or mau < 0 → and (mrr > $5 or mau < 0)"]


def test_playbook_order_where_and_removed_tasks_are_said():
    a = CATALOG + """alert x "X" { when: mau > 1
  playbook p where tier == premium { task a "A" { due: 1d }  task b "B" { due: 2d } }
  playbook q where mau > 3 { task c "C" { due: 1d } } }"""
    b = CATALOG + """alert x "X" { when: mau > 1
  playbook q where mau > 3 { task c "C" { due: 1d } }
  playbook p where tier == standard { task a "A again" { due: 1d } } }"""
    [(_, _, _, diffs)] = _changes(a, b)
    assert diffs == [
        "playbook p: where: tier == premium → == standard",
        'playbook p: task a: title "A" → "A again"',
        "playbook p: task b removed",
        "playbook order: p, q → q, p",
    ]


def test_goal_fields_are_said_in_the_languages_words():
    a = CATALOG + 'goal g "G" { duration: 30d  deploy: when mau > 5  kpi: mrr up 10% }'
    b = CATALOG + 'goal g "Grow" { duration: 60d  deploy: on renewal_date - 10d  kpi: mau >= 100 }'
    [(_, _, _, diffs)] = _changes(a, b)
    assert diffs == ['title: "G" → "Grow"', "duration: 30d → 60d", "deploy: when mau > 5 → on renewal_date - 10d",
                     "kpi: mrr up 10% → mau >= 100"]


# --- property: a spec set compared with itself has no change ----------------------------------------

_CONDS = st.sampled_from(["mau > 10", "pct_change(mau, 7d) <= -20%", "mrr < $100 and tier == premium",
                          "sum(mau, 14d) >= 3 or not (mau > 2)", "tier in (standard, premium)", "mrr is empty"])


@st.composite
def spec_sets(draw):
    n = draw(st.integers(1, 5))
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]), min_size=n, max_size=n, unique=True))
    rules = []
    for name in names:
        cond = draw(_CONDS)
        cooldown = draw(st.sampled_from(["", "  cooldown: 7d", "  cooldown: 30d"]))
        rules.append(f'alert {name} "{name.upper()}" {{\n  when: {cond}\n{cooldown}\n'
                     f'  playbook {{ task t "Do {{{{ account.name }}}}" {{ due: {draw(st.integers(1, 9))}d }} }}\n}}\n')
    if draw(st.booleans()):
        rules.append('goal grow "Grow" { duration: 30d  deploy: on renewal_date - 7d  kpi: mrr up 10% }\n')
    return CATALOG + "".join(rules), list(reversed(rules))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec_sets())
def test_a_spec_set_compared_with_itself_or_reordered_has_no_change(spec):
    text, reordered = spec
    plan = compile_text(text)
    again = compile_text(CATALOG + "\n\n".join(r.replace("  ", "    ") for r in reordered), "other.play")
    assert {c.change for c in compare(plan, plan)} == {"unchanged"}
    assert {c.change for c in compare(plan, again)} == {"unchanged"}


def test_catalog_changes_are_listed():
    from plays.diff.changes import catalog_changes

    a = compile_text(CATALOG)
    b = compile_text("""
account { name: text  tier: enum(standard, premium, vip)  region: text }
metric mau: count "Monthly active users"
metric seats: number
""")
    assert catalog_changes(a, b) == [
        "attribute tier: enum(standard, premium) → enum(standard, premium, vip)",
        "attribute region: added (text)",
        "attribute renewal_date: removed",
        'metric mau: description "" → "Monthly active users"',
        "metric seats: added (number)",
        "metric mrr: removed",
    ]
    assert catalog_changes(a, compile_text(CATALOG.replace("  ", " "))) == []
