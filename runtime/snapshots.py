"""Runtime input: read metric snapshots (CSV, JSON Lines, Parquet) and validate them.

DuckDB reads the files itself and validation is SQL over the files, never a
copy of them: every file (or group of Parquet files with one schema) is a scan
with its file and row position, one streaming query finds the bad values (the
count and the first ``MAX_REPORTED``), a second one finds duplicated
(account, date) keys. The validation connection has a memory limit and a
temporary directory, so on big inputs DuckDB spills instead of growing.

Only a clean input is turned into snapshots with the catalog's types
(``account, date, <attributes in catalog order>, <metrics as DOUBLE>``):
``load_snapshots`` builds the ``snapshots`` table of a connection, and
``prepare_snapshots`` writes them as Parquet files hash-partitioned by account
(``bucket_of``) for the partitioned engine.

Positions: a CSV or JSON Lines problem names its physical line (blank lines,
quoted fields spanning lines and rejected rows counted); a Parquet problem its
row (1-based, per file). DuckDB numbers the rows it reads; the few reported
ones are turned into lines by reading the file again with Python's ``csv``
(only when there is something to report).
"""

from __future__ import annotations

import csv
import glob
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date

import duckdb

from plays.compiler.plan import Catalog, Plan
from plays.diagnostics import Diagnostic, Span, error, suggest, warning
from plays.errors import PlaysError

from .db import connect
from .sql import ident, text

MAX_REPORTED = 20
MEMORY_LIMIT = "768MB"  # DuckDB's own limit while validating / partitioning; it spills to disk beyond it
ROWS_PER_PARTITION = 500_000  # a worker holds about 350 MB for a bucket this size (docs/performance.md)
PARTITION_FLUSH_ROWS = 30_000
FILTERED_SCANS = 10  # up to this many buckets of a Parquet input, one filtered scan each; beyond, one spilling pass
PARQUET = (".parquet", ".pq")


class SnapshotError(PlaysError):
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


@dataclass
class PreparedSnapshots:
    """Validated snapshots written as Parquet, one list of files per account bucket (see ``bucket_of``)."""

    files: list[str]  # the input files
    rows: int
    accounts: int
    partitions: list[list[str]]  # Parquet files of bucket i (possibly none), rows sorted by account, date
    last_date: date | None
    warnings: list[Diagnostic] = field(default_factory=list)


# --------------------------------------------------------------------------- buckets

def bucket_sql(expr: str, partitions: int) -> str:
    """SQL for the bucket of the account ``expr``: the first 32 bits of its MD5, modulo ``partitions``.

    MD5 of the UTF-8 bytes is the same on every machine, process and DuckDB
    version (unlike DuckDB's ``hash()``); ``bucket_of`` is the same in Python.
    """
    return f"CAST(('0x' || left(md5({expr}), 8)) AS UBIGINT) % {int(partitions)}"


def bucket_of(account: str, partitions: int) -> int:
    """The bucket of ``account`` among ``partitions``, identical to ``bucket_sql``."""
    return int(hashlib.md5(account.encode("utf-8")).hexdigest()[:8], 16) % partitions


# --------------------------------------------------------------------------- files

def expand(patterns: list[str]) -> list[str]:
    """Files named by paths, directories of Parquet files and glob patterns; nothing matched is an error."""
    return _expand(patterns)[0]


def _expand(patterns: list[str]) -> tuple[list[str], set[str]]:
    """(files in order, the ones found inside a directory); an existing path is taken literally."""
    from plays.diagnostics import UsageError

    files: list[str] = []
    in_dir: set[str] = set()
    for pat in patterns:
        if os.path.isdir(pat):
            found = _dataset(pat)
            if not found:
                raise UsageError(f"{pat}: no Parquet files in this directory (name the files, or a pattern like "
                                 f"{pat.rstrip('/')}/*.csv)")
            files.extend(found)
            in_dir.update(found)
        elif os.path.exists(pat):
            files.append(pat)
        elif any(c in pat for c in "*?["):
            found = sorted(p for p in glob.glob(pat, recursive=True) if os.path.isfile(p))
            if not found:
                raise UsageError(f"{pat}: no file matches")
            files.extend(found)
        elif pat == "-":  # the Unix habit; a table of snapshots is read from files only
            raise UsageError("-: snapshots are read from files, not standard input (name CSV or Parquet files)")
        else:
            raise UsageError(f"{pat}: no such file")
    return list(dict.fromkeys(files)), in_dir


def _dataset(directory: str) -> list[str]:
    """The Parquet files under ``directory`` (hive-style subdirectories included), sorted; hidden and
    ``_``-prefixed names (``_SUCCESS``, ``.crc`` files) are skipped."""
    found = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        found += [os.path.join(root, n) for n in names
                  if n.lower().endswith(PARQUET) and not n.startswith((".", "_"))]
    return sorted(found)


def _kind(path: str) -> str:
    low = path.lower()
    if low.endswith((".jsonl", ".ndjson", ".json")):
        return "json"
    if low.endswith(PARQUET):
        return "parquet"
    return "csv"


# --------------------------------------------------------------------------- catalog

@dataclass(frozen=True)
class _Column:
    name: str
    type: str  # "account", "day" (the snapshot date), or the catalog type: text enum date number count money percent
    values: tuple[str, ...] = ()

    @property
    def sql_type(self) -> str:
        if self.type in ("date", "day"):
            return "DATE"
        if self.type in ("number", "count", "money", "percent"):
            return "DOUBLE"
        return "VARCHAR"

    @property
    def numeric(self) -> bool:
        return self.sql_type == "DOUBLE"


def _catalog(plan: Plan | Catalog) -> list[_Column]:
    """``account``, ``date``, the attributes then the metrics of a catalog (or of a plan's)."""
    catalog = plan.catalog if isinstance(plan, Plan) else plan
    cols = [_Column("account", "account"), _Column("date", "day")]
    cols += [_Column(a.name, a.type, tuple(a.values or ())) for a in catalog.attributes]
    cols += [_Column(m.name, m.type) for m in catalog.metrics]
    return cols


# --------------------------------------------------------------------------- sources

@dataclass
class _Source:
    """One scan: a CSV or JSON Lines file, or consecutive Parquet files with the same schema."""

    kind: str
    files: list[str]
    scan: str = ""  # SQL relation with _file, _row and the raw columns
    raw: dict[str, str] = field(default_factory=dict)  # catalog column -> SQL of its raw value in `scan`
    types: dict[str, str] = field(default_factory=dict)  # catalog column -> raw type (VARCHAR, JSON, Parquet's)
    delim: str = ","
    header_line: int = 1
    rejects: str = ""  # the CSV reject table
    hive: set[str] = field(default_factory=set)  # Parquet columns that come from hive-style directory names


_INTEGERS = ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT",
             "UTINYINT", "UHUGEINT")
_FLOATS = ("DOUBLE", "FLOAT")
_JSON_NUMBERS = "('UBIGINT', 'BIGINT', 'DOUBLE', 'HUGEINT')"
_SHOWN = 60


def _short(sql: str) -> str:
    """A value as shown in a message: at most _SHOWN characters."""
    return f"(CASE WHEN length({sql}) > {_SHOWN} THEN left({sql}, {_SHOWN - 3}) || '...' ELSE {sql} END)"


def _date_bad(t: str) -> str:
    return f"(NOT regexp_full_match({t}, '\\d{{4}}-\\d{{2}}-\\d{{2}}') OR TRY_CAST({t} AS DATE) IS NULL)"


def _padded(t: str) -> str:
    return f"regexp_matches({t}, '^\\s|\\s$')"


@dataclass
class _Expr:
    """How one catalog column of one source is read: checks, its typed value, its key part for R106."""

    checks: list[tuple[str, str, str]]  # (code, condition, message SQL)
    value: str
    key: str = "NULL"


def _text_expr(col: _Column, t: str, shown: str | None = None) -> _Expr:
    """A column whose raw value is text ``t`` (CSV, text Parquet columns)."""
    n = col.name
    is_ = f"'`{n}` is `' || {_short(shown or t)} || '`"
    if col.type == "account":
        return _Expr([("R107", f"{t} IS NULL OR trim({t}) = ''", "'the account is empty'"),
                      ("R108", f"{_padded(t)} AND trim({t}) <> ''",
                       f"'the account `' || {_short(t)} || '` starts or ends with spaces'")], t, t)
    if col.type == "day":
        return _Expr([("R104", f"{t} IS NULL OR {_date_bad(t)}",
                       f"CASE WHEN {t} IS NULL THEN '`date` is empty' ELSE {is_}, not a date like 2026-01-31' END")],
                     f"CAST({t} AS DATE)", f"TRY_CAST({t} AS DATE)")
    if col.type == "date":
        return _Expr([("R104", f"{t} IS NOT NULL AND {_date_bad(t)}", f"{is_}, not a date like 2026-01-31'")],
                     f"CAST({t} AS DATE)")
    if col.numeric:
        return _Expr([("R103", f"{t} IS NOT NULL AND NOT coalesce(isfinite(TRY_CAST({t} AS DOUBLE)), false)",
                       f"{is_}, not a number'")], f"CAST({t} AS DOUBLE)")
    if col.type == "enum":
        return _Expr([("R105", f"{t} IS NOT NULL AND {t} NOT IN ({', '.join(text(v) for v in col.values)})",
                       f"{is_}, not one of {', '.join(col.values)}'")], t)
    return _Expr([], t)


def _json_expr(col: _Column, v: str) -> _Expr:
    """A column of a JSON Lines object: ``v`` is its JSON value (NULL when the key is missing)."""
    n = col.name
    jt = f"json_type({v})"
    s = f"json_extract_string({v}, '$')"
    raw = f"CAST({v} AS VARCHAR)"
    empty = f"({jt} IS NULL OR {jt} = 'NULL')"
    string = f"{jt} = 'VARCHAR'"
    is_raw = f"('`{n}` is `' || {_short(raw)} || '`')"
    is_s = f"('`{n}` is `' || {_short(s)} || '`')"
    shown = f"(CASE WHEN {string} THEN {is_s} ELSE {is_raw} END)"
    if col.type == "account":
        return _Expr([
            ("R107", f"{empty} OR ({string} AND trim({s}) = '')", "'the account is empty'"),
            ("R109", f"NOT {empty} AND NOT {string}", f"{is_raw} || ', not text: write it as a JSON string'"),
            ("R108", f"{string} AND {_padded(s)} AND trim({s}) <> ''",
             f"'the account `' || {_short(s)} || '` starts or ends with spaces'"),
        ], s, f"CASE WHEN {string} THEN {s} END")
    if col.type in ("day", "date"):
        bad = f"{shown} || ', not a date like 2026-01-31'"
        cond = f"NOT {empty} AND (NOT {string} OR {_date_bad(s)})"
        if col.type == "day":
            return _Expr([("R104", f"{empty} OR {cond}", f"CASE WHEN {empty} THEN '`date` is empty' ELSE {bad} END")],
                         f"CAST({s} AS DATE)", f"CASE WHEN {string} THEN TRY_CAST({s} AS DATE) END")
        return _Expr([("R104", cond, bad)], f"CAST({s} AS DATE)")
    if col.numeric:
        return _Expr([("R103", f"NOT {empty} AND ({jt} NOT IN {_JSON_NUMBERS} OR NOT isfinite(CAST({s} AS DOUBLE)))",
                       f"{is_raw} || ', not a number'")], f"CAST({s} AS DOUBLE)")
    if col.type == "enum":
        values = ", ".join(text(x) for x in col.values)
        return _Expr([("R105", f"NOT {empty} AND (NOT {string} OR {s} NOT IN ({values}))",
                       f"{shown} || ', not one of {', '.join(col.values)}'")], s)
    return _Expr([("R109", f"NOT {empty} AND NOT {string}", f"{is_raw} || ', not text: write it as a JSON string'")], s)


def _parquet_expr(col: _Column, c: str, typ: str) -> _Expr | str:
    """A Parquet column ``c`` of DuckDB type ``typ``; a string when the column's type cannot hold it."""
    base = typ.split("(")[0]
    if base == "VARCHAR" or (base == "ENUM" and not col.numeric and col.type not in ("day", "date")):
        return _text_expr(col, c if base == "VARCHAR" else f"CAST({c} AS VARCHAR)")
    if col.type in ("account", "text", "enum") and base in _INTEGERS:
        return _text_expr(col, f"CAST({c} AS VARCHAR)")
    if col.type in ("day", "date") and base == "DATE":
        checks = [("R104", f"{c} IS NULL", "'`date` is empty'")] if col.type == "day" else []
        return _Expr(checks, c, c)
    if col.numeric and (base in _INTEGERS or base == "DECIMAL"):
        return _Expr([], f"CAST({c} AS DOUBLE)")
    if col.numeric and base in _FLOATS:
        return _Expr([("R103", f"{c} IS NOT NULL AND NOT isfinite({c})",
                       f"'`{col.name}` is `' || CAST({c} AS VARCHAR) || '`, not a number'")], f"CAST({c} AS DOUBLE)")
    wanted = {"account": "text", "day": "dates", "date": "dates", "text": "text", "enum": "text"}.get(col.type, "numbers")
    return f"`{col.name}` is a column of type {typ}, not {wanted}"


def _expr(src: _Source, col: _Column) -> _Expr | str:
    ref = src.raw[col.name]
    if src.kind == "json":
        return _json_expr(col, ref)
    if src.kind == "csv":
        return _text_expr(col, ref)
    return _parquet_expr(col, ref, src.types[col.name])


# --------------------------------------------------------------------------- DuckDB

def _connect(tmp: str) -> duckdb.DuckDBPyConnection:
    con = connect()
    con.execute(f"SET memory_limit = {text(MEMORY_LIMIT)}")
    con.execute(f"SET temp_directory = {text(tmp)}")
    con.execute("SET preserve_insertion_order = false")
    try:  # smaller flushes of a partitioned COPY: 0.65x the time of the default here (docs/performance.md)
        con.execute(f"SET partitioned_write_flush_threshold = {PARTITION_FLUSH_ROWS}")
    except duckdb.Error:  # a DuckDB without the setting
        pass
    return con


def _reason(e: BaseException) -> str:
    """A DuckDB error as one short line of our own: no error class, no SQL, no caret."""
    first = next((ln.strip() for ln in str(e).splitlines() if ln.strip()), type(e).__name__)
    first = re.sub(r"^[A-Za-z ]*Error: ", "", first)
    first = re.sub(r"^[A-Za-z ]*Error: ", "", first)
    return (first[:157] + "...") if len(first) > 160 else first


# --------------------------------------------------------------------------- opening files

def _head(path: str, size: int, problems: list[Diagnostic]) -> bytes | None:
    """The first ``size`` bytes of a file, or None with an R100 problem when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError as e:
        problems.append(error("R100", f"cannot read this file: {e.strerror or e}", Span.point(path, 1, 1)))
        return None


def _open_csv(path: str, index: int, problems: list[Diagnostic]) -> _Source | None:
    """The header (read by Python: delimiter, names, duplicates) and the scan of one CSV file."""
    at = Span.point(path, 1, 1)
    head = _head(path, 1 << 20, problems)
    if head is None:
        return None
    lines = head.split(b"\n")
    header_line = next((i + 1 for i, ln in enumerate(lines) if ln.strip(b"\r\t \xef\xbb\xbf")), None)
    if header_line is None:
        problems.append(error("R100", "the file is empty", at))
        return None
    raw = lines[header_line - 1]
    if b"\0" in head[:4096]:
        problems.append(error("R100", "cannot read this file: binary data, not CSV text", at))
        return None
    try:
        first = raw.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError as e:
        problems.append(error("R111", f"line {header_line}: not UTF-8 text (byte 0x{raw[e.start]:02x}); "
                                      "save the file as UTF-8", Span.point(path, header_line, 1)))
        return None
    delim = max([",", ";", "\t", "|"], key=lambda d: (first.count(d), d == ","))
    at = Span.point(path, header_line, 1)
    try:
        names = next(csv.reader([first], delimiter=delim), [])
    except csv.Error as e:  # a bare carriage return inside the header line, or a field past csv's limit
        why = "a carriage return (\\r) inside a column name" if "\r" in first else str(e)
        problems.append(error("R110", f"line {header_line}: cannot read the header: {why}", at))
        return None
    seen: dict[str, int] = {}
    for i, name in enumerate(names, 1):
        if name in seen:
            problems.append(error("R112", f"column `{name}` appears twice in the header (columns {seen[name]} and {i})",
                                  at))
        else:
            seen[name] = i
    if len(seen) < len(names):
        return None
    if not any(ln.strip(b"\r\t ") for ln in lines[header_line:]) and len(head) < (1 << 20):
        problems.append(error("R100", "the file has no rows", at))
        return None
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(names))) + "}"
    rejects = f"_rejects{index}"
    scan = (f"(SELECT {text(path)} AS _file, row_number() OVER () AS _row, * FROM read_csv({text(path)}, "
            f"header = true, skip = {header_line - 1}, auto_detect = false, columns = {columns}, "
            f"delim = {text(delim)}, quote = '\"', escape = '\"', store_rejects = true, "
            f"rejects_table = '{rejects}', rejects_scan = '{rejects}_scan'))")
    src = _Source("csv", [path], scan, delim=delim, header_line=header_line, rejects=rejects)
    src.raw = {name: f"c{i}" for name, i in ((n, names.index(n)) for n in seen)}
    src.types = {name: "VARCHAR" for name in seen}
    return src


def _open_json(con, path: str, names: list[str], problems: list[Diagnostic]) -> _Source | None:
    """The keys used by the objects of one JSON Lines file (one pass) and its scan."""
    at = Span.point(path, 1, 1)
    head = _head(path, 1 << 16, problems)
    if head is None:
        return None
    if not head.strip():
        problems.append(error("R100", "the file is empty", at))
        return None
    reader = f"read_ndjson_objects({text(path)})"
    try:
        keys = [r[0] for r in con.execute(
            f"SELECT DISTINCT unnest(json_keys(json)) AS k FROM {reader} WHERE json_type(json) = 'OBJECT' ORDER BY k"
        ).fetchall()]
    except duckdb.Error as e:
        problems.extend(_json_syntax(path, e))
        return None
    src = _Source("json", [path])
    src.types = {k: "JSON" for k in keys}
    used = [k for k in keys if k in names]  # catalog names are identifiers: no quoting needed in a JSON path
    paths = ", ".join(text(f'$."{k}"') for k in used)
    src.scan = (f"(SELECT {text(path)} AS _file, row_number() OVER () AS _row, json_type(json) AS _t, "
                f"json_extract(json, [{paths}]) AS _v FROM {reader})" if used else
                f"(SELECT {text(path)} AS _file, row_number() OVER () AS _row, json_type(json) AS _t, "
                f"[]::JSON[] AS _v FROM {reader})")
    src.raw = {k: f"_v[{i + 1}]" for i, k in enumerate(used)}
    return src


def _json_syntax(path: str, e: duckdb.Error) -> list[Diagnostic]:
    """Lines that are not JSON (or not UTF-8), found again by Python since DuckDB stops at the first."""
    out: list[Diagnostic] = []
    try:
        with open(path, "rb") as f:
            for n, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as u:
                    out.append(error("R111", f"line {n}: not UTF-8 text (byte 0x{raw[u.start]:02x}); save the file "
                                             "as UTF-8", Span.point(path, n, 1)))
                else:
                    try:
                        json.loads(line)
                    except ValueError as j:
                        msg = j.msg if isinstance(j, json.JSONDecodeError) else str(j)
                        out.append(error("R110", f"line {n}: not valid JSON ({msg.lower()})", Span.point(path, n, 1)))
                if len(out) > MAX_REPORTED:
                    break
    except OSError:
        pass
    if not out:
        m = re.search(r"in line (\d+)", str(e))
        line = int(m.group(1)) if m else 1
        out.append(error("R110", f"line {line}: cannot read this line: {_reason(e)}", Span.point(path, line, 1)))
    return out


def _open_parquet(con, files: list[str], problems: list[Diagnostic], explicit: set[str]) -> list[_Source]:
    """Parquet files grouped into scans: consecutive files (in path order) with one schema share a scan."""
    groups: list[_Source] = []
    last_schema = None
    for path in files:
        reader = f"read_parquet({text(path)}, hive_types_autocast = false)"
        try:
            schema = tuple(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {reader})")
                           .fetchall())
            empty = path in explicit and con.execute(f"SELECT count(*) FROM {reader}").fetchone()[0] == 0
        except duckdb.Error as e:
            problems.append(error("R100", f"cannot read this file: {_reason(e)}", Span.point(path, 1, 1)))
            continue
        if empty:
            problems.append(error("R100", "the file has no rows", Span.point(path, 1, 1)))
            continue
        if groups and schema == last_schema and path > groups[-1].files[-1]:
            groups[-1].files.append(path)
            continue
        last_schema = schema
        src = _Source("parquet", [path])
        hive = {k for k in re.findall(r"(?:^|/)([^/=]+)=[^/]*(?=/)", path.replace(os.sep, "/"))}
        src.types = {name: typ for name, typ in schema}
        src.hive = hive
        groups.append(src)
    for src in groups:
        names = [text(f) for f in src.files]
        src.scan = (f"(SELECT _file, file_row_number + 1 AS _row, * EXCLUDE (_file, file_row_number) FROM read_parquet("
                    f"[{', '.join(names)}], filename = '_file', file_row_number = true, hive_types_autocast = false))")
        src.raw = {name: ident(name) for name in src.types}
    return groups


# --------------------------------------------------------------------------- validation

@dataclass
class _Checked:
    """A validated input: its scans (with typed value expressions) and what validation counted."""

    files: list[str]
    sources: list[_Source]
    columns: list[_Column]
    values: list[list[str]]  # per source, the typed SQL of every catalog column
    keys: list[tuple[str, str]]  # per source, (account, day) key SQL
    filters: list[str]  # per source, the WHERE applied (accounts)
    rows: int
    warnings: list[Diagnostic]


def _validate(con, patterns: list[str], plan: Plan | Catalog, accounts: list[str] | None, progress) -> _Checked:
    files, in_dir = _expand(patterns)
    columns = _catalog(plan)
    names = [c.name for c in columns]
    problems: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    sources: list[_Source] = []
    explicit = set(files) - in_dir
    i = 0
    while i < len(files):
        kind = _kind(files[i])
        if kind == "parquet":
            j = i
            while j < len(files) and _kind(files[j]) == "parquet":
                j += 1
            sources += _open_parquet(con, files[i:j], problems, explicit)
            i = j
            continue
        src = _open_csv(files[i], i, problems) if kind == "csv" else _open_json(con, files[i], names, problems)
        if src is not None:
            sources.append(src)
        i += 1
    for src in sources:
        path = src.files[0]
        for col in src.types:
            if col not in names and col not in src.hive:
                warnings.append(warning(
                    "R102", f"unknown column `{col}`: not in the catalog, ignored", Span.point(path, src.header_line, 1),
                    suggestion=suggest(col, names),
                ))
        missing = [c for c in ("account", "date") if c not in src.types]
        if missing:
            problems.append(error("R101", f"no `{missing[0]}` column: every row needs an account and a date",
                                  Span.point(path, src.header_line, 1)))
    if problems:
        raise SnapshotError(problems)
    if not sources:
        raise SnapshotError([error("R100", "no snapshot rows to read", None)])

    exprs: list[dict[str, _Expr]] = []
    for src in sources:
        found = {}
        for col in columns:
            if col.name not in src.types:
                continue
            e = _expr(src, col)
            if isinstance(e, str):
                problems.append(error("R113", e, Span.point(src.files[0], 1, 1)))
            else:
                found[col.name] = e
        exprs.append(found)
    if problems:
        raise SnapshotError(problems)

    filters = []
    for src, found in zip(sources, exprs):
        if accounts:
            filters.append(f" WHERE {found['account'].value} IN ({', '.join(text(a) for a in accounts)})")
        else:
            filters.append("")
        if src.kind == "json":
            guard = "_t = 'OBJECT'"
            for e in found.values():
                e.checks = [(code, f"{guard} AND ({cond})", msg) for code, cond, msg in e.checks]
            found["_object"] = _Expr([("R110", "_t <> 'OBJECT'",
                                       "'not a JSON object but ' || CASE _t WHEN 'ARRAY' THEN 'an array' WHEN 'NULL' "
                                       "THEN 'null' WHEN 'VARCHAR' THEN 'a string' WHEN 'BOOLEAN' THEN 'true or false' "
                                       "ELSE 'a number' END")], "NULL")

    if progress:
        progress("validate")
    order = {path: k for k, path in enumerate(files)}
    con.execute("CREATE OR REPLACE TEMP TABLE _files (path VARCHAR, idx INTEGER)")
    con.executemany("INSERT INTO _files VALUES (?, ?)", list(order.items()))
    rows, total, found_rows = _value_problems(con, sources, exprs, filters)
    rejected = _rejects(con, sources)
    # rows DuckDB could not split shift its row numbers between scans: they are reported first, alone
    dup_total, dups = (0, []) if rejected else _duplicates(con, sources, exprs, filters)
    total += dup_total + sum(n for n, _ in rejected.values())
    if total:
        raise SnapshotError(*_report(sources, order, found_rows, dups, rejected, total))

    values = [[f"{found[c.name].value if c.name in found else 'NULL'}::{c.sql_type} AS {ident(c.name)}"
               for c in columns] for found in exprs]
    keys = [(found["account"].key, found["date"].key) for found in exprs]
    return _Checked(files, sources, columns, values, keys, filters, rows, warnings)


def _value_problems(con, sources, exprs, filters):
    """(rows read, number of problems, the first MAX_REPORTED rows with problems) in one streaming query.

    Every catalog column of a CSV file is touched (``_touch``) so that DuckDB
    reads them all here: a row it cannot split or decode lands in the reject
    table of this very scan.
    """
    parts = []
    for src, found, where in zip(sources, exprs, filters):
        checks = [c for e in found.values() for c in e.checks]
        touch = (f"len(list_value({', '.join(src.raw[c] for c in found if c in src.raw)}))"
                 if src.kind == "csv" else "0")
        items = ", ".join(f"CASE WHEN {cond} THEN {{'code': {text(code)}, 'message': {msg}}} END"
                          for code, cond, msg in checks)
        ps = (f"[x for x in [{items}] if x IS NOT NULL]" if checks else
              "[]::STRUCT(code VARCHAR, message VARCHAR)[]")
        parts.append(f"SELECT _file, _row, {ps} AS ps, {touch} AS _touch FROM {src.scan}{where}")
    query = (f"SELECT count(*), coalesce(sum(len(ps)), 0), "
             f"min_by({{'file': _file, 'row': _row, 'ps': ps}}, {{'file': _file, 'row': _row}}, {MAX_REPORTED}) "
             f"FILTER (WHERE len(ps) > 0), max(_touch) FROM ({' UNION ALL '.join(parts)})")
    try:
        rows, total, first, _ = con.execute(query).fetchall()[0]
    except duckdb.Error as e:
        raise SnapshotError([error("R100", f"cannot read the snapshots: {_reason(e)}", _blame(e, sources))]) from None
    return rows, total, first or []


def _blame(e: BaseException, sources: list[_Source]) -> Span | None:
    """The file a DuckDB error message names, else the first file."""
    msg = str(e)
    for src in sources:
        for f in src.files:
            if f in msg:
                return Span.point(f, 1, 1)
    return Span.point(sources[0].files[0], 1, 1) if sources else None


def _duplicates(con, sources, exprs, filters):
    """(count, the first MAX_REPORTED) rows repeating an (account, date) of an earlier row.

    A streaming GROUP BY finds the repeated keys (usually none); only then are
    their rows looked up with their positions.
    """
    keys = " UNION ALL ".join(
        f"SELECT _file, _row, {found['account'].key} AS acc, {found['date'].key} AS day FROM {src.scan}{where}"
        for src, found, where in zip(sources, exprs, filters))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _dup AS SELECT acc, day FROM ({keys}) "
                    "WHERE acc IS NOT NULL AND day IS NOT NULL GROUP BY acc, day HAVING count(*) > 1")
        if not con.execute("SELECT count(*) FROM _dup").fetchone()[0]:
            return 0, []
        return con.execute(
            f"SELECT count(*), min_by({{'f': fidx, 'row': _row, 'file': _file, 'acc': acc, 'day': day, "
            f"'first_file': first_file, 'first_row': first_row}}, {{'f': fidx, 'row': _row}}, {MAX_REPORTED}) "
            f"FROM (SELECT *, first_value(_file) OVER w AS first_file, first_value(_row) OVER w AS first_row, "
            f"row_number() OVER w AS n FROM (SELECT k.*, f.idx AS fidx FROM ({keys}) k "
            f"JOIN _dup USING (acc, day) JOIN _files f ON k._file = f.path) "
            f"WINDOW w AS (PARTITION BY acc, day ORDER BY fidx, _row)) WHERE n > 1"
        ).fetchone()
    except duckdb.Error as e:
        raise SnapshotError([error("R100", f"cannot read the snapshots: {_reason(e)}", _blame(e, sources))]) from None


_REJECT = {"TOO MANY COLUMNS": "R110", "MISSING COLUMNS": "R110", "INVALID ENCODING": "R111"}


def _rejects(con, sources) -> dict[str, tuple[int, list[tuple[int, str, str]]]]:
    """CSV rows DuckDB could not split (ragged, bad quotes, not UTF-8): file -> (count, first (line, code, msg))."""
    out = {}
    for src in sources:
        if src.kind != "csv":
            continue
        try:
            n = con.execute(f"SELECT count(DISTINCT line) FROM {src.rejects}").fetchone()[0]
            if not n:
                continue
            first = con.execute(
                f"SELECT line, arg_min(error_type, column_idx), arg_min(error_message, column_idx), "
                f"bool_or(error_type = 'MISSING COLUMNS'), min(column_idx) FROM {src.rejects} "
                f"GROUP BY line ORDER BY line LIMIT {MAX_REPORTED}").fetchall()
        except duckdb.Error:
            continue
        shown = []
        for line, kind, message, missing, column in first:
            m = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message or "")
            if m:
                found = column if missing else int(m.group(2))
                text_ = (f"line {line}: {found} field{'s' if found != 1 else ''}, but the header has "
                         f"{m.group(1)} (a ragged row)")
            elif kind == "INVALID ENCODING":
                text_ = f"line {line}: not UTF-8 text; save the file as UTF-8"
            elif kind == "UNQUOTED VALUE":
                text_ = f"line {line}: a quoted field is not closed, or text follows its closing quote"
            elif kind == "LINE SIZE OVER MAXIMUM":
                text_ = f"line {line}: the line is too long"
            else:
                text_ = f"line {line}: cannot split this row into fields ({(kind or 'malformed').lower()})"
            shown.append((line, _REJECT.get(kind, "R110"), text_))
        out[src.files[0]] = (n, shown)
    return out


def _report(sources, order, found_rows, dups, rejected, total):
    """The first MAX_REPORTED problems by file and line, with CSV/JSON rows turned into lines."""
    kinds = {f: src for src in sources for f in src.files}
    wanted: dict[str, set[int]] = {}
    for item in found_rows:
        wanted.setdefault(item["file"], set()).add(item["row"])
    for d in dups or []:
        wanted.setdefault(d["file"], set()).add(d["row"])
        wanted.setdefault(d["first_file"], set()).add(d["first_row"])
    lines = {}
    for path, rows in wanted.items():
        src = kinds[path]
        skip = {line for line, *_ in rejected.get(path, (0, []))[1]}
        lines[path] = _lines(src, rows, skip) if src.kind != "parquet" else {}

    def where(path, row):
        src = kinds[path]
        if src.kind == "parquet":
            return row, f"row {row}"
        line = lines[path].get(row, row + (src.header_line if src.kind == "csv" else 0))
        return line, f"line {line}"

    found = []
    for item in found_rows:
        line, at = where(item["file"], item["row"])
        for p in item["ps"]:
            found.append((order[item["file"]], line, p["code"], error(p["code"], f"{at}: {p['message']}",
                                                                      Span.point(item["file"], line, 1))))
    for d in dups or []:
        line, at = where(d["file"], d["row"])
        _, first = where(d["first_file"], d["first_row"])
        msg = f"{at}: a second row for account `{d['acc']}` on {d['day']} (first at {d['first_file']} {first})"
        found.append((order[d["file"]], line, "R106", error("R106", msg, Span.point(d["file"], line, 1))))
    for path, (_, shown) in rejected.items():
        for line, code, msg in shown:
            found.append((order[path], line, code, error(code, msg, Span.point(path, line, 1))))
    found.sort(key=lambda x: x[:3])
    diagnostics = [d for *_, d in found[:MAX_REPORTED]]
    return diagnostics, total - len(diagnostics)


def _lines(src: _Source, rows: set[int], skip: set[int]) -> dict[int, int]:
    """Record numbers (as DuckDB counted them) -> physical line numbers, by reading the file again."""
    out: dict[int, int] = {}
    last = max(rows)
    try:
        with open(src.files[0], encoding="utf-8-sig", errors="replace", newline="") as f:
            if src.kind == "json":
                k = 0
                for n, line in enumerate(f, 1):
                    if line.strip():
                        k += 1
                        if k in rows:
                            out[k] = n
                        if k >= last:
                            break
                return out
            reader = csv.reader(f, delimiter=src.delim)
            k, end = -1, 0
            for record in reader:
                start, end = end + 1, reader.line_num
                if not record or start in skip or start < src.header_line:
                    continue
                if k < 0:
                    k = 0  # the header
                    continue
                k += 1
                if k in rows:
                    out[k] = start
                if k >= last:
                    break
    except (OSError, csv.Error):
        pass
    return out


# --------------------------------------------------------------------------- public entry points

def load_snapshots(
    patterns: list[str],
    plan: Plan,
    con: duckdb.DuckDBPyConnection | None = None,
    accounts: list[str] | None = None,
) -> Snapshots:
    """Read and validate snapshot files for ``plan``'s catalog into ``con``'s ``snapshots`` table.

    ``SnapshotError`` (positioned diagnostics) when the input is unusable.
    """
    con = con or connect()
    tmp = tempfile.mkdtemp(prefix="plays-validate-")
    check = _connect(tmp)
    try:
        checked = _validate(check, patterns, plan, accounts, None)
    finally:
        check.close()
        shutil.rmtree(tmp, ignore_errors=True)
    union = _union(checked)
    try:
        con.execute(f"CREATE OR REPLACE TABLE snapshots AS {union} ORDER BY account, date")
    except duckdb.Error as e:
        raise SnapshotError([error("R100", f"cannot read the snapshots: {_reason(e)}",
                                   _blame(e, checked.sources))]) from None
    rows = con.execute("SELECT count(*) FROM snapshots").fetchone()[0]
    return Snapshots(con=con, files=checked.files, rows=rows, warnings=checked.warnings)


def _union(checked: _Checked) -> str:
    return " UNION ALL ".join(f"SELECT {', '.join(values)} FROM {src.scan}{where}"
                              for src, values, where in zip(checked.sources, checked.values, checked.filters))


def prepare_snapshots(
    patterns: list[str],
    catalog: Catalog | Plan,
    *,
    workdir: str,
    partitions: int | None = None,
    accounts: list[str] | None = None,
    progress=None,
) -> PreparedSnapshots:
    """Validate snapshot files (``SnapshotError`` like ``load_snapshots``) and write them under ``workdir``
    as Parquet, hash-partitioned by account into ``partitions`` buckets, each sorted by account, date.

    ``partitions`` defaults to one per ``ROWS_PER_PARTITION`` rows (at least 1).
    ``progress(stage)`` is called with "validate", "partition" and "done".
    Memory stays bounded: DuckDB streams the files and spills to ``workdir``.
    """
    os.makedirs(workdir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="duckdb-", dir=workdir)
    con = _connect(tmp)
    try:
        checked = _validate(con, patterns, catalog, accounts, progress)
        if partitions is None:
            partitions = max(1, -(-checked.rows // ROWS_PER_PARTITION))
        if partitions < 1:
            raise ValueError("partitions must be at least 1")
        if progress:
            progress("partition")
        try:
            scans = FILTERED_SCANS if all(src.kind == "parquet" for src in checked.sources) else 1
            files = _write_buckets(con, _union(checked), partitions, workdir, scans)
            stats = _stats(con, [f for bucket in files for f in bucket])
        except duckdb.Error as e:
            raise SnapshotError([error("R100", f"cannot write the prepared snapshots: {_reason(e)}", None)]) from None
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
    if progress:
        progress("done")
    rows, n_accounts, last = stats
    return PreparedSnapshots(files=checked.files, rows=rows, accounts=n_accounts, partitions=files, last_date=last,
                             warnings=checked.warnings)


def _write_buckets(con, union: str, partitions: int, workdir: str, scans: int) -> list[list[str]]:
    """Every bucket as one Parquet file sorted by account, date; memory is bounded by one bucket.

    Up to ``scans`` buckets, each is one filtered, sorted scan of the input
    (the input is read once per bucket, nothing else is written); beyond, one
    pass spills every bucket (DuckDB's partitioned COPY) and each spill is
    then sorted on its own, so the input is read once whatever the number of
    buckets. docs/performance.md has the measurements behind the choice.
    """
    out: list[list[str]] = []
    target = lambda b: os.path.join(workdir, f"bucket-{b:05d}.parquet")  # noqa: E731
    if partitions <= scans:
        for b in range(partitions):
            con.execute(f"COPY (SELECT * FROM ({union}) WHERE {bucket_sql('account', partitions)} = {b} "
                        f"ORDER BY account, date) TO {text(target(b))} (FORMAT parquet)")
            out.append([target(b)])
        return _drop_empty(con, out)
    spill = os.path.join(workdir, "unsorted")
    shutil.rmtree(spill, ignore_errors=True)
    con.execute(f"COPY (SELECT *, {bucket_sql('account', partitions)} AS bucket FROM ({union})) TO {text(spill)} "
                "(FORMAT parquet, PARTITION_BY (bucket), WRITE_PARTITION_COLUMNS false)")
    for b in range(partitions):
        parts = sorted(glob.glob(os.path.join(spill, f"bucket={b}", "*.parquet")))
        if not parts:
            out.append([])
            continue
        con.execute(f"COPY (SELECT * FROM read_parquet([{', '.join(text(p) for p in parts)}], hive_partitioning = false) "
                    f"ORDER BY account, date) TO {text(target(b))} (FORMAT parquet)")
        shutil.rmtree(os.path.join(spill, f"bucket={b}"), ignore_errors=True)
        out.append([target(b)])
    shutil.rmtree(spill, ignore_errors=True)
    return out


def _drop_empty(con, buckets: list[list[str]]) -> list[list[str]]:
    """Buckets without rows have no file (a filtered scan writes one even when nothing matches)."""
    out = []
    for files in buckets:
        kept = [f for f in files if con.execute(f"SELECT count(*) FROM read_parquet({text(f)})").fetchone()[0]]
        for f in files:
            if f not in kept:
                os.unlink(f)
        out.append(kept)
    return out


def _stats(con, files: list[str]) -> tuple[int, int, date | None]:
    if not files:
        return 0, 0, None
    rows, accounts, last = con.execute(
        f"SELECT count(*), count(DISTINCT account), max(date) FROM read_parquet([{', '.join(text(f) for f in files)}])"
    ).fetchone()
    return rows, accounts, last


# --------------------------------------------------------------------------- in-memory rows

def snapshots_from_rows(plan: Plan, rows: list[dict], con: duckdb.DuckDBPyConnection | None = None):
    """A connection with a ``snapshots`` table built from in-memory rows (spec tests, checks).

    Rows are dicts with ``account``, ``date`` (a ``datetime.date``) and any
    attributes and metrics of the catalog; missing ones are empty.
    """
    con = con or connect()
    cols = [(c.name, c.sql_type) for c in _catalog(plan)]
    con.execute(f"CREATE OR REPLACE TABLE snapshots ({', '.join(f'{ident(c)} {t}' for c, t in cols)})")
    ordered = sorted(rows, key=lambda r: (r["account"], str(r["date"])))
    insert_rows(con, "snapshots", [tuple(r.get(c) for c, _ in cols) for r in ordered])
    return con


def insert_rows(con, table: str, rows) -> None:
    """Bulk-insert Python rows (tuples in the table's column order) through an Arrow table that DuckDB scans.

    Exact for any value: text with newlines, quotes or nothing at all, dates,
    empty values. (Rows as SQL VALUES literals took tens of seconds; a CSV
    round trip broke on an account id holding a newline.)
    """
    import pyarrow as pa

    rows = list(rows)
    if not rows:
        return
    width = len(con.execute(f"DESCRIBE {table}").fetchall())
    data = pa.table({f"c{i}": pa.array([r[i] for r in rows]) for i in range(width)})
    con.register("_plays_rows", data)
    try:
        con.execute(f"INSERT INTO {table} SELECT * FROM _plays_rows")
    finally:
        con.unregister("_plays_rows")
