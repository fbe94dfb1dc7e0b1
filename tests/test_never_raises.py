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

SPEC_FRAGMENTS = [
    "{", "}", "(", ")", ",", ":", '"', "#", "\n", " ", "-", "+", "*", "/", "%", "$", ".",
    "==", "!=", "<=", ">", "and", "or", "not", "in", "is", "empty", "true", "7d", "2w", "20%",
    "$1200", "2026-02-30", "2026-03-01", "0", "1e9", "account", "alert", "goal", "external",
    "metric", "playbook", "task", "where", "when", "for", "cooldown", "deploy", "on", "manual",
    "kpi", "up", "down", "after", "every", "until", "due", "type", "owner", "severity", "start",
    "measure", "target", "mau", "mrr", "segment", "enterprise", "pct_change(mau, 7d)",
    "value_at(", "{{ account.name }}", "{{ nope }}", "{% if %}", "é", "\t", "\x00", "\ufeff",
    "enum(a, a)", "kickoff", "welcome",
    # suppression comments (compiler/suppress.py), well- and ill-formed
    "# plays: disable=W300", "  # plays: disable=W402,E302 until=2026-02-30", "# plays: disable-file=W401",
    "# plays:", "# plays: disable=", "# plays: disable=W300 until=2020-01-01", "# play: disable W300",
    '"# plays: disable=W300"',
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
            text = text[:a] + draw(st.sampled_from(SPEC_FRAGMENTS)) + text[a:]
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


# --------------------------------------------------------------------------- plays run on bad snapshot files
#
# The real CLI (`plays run --plan ... -s FILE --format json`) on generated bad
# snapshot files in the three formats: mutated bytes, wrong types, NaN and
# infinities, ragged rows, duplicated columns, other encodings, empty files,
# arrays and nulls in JSON Lines, Parquet columns of every type. Whatever the
# file, the answer is exit 0, 1 or 2 with one-line messages, within a bound,
# and an exit 0 prints strict JSON.

import json  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT_LINES = (ROOT / "examples" / "snapshots.csv").read_text("utf-8").splitlines()
HEADER, ROWS = SNAPSHOT_LINES[0], SNAPSHOT_LINES[1:5] + SNAPSHOT_LINES[200:203]
COLUMNS = HEADER.split(",")
RUN_BOUND_S = 20  # per run, on a busy two-core machine; a clean run of these files takes well under a second

MESSAGE = re.compile(
    r"^(\S.*:\d+:\d+: (error|warning)\[R\d{3}\]: [^\n]+"
    r"|  = help: [^\n]+"
    r"|\d+ problems? in the snapshots( \(and [\d,]+ more\))?; nothing was evaluated"
    r"|plays: (error|warning): [^\n]+)$"
)
DUCKDB_WORDING = re.compile(r"(Binder|Invalid Input|Conversion|Catalog|Parser|IO|Internal|Out of Range) Error|"
                            r"LINE \d+:|Candidate bindings|Possible Solution")
CSV_VALUES = ["", "nan", "NaN", "inf", "-Infinity", "1e309", "-1e400", " acme", "acme ", "x", "12", "0.5", "-3",
          "2026-02-30", "2026-01-01", "01/02/2026", "smb", "giant", "é", "\t", '"', '""', "a,b", "true", "null"]
SNAPSHOT_FRAGMENTS = [",", "\n", "\n\n", "\r\n", '"', ";", "\t", "\ufeff", "\x00", "nan", "1e309", " acme", "x" * 300,
             "[1, 2]", "null", "{", "}", "NaN"]


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory):
    from plays.cli import main

    path = tmp_path_factory.mktemp("plan") / "plan.json"
    with pytest.raises(SystemExit) as e:
        main(["compile", str(ROOT / "specs"), "-o", str(path)])
    assert e.value.code in (0, None)
    return str(path)


def _mutate_bytes(draw, data: bytes) -> bytes:
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["insert", "delete", "latin1", "truncate", "flip"]))
        n = len(data)
        a = draw(st.integers(0, n))
        if op == "insert":
            data = data[:a] + draw(st.sampled_from(SNAPSHOT_FRAGMENTS)).encode("utf-8") + data[a:]
        elif op == "delete":
            data = data[:a] + data[a + draw(st.integers(1, 30)):]
        elif op == "latin1":
            data = data[:a] + b"caf\xe9" + data[a:]
        elif op == "truncate":
            data = data[:a]
        elif n:
            i = min(a, n - 1)
            data = data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1:]
    return data


@st.composite
def bad_csv(draw):
    lines = [HEADER, *ROWS]
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        op = draw(st.sampled_from(["cell", "ragged", "dup_column", "blank", "dup_line", "empty", "header_only"]))
        i = draw(st.integers(1, len(lines) - 1)) if len(lines) > 1 else 0
        if op == "cell" and len(lines) > 1:
            cells = lines[i].split(",")
            cells[draw(st.integers(0, len(cells) - 1))] = draw(st.sampled_from(CSV_VALUES))
            lines[i] = ",".join(cells)
        elif op == "ragged" and len(lines) > 1:
            cells = lines[i].split(",")
            lines[i] = ",".join(cells[: draw(st.integers(0, len(cells) - 1))] if draw(st.booleans()) else cells + ["9"])
        elif op == "dup_column":
            name = draw(st.sampled_from(COLUMNS))
            lines = [lines[0] + "," + name] + [ln + ",1" for ln in lines[1:]]
        elif op == "blank":
            lines.insert(i, "")
        elif op == "dup_line" and len(lines) > 1:
            lines.insert(i, lines[i])
        elif op == "empty":
            lines = []
        elif op == "header_only":
            lines = lines[:1]
    data = ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")
    return _mutate_bytes(draw, data)


def _typed(value: str):
    for convert in (int, float):
        try:
            return convert(value)
        except ValueError:
            pass
    return value or None


JSON_VALUES = [42, -1.5, "x", None, True, [1], {"a": 1}, "NaN", "", " acme", "2026-02-30", "12", 1e300]


@st.composite
def bad_jsonl(draw):
    records = [json.dumps({c: _typed(v) for c, v in zip(COLUMNS, row.split(","))}) for row in ROWS]
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["value", "raw_value", "line", "blank", "missing"]))
        i = draw(st.integers(0, len(records) - 1)) if records else 0
        if not records:
            break
        if op in ("value", "raw_value", "missing"):
            try:
                obj = json.loads(records[i])
            except ValueError:
                continue
            if not isinstance(obj, dict):
                continue
            key = draw(st.sampled_from(COLUMNS))
            if op == "missing":
                obj.pop(key, None)
                records[i] = json.dumps(obj)
            elif op == "value":
                obj[key] = draw(st.sampled_from(JSON_VALUES))
                records[i] = json.dumps(obj)
            else:  # literals json.dumps would not write: NaN, Infinity, 1e309
                obj[key] = "@@"
                records[i] = json.dumps(obj).replace('"@@"', draw(st.sampled_from(["NaN", "Infinity", "1e309", "-1e999"])))
        elif op == "line":
            records[i] = draw(st.sampled_from(["[1, 2]", "null", "42", '"text"', "{", "}", "", "{}", "true"]))
        else:
            records.insert(i, "")
    if draw(st.integers(0, 9)) == 0:
        records = []
    data = ("\n".join(records) + "\n").encode("utf-8") if records else b""
    return _mutate_bytes(draw, data)


PARQUET_TYPES = ["VARCHAR", "BLOB", "BOOLEAN", "DOUBLE", "FLOAT", "BIGINT", "DATE", "TIMESTAMP", "INTEGER[]",
                 "DECIMAL(4,1)"]


@st.composite
def bad_parquet(draw):
    """(a SELECT over the seed rows with columns retyped and cells replaced, byte mutations to apply)."""
    casts = {}
    for _ in range(draw(st.integers(0, 3))):
        casts[draw(st.sampled_from(COLUMNS))] = draw(st.sampled_from(PARQUET_TYPES))
    cells = {}
    for _ in range(draw(st.integers(0, 3))):
        cells[(draw(st.integers(0, len(ROWS) - 1)), draw(st.sampled_from(COLUMNS)))] = draw(st.sampled_from(
            ["'nan'", "'inf'", "NULL", "' acme'", "'x'", "'2026-02-30'", "'1e309'"]))
    rows = []
    for r, row in enumerate(ROWS):
        values = row.split(",")
        rows.append([cells.get((r, c), "NULL" if v == "" else "'" + v.replace("'", "''") + "'")
                     for c, v in zip(COLUMNS, values)])
    union = " UNION ALL ".join("SELECT " + ", ".join(f"{v} AS c{k}" for k, v in enumerate(r)) for r in rows)

    def column(k, name):
        t = casts.get(name)
        if t == "INTEGER[]":
            return f"[1] AS \"{name}\""
        if t == "DOUBLE" or t == "FLOAT":
            return f"TRY_CAST(c{k} AS {t}) AS \"{name}\""
        if t:
            return f"TRY_CAST(c{k} AS {t}) AS \"{name}\""
        return f"c{k} AS \"{name}\""

    select = f"SELECT {', '.join(column(k, n) for k, n in enumerate(COLUMNS))} FROM ({union})"
    mutate = draw(st.booleans()) and draw(st.integers(0, 2**16))
    return select, mutate


def _check_run(run_cli, plan_file, name):
    start = time.monotonic()
    code, out, err = run_cli("run", "--plan", plan_file, "-s", name, "--format", "json")
    assert time.monotonic() - start < RUN_BOUND_S
    assert code in (0, 1, 2), err
    assert "Traceback" not in err and "internal error" not in err
    assert not DUCKDB_WORDING.search(err), f"DuckDB's own words reached the user: {err}"
    for line in err.splitlines():
        assert MESSAGE.match(line), f"not a one-line message: {line!r}"
    if code == 0:
        def strict(constant):
            raise ValueError(f"{constant} is not JSON")

        for line in out.splitlines():
            json.loads(line, parse_constant=strict)


NEVER = settings(max_examples=30, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@NEVER
@given(bad_csv())
def test_plays_run_on_a_bad_csv_file_never_crashes(run_cli, plan_file, data):
    Path("bad.csv").write_bytes(data)
    _check_run(run_cli, plan_file, "bad.csv")


@NEVER
@given(bad_jsonl())
def test_plays_run_on_a_bad_json_lines_file_never_crashes(run_cli, plan_file, data):
    Path("bad.jsonl").write_bytes(data)
    _check_run(run_cli, plan_file, "bad.jsonl")


@NEVER
@given(bad_parquet())
def test_plays_run_on_a_bad_parquet_file_never_crashes(run_cli, plan_file, case):
    import duckdb

    select, mutate = case
    duckdb.connect().execute(f"COPY ({select}) TO 'bad.parquet' (FORMAT parquet)")
    if mutate:
        import random

        data = bytearray(Path("bad.parquet").read_bytes())
        rnd = random.Random(mutate)
        for _ in range(rnd.randint(1, 4)):
            i = rnd.randrange(len(data))
            data[i] ^= rnd.randint(1, 255)
        if rnd.random() < 0.3:
            data = data[: rnd.randrange(len(data))]
        Path("bad.parquet").write_bytes(bytes(data))
    _check_run(run_cli, plan_file, "bad.parquet")


METRICS = [c for c in COLUMNS if c in ("mau", "feature_adoption", "mrr", "seat_utilization", "health_score",
                                        "invoice_days_overdue", "tickets_opened", "nps")]
NOT_NUMBERS = ["nan", "NaN", "inf", "-inf", "Infinity", "1e309", "-1e400", "many", "12x"]


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["csv", "jsonl", "parquet"]), st.integers(0, len(ROWS) - 1), st.sampled_from(METRICS),
       st.sampled_from(NOT_NUMBERS), st.integers(0, 2))
def test_a_value_that_is_not_a_finite_number_is_reported_at_its_position(run_cli, plan_file, fmt, r, metric, bad,
                                                                         blanks):
    """NaN, infinities, out-of-range and non-numbers in any one metric cell: exit 1, R103 at that line or row."""
    import duckdb

    rows = [dict(zip(COLUMNS, row.split(","))) for row in ROWS]
    rows[r][metric] = bad
    if fmt == "csv":
        lines = [HEADER] + [",".join(x.values()) for x in rows]
        lines[1:1] = [""] * blanks  # blank lines after the header shift every line
        Path("one.csv").write_text("\n".join(lines) + "\n")
        name, where = "one.csv", f"line {r + 2 + blanks}"
    elif fmt == "jsonl":
        def value(c, v):
            if c in METRICS and v == bad:
                return {"nan": "NaN", "NaN": "NaN", "inf": "Infinity", "-inf": "-Infinity"}.get(v, v if v[-1].isdigit()
                                                                                                  else json.dumps(v))
            return json.dumps(_typed(v)) if v == "" or c in METRICS else json.dumps(v)
        lines = ["{" + ", ".join(f'"{c}": {value(c, v)}' for c, v in x.items()) + "}" for x in rows]
        lines[:0] = [""] * blanks
        Path("one.jsonl").write_text("\n".join(lines) + "\n")
        name, where = "one.jsonl", f"line {r + 1 + blanks}"
    else:
        con = duckdb.connect()
        con.execute("CREATE TABLE t (" + ", ".join(f'"{c}" VARCHAR' for c in COLUMNS) + ")")
        con.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(COLUMNS))})",
                        [[x[c] or None for c in COLUMNS] for x in rows])
        typed = ", ".join(f'TRY_CAST("{c}" AS DOUBLE) AS "{c}"' if c == metric and bad not in ("many", "12x")
                          else f'"{c}"' for c in COLUMNS)
        con.execute(f"COPY (SELECT {typed} FROM t) TO 'one.parquet' (FORMAT parquet)")
        name, where = "one.parquet", f"row {r + 1}"
    code, _, err = run_cli("run", "--plan", plan_file, "-s", name, "--format", "json")
    assert code == 1, err
    line = int(where.split()[1])
    assert f"{name}:{line}:1: error[R103]: {where}: `{metric}` is `" in err, err
