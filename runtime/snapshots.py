"""Runtime input: read metric snapshots (CSV, JSON Lines, Parquet) and validate them.

Files are read by DuckDB itself into one staging table with the file and row
of every record; validation is a handful of SQL queries over it (no Python
loop over rows), and only a clean input becomes the ``snapshots`` table:
``account, date, <attributes in catalog order>, <metrics as DOUBLE>`` sorted
by account and date.

CSV line numbers assume no quoted field spans lines: line = data row + 1.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field

import duckdb

from plays.diagnostics import Diagnostic, Span, error, suggest, warning

from .sql import ident, text

MAX_REPORTED = 20


class SnapshotError(Exception):
    """The input is not usable; ``diagnostics`` are positioned (file, line or row, column)."""

    def __init__(self, diagnostics: list[Diagnostic], more: int = 0):
        self.diagnostics = diagnostics
        self.more = more
        super().__init__(diagnostics[0].message if diagnostics else "bad snapshots")


@dataclass
class Snapshots:
    """A DuckDB connection holding the validated ``snapshots`` table."""

    con: duckdb.DuckDBPyConnection
    files: list[str]
    rows: int
    warnings: list[Diagnostic] = field(default_factory=list)


def expand(patterns: list[str]) -> list[str]:
    """Files named by paths and glob patterns, sorted; a pattern matching nothing is an error."""
    from plays.diagnostics import UsageError

    files: list[str] = []
    for pat in patterns:
        if any(c in pat for c in "*?["):
            found = sorted(p for p in glob.glob(pat, recursive=True) if os.path.isfile(p))
            if not found:
                raise UsageError(f"{pat}: no file matches")
            files.extend(found)
        elif os.path.isdir(pat):
            raise UsageError(f"{pat}: is a directory (name the files, or a pattern like {pat}/*.csv)")
        elif not os.path.exists(pat):
            raise UsageError(f"{pat}: no such file")
        else:
            files.append(pat)
    return list(dict.fromkeys(files))


def _kind(path: str) -> str:
    low = path.lower()
    if low.endswith((".jsonl", ".ndjson", ".json")):
        return "json"
    if low.endswith((".parquet", ".pq")):
        return "parquet"
    return "csv"


def _reader(path: str, kind: str) -> str:
    p = text(path)
    if kind == "csv":
        return f"read_csv({p}, header = true, all_varchar = true, auto_detect = true)"
    if kind == "json":
        return f"read_json({p}, format = 'newline_delimited', records = true)"
    return f"read_parquet({p})"


def _where(kind: str, path: str, row: int) -> tuple[Span, str]:
    if kind == "parquet":
        return Span.point(path, row, 1), f"row {row}"
    line = row + 1 if kind == "csv" else row
    return Span.point(path, line, 1), f"line {line}"


def load_snapshots(
    patterns: list[str],
    plan: dict,
    con: duckdb.DuckDBPyConnection | None = None,
    accounts: list[str] | None = None,
) -> Snapshots:
    """Read and validate snapshot files for ``plan``'s catalog; ``SnapshotError`` when unusable."""
    files = expand(patterns)
    con = con or duckdb.connect()
    attrs = plan["catalog"]["attributes"]
    metrics = plan["catalog"]["metrics"]
    expected = ["account", "date", *(a["name"] for a in attrs), *(m["name"] for m in metrics)]
    problems: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    parts = []
    for i, path in enumerate(files):
        kind = _kind(path)
        staged = f"_raw{i}"
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {staged} AS "
                f"SELECT row_number() OVER () AS _row, * FROM {_reader(path, kind)}"
            )
            columns = [r[0] for r in con.execute(f"DESCRIBE {staged}").fetchall()][1:]
            count = con.execute(f"SELECT count(*) FROM {staged}").fetchone()[0]
        except duckdb.Error as e:
            reason = str(e).splitlines()[0]
            problems.append(error("R100", f"cannot read this file: {reason}", Span.point(path, 1, 1)))
            continue
        if count == 0:
            problems.append(error("R100", "the file has no rows", Span.point(path, 1, 1)))
            continue
        for col in columns:
            if col not in expected:
                warnings.append(warning(
                    "R102", f"unknown column `{col}`: not in the catalog, ignored", Span.point(path, 1, 1),
                    suggestion=suggest(col, expected),
                ))
        missing = [c for c in ("account", "date") if c not in columns]
        if missing:
            problems.append(error("R101", f"no `{missing[0]}` column: every row needs an account and a date",
                                  Span.point(path, 1, 1)))
            continue
        select = [f"{text(path)} AS _file", f"{text(kind)} AS _kind", "_row"]
        for c in expected:
            select.append(f"CAST({ident(c)} AS VARCHAR) AS {ident(c)}" if c in columns else f"NULL::VARCHAR AS {ident(c)}")
        parts.append(f"SELECT {', '.join(select)} FROM {staged}")
    if problems:
        raise SnapshotError(problems)
    if not parts:
        raise SnapshotError([error("R100", "no snapshot rows to read", None)])
    con.execute("CREATE OR REPLACE TEMP TABLE _raw AS " + " UNION ALL ".join(parts))
    for i in range(len(files)):
        con.execute(f"DROP TABLE IF EXISTS _raw{i}")
    if accounts:
        con.execute(f"DELETE FROM _raw WHERE account NOT IN ({', '.join(text(a) for a in accounts)})")

    problems, total = _validate(con, attrs, metrics)
    if problems:
        raise SnapshotError(problems, more=total - len(problems))

    cols = ['"account"', 'CAST("date" AS DATE) AS "date"']
    for a in attrs:
        cast = {"date": "DATE", "number": "DOUBLE"}.get(a["type"], "VARCHAR")
        cols.append(f"CAST({ident(a['name'])} AS {cast}) AS {ident(a['name'])}")
    for m in metrics:
        cols.append(f"CAST({ident(m['name'])} AS DOUBLE) AS {ident(m['name'])}")
    con.execute(f"CREATE OR REPLACE TABLE snapshots AS SELECT {', '.join(cols)} FROM _raw ORDER BY account, date")
    rows = con.execute("SELECT count(*) FROM snapshots").fetchone()[0]
    con.execute("DROP TABLE _raw")
    return Snapshots(con=con, files=files, rows=rows, warnings=warnings)


def _validate(con, attrs: list[dict], metrics: list[dict]) -> tuple[list[Diagnostic], int]:
    """Every problem of the staged rows, as (first MAX_REPORTED diagnostics, total count)."""
    checks = [
        ("R107", "account", "account IS NULL OR trim(account) = ''", "'the account is empty'"),
        ("R104", "date", "\"date\" IS NULL OR TRY_CAST(\"date\" AS DATE) IS NULL OR NOT regexp_full_match(\"date\", '\\d{4}-\\d{2}-\\d{2}')",
         "'`date` is ' || CASE WHEN \"date\" IS NULL THEN 'empty' ELSE '`' || \"date\" || '`, not a date like 2026-01-31' END"),
    ]
    for a in attrs:
        c = ident(a["name"])
        if a["type"] == "date":
            checks.append(("R104", a["name"],
                           f"{c} IS NOT NULL AND (TRY_CAST({c} AS DATE) IS NULL OR NOT regexp_full_match({c}, '\\d{{4}}-\\d{{2}}-\\d{{2}}'))",
                           f"'`{a['name']}` is `' || {c} || '`, not a date like 2026-01-31'"))
        elif a["type"] == "number":
            checks.append(("R103", a["name"], f"{c} IS NOT NULL AND TRY_CAST({c} AS DOUBLE) IS NULL",
                           f"'`{a['name']}` is `' || {c} || '`, not a number'"))
        elif a["type"] == "enum":
            values = ", ".join(text(v) for v in a["values"])
            checks.append(("R105", a["name"], f"{c} IS NOT NULL AND {c} NOT IN ({values})",
                           f"'`{a['name']}` is `' || {c} || '`, not one of {', '.join(a['values'])}'"))
    for m in metrics:
        c = ident(m["name"])
        checks.append(("R103", m["name"], f"{c} IS NOT NULL AND TRY_CAST({c} AS DOUBLE) IS NULL",
                       f"'`{m['name']}` is `' || {c} || '`, not a number'"))
    queries = [
        f"SELECT _file, _kind, _row, {text(code)} AS code, {message} AS message FROM _raw WHERE {cond}"
        for code, _col, cond, message in checks
    ]
    queries.append(
        "SELECT _file, _kind, _row, 'R106' AS code, "
        "'a second row for account `' || account || '` on ' || \"date\" || ' (first at ' || first_file || ' ' || "
        "CASE WHEN first_kind = 'parquet' THEN 'row ' || first_row WHEN first_kind = 'csv' THEN 'line ' || (first_row + 1) "
        "ELSE 'line ' || first_row END || ')' AS message FROM ("
        "SELECT *, first_value(_file) OVER w AS first_file, first_value(_kind) OVER w AS first_kind, "
        "first_value(_row) OVER w AS first_row, row_number() OVER w AS n FROM _raw "
        "WHERE account IS NOT NULL AND \"date\" IS NOT NULL "
        "WINDOW w AS (PARTITION BY account, TRY_CAST(\"date\" AS DATE) ORDER BY _file, _row)) WHERE n > 1"
    )
    union = " UNION ALL ".join(queries)
    total = con.execute(f"SELECT count(*) FROM ({union})").fetchone()[0]
    if not total:
        return [], 0
    rows = con.execute(f"SELECT * FROM ({union}) ORDER BY _file, _row, code LIMIT {MAX_REPORTED}").fetchall()
    out = []
    for path, kind, row, code, message in rows:
        span, where = _where(kind, path, row)
        out.append(error(code, f"{where}: {message}", span))
    return out, total


def snapshots_from_rows(plan: dict, rows: list[dict], con: duckdb.DuckDBPyConnection | None = None):
    """A connection with a ``snapshots`` table built from in-memory rows (spec tests, checks).

    Rows are dicts with ``account``, ``date`` (a ``datetime.date``) and any
    attributes and metrics of the catalog; missing ones are empty.
    """
    con = con or duckdb.connect()
    attrs = plan["catalog"]["attributes"]
    metrics = plan["catalog"]["metrics"]
    cols = [("account", "VARCHAR"), ("date", "DATE")]
    cols += [(a["name"], {"date": "DATE", "number": "DOUBLE"}.get(a["type"], "VARCHAR")) for a in attrs]
    cols += [(m["name"], "DOUBLE") for m in metrics]
    con.execute(f"CREATE OR REPLACE TABLE snapshots ({', '.join(f'{ident(c)} {t}' for c, t in cols)})")
    if rows:
        from datetime import date as _date

        def value(row, name, typ):
            v = row.get(name)
            if typ == "DATE" and isinstance(v, str):
                return _date.fromisoformat(v)
            return v

        placeholders = ", ".join("?" for _ in cols)
        data = [[value(r, c, t) for c, t in cols] for r in sorted(rows, key=lambda r: (r["account"], r["date"]))]
        con.executemany(f"INSERT INTO snapshots VALUES ({placeholders})", data)
    return con
