"""Spec-test coverage: which alerts, goals and playbooks of the plans some test exercised."""

from __future__ import annotations

from plays.compiler.plan import Plan

from .runner import Outcome

Item = tuple[str, str, "str | None"]  # (kind, rule, playbook)


def coverage_items(plan: Plan) -> list[Item]:
    """What tests should exercise: (kind, rule, playbook) for every alert, goal and playbook."""
    items = []
    for rule in plan.rules:
        kind = "alert" if rule.kind == "alert" else "goal"
        items.append((kind, rule.name, None))
        if len(rule.playbooks) > 1:
            items.extend((kind, rule.name, book.name) for book in rule.playbooks)
    return items


def exercised(outcomes: list[Outcome]) -> set[Item]:
    """The items some test made happen: an alert fired, a goal deployed, with the playbook used."""
    seen = set()
    for o in outcomes:
        for e in o.events:
            if e.get("event") == "alert_fired":
                seen |= {("alert", e["alert"], None), ("alert", e["alert"], e.get("playbook"))}
            elif e.get("event") == "goal_deployed":
                seen |= {("goal", e["goal"], None), ("goal", e["goal"], e.get("playbook"))}
    return seen


def coverage_report(plans: list[Plan], outcomes: list[Outcome]) -> tuple[float, list[str]]:
    """Percent covered and the items no test exercised, in words."""
    items = sorted({i for p in plans for i in coverage_items(p)}, key=lambda i: (i[0], i[1], i[2] or ""))
    if not items:
        return 100.0, []
    seen = exercised(outcomes)
    missing = [i for i in items if i not in seen]
    words = [f"{k} {r}" + (f", playbook {b}" if b else "") for k, r, b in missing]
    return 100.0 * (len(items) - len(missing)) / len(items), words
