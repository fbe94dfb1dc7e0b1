"""Snapshot input: formats, globs, missing columns, and every validation problem with its position."""

import json

import duckdb
import pytest

from plays.compiler.driver import compile_text
from plays.diagnostics import UsageError
from plays.runtime.snapshots import SnapshotError, load_snapshots

PLAN = compile_text(
    "account { name: text  segment: enum(smb, enterprise)  go_live: date }\n"
    "metric mau: count\nmetric nps: number\n"
)
HEADER = "account,date,name,segment,go_live,mau,nps\n"


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def problems(tmp_path, *files):
    with pytest.raises(SnapshotError) as e:
        load_snapshots(list(files), PLAN)
    return [(d.code, d.span.path.rsplit("/", 1)[-1], d.span.line, d.message) for d in e.value.diagnostics], e.value.more


def test_clean_csv_becomes_a_typed_sorted_table(tmp_path):
    f = write(tmp_path, "a.csv", HEADER + "b,2026-01-02,B,smb,2025-12-01,10,\na,2026-01-01,A,enterprise,,5,9\n")
    snaps = load_snapshots([f], PLAN)
    rows = snaps.con.execute("SELECT * FROM snapshots").fetchall()
    assert [r[0] for r in rows] == ["a", "b"] and rows[0][5] == 5.0 and rows[0][4] is None and rows[1][6] is None
    types = dict(snaps.con.execute("SELECT column_name, column_type FROM (DESCRIBE snapshots)").fetchall())
    assert (types["date"], types["go_live"], types["mau"], types["segment"]) == ("DATE", "DATE", "DOUBLE", "VARCHAR")


def test_csv_jsonl_and_parquet_give_the_same_table(tmp_path):
    csv = write(tmp_path, "a.csv", HEADER + "a,2026-01-01,A,smb,2025-12-01,5,\na,2026-01-02,A,smb,2025-12-01,6,7\n")
    lines = [
        {"account": "a", "date": "2026-01-01", "name": "A", "segment": "smb", "go_live": "2025-12-01", "mau": 5, "nps": None},
        {"account": "a", "date": "2026-01-02", "name": "A", "segment": "smb", "go_live": "2025-12-01", "mau": 6, "nps": 7},
    ]
    jsonl = write(tmp_path, "a.jsonl", "".join(json.dumps(x) + "\n" for x in lines))
    parquet = str(tmp_path / "a.parquet")
    duckdb.connect().execute(f"COPY (SELECT * FROM read_csv('{csv}', header=true)) TO '{parquet}' (FORMAT parquet)")
    tables = [load_snapshots([f], PLAN).con.execute("SELECT * FROM snapshots").fetchall() for f in (csv, jsonl, parquet)]
    assert tables[0] == tables[1] == tables[2]


def test_several_files_and_globs_and_missing_columns_are_empty(tmp_path):
    write(tmp_path, "p1.csv", "account,date,mau\na,2026-01-01,1\n")
    write(tmp_path, "p2.csv", "account,date,mau\na,2026-01-02,2\n")
    snaps = load_snapshots([str(tmp_path / "p*.csv")], PLAN)
    assert snaps.con.execute("SELECT date, mau, nps, segment FROM snapshots").fetchall()[1][1:] == (2.0, None, None)
    with pytest.raises(UsageError, match="no file matches"):
        load_snapshots([str(tmp_path / "none*.csv")], PLAN)


def test_every_problem_with_file_line_and_column(tmp_path):
    f = write(tmp_path, "bad.csv", HEADER
              + "a,2026-01-01,A,smb,,many,\n"         # line 2: mau not a number
              + "a,2026-02-30,A,smb,,1,\n"            # line 3: bad date
              + "a,2026-01-03,A,giant,,1,\n"          # line 4: enum
              + "a,2026-01-01,A,smb,,1,\n"            # line 5: duplicate of line 2
              + ",2026-01-04,A,smb,,1,\n"             # line 6: empty account
              + "b,2026-01-04,B,smb,01/02/2026,1,\n")  # line 7: bad date attribute
    found, more = problems(tmp_path, f)
    assert more == 0
    assert found == [
        ("R103", "bad.csv", 2, "line 2: `mau` is `many`, not a number"),
        ("R104", "bad.csv", 3, "line 3: `date` is `2026-02-30`, not a date like 2026-01-31"),
        ("R105", "bad.csv", 4, "line 4: `segment` is `giant`, not one of smb, enterprise"),
        ("R106", "bad.csv", 5, f"line 5: a second row for account `a` on 2026-01-01 (first at {f} line 2)"),
        ("R107", "bad.csv", 6, "line 6: the account is empty"),
        ("R104", "bad.csv", 7, "line 7: `go_live` is `01/02/2026`, not a date like 2026-01-31"),
    ]


def test_duplicates_across_files_and_parquet_rows(tmp_path):
    a = write(tmp_path, "a.csv", "account,date,mau\nx,2026-01-01,1\n")
    src = write(tmp_path, "b.csv", "account,date,mau\ny,2026-01-01,1\nx,2026-01-01,oops\n")
    pq = str(tmp_path / "b.parquet")
    duckdb.connect().execute(f"COPY (SELECT * FROM read_csv('{src}', header=true, all_varchar=true)) TO '{pq}' (FORMAT parquet)")
    found, _ = problems(tmp_path, a, pq)
    assert [(c, f, line) for c, f, line, _ in found] == [("R103", "b.parquet", 2), ("R106", "b.parquet", 2)]
    assert found[0][3] == "row 2: `mau` is `oops`, not a number"


def test_at_most_twenty_problems_then_a_count(tmp_path):
    f = write(tmp_path, "many.csv", "account,date,mau\n" + "".join(f"a{i},2026-01-01,x\n" for i in range(50)))
    found, more = problems(tmp_path, f)
    assert len(found) == 20 and more == 30


def test_unreadable_empty_and_missing_columns(tmp_path):
    empty = write(tmp_path, "empty.csv", "account,date,mau\n")
    nodate = write(tmp_path, "nodate.csv", "account,mau\na,1\n")
    found, _ = problems(tmp_path, empty, nodate)
    assert [(c, f) for c, f, _, _ in found] == [("R100", "empty.csv"), ("R101", "nodate.csv")]
    garbage = tmp_path / "g.parquet"
    garbage.write_bytes(b"not parquet at all")
    found, _ = problems(tmp_path, str(garbage))
    assert found[0][0] == "R100" and found[0][3].startswith("cannot read this file")


def test_unknown_columns_are_warnings_with_a_suggestion(tmp_path):
    f = write(tmp_path, "w.csv", "account,date,maus\na,2026-01-01,1\n")
    snaps = load_snapshots([f], PLAN)
    [w] = snaps.warnings
    assert (w.code, w.suggestion) == ("R102", "mau")
