"""What two versions of some rules do on the same snapshot history: counts per rule, per week, per group.

The snapshots are prepared once (with the head's catalog); each side's
sub-plan holds only the rules to measure and is evaluated over those
buckets by the partitioned engine; the events stream by once and are tallied.
Counts are over the ``date_from``/``date_to`` range, like ``plays run``'s
``--from``/``--to`` (earlier snapshots still feed windows and lifecycles).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import chain

from plays.compiler.plan import Catalog, Plan
from plays.runtime.partitions import evaluate_buckets, read_spill

COUNTS = ("alerts_fired", "accounts", "tasks", "goals_deployed", "goals_achieved", "goals_missed")
_COUNTED = {"alert_fired": "alerts_fired", "task_created": "tasks", "goal_deployed": "goals_deployed",
            "goal_achieved": "goals_achieved", "goal_missed": "goals_missed"}


class CatalogMismatch(Exception):
    """The base's catalog names a column the head's lacks or types differently: one snapshot set cannot feed both."""


def catalog_mismatch(base: Catalog, head: Catalog) -> str | None:
    """Why the snapshots prepared for the head cannot feed the base (None when they can)."""
    for kind, columns, find in (("attribute", base.attributes, head.attribute), ("metric", base.metrics, head.metric)):
        for c in columns:
            h = find(c.name)
            if h is None:
                return f"{kind} `{c.name}` is in the base's catalog but not in the head's"
            if h.type != c.type:
                return f"{kind} `{c.name}` is {c.type} in the base's catalog but {h.type} in the head's"
    return None


def sub_plan(plan: Plan, names: set[tuple[str, str]]) -> Plan:
    """The plan with only the rules named as (kind, name), and its whole catalog."""
    return replace(plan, alerts=tuple(r for r in plan.alerts if ("alert", r.name) in names),
                   goals=tuple(r for r in plan.goals if ("goal", r.name) in names),
                   external_goals=tuple(r for r in plan.external_goals if ("external_goal", r.name) in names))


@dataclass
class Tally:
    """One rule's counts on one side, with the detail the report needs."""

    counts: Counter = field(default_factory=Counter)
    accounts: dict[str, date] = field(default_factory=dict)  # account -> first date alerted (or deployed)
    weeks: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    owners: Counter = field(default_factory=Counter)  # tasks per owner
    groups: dict[tuple, Counter] = field(default_factory=lambda: defaultdict(Counter))  # (attribute, value) -> counts

    def as_counts(self) -> dict[str, int]:
        out = {k: self.counts[k] for k in COUNTS}
        out["accounts"] = len(self.accounts)
        return out


def counted(e) -> tuple:
    """What a tally needs of an event (the record payload the workers render): kind, rule, account, owner."""
    return (e.event, e.rule, e.account, e.owner)


def tally(records: Iterable[tuple], date_from: date | None, date_to: date | None,
          group_of=None) -> dict[str, Tally]:
    """Rule name -> its tally, from records ``(sort_key, playbook, kind, rule, account, owner)`` in any order."""
    out: dict[str, Tally] = defaultdict(Tally)
    for key, _playbook, kind, rule, account, owner in records:
        day = key[0]
        if (date_from is not None and day < date_from) or (date_to is not None and day > date_to):
            continue
        what = _COUNTED.get(kind)
        if what is None:
            continue
        t = out[rule]
        t.counts[what] += 1
        week = "%04d-W%02d" % day.isocalendar()[:2]
        t.weeks[week][what] += 1
        if kind in ("alert_fired", "goal_deployed"):
            first = t.accounts.get(account)
            if first is None or day < first:
                t.accounts[account] = day
        if kind == "task_created":
            t.owners[owner or ""] += 1
        if group_of is not None:
            for g in group_of(account):
                t.groups[g][what] += 1
    return out


def both_sides(base: Plan, base_names: set[tuple[str, str]], head: Plan, head_names: set[tuple[str, str]],
               prepared, workdir: str, *, jobs: int | None, date_from: date | None, date_to: date | None,
               group_of=None) -> tuple[dict[str, Tally], dict[str, Tally]]:
    """Evaluate the named rules of both sides in one pass over the prepared buckets; each side's tallies.

    The rules of both versions go into one plan (with the head's catalog,
    which ``catalog_mismatch`` has checked feeds the base's rules too), under
    names of their own (``b0``, ``h0``, ...: two versions of a rule cannot
    collide, and no spec text reaches the engine as a name), so that each
    bucket is read once and the windows both versions share are computed
    once. Every rule of the language is evaluated on its own, so this gives
    each rule the events its own plan gives it, under another name.
    """
    rename: dict[str, tuple[int, str]] = {}
    alerts, goals, external = [], [], []
    for side, (plan, names) in enumerate(((base, base_names), (head, head_names))):
        for r in sub_plan(plan, names).rules:
            alias = f"{'bh'[side]}{len(rename)}"
            rename[alias] = (side, r.name)
            {"alert": alerts, "goal": goals, "external_goal": external}[r.kind].append(replace(r, name=alias))
    sides: tuple[dict[str, Tally], dict[str, Tally]] = ({}, {})
    if not rename:
        return sides
    plan = replace(head, alerts=tuple(alerts), goals=tuple(goals), external_goals=tuple(external))
    # Counting needs no order: each bucket's records are read as they are, with no k-way merge.
    results = evaluate_buckets(plan, prepared.partitions, workdir, jobs=jobs, render=counted)
    records = chain.from_iterable(read_spill(r.path) for r in results)
    for alias, t in tally(records, date_from, date_to, group_of).items():
        side, name = rename[alias]
        sides[side][name] = t
    return sides


def account_attribute(prepared, name: str) -> dict[str, str]:
    """Account -> the attribute's value on its latest snapshot (empty text when empty)."""
    import duckdb

    files = [f for bucket in prepared.partitions for f in bucket]
    if not files:
        return {}
    quoted = '"' + name.replace('"', '""') + '"'
    rows = duckdb.connect().execute(
        f"SELECT account, {quoted} FROM read_parquet(?, hive_partitioning = false) "
        "QUALIFY row_number() OVER (PARTITION BY account ORDER BY date DESC) = 1", [files]).fetchall()
    return {a: "" if v is None else str(v) for a, v in rows}


def date_range(prepared) -> tuple[date | None, date | None]:
    """The first and last snapshot dates of the prepared input."""
    import duckdb

    files = [f for bucket in prepared.partitions for f in bucket]
    if not files:
        return None, None
    return duckdb.connect().execute(
        "SELECT min(date), max(date) FROM read_parquet(?, hive_partitioning = false)", [files]).fetchone()
