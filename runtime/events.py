"""Runtime events: their fields, their order, deterministic ids, JSON form."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

# LANGUAGE.md: events in order of date, then account, then this order, then name.
KINDS = (
    "alert_fired",
    "alert_resolved",
    "goal_deployed",
    "task_created",
    "goal_kpi_met",
    "goal_achieved",
    "goal_missed",
)
_RANK = {k: i for i, k in enumerate(KINDS)}
_FIELDS = (
    "event", "date", "account", "alert", "goal", "playbook", "severity", "instance", "id", "task",
    "title", "type", "owner", "due", "after", "start", "end", "values",
)


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened (or would happen) to one account on one date."""

    event: str
    date: date
    account: str
    alert: str | None = None
    goal: str | None = None
    playbook: str | None = None
    severity: str | None = None
    instance: str | None = None  # the alert firing's or goal instance's id
    id: str | None = None  # a task's id
    task: str | None = None
    title: str | None = None
    type: str | None = None
    owner: str | None = None
    due: date | None = None
    after: list[str] | None = None
    start: date | None = None
    end: date | None = None
    values: dict | None = field(default=None)

    @property
    def rule(self) -> str:
        return self.alert or self.goal or ""

    def sort_key(self) -> tuple:
        return (self.date, self.account, _RANK[self.event], self.rule, self.task or "", self.due or date.min, self.id or "")

    def to_json(self) -> dict:
        """The event as JSON-ready dict: fields that apply, in a fixed order, dates as ISO text."""
        out = {}
        for name in _FIELDS:
            v = getattr(self, name)
            if v is None:
                continue
            if isinstance(v, date):
                v = v.isoformat()
            elif name == "values":
                v = {k: _plain(x) for k, x in v.items()}
            out[name] = v
        return out


def _plain(v):
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, date):
        return v.isoformat()
    return v


def make_id(prefix: str, *parts) -> str:
    """A short deterministic id: the same rule, account, dates and names always give the same id."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return f"{prefix}-{digest[:12]}"
