"""The diff's renderings: the markdown comment stays under GitHub's limit and says what it left out."""

from __future__ import annotations

from datetime import date

from plays.compiler.driver import compile_text
from plays.diff.changes import compare
from plays.diff.measure import Tally
from plays.diff.report import COMMENT_LIMIT, build, headline, markdown, text

CATALOG = "account { name: text }\nmetric mau: count\n"


def _plans(n: int):
    title = "A long title that says a great deal about what this alert is for " * 3
    base = CATALOG + "".join(f'alert rule_{i:04d} "{title}" {{ when: mau > {i} }}\n' for i in range(n))
    head = CATALOG + "".join(f'alert rule_{i:04d} "{title} (v2)" {{ when: mau > {i + 1}  cooldown: 7d }}\n'
                             for i in range(n))
    return compile_text(base), compile_text(head)


def _tallies(plan, fired: int):
    out = {}
    for r in plan.alerts:
        t = Tally()
        t.counts["alerts_fired"] = fired
        for k in range(fired):
            t.accounts[f"account_{r.name}_{k}"] = date(2026, 1, 1 + k)
            t.weeks["2026-W01"]["alerts_fired"] += 1
        out[r.name] = t
    return out


def test_markdown_of_a_large_change_stays_under_the_comment_limit_and_says_so():
    base, head = _plans(600)
    changes = compare(base, head)
    measured = {(c.kind, c.name) for c in changes}
    data = build(changes, _tallies(base, 3), _tallies(head, 5), measured, accounts=1000, first=date(2026, 1, 1),
                 last=date(2026, 3, 31))
    md = markdown(data)
    assert len(md) <= COMMENT_LIMIT
    assert "_Truncated: " in md and "run `plays diff` locally" in md
    assert md.count("<details>") == md.count("</details>") > 10  # whole sections only, never one cut in half
    assert md.startswith("<!-- plays diff -->\n### plays diff: 600 rules changed: alerts/week ")
    assert text(data).count("~ alert rule_") == 600  # text is not truncated


def test_a_small_change_is_not_truncated():
    base, head = _plans(3)
    changes = compare(base, head)
    data = build(changes, _tallies(base, 1), _tallies(head, 2), {(c.kind, c.name) for c in changes},
                 accounts=10, first=date(2026, 1, 1), last=date(2026, 1, 14))
    md = markdown(data)
    assert "Truncated" not in md and md.count("<details>") == 3
    # 3 rules x 1 alert over 2 weeks -> 1.5/week; 3 x 2 -> 3/week
    assert headline(data) == "3 rules changed: alerts/week 1.5 → 3, tasks/week 0 → 0"
    assert data["rules"][0]["accounts_started"] == [{"account": "account_rule_0000_1", "date": "2026-01-02"}]
    assert data["rules"][0]["accounts_stopped_count"] == 0


def test_verdicts_on_silent_and_noisy_rules():
    base, head = _plans(2)
    changes = compare(base, head)
    tallies = _tallies(head, 0)
    tallies["rule_0001"] = _tallies(head, 6)["rule_0001"]
    data = build(changes, {}, tallies, {(c.kind, c.name) for c in changes}, accounts=10, first=date(2026, 1, 1),
                 last=date(2026, 3, 31), noisy=50)
    assert data["rules"][0]["verdicts"] == ["never fires on 10 accounts over 90 days"]
    assert data["rules"][1]["verdicts"] == ["fires on more than 50% of accounts (6 of 10)"]
    short = build(changes, {}, tallies, {(c.kind, c.name) for c in changes}, accounts=10, first=date(2026, 1, 1),
                  last=date(2026, 1, 7), never_days=28)
    assert short["rules"][0]["verdicts"] == []  # a week is too short to call a rule silent


def test_names_from_specs_cannot_break_the_markdown():
    from plays.diff.report import _md

    assert _md("a|b<script>`x`") == "a\\|b&lt;script&gt;'x'"
