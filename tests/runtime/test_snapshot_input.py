"""Bad snapshot input, class by class: each is a positioned error on its own line, never wrong data."""

import json

import duckdb
import pytest

from plays.compiler.driver import compile_text
from plays.diagnostics import UsageError
from plays.runtime.snapshots import SnapshotError, load_snapshots

PLAN = compile_text(
    "account { name: text  tier: enum(standard, premium)  renewal: date }\n"
    "metric mau: count\nmetric nps: number\n"
)


def write(tmp_path, name, content):
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    return str(p)


def jsonl(tmp_path, name, *lines):
    return write(tmp_path, name, "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))


def parquet(tmp_path, name, select):
    p = str(tmp_path / name)
    duckdb.connect().execute(f"COPY ({select}) TO '{p}' (FORMAT parquet)")
    return p


def problems(*files, accounts=None):
    with pytest.raises(SnapshotError) as e:
        load_snapshots(list(files), PLAN, accounts=accounts)
    return [(d.code, d.span.line, d.message) for d in e.value.diagnostics]


def rows(*files):
    return load_snapshots(list(files), PLAN).con.execute("SELECT * FROM snapshots").fetchall()


# --------------------------------------------------------------- JSON Lines: every column with the catalog's type

def test_json_account_that_is_a_number_is_an_error_on_its_line_only(tmp_path):
    f = jsonl(tmp_path, "a.jsonl",
              {"account": "acme", "date": "2026-01-01", "mau": 1},
              {"account": 42, "date": "2026-01-01", "mau": 1},
              {"account": "globex", "date": "2026-01-01", "mau": 1})
    assert problems(f) == [("R109", 2, "line 2: `account` is `42`, not text: write it as a JSON string")]


def test_json_clean_ids_and_names_have_no_quotes(tmp_path):
    f = jsonl(tmp_path, "a.jsonl",
              {"account": "acme", "date": "2026-01-01", "name": "Acme", "tier": "premium", "mau": 1},
              {"account": "globex", "date": "2026-01-01", "name": None, "mau": 2.5})
    assert [r[:4] for r in rows(f)] == [("acme", __import__("datetime").date(2026, 1, 1), "Acme", "premium"),
                                         ("globex", __import__("datetime").date(2026, 1, 1), None, None)]


def test_json_wrong_types_are_reported_on_their_own_lines(tmp_path):
    f = jsonl(tmp_path, "a.jsonl",
              {"account": "a", "date": "2026-01-01", "name": 5},
              {"account": "b", "date": "2026-01-01", "tier": 1},
              {"account": "c", "date": "2026-01-01", "tier": "premium", "mau": "12"},
              {"account": "d", "date": 20260101},
              {"account": "e", "date": "2026-01-01", "renewal": True, "nps": [1]})
    assert problems(f) == [
        ("R109", 1, "line 1: `name` is `5`, not text: write it as a JSON string"),
        ("R105", 2, "line 2: `tier` is `1`, not one of standard, premium"),
        ("R103", 3, 'line 3: `mau` is `"12"`, not a number'),
        ("R104", 4, "line 4: `date` is `20260101`, not a date like 2026-01-31"),
        ("R103", 5, "line 5: `nps` is `[1]`, not a number"),
        ("R104", 5, "line 5: `renewal` is `true`, not a date like 2026-01-31"),
    ]


def test_json_lines_that_are_not_objects_and_blank_lines(tmp_path):
    f = jsonl(tmp_path, "a.jsonl", {"account": "a", "date": "2026-01-01"}, "", "[1, 2]", "   ", "null",
              {"account": "b", "date": "2026-13-01"})
    assert problems(f) == [
        ("R110", 3, "line 3: not a JSON object but an array"),
        ("R110", 5, "line 5: not a JSON object but null"),
        ("R104", 6, "line 6: `date` is `2026-13-01`, not a date like 2026-01-31"),
    ]


def test_json_syntax_errors_and_empty_files(tmp_path):
    bad = jsonl(tmp_path, "bad.jsonl", {"account": "a", "date": "2026-01-01"}, "", '{"account": "b",')
    assert [(c, line) for c, line, _ in problems(bad)] == [("R110", 3)]
    assert problems(write(tmp_path, "empty.jsonl", "")) == [("R100", 1, "the file is empty")]
    assert problems(write(tmp_path, "blank.jsonl", "\n\n")) == [("R100", 1, "the file is empty")]
    latin = write(tmp_path, "l.jsonl", b'{"account": "a", "date": "2026-01-01"}\n{"account": "caf\xe9"}\n')
    assert problems(latin) == [("R111", 2, "line 2: not UTF-8 text (byte 0xe9); save the file as UTF-8")]


# --------------------------------------------------------------- NaN, infinity, out of range

def test_nan_infinity_and_out_of_range_numbers_in_csv(tmp_path):
    f = write(tmp_path, "n.csv", "account,date,mau,nps\na,2026-01-01,nan,1\nb,2026-01-01,inf,-Infinity\n"
                                  "c,2026-01-01,1e309,2\nd,2026-01-01,1e308,-0.5\n")
    assert problems(f) == [
        ("R103", 2, "line 2: `mau` is `nan`, not a number"),
        ("R103", 3, "line 3: `mau` is `inf`, not a number"),
        ("R103", 3, "line 3: `nps` is `-Infinity`, not a number"),
        ("R103", 4, "line 4: `mau` is `1e309`, not a number"),
    ]


def test_nan_in_json_lines_and_parquet(tmp_path):
    j = jsonl(tmp_path, "n.jsonl", '{"account": "a", "date": "2026-01-01", "mau": NaN}',
              '{"account": "b", "date": "2026-01-01", "mau": 1e999}')
    assert problems(j) == [("R103", 1, "line 1: `mau` is `NaN`, not a number"),
                           ("R103", 2, "line 2: `mau` is `1e999`, not a number")]
    p = parquet(tmp_path, "n.parquet", "SELECT 'a' AS account, DATE '2026-01-01' + i::INT AS date, "
                "CASE i WHEN 1 THEN 'nan'::DOUBLE WHEN 2 THEN '-inf'::FLOAT ELSE 1 END AS mau FROM range(3) t(i)")
    assert problems(p) == [("R103", 2, "row 2: `mau` is `nan`, not a number"),
                           ("R103", 3, "row 3: `mau` is `-inf`, not a number")]


# --------------------------------------------------------------- CSV structure

def test_a_duplicated_csv_column_names_the_column_and_both_positions(tmp_path):
    f = write(tmp_path, "d.csv", "account,date,mau,nps,mau\na,2026-01-01,1,2,3\n")
    assert problems(f) == [("R112", 1, "column `mau` appears twice in the header (columns 3 and 5)")]


def test_a_carriage_return_inside_the_header_is_one_line_not_an_internal_error(tmp_path):
    f = write(tmp_path, "h.csv", b"account,date,ma\ru\na,2026-01-01,1\n")
    assert problems(f) == [("R110", 1, "line 1: cannot read the header: a carriage return (\\r) inside a column name")]


def test_a_ragged_row_is_reported_at_its_line(tmp_path):
    f = write(tmp_path, "r.csv", "account,date,mau\na,2026-01-01,1\n\nb,2026-01-02\nc,2026-01-03,1,9\nd,2026-01-04,x\n")
    assert problems(f) == [
        ("R110", 4, "line 4: 2 fields, but the header has 3 (a ragged row)"),
        ("R110", 5, "line 5: 4 fields, but the header has 3 (a ragged row)"),
        ("R103", 6, "line 6: `mau` is `x`, not a number"),
    ]


def test_line_numbers_count_blank_lines_and_quoted_newlines(tmp_path):
    f = write(tmp_path, "b.csv", 'account,date,name,mau\n\na,2026-01-01,"two\nlines",1\n\n\nb,2026-01-01,B,x\n')
    assert problems(f) == [("R103", 7, "line 7: `mau` is `x`, not a number")]


def test_a_latin1_byte_is_an_encoding_problem_with_its_line(tmp_path):
    f = write(tmp_path, "l.csv", b"account,date,name\na,2026-01-01,A\nb,2026-01-01,Caf\xe9\n")
    assert problems(f) == [("R111", 3, "line 3: not UTF-8 text; save the file as UTF-8")]
    header = write(tmp_path, "h.csv", b"account,date,n\xe9\n")
    assert problems(header) == [("R111", 1, "line 1: not UTF-8 text (byte 0xe9); save the file as UTF-8")]


def test_semicolon_csv_and_byte_order_mark(tmp_path):
    f = write(tmp_path, "s.csv", "\ufeffaccount;date;mau\na;2026-01-01;5\n")
    assert [(r[0], r[-2]) for r in rows(f)] == [("a", 5.0)]


# --------------------------------------------------------------- account ids

@pytest.mark.parametrize("padded", [" acme", "acme ", "\tacme"])
def test_a_padded_account_id_is_an_error_in_every_format(tmp_path, padded):
    c = write(tmp_path, "p.csv", f"account,date\n{padded},2026-01-01\n")
    j = jsonl(tmp_path, "p.jsonl", {"account": padded, "date": "2026-01-01"})
    p = parquet(tmp_path, "p.parquet", f"SELECT '{padded}' AS account, DATE '2026-01-01' AS date")
    for f, where in ((c, "line 2"), (j, "line 1"), (p, "row 1")):
        [(code, _, message)] = problems(f)
        assert (code, message) == ("R108", f"{where}: the account `{padded}` starts or ends with spaces")


def test_account_filter_on_a_file_without_an_account_column_is_r101(tmp_path):
    f = write(tmp_path, "n.csv", "date,mau\n2026-01-01,1\n")
    assert problems(f, accounts=["acme"]) == [
        ("R101", 1, "no `account` column: every row needs an account and a date")]


# --------------------------------------------------------------- Parquet column types, DuckDB's words

def test_a_parquet_column_of_the_wrong_type_is_positioned_never_a_crash(tmp_path):
    p = parquet(tmp_path, "b.parquet", "SELECT 'a' AS account, DATE '2026-01-01' AS date, 'x'::BLOB AS mau, "
                "true AS name, [1] AS tier")
    assert problems(p) == [
        ("R113", 1, "`name` is a column of type BOOLEAN, not text"),
        ("R113", 1, "`tier` is a column of type INTEGER[], not text"),
        ("R113", 1, "`mau` is a column of type BLOB, not numbers"),
    ]


def test_integer_ids_and_text_numbers_in_parquet_are_read(tmp_path):
    p = parquet(tmp_path, "i.parquet", "SELECT 42 AS account, '2026-01-01' AS date, '7' AS mau, 3::DECIMAL(4,1) AS nps")
    assert [(r[0], r[1].isoformat(), r[-2], r[-1]) for r in rows(p)] == [("42", "2026-01-01", 7.0, 3.0)]


def test_duckdb_text_never_reaches_the_message(tmp_path):
    g = write(tmp_path, "g.parquet", b"PAR1 this is not parquet at all")
    [(code, _, message)] = problems(g)
    assert code == "R100" and message.startswith("cannot read this file: ")
    assert "\n" not in message and "Error:" not in message and "LINE" not in message


# --------------------------------------------------------------- paths: literal names, directories, hive datasets

def test_an_existing_path_with_glob_characters_is_taken_literally(tmp_path):
    f = write(tmp_path, "a[1].csv", "account,date,mau\na,2026-01-01,1\n")
    assert len(rows(f)) == 1


def test_a_directory_of_parquet_files_and_a_hive_dataset(tmp_path):
    con = duckdb.connect()
    for year in (2025, 2026):
        for tier in ("standard", "premium"):
            d = tmp_path / "ds" / f"year={year}" / f"tier={tier}"
            d.mkdir(parents=True)
            con.execute(f"COPY (SELECT '{tier[0]}' || i AS account, DATE '{year}-01-01' AS date, i AS mau "
                        f"FROM range(2) t(i)) TO '{d}/part-0.parquet' (FORMAT parquet)")
    (tmp_path / "ds" / "_SUCCESS").write_text("")
    snaps = load_snapshots([str(tmp_path / "ds")], PLAN)
    assert snaps.warnings == []  # `year` comes from directory names: not a catalog column, ignored silently
    got = snaps.con.execute("SELECT account, year(date), tier, mau FROM snapshots").fetchall()
    assert got == [("p0", 2025, "premium", 0.0), ("p0", 2026, "premium", 0.0), ("p1", 2025, "premium", 1.0),
                   ("p1", 2026, "premium", 1.0), ("s0", 2025, "standard", 0.0), ("s0", 2026, "standard", 0.0),
                   ("s1", 2025, "standard", 1.0), ("s1", 2026, "standard", 1.0)]


def test_bad_rows_in_a_dataset_name_their_file_and_row(tmp_path):
    d = tmp_path / "ds"
    d.mkdir()
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 'a' AS account, '2026-01-01' AS date) TO '{d}/p0.parquet' (FORMAT parquet)")
    con.execute(f"COPY (SELECT 'b' AS account, '2026-01-0' || i AS date FROM range(3) t(i)) TO '{d}/p1.parquet' "
                "(FORMAT parquet)")
    with pytest.raises(SnapshotError) as e:
        load_snapshots([str(d)], PLAN)
    [diag] = e.value.diagnostics
    assert (diag.span.path.endswith("p1.parquet"), diag.span.line, diag.message) == (
        True, 1, "row 1: `date` is `2026-01-00`, not a date like 2026-01-31")


def test_a_directory_without_parquet_files_is_a_usage_error(tmp_path):
    (tmp_path / "x.csv").write_text("account,date\n")
    with pytest.raises(UsageError, match="no Parquet files"):
        load_snapshots([str(tmp_path)], PLAN)
