"""Runtime input: read metric snapshots (CSV, JSON Lines, Parquet) and validate them.

Files are read by DuckDB itself into one staging table with the file and row
of every record; validation is a handful of SQL queries over it (no Python
loop over rows), and only a clean input becomes the ``snapshots`` table:
``account, date, <attributes in catalog order>, <metrics as DOUBLE>`` sorted
by account and date.

CSV line numbers assume no quoted field spans lines: line = data row + 1.
"""

from __future__ import annotations

import csv
import glob
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date

import duckdb

from plays.compiler.plan import Plan
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
    plan: Plan,
    con: duckdb.DuckDBPyConnection | None = None,
    accounts: list[str] | None = None,
) -> Snapshots:
    """Read and validate snapshot files for ``plan``'s catalog; ``SnapshotError`` when unusable."""
    files = expand(patterns)
    con = con or duckdb.connect()
    attrs = plan.catalog.attributes
    metrics = plan.catalog.metrics
    expected = ["account", "date", *(a.name for a in attrs), *(m.name for m in metrics)]
    problems: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    staged: list[tuple[str, str, str, dict[str, str]]] = []  # (table, path, kind, column -> type)
    for i, path in enumerate(files):
        kind = _kind(path)
        table = f"_raw{i}"
        try:
            where = f" WHERE account IN ({', '.join(text(a) for a in accounts)})" if accounts else ""
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM "
                f"(SELECT row_number() OVER () AS _row, * FROM {_reader(path, kind)}){where}"
            )
            columns = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
            columns.pop("_row")
            count = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        except duckdb.Error as e:
            reason = str(e).splitlines()[0]
            problems.append(error("R100", f"cannot read this file: {reason}", Span.point(path, 1, 1)))
            continue
        if count == 0 and not accounts:
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
        staged.append((table, path, kind, columns))
    if problems:
        raise SnapshotError(problems)
    if not staged:
        raise SnapshotError([error("R100", "no snapshot rows to read", None)])

    problems, total = _validate(con, staged, attrs, metrics)
    if problems:
        raise SnapshotError(problems, more=total - len(problems))

    targets = [("account", "VARCHAR"), ("date", "DATE")]
    targets += [(a.name, {"date": "DATE", "number": "DOUBLE"}.get(a.type, "VARCHAR")) for a in attrs]
    targets += [(m.name, "DOUBLE") for m in metrics]
    parts = []
    for table, _path, _kind_, columns in staged:
        cols = []
        for c, typ in targets:
            src = ident(c)
            if c not in columns:
                cols.append(f"NULL::{typ} AS {src}")
            elif columns[c] == typ:
                cols.append(src)
            elif typ == "DATE" and columns[c] == "VARCHAR":
                cols.append(f"CAST({src} AS DATE) AS {src}")
            else:
                cols.append(f"CAST({src} AS {typ}) AS {src}")
        parts.append(f"SELECT {', '.join(cols)} FROM {table}")
    con.execute(f"CREATE OR REPLACE TABLE snapshots AS {' UNION ALL '.join(parts)} ORDER BY account, date")
    for table, *_ in staged:
        con.execute(f"DROP TABLE {table}")
    rows = con.execute("SELECT count(*) FROM snapshots").fetchone()[0]
    return Snapshots(con=con, files=files, rows=rows, warnings=warnings)


_TEXT = ("VARCHAR",)
_NUMERIC = ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER",
            "USMALLINT", "UTINYINT")


def _checks(name: str, typ: str, source: str, values: tuple[str, ...] = ()) -> list[tuple[str, str, str]]:
    """(code, condition, message SQL) for one column, given the catalog type and the file's type."""
    c = ident(name)
    as_text = c if source in _TEXT else f"CAST({c} AS VARCHAR)"
    iso = f"regexp_full_match({as_text}, '\\d{{4}}-\\d{{2}}-\\d{{2}}')"
    shown = f"'`{name}` is `' || {as_text} || '`"
    if name == "account":
        return [("R107", f"{c} IS NULL OR trim({as_text}) = ''", "'the account is empty'")]
    if name == "date":
        if source == "DATE":
            return [("R104", f"{c} IS NULL", "'`date` is empty'")]
        return [("R104", f"{c} IS NULL OR TRY_CAST({as_text} AS DATE) IS NULL OR NOT {iso}",
                 f"CASE WHEN {c} IS NULL THEN '`date` is empty' ELSE {shown}, not a date like 2026-01-31' END")]
    if typ == "date":
        if source == "DATE":
            return []
        return [("R104", f"{c} IS NOT NULL AND (TRY_CAST({as_text} AS DATE) IS NULL OR NOT {iso})",
                 f"{shown}, not a date like 2026-01-31'")]
    if typ in ("number", "count", "money", "percent"):
        if source in _NUMERIC or source.startswith("DECIMAL"):
            return []
        return [("R103", f"{c} IS NOT NULL AND TRY_CAST({as_text} AS DOUBLE) IS NULL", f"{shown}, not a number'")]
    if typ == "enum":
        return [("R105", f"{c} IS NOT NULL AND {as_text} NOT IN ({', '.join(text(v) for v in values)})",
                 f"{shown}, not one of {', '.join(values)}'")]
    return []


def _validate(con, staged, attrs: list[dict], metrics: list[dict]) -> tuple[list[Diagnostic], int]:
    """Every problem of the staged files, as (first MAX_REPORTED diagnostics, total count)."""
    enums = {a.name: tuple(a.values) for a in attrs if a.type == "enum"}
    catalog = {"account": "text", "date": "date", **{a.name: a.type for a in attrs},
               **{m.name: m.type for m in metrics}}
    queries, keys = [], []
    for table, path, kind, columns in staged:
        for name, typ in catalog.items():
            if name not in columns:
                continue
            for code, cond, message in _checks(name, typ, columns[name], enums.get(name, ())):
                queries.append(f"SELECT {text(path)} AS _file, {text(kind)} AS _kind, _row, {text(code)} AS code, "
                               f"{message} AS message FROM {table} WHERE {cond}")
        keys.append(f"SELECT {text(path)} AS _file, {text(kind)} AS _kind, _row, CAST(account AS VARCHAR) AS account, "
                    f"TRY_CAST(CAST(\"date\" AS VARCHAR) AS DATE) AS day FROM {table}")
    queries.append(
        "SELECT _file, _kind, _row, 'R106' AS code, "
        "'a second row for account `' || account || '` on ' || day || ' (first at ' || first_file || ' ' || "
        "CASE WHEN first_kind = 'parquet' THEN 'row ' || first_row WHEN first_kind = 'csv' THEN 'line ' || (first_row + 1) "
        "ELSE 'line ' || first_row END || ')' AS message FROM ("
        "SELECT *, first_value(_file) OVER w AS first_file, first_value(_kind) OVER w AS first_kind, "
        "first_value(_row) OVER w AS first_row, row_number() OVER w AS n FROM (" + " UNION ALL ".join(keys) + ") "
        "WHERE account IS NOT NULL AND day IS NOT NULL "
        "WINDOW w AS (PARTITION BY account, day ORDER BY _file, _row)) WHERE n > 1"
    )
    union = " UNION ALL ".join(queries)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _problems AS {union}")
    total = con.execute("SELECT count(*) FROM _problems").fetchone()[0]
    if not total:
        return [], 0
    rows = con.execute(f"SELECT * FROM _problems ORDER BY _file, _row, code LIMIT {MAX_REPORTED}").fetchall()
    con.execute("DROP TABLE _problems")
    out = []
    for path, kind, row, code, message in rows:
        span, where = _where(kind, path, row)
        out.append(error(code, f"{where}: {message}", span))
    return out, total


def snapshots_from_rows(plan: Plan, rows: list[dict], con: duckdb.DuckDBPyConnection | None = None):
    """A connection with a ``snapshots`` table built from in-memory rows (spec tests, checks).

    Rows are dicts with ``account``, ``date`` (a ``datetime.date``) and any
    attributes and metrics of the catalog; missing ones are empty.
    """
    con = con or duckdb.connect()
    attrs = plan.catalog.attributes
    metrics = plan.catalog.metrics
    cols = [("account", "VARCHAR"), ("date", "DATE")]
    cols += [(a.name, {"date": "DATE", "number": "DOUBLE"}.get(a.type, "VARCHAR")) for a in attrs]
    cols += [(m.name, "DOUBLE") for m in metrics]
    con.execute(f"CREATE OR REPLACE TABLE snapshots ({', '.join(f'{ident(c)} {t}' for c, t in cols)})")
    ordered = sorted(rows, key=lambda r: (r["account"], str(r["date"])))
    insert_rows(con, "snapshots", [tuple(r.get(c) for c, _ in cols) for r in ordered])
    return con


def insert_rows(con, table: str, rows) -> None:
    """Bulk-insert Python rows: through a temporary CSV file that DuckDB reads itself.

    (Hundreds of thousands of rows as SQL VALUES literals took tens of seconds.)
    """
    if not rows:
        return
    fd, path = tempfile.mkstemp(suffix=".csv", prefix="plays-")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            for r in rows:
                w.writerow(["" if v is None else v.isoformat() if isinstance(v, date) else v for v in r])
        types = [c[1] for c in con.execute(f"DESCRIBE {table}").fetchall()]
        columns = "{" + ", ".join(f"'c{i}': '{t}'" for i, t in enumerate(types)) + "}"
        con.execute(
            f"INSERT INTO {table} SELECT * FROM read_csv({text(path)}, header = false, columns = {columns}, "
            f"nullstr = '', quote = '\"', escape = '\"')"
        )
    finally:
        os.unlink(path)
