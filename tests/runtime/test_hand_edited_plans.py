"""A hand-edited plan file is checked before anything runs: one line naming the rule, exit 1 or 2, never exit 70."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SPECS = str(ROOT / "specs")
EXAMPLE = str(ROOT / "examples" / "snapshots.csv")


def usage_drop(plan):
    return next(a for a in plan["alerts"] if a["name"] == "usage_drop")


def first_task(plan):
    return usage_drop(plan)["playbooks"][0]["tasks"][0]


def when_left(plan):
    return usage_drop(plan)["when"]["expr"]["left"]  # pct_change(mau, 7d)


def deep(plan):
    node = usage_drop(plan)["when"]["expr"]
    for _ in range(400):
        node = {"op": "not", "type": "bool", "arg": node}
    usage_drop(plan)["when"]["expr"] = node


EDITS = {
    "a function with a missing argument": lambda p: when_left(p)["args"].pop(),
    "a function with an extra argument": lambda p: when_left(p)["args"].append(when_left(p)["args"][1]),
    "an unknown function": lambda p: when_left(p).update(func="median"),
    "a negative window": lambda p: when_left(p)["args"][1].update(value=-7),
    "a zero window": lambda p: when_left(p)["args"][1].update(value=0),
    "a metric the catalog lacks": lambda p: when_left(p)["args"][0].update(name="zzz"),
    "an unclosed title": lambda p: first_task(p).update(title="Call {{ account.name"),
    "a title naming a metric the catalog lacks": lambda p: first_task(p).update(title="MAU {{ zzz }}"),
    "an impossible date": lambda p: p["external_goals"][0].update(start="2026-02-30"),
    "a date constant that is not a date": lambda p: usage_drop(p)["when"].update(
        expr={"op": ">", "type": "bool", "left": {"op": "attr", "type": "date", "name": "renewal_date"},
              "right": {"op": "const", "type": "date", "value": "2026-13-01"}}),
    "a deploy on a text attribute": lambda p: next(g for g in p["goals"] if g["deploy"]["kind"] == "on")["deploy"].update(
        attr="name"),
    "an after naming no task": lambda p: next(t for g in p["goals"] for b in g["playbooks"] for t in b["tasks"]
                                              if t["after"]).update(after=["nobody"]),
    "nesting 400 deep": deep,
}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    from plays.cli import main

    out = tmp_path_factory.mktemp("plan") / "plan.json"
    with pytest.raises(SystemExit) as e:
        main(["compile", SPECS, "-o", str(out)])
    assert e.value.code == 0
    return json.loads(out.read_text("utf-8"))


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_a_hand_edited_plan_is_refused_in_one_line(run_cli, compiled, edit):
    plan = json.loads(json.dumps(compiled))
    EDITS[edit](plan)
    Path("plan.json").write_text(json.dumps(plan), "utf-8")
    code, out, err = run_cli("run", "--plan", "plan.json", "-s", EXAMPLE, "--format", "json")
    assert code in (1, 2) and out == "", (edit, code, err)
    assert err.startswith("plays: error: plan.json") and err.count("\n") == 1 and "internal error" not in err, err


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_in_a_plan_are_refused(run_cli, compiled, text):
    raw = json.dumps(compiled).replace('"value": -0.2', f'"value": {text}', 1)
    assert text in raw
    Path("plan.json").write_text(raw, "utf-8")
    code, out, err = run_cli("run", "--plan", "plan.json", "-s", EXAMPLE)
    assert code == 2 and out == "" and err.count("\n") == 1 and "internal error" not in err, err
