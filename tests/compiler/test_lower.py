"""Lowering to the plan (docs/plan.md), the plan schema, and plan files."""

import copy
import hashlib
import itertools
import json
import random
import re
from pathlib import Path

import pytest

from plays.compiler.context import AttributeInfo, Context, MetricInfo
from plays.compiler.driver import compile_sources
from plays.sources import Source
from plays.compiler.lower import lower
from plays.compiler.typecheck import typecheck
from plays.compiler.plan import PlanError, dumps, load, validate, write
from plays.diagnostics import Span, UsageError
from plays.dsl import ast, parse_module
from plays.schemas import load as load_schema

CATALOG = """\
account {
  name: text
  segment: enum(smb, mid_market, enterprise)
  tier: enum(standard, premium)
  go_live_date: date
  renewal_date: date
}
metric mau: count "Monthly active users"
metric mrr: money
metric seat_utilization: percent
metric nps: number
"""


def plan_of(text: str, *, path: str = "t.play") -> dict:
    result = compile_sources([Source("catalog.play", CATALOG), Source(path, text)])
    assert result.ok, [(d.code, d.message) for d in result.errors]
    validate(result.plan)
    return result.plan.to_json()


def when_of(text: str) -> dict:
    """The lowered `when:` condition of a one-alert spec."""
    return plan_of(f"alert a {{\n  when: {text}\n}}\n")["alerts"][0]["when"]


# --- defaults and the shape of elements ------------------------------------------


def test_defaults_fill_every_optional_field():
    plan = plan_of(
        "alert a { when: mau < 10  playbook { task t \"T\" { } } }\n"
        "goal g { duration: 30d  playbook { task t \"T\" { } } }\n"
    )
    a, g = plan["alerts"][0], plan["goals"][0]
    assert (a["title"], a["severity"], a["where"], a["for"], a["cooldown"]) == ("a", "medium", None, None, None)
    assert (g["title"], g["category"], g["deploy"], g["where"], g["kpi"]) == ("g", "other", {"kind": "manual"}, None, None)
    for book in (a["playbooks"][0], g["playbooks"][0]):
        assert (book["name"], book["where"]) == ("default", None)
        t = book["tasks"][0]
        assert (t["type"], t["owner"], t["due"], t["after"], t["every"], t["until"], t["offset"]) == (
            "todo", "csm", 0, [], None, None, 0,
        )


def test_keys_follow_the_contract_order():
    plan = plan_of('alert a "A" { when: mau < 10  playbook p { task t "T" { due: 1d } } }')
    assert list(plan) == [
        "plan_version", "language_version", "source_hash", "sources", "catalog", "alerts", "goals", "external_goals",
    ]
    a = plan["alerts"][0]
    assert list(a) == ["name", "title", "severity", "where", "when", "for", "cooldown", "playbooks", "loc"]
    assert list(a["playbooks"][0]) == ["name", "where", "tasks", "loc"]
    assert list(a["playbooks"][0]["tasks"][0]) == [
        "name", "title", "type", "owner", "due", "after", "every", "until", "offset", "loc",
    ]
    assert list(a["when"]) == ["expr", "loc", "source"]
    assert list(plan["catalog"]["metrics"][0]) == ["name", "type", "description", "loc"]


def test_catalog_keeps_attribute_order_and_sorts_metrics():
    cat = plan_of("")["catalog"]
    assert [a["name"] for a in cat["attributes"]] == ["name", "segment", "tier", "go_live_date", "renewal_date"]
    assert cat["attributes"][1] == {
        "name": "segment", "type": "enum", "values": ["smb", "mid_market", "enterprise"],
        "loc": {"path": "catalog.play", "line": 3, "col": 3},
    }
    assert cat["attributes"][0]["values"] == []
    assert [m["name"] for m in cat["metrics"]] == ["mau", "mrr", "nps", "seat_utilization"]
    assert cat["metrics"][0]["description"] == "Monthly active users"
    assert cat["metrics"][1]["description"] is None


def test_rules_are_sorted_by_name_and_split_by_kind():
    plan = plan_of(
        "alert zeta { when: mau < 1 }\nalert alpha { when: mau < 2 }\n"
        "goal mid { duration: 1d }\ngoal early { duration: 1d }\n"
        'external goal x { account: "acme"  start: 2026-01-01  due: 2026-01-02 }\n'
    )
    assert [a["name"] for a in plan["alerts"]] == ["alpha", "zeta"]
    assert [g["name"] for g in plan["goals"]] == ["early", "mid"]
    assert [g["name"] for g in plan["external_goals"]] == ["x"]


def test_goal_deploy_and_kpi_forms():
    plan = plan_of(
        "goal a { duration: 10d  deploy: on renewal_date - 120d  kpi: mrr up 10% }\n"
        "goal b { duration: 10d  deploy: on go_live_date + 2w  kpi: nps down 33.3% }\n"
        "goal c { duration: 10d  deploy: on go_live_date  kpi: mau >= 100 }\n"
        "goal d { duration: 10d  deploy: when seat_utilization < 50% }\n"
    )
    a, b, c, d = plan["goals"]
    assert a["deploy"] == {"kind": "on", "attr": "renewal_date", "offset": -120}
    assert a["kpi"] == {"kind": "relative", "metric": "mrr", "direction": "up", "amount": 0.1}
    assert b["deploy"]["offset"] == 14
    assert b["kpi"]["amount"] == 0.333  # from the text in decimal, not 33.3 / 100
    assert c["deploy"]["offset"] == 0
    assert c["kpi"]["kind"] == "condition" and c["kpi"]["condition"]["source"] == "mau >= 100"
    assert d["deploy"]["kind"] == "when" and d["deploy"]["condition"]["source"] == "seat_utilization < 50%"


def test_external_goal_duration_category_and_measure():
    plan = plan_of(
        'external goal x "X" { account: "acme"  category: retention  measure: "Handling time" target <= 30\n'
        "  start: 2026-01-30  due: 2026-03-01\n"
        '  playbook { task base "Base" { due: 7d }  task rev "Rev" { after: base  due: 30d }\n'
        '             task chk "Check" { every: 14d } } }\n'
        'external goal y { account: "globex"  start: 2024-02-28  due: 2024-03-01 }\n'
    )
    x, y = plan["external_goals"]
    assert (x["start"], x["due"], x["duration"]) == ("2026-01-30", "2026-03-01", 30)
    assert y["duration"] == 2  # 2024 is a leap year
    assert (x["category"], y["category"]) == ("retention", "other")
    assert x["measure"] == {"label": "Handling time", "op": "<=", "target": 30}
    assert y["measure"] is None
    tasks = {t["name"]: t for t in x["playbooks"][0]["tasks"]}
    assert [tasks[n]["offset"] for n in ("base", "rev", "chk")] == [7, 37, 14]
    assert tasks["chk"]["until"] == 30  # a recurring task runs to the goal's end by default


# --- the planned schedule ---------------------------------------------------------


def test_offsets_follow_the_longest_path():
    plan = plan_of(
        "goal g { duration: 90d  playbook {\n"
        '  task go_live "Go live" { after: training, integrations  due: 7d }\n'  # written before what it follows
        '  task kickoff "Kickoff" { due: 5d }\n'
        '  task training "Training" { after: kickoff  due: 7d }\n'
        '  task integrations "Integrations" { after: kickoff  due: 14d }\n'
        '  task qbr "QBR" { every: 30d }\n'
        '  task report "Report" { every: 2w  until: 60d }\n'
        "} }\n"
    )
    tasks = plan["goals"][0]["playbooks"][0]["tasks"]
    assert [t["name"] for t in tasks] == ["go_live", "kickoff", "training", "integrations", "qbr", "report"]
    offsets = {t["name"]: (t["offset"], t["every"], t["until"]) for t in tasks}
    assert offsets == {
        "kickoff": (5, None, None),
        "training": (12, None, None),
        "integrations": (19, None, None),
        "go_live": (26, None, None),
        "qbr": (30, 30, 90),
        "report": (14, 14, 60),
    }


def test_a_long_dependency_chain_does_not_recurse():
    n = 3000
    tasks = ['task t0 "T" { due: 1d }'] + [f'task t{i} "T" {{ after: t{i - 1}  due: 1d }}' for i in range(1, n)]
    tasks.reverse()  # the last task first: the schedule must walk the whole chain back
    plan = plan_of("goal g { duration: 10d  playbook {\n" + "\n".join(tasks) + "\n} }\n")
    offsets = {t["name"]: t["offset"] for t in plan["goals"][0]["playbooks"][0]["tasks"]}
    assert offsets["t0"] == 1 and offsets[f"t{n - 1}"] == n


# --- expressions ------------------------------------------------------------------


def nodes_of(expr: dict) -> list[dict]:
    """Every node of an expression tree, left to right."""
    out = [expr]
    for key in ("left", "right", "arg"):
        if key in expr:
            out += nodes_of(expr[key])
    for key in ("args", "items"):
        for child in expr.get(key, ()):
            out += nodes_of(child)
    return out


def test_bare_and_quoted_enum_values_are_enum_constants():
    where = plan_of(
        'alert a { when: mau < 1\n  where: segment == enterprise and "premium" == tier and account.segment != "smb"\n'
        '    and segment in ("smb", mid_market) and name == "Acme" }'
    )["alerts"][0]["where"]["expr"]
    consts = [(n["type"], n["value"]) for n in nodes_of(where) if n["op"] == "const"]
    assert consts == [
        ("enum", "enterprise"), ("enum", "premium"), ("enum", "smb"), ("enum", "smb"), ("enum", "mid_market"),
        ("text", "Acme"),  # a text attribute's string stays text
    ]
    attrs = [(n["type"], n["name"]) for n in nodes_of(where) if n["op"] == "attr"]
    assert attrs == [("enum", "segment"), ("enum", "tier"), ("enum", "segment"), ("enum", "segment"), ("text", "name")]


def test_every_node_kind_with_its_type():
    e = when_of(
        "pct_change(mau, 7d) <= -20% or -mrr > -$5 or not (nps is empty) or mau not in (1, 2)"
        " or days_since(go_live_date) > 7 or account.id == \"acme\" or mrr - previous(mrr) > $0"
        " or count(nps, 2w) < 1"
    )["expr"]
    nodes = nodes_of(e)

    def find(**kv):
        return [n for n in nodes if all(n.get(k) == v for k, v in kv.items())]

    assert find(op="call", func="pct_change") == [{
        "op": "call", "type": "percent", "func": "pct_change",
        "args": [{"op": "metric", "type": "count", "name": "mau"}, {"op": "const", "type": "duration", "value": 7}],
        "source": "pct_change(mau, 7d)",
    }]
    assert find(op="const", type="percent") == [{"op": "const", "type": "percent", "value": -0.2}]  # folded
    assert find(op="neg")[0] == {"op": "neg", "type": "money", "arg": {"op": "metric", "type": "money", "name": "mrr"}}
    assert find(op="not")[0]["arg"] == {
        "op": "is_empty", "type": "bool", "arg": {"op": "metric", "type": "number", "name": "nps"}, "negated": False,
    }
    assert find(op="in")[0]["negated"] is True
    assert find(op="in")[0]["items"] == [{"op": "const", "type": "number", "value": 1}, {"op": "const", "type": "number", "value": 2}]
    assert find(op="call", func="days_since")[0]["type"] == "number"
    assert find(op="attr", name="id") == [{"op": "attr", "type": "text", "name": "id"}]
    assert find(op="-")[0]["type"] == "money"
    assert find(op="call", func="previous")[0]["type"] == "money"
    assert find(op="call", func="count")[0]["type"] == "count"
    assert find(op="call", func="count")[0]["args"][1] == {"op": "const", "type": "duration", "value": 14}
    assert find(op="call", func="count")[0]["source"] == "count(nps, 2w)"  # as written, not rewritten to 14d
    assert all(n["type"] == "bool" for n in nodes if n["op"] in ("or", "<=", ">", "<", "=="))


def test_percent_constants_are_exact_decimals():
    e = when_of("seat_utilization > 33.3% or seat_utilization < 7% or seat_utilization < -0.1%")["expr"]
    values = [e["left"]["left"]["right"]["value"], e["left"]["right"]["right"]["value"], e["right"]["right"]["value"]]
    assert values == [0.333, 0.07, -0.001]


# --- condition sources --------------------------------------------------------------


def test_source_is_the_condition_as_written():
    cond = when_of("pct_change(mau, 7d)   <=  -20%")
    assert cond["source"] == "pct_change(mau, 7d)   <=  -20%"
    assert cond["loc"] == {"path": "t.play", "line": 2, "col": 9}


@pytest.mark.parametrize(
    "written",
    [
        "(mau < 1 or nps < 2) and mrr > $5",
        "mrr > $5 and (mau < 1 or nps < 2)",
        "not (mau < 1)",
        "((mau < 1))",
        "(mau < 1) and ( nps < 2 )",
        '(name == "a (b") and mau < 1',
        "not ((mau < 1) or (nps < 2))",
    ],
)
def test_source_keeps_the_parentheses_that_open_or_close_it(written):
    cond = when_of(written)
    assert cond["source"] == written
    assert cond["loc"]["col"] == 9


def test_a_multi_line_source_keeps_its_lines_and_comments():
    text = "alert a {\r\n  when: mau < 3   # few users\r\n     and (nps < 2\r\n)\r\n}\r\n"
    cond = plan_of(text)["alerts"][0]["when"]
    assert cond["source"] == "mau < 3   # few users\n     and (nps < 2\n)"


def test_source_columns_count_characters_not_bytes():
    plan = plan_of('alert a "Ünïcödé ✓" { when: mau < 3 }')
    assert plan["alerts"][0]["when"]["source"] == "mau < 3"
    assert plan["alerts"][0]["when"]["loc"]["col"] == 29


def test_a_hand_built_context_lowers_without_the_passes():
    text = "alert a { where: segment == smb  when: mau < 10 }"
    module, diags = parse_module(text, "h.play")
    assert diags == []
    ctx = Context(modules=(module,))
    span = Span("h.play", 1, 1, 1, 2)
    ctx.catalog.attributes["segment"] = AttributeInfo("segment", "enum", ("smb", "enterprise"), span)
    ctx.catalog.metrics["mau"] = MetricInfo("mau", "count", None, span)
    ctx.alerts["a"] = next(d for d in module.declarations if isinstance(d, ast.Alert))
    typecheck(ctx)  # types are inferred once, by this pass; lowering reads them
    plan = lower(ctx, [Source("h.play", text)]).to_json()
    validate(plan)
    assert plan["alerts"][0]["where"]["expr"]["right"] == {"op": "const", "type": "enum", "value": "smb"}
    assert plan["alerts"][0]["when"]["source"] == "mau < 10"


# --- determinism ----------------------------------------------------------------------


def declarations(text: str) -> list[str]:
    """Split a spec text into its top-level declarations (each starts in column 1)."""
    starts = [m.start() for m in re.finditer(r"^(?:account|metric|alert|goal|external goal)\b", text, re.M)]
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)])]


def without_places(plan: dict) -> dict:
    """The plan without where things are written (paths, lines, file hashes)."""
    def strip(v):
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if k != "loc"}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v

    return strip({k: v for k, v in plan.items() if k not in ("sources", "source_hash")})


def test_file_order_does_not_change_a_byte(examples_text):
    decls = declarations(examples_text)
    assert len(decls) >= 12
    rng = random.Random(7)
    rng.shuffle(decls)
    files = [Source(f"specs/part{i}.play", "".join(decls[i::4])) for i in range(4)]
    outputs = set()
    for order in itertools.islice(itertools.permutations(files), 0, None, 5):
        result = compile_sources(list(order))
        assert result.ok
        outputs.add(dumps(result.plan))
    assert len(outputs) == 1
    (text,) = outputs
    whole = compile_sources([Source("all.play", examples_text)]).plan.to_json()
    assert without_places(json.loads(text)) == without_places(whole)


def test_round_trip_and_source_hash(examples_text):
    sources = [Source("b/x.play", CATALOG), Source("a.play", "alert a { when: mau < 1 }")]
    plan = compile_sources(sources).plan.to_json()
    assert json.loads(dumps(plan)) == plan
    assert dumps(plan).endswith("}\n") and not dumps(plan).endswith("\n\n")
    digest = {s.path: hashlib.sha256(s.text.encode()).hexdigest() for s in sources}
    assert plan["sources"] == [{"path": p, "sha256": digest[p]} for p in ("a.play", "b/x.play")]
    whole = "".join(f"{p}\0{digest[p]}\n" for p in ("a.play", "b/x.play"))
    assert plan["source_hash"] == "sha256:" + hashlib.sha256(whole.encode()).hexdigest()
    examples = compile_sources([Source("e.play", examples_text)]).plan.to_json()
    assert json.loads(dumps(examples)) == examples
    assert "\\u" not in dumps(plan_of('alert a "Café" { when: mau < 1 }'))  # ensure_ascii=False


# --- the schema ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_plan():
    return compile_sources([Source("catalog.play", CATALOG), Source("t.play", (
        'alert a "A" { severity: high  where: tier == premium  when: pct_change(mau, 7d) <= -20%  for: 3d\n'
        '  playbook { task t "T" { type: call  due: 2d } } }\n'
        "goal g { duration: 30d  deploy: on go_live_date  kpi: mrr up 5%\n"
        '  playbook { task t "T" { every: 7d } } }\n'
        'external goal x { account: "acme"  start: 2026-01-01  due: 2026-02-01 }\n'
    ))]).plan.to_json()


def broken(plan, path, change):
    p = copy.deepcopy(plan)
    node = p
    for k in path[:-1]:
        node = node[k]
    change(node, path[-1])
    return p


def delete(node, key):
    del node[key]


def set_to(value):
    return lambda node, key: node.__setitem__(key, value)


@pytest.mark.parametrize(
    "path, change, where",
    [
        (["source_hash"], delete, "source_hash"),
        (["alerts", 0, "when"], delete, "/alerts/0"),
        (["alerts", 0, "playbooks", 0, "tasks", 0, "offset"], delete, "/alerts/0/playbooks/0/tasks/0"),
        (["alerts", 0, "for"], set_to("3d"), "/alerts/0/for"),
        (["alerts", 0, "severity"], set_to("urgent"), "/alerts/0/severity"),
        (["goals", 0, "duration"], set_to(None), "/goals/0/duration"),
        (["catalog", "metrics", 0, "loc", "line"], set_to(0), "/catalog/metrics/0/loc/line"),
        (["external_goals", 0, "start"], set_to("1 Jan 2026"), "/external_goals/0/start"),
        (["plan_version"], set_to(2), "/plan_version"),
        (["extra"], set_to(1), "extra"),
        (["alerts", 0, "when", "expr", "left", "colour"], set_to("red"), "/alerts/0/when/expr/left"),
        (["alerts", 0, "when", "expr", "left", "op"], set_to("pct"), "/alerts/0/when/expr/left/op"),
        (["alerts", 0, "when", "expr", "right", "value"], set_to([1]), "/alerts/0/when/expr/right/value"),
        (["alerts", 0, "when", "expr", "op"], delete, "/alerts/0/when/expr"),
        (["goals", 0, "kpi", "direction"], set_to("sideways"), "/goals/0/kpi"),
        (["goals", 0, "playbooks", 0, "tasks", 0, "loc", "end_col"], set_to(3), "/goals/0/playbooks/0/tasks/0/loc"),
    ],
)
def test_schema_rejects_broken_plans(good_plan, path, change, where):
    validate(good_plan)
    bad = broken(good_plan, path, change)
    with pytest.raises(PlanError) as e:
        validate(bad)
    message = str(e.value)
    assert "\n" not in message and where in message


def test_schema_describes_every_field_and_allows_nothing_else():
    schema = load_schema("plan.schema.json")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema" and schema["$id"]
    assert {"loc", "expr", "condition", "playbook", "task"} <= set(schema["$defs"])
    missing, open_objects = [], []

    def walk(node, at):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node and node.get("additionalProperties") is not False:
                open_objects.append(at)
            for key, sub in node.get("properties", {}).items():
                if at.endswith("/if"):  # a discriminator's test, not a field
                    continue
                if "description" not in sub:
                    missing.append(f"{at}/properties/{key}")
            for key, sub in node.items():
                walk(sub, f"{at}/{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{at}/{i}")

    walk(schema, "#")
    assert missing == [] and open_objects == []


# --- plan files ------------------------------------------------------------------------


def test_write_then_load(good_plan, tmp_path):
    path = tmp_path / "plan.json"
    write(good_plan, str(path))
    assert path.read_text("utf-8") == dumps(good_plan)
    assert load(str(path)).to_json() == good_plan


def test_write_validates_first_and_keeps_the_old_file(good_plan, tmp_path):
    path = tmp_path / "plan.json"
    path.write_text("old", "utf-8")
    with pytest.raises(PlanError):
        write({**good_plan, "alerts": "none"}, str(path))
    assert path.read_text("utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]  # no temporary file left behind


@pytest.mark.parametrize(
    "content, expected",
    [
        ("{not json", "not a plan (not JSON"),
        ("[1, 2]", "not a plan (no plan_version)"),
        ('{"plan_version": 0}', "plan version 0 is not supported"),
        ('{"plan_version": "1"}', 'plan version "1" is not supported'),
        ('{"plan_version": 1}', "does not match schemas/plan.schema.json"),
    ],
)
def test_load_refuses_bad_files_in_one_line(tmp_path, content, expected):
    path = tmp_path / "plan.json"
    path.write_text(content, "utf-8")
    with pytest.raises(UsageError) as e:
        load(str(path))
    assert expected in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(UsageError, match="cannot read"):
        load(str(tmp_path / "missing.json"))


def conditions_of(plan: dict) -> list[dict]:
    """Every condition of a plan."""
    found = []

    def walk(v):
        if isinstance(v, dict):
            if set(v) == {"expr", "loc", "source"}:
                found.append(v)
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(plan)
    return found


def test_each_source_reads_back_as_its_own_expression(examples_text):
    from pathlib import Path

    golden = Path(__file__).parent.parent / "golden"
    extra = [(golden / case / "input.play").read_text("utf-8") for case in ("expressions", "goal_forms")]
    for text in (examples_text, *extra):
        plan = compile_sources([Source("s.play", text)]).plan.to_json()
        conditions = conditions_of(plan)
        assert len(conditions) >= 3
        catalog = "".join(d for d in declarations(text) if d.startswith(("account", "metric")))
        probe = "".join(f"alert c{i} {{ when: {c['source']}\n}}\n" for i, c in enumerate(conditions))
        again = compile_sources([Source("s.play", catalog + probe)]).plan.to_json()
        assert [a["when"]["expr"] for a in again["alerts"]] == [c["expr"] for c in conditions]
        lines = text.split("\n")
        for c in conditions:  # `loc` is where the source starts
            first = c["source"].split("\n")[0]
            assert lines[c["loc"]["line"] - 1][c["loc"]["col"] - 1:].startswith(first)


def test_lowering_infers_no_type_and_reads_no_source_text(monkeypatch):
    """Types come from the typecheck pass (ctx.types); conditions' text from the parser."""
    import plays.compiler.lower as lowering
    import plays.compiler.types as types
    from plays.compiler.context import Context
    from plays.compiler.driver import _passes

    text = "alert a {\n  when: (mrr - previous(mrr)) * 2 > $5 and -mau < -3  # c\n}\n"
    sources = [Source("catalog.play", CATALOG), Source("t.play", text)]
    ctx = Context(modules=tuple(parse_module(s.text, s.path)[0] for s in sources))
    for run_pass in _passes():
        run_pass(ctx)

    def refuse(*a, **k):
        raise AssertionError("lowering inferred a type again")

    monkeypatch.setattr(types, "infer", refuse)
    # the files' texts are only hashed: lowering must not need them
    plan = lowering.lower(ctx, [Source("catalog.play", "changed"), Source("t.play", "changed")]).to_json()
    when = plan["alerts"][0]["when"]
    assert when["source"] == "(mrr - previous(mrr)) * 2 > $5 and -mau < -3"
    assert when["loc"] == {"path": "t.play", "line": 2, "col": 9}
    assert when["expr"]["left"]["left"]["type"] == "money"
    assert "infer" not in vars(lowering)


def test_event_values_are_keyed_by_the_call_as_written(run_cli, tmp_path):
    """Issue 8: `values` keys are the spec's own text (`2w`), carried by the plan's call `source`."""
    import json as jsonlib

    root = Path(__file__).resolve().parent.parent.parent
    (tmp_path / "catalog.play").write_text((root / "specs" / "catalog.play").read_text())
    (tmp_path / "t.play").write_text("alert t { when: sum(tickets_opened, 2w) >= 0 }\n")
    code, out, err = run_cli("run", "catalog.play", "t.play", "--snapshots", str(root / "examples" / "snapshots.csv"),
                             "--format", "json")
    assert (code, err) == (0, "")
    first = jsonlib.loads(out.splitlines()[0])
    assert "sum(tickets_opened, 2w)" in first["values"] and "sum(tickets_opened, 14d)" not in first["values"]
