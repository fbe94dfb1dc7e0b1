"""A small store built through the real pipeline: spec -> events -> apply_run."""

from datetime import date, timedelta

import pytest

from plays.compiler.driver import compile_text

SPEC = """
account { name: text  tier: enum(standard, premium) }
metric m: number
alert low "m is low" { when: m < 5  playbook { task call "Call {{ account.name }}" { type: call  due: 1d } } }
goal g "Grow m" {
  duration: 10d
  deploy: when m >= 10
  kpi: m >= 20
  playbook a where tier == premium {
    task k "Kickoff" { due: 2d }
    task f "Follow-up" { after: k  due: 3d }
  }
  playbook b { task w "Welcome" { due: 1d } }
}
goal saver "Save" { duration: 20d  kpi: m up 50%  playbook { task d "Diagnose {{ account.name }}" { due: 3d } task e "Exec" { after: d  due: 4d } } }
external goal ext "External" {
  account: "p1"
  measure: "Minutes" target <= 30
  start: 2026-01-02
  due: 2026-01-09
  playbook { task base "Baseline" { due: 1d } }
}
"""
D0 = date(2026, 1, 1)
SERIES = {
    # premium: deploys day 0 (playbook a), KPI met day 2, achieved at the end (day 10)
    "p1": ("premium", [10, 12, 20, 20, 20, 20, 20, 20, 20, 20, 25]),
    # standard: deploys day 0 (playbook b), never reaches 20: missed at day 10
    "s1": ("standard", [10, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12]),
    # alert low: fires day 0, resolves day 2, fires again day 3 (still open)
    "a1": ("standard", [3, 3, 6, 3, 3, 3, 3, 3, 3, 3, 3]),
}


def day(n: int) -> str:
    return (D0 + timedelta(days=n)).isoformat()


@pytest.fixture
def plan():
    return compile_text(SPEC)


def rows():
    out = []
    for acc, (tier, values) in SERIES.items():
        for i, v in enumerate(values):
            out.append({"account": acc, "date": D0 + timedelta(days=i), "name": acc.upper(), "tier": tier, "m": float(v)})
    return out


def apply(store_path, plan, data=None):
    """One `plays run --state` worth of work, without the CLI."""
    from plays.state import store
    from plays.spectest.runner import evaluate_rows

    con = store.connect(str(store_path))
    data = data if data is not None else rows()
    events = evaluate_rows(plan, data, store.manual_deploys(con))
    latest = {}
    for r in sorted(data, key=lambda r: r["date"]):
        latest[r["account"]] = (r["date"].isoformat(), {k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()})
    last = max(r["date"] for r in data)
    changed = store.apply_run(con, plan, events, latest, last, str(store_path))
    return con, changed


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "plays.db"
