"""The Spark job: check and cast the snapshots DataFrame, bucket accounts, run the engine per bucket.

Every rule of the language is per account, so a bucket of accounts (all the
snapshots of the accounts whose stable hash falls in it) is evaluated on its
own: ``groupBy(bucket).applyInArrow`` hands each bucket's rows, as one Arrow
table, to ``plays.runtime.arrow.evaluate_arrow`` in a Python worker, which
loads them into its own DuckDB connection and runs the same engine as
``plays run``. The plan travels to the workers as its JSON text.
"""

from __future__ import annotations

import glob
import json
import math
import os
import re
import shutil
import sys
import tempfile
from functools import lru_cache, reduce

import pyarrow as pa

from plays.compiler.plan import Plan
from plays.compiler.plan import check as check_plan
from plays.diagnostics import error
from plays.errors import PlaysError, UsageError
from plays.runtime.arrow import EVENT_SCHEMA, evaluate_arrow
from plays.runtime.events import KINDS
from plays.runtime.snapshots import SnapshotError

EXAMPLES = 5  # bad rows shown in an error
ROWS_PER_BUCKET = 200_000  # the default partitioning aims at buckets of about this many snapshot rows
_NUMERIC = ("number", "count", "money", "percent")
_SPARK_NUMERIC = ("double", "float", "bigint", "int", "smallint", "tinyint")
# plays.runtime.snapshots.bucket_of in Spark SQL: the first 32 bits of the account's md5, modulo {p}
BUCKET_SPARK_SQL = "pmod(CAST(conv(substr(md5(account), 1, 8), 16, 10) AS BIGINT), {p})"


class SparkMissing(UsageError):
    """PySpark is not installed (it is an optional extra)."""


class SparkInputError(SnapshotError):
    """Snapshot rows that cannot be used: a count and a few (account, date) examples; nothing was evaluated."""

    def __str__(self) -> str:
        n = len(self.diagnostics) + self.more
        shown = "; ".join(d.message for d in self.diagnostics)
        more = f"; and {self.more:,} more" if self.more else ""
        return f"{n:,} problem{'s' if n != 1 else ''} in the snapshots, nothing was evaluated: {shown}{more}"


class SparkJobError(PlaysError):
    """The Spark job failed: a plays error in a worker (its message), or Spark's own (its first useful line)."""


def _functions():
    try:
        from pyspark.sql import functions
    except ImportError:
        raise SparkMissing("the Spark engine needs PySpark: pip install 'plays[spark]'") from None
    return functions


# --- the plan ------------------------------------------------------------------------------


def _plan_text(plan: Plan) -> str:
    return json.dumps(plan.to_json(), ensure_ascii=False)


@lru_cache(maxsize=4)
def _plan_from_text(text: str) -> Plan:
    """In a worker: the plan back from its JSON text (checked by the driver: no schema validation again)."""
    return Plan.from_json(json.loads(text), validated=True)


def _catalog(plan: Plan) -> list[tuple[str, str, tuple[str, ...]]]:
    """(column, catalog type, enum values) for account, date and every catalog column, in order."""
    out = [("account", "text", ()), ("date", "date", ())]
    out += [(a.name, a.type, tuple(a.values)) for a in plan.catalog.attributes]
    out += [(m.name, m.type, ()) for m in plan.catalog.metrics]
    return out


# --- checking and casting the snapshots ----------------------------------------------------


def _checks(F, name: str, typ: str, values: tuple[str, ...], source: str):
    """(cast column, [(code, bad-row condition, message)]) for one column, like runtime/snapshots.py's checks."""
    c = F.col(f"`{name}`")
    as_text = c if source == "string" else c.cast("string")
    shown = F.concat(F.lit(f"`{name}` is `"), as_text, F.lit("`"))
    numeric_source = source in _SPARK_NUMERIC or source.startswith("decimal")
    if name == "account":
        return as_text, [("R107", c.isNull() | (F.trim(as_text) == ""), F.lit("the account is empty"))]
    if typ == "date":
        if source == "date":
            checks = [("R104", c.isNull(), F.lit("`date` is empty"))] if name == "date" else []
            return c, checks
        parsed = as_text.try_cast("date")
        malformed = parsed.isNull() | ~as_text.rlike(r"^\d{4}-\d{2}-\d{2}$")
        message = F.concat(shown, F.lit(", not a date like 2026-01-31"))
        if name == "date":
            return parsed, [("R104", c.isNull() | malformed,
                             F.when(c.isNull(), F.lit("`date` is empty")).otherwise(message))]
        return parsed, [("R104", c.isNotNull() & malformed, message)]
    if typ in _NUMERIC:
        if numeric_source:
            return c.cast("double"), []
        number = as_text.try_cast("double")
        return number, [("R103", c.isNotNull() & number.isNull(), F.concat(shown, F.lit(", not a number")))]
    if typ == "enum":
        return as_text, [("R105", c.isNotNull() & ~as_text.isin(list(values)),
                          F.concat(shown, F.lit(f", not one of {', '.join(values)}")))]
    return as_text, []


def _checked(df, plan, *, check: bool = True):
    """(the snapshots cast to the catalog's types, in catalog order; their row count or None).

    Missing ``account``/``date`` columns, and rows whose values cannot be cast,
    raise ``SparkInputError``. Columns not in the catalog are left out.
    """
    F = _functions()
    source = dict(df.dtypes)
    missing = [c for c in ("account", "date") if c not in source]
    if missing:
        raise SparkInputError([error(
            "R101", f"no `{missing[0]}` column: every row needs an account and a date", None)])
    columns, problems = [], []
    for name, typ, values in _catalog(plan):
        target = "date" if typ == "date" else "double" if typ in _NUMERIC else "string"
        if name not in source:
            columns.append(F.lit(None).cast(target).alias(name))
            continue
        cast, checks = _checks(F, name, typ, values, source[name])
        columns.append(cast.alias(name))
        problems += checks
    if not check:
        return df.select(*columns), None
    rows = None
    if problems:
        bad = reduce(lambda a, b: a | b, (cond for _, cond, _ in problems))
        stats = df.select(F.count(F.lit(1)).alias("rows"), F.count(F.when(bad, 1)).alias("bad")).first()
        rows = stats["rows"]
        if stats["bad"]:
            code = F.coalesce(*(F.when(cond, F.lit(c)) for c, cond, _ in problems))
            message = F.concat_ws("; ", *(F.when(cond, m) for _, cond, m in problems))
            account = F.col("`account`").cast("string")
            day = F.col("`date`").cast("string")
            shown = (df.filter(bad)
                     .select(account.alias("a"), day.alias("d"), code.alias("code"), message.alias("message"))
                     .orderBy(F.col("a").asc_nulls_first(), F.col("d").asc_nulls_first())
                     .limit(EXAMPLES).collect())
            diags = [error(r["code"], f"{_where(r['a'], r['d'])}: {r['message']}", None) for r in shown]
            raise SparkInputError(diags, more=stats["bad"] - len(diags))
    return df.select(*columns), rows


def _where(account: str | None, day: str | None) -> str:
    who = f"account `{account}`" if account not in (None, "") else "a row with no account"
    return f"{who} on {day if day is not None else 'no date'}"


def _check_duplicates(df) -> None:
    """A second row for the same account and date is an error, as in the local engine (R106)."""
    F = _functions()
    dups = df.groupBy("account", "date").count().filter(F.col("count") > 1)
    first = dups.orderBy("account", "date").limit(EXAMPLES).collect()
    if first:
        total = dups.count()
        diags = [error("R106", f"{_where(r['account'], r['date'].isoformat())}: {r['count']} rows for the same "
                               "account and date", None) for r in first]
        raise SparkInputError(diags, more=total - len(diags))


# --- evaluation ------------------------------------------------------------------------------


def _default_partitions(spark, rows: int | None) -> int:
    try:
        parallel = spark.sparkContext.defaultParallelism
    except Exception:  # Spark Connect has no SparkContext
        parallel = 8
    return max(2 * parallel, math.ceil((rows or 0) / ROWS_PER_BUCKET), 1)


def _bucket_events(plan_text: str, manual: tuple, threads: int, table: pa.Table) -> pa.Table:
    """In a Python worker: every event of one bucket's snapshots, in contract order, numbered."""
    plan = _plan_from_text(plan_text)
    events = evaluate_arrow(plan, table.drop_columns(["_bucket"]), manual, threads=threads)
    return events.append_column("_seq", pa.array(range(events.num_rows), pa.int64()))


def _events(spark, df, plan, *, partitions: int | None, rows: int | None, manual=()):
    """The events of checked snapshots, with ``_seq``: their position in their bucket's sorted output."""
    F = _functions()
    from pyspark.sql.pandas.types import from_arrow_schema
    from pyspark.sql.types import LongType, StructField

    if partitions is not None and partitions < 1:
        raise UsageError(f"partitions must be at least 1, not {partitions}")
    p = partitions or _default_partitions(spark, rows)
    try:
        threads = int(spark.conf.get("spark.task.cpus", "1"))
    except Exception:
        threads = 1
    text, manual = _plan_text(plan), tuple(manual)
    schema = from_arrow_schema(EVENT_SCHEMA).add(StructField("_seq", LongType(), False))

    def bucket(table: pa.Table) -> pa.Table:
        return _bucket_events(text, manual, threads, table)

    # one shuffle: the rows of a bucket meet in one task (the grouping reuses this partitioning)
    bucketed = df.withColumn("_bucket", F.expr(BUCKET_SPARK_SQL.format(p=p))).repartition(p, "_bucket")
    return bucketed.groupBy("_bucket").applyInArrow(bucket, schema)


def sort_events(events):
    """The events DataFrame in the contract's order: date, account, kind, rule, task, due, id (Event.sort_key)."""
    F = _functions()
    rank = F.array_position(F.array(*(F.lit(k) for k in KINDS)), F.col("event"))
    keys = [
        F.col("date"), F.col("account"), rank, F.coalesce(F.col("alert"), F.col("goal"), F.lit("")),
        F.coalesce(F.col("task"), F.lit("")), F.col("due").asc_nulls_first(), F.coalesce(F.col("id"), F.lit("")),
    ]
    if "_seq" in events.columns:  # ties in the key keep the engine's order within the account
        keys.append(F.col("_seq"))
    return events.orderBy(*keys)


def run(spark, plan, snapshots_df, *, partitions: int | None = None, manual=(), check: bool = True):
    """Every event of ``plan`` over ``snapshots_df``, as a DataFrame with the columns of ``EVENT_SCHEMA``.

    ``snapshots_df`` needs ``account`` and ``date`` columns and any catalog
    columns (others are ignored); values are cast to the catalog's types, and
    rows that cannot be (or a second row for an account and date) raise
    ``SparkInputError`` before anything is evaluated (``check=False`` skips
    the checks for a table known to be clean). ``partitions``: the number of
    account buckets (default: from the row count, about 200,000 rows each).
    The DataFrame is unordered; ``sort_events`` gives the contract's order.
    """
    check_plan(plan)
    cast, rows = _checked(snapshots_df, plan, check=check)
    if check:
        _check_duplicates(cast)
    elif partitions is None:
        rows = cast.count()
    return _events(spark, cast, plan, partitions=partitions, rows=rows, manual=manual).drop("_seq")


# --- files: what `plays run --engine spark` calls ----------------------------------------------


def _kind(path: str) -> str:
    low = path.lower().rstrip("/")
    if low.endswith((".jsonl", ".ndjson", ".json")):
        return "json"
    if low.endswith(".csv"):
        return "csv"
    return "parquet"  # .parquet files, and directories (datasets, hive-partitioned ones too)


def _inputs(patterns: list[str]) -> dict[str, list[str]]:
    """Paths by kind; local paths and patterns must name something (URIs like s3a://... are passed on)."""
    out: dict[str, list[str]] = {}
    for pat in patterns:
        if "://" in pat:
            found = [pat]
        elif any(c in pat for c in "*?["):
            found = sorted(glob.glob(pat, recursive=True))
            if not found:
                raise UsageError(f"{pat}: no file matches")
        elif not os.path.exists(pat):
            raise UsageError(f"{pat}: no such file")
        else:
            found = [pat]
        for path in found:
            kind = "parquet" if os.path.isdir(path) else _kind(path)
            out.setdefault(kind, []).append(path if "://" in path else os.path.abspath(path))
    return out


def _read(spark, kind: str, paths: list[str]):
    reader = spark.read
    if kind == "csv":
        df = reader.csv(paths, header=True, inferSchema=False)
    elif kind == "json":
        df = reader.json(paths)
        if "_corrupt_record" in df.columns:
            F = _functions()
            # (Spark refuses a query of raw JSON that references only the corrupt-record column)
            if df.filter(F.col("_corrupt_record").isNotNull()).select(*df.columns).limit(1).collect():
                raise SparkInputError([error("R100", "a line of the JSON Lines input is not a JSON object", None)])
            df = df.drop("_corrupt_record")
    else:
        df = reader.option("mergeSchema", "true").parquet(*paths)
    return df


def _session(master: str | None):
    """(session, whether we started it)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkMissing("the Spark engine needs PySpark: pip install 'plays[spark]'") from None
    master = master or "local[*]"
    ours = SparkSession.getActiveSession() is None
    builder = SparkSession.builder.master(master).appName("plays run").config("spark.ui.showConsoleProgress", "false")
    log_config = None
    if master.startswith("local") and ours:
        # the workers run this interpreter (with plays installed), not whatever `python3` is first on PATH
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # on one machine, only Spark's errors on stderr (a cluster keeps its own logging)
        fd, log_config = tempfile.mkstemp(prefix="plays-log4j2-", suffix=".properties")
        with os.fdopen(fd, "w") as f:
            f.write(_LOG4J2)
        builder = builder.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log_config}")
    try:
        spark = builder.getOrCreate()
    finally:
        if log_config:
            os.unlink(log_config)  # read once, when the JVM started
    spark.sparkContext.setLogLevel("ERROR")
    return spark, ours


_LOG4J2 = """rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %p %c{1}: %m%n%ex
"""


def run_files(plan, snapshot_paths, output: str, *, master: str | None = None, partitions: int | None = None,
              manual=(), spark=None) -> int:
    """Read snapshot files, run on Spark, write the events in the contract's order; returns the event count.

    ``snapshot_paths``: Parquet files or dataset directories, CSV and JSON
    Lines files, glob patterns (URIs are passed to Spark as they are).
    ``output``: one Parquet file with the columns of ``EVENT_SCHEMA``, or,
    when it ends with ``/``, a directory of Parquet part files whose name
    order is the contract's order. Written through a temporary name, so a
    failure leaves no partial output. ``master``: a Spark master URL
    (default ``local[*]``); on a cluster every path must be one the
    executors can read and write.
    """
    directory_out = output.endswith(("/", os.sep))
    final = os.path.abspath(output.rstrip("/" + os.sep))
    parent = os.path.dirname(final)
    if not os.path.isdir(parent):
        raise UsageError(f"{output}: cannot write: no such directory {parent}")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{output}: cannot write: permission denied")
    if os.path.isdir(final) and not directory_out:
        raise UsageError(f"{output}: is a directory (end the path with / to write a directory of part files)")
    inputs = _inputs(list(snapshot_paths))
    check_plan(plan)
    started = None
    if spark is None:
        spark, ours = _session(master)
        started = spark if ours else None
    from pyspark import StorageLevel
    from pyspark.errors import PySparkException

    work = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(final)}.", suffix=".spark")
    try:
        try:
            frames, rows = [], 0
            for kind, paths in inputs.items():
                cast, n = _checked(_read(spark, kind, paths), plan)
                frames.append(cast)
                rows += n or 0
            snapshots = reduce(lambda a, b: a.unionByName(b), frames)
            _check_duplicates(snapshots)
            events = _events(spark, snapshots, plan, partitions=partitions, rows=rows, manual=manual)
            # kept: the global sort samples its input first, which would evaluate every bucket twice
            events = events.persist(StorageLevel.MEMORY_AND_DISK)
            parts = os.path.join(work, "parts")
            try:
                sort_events(events).drop("_seq").write.parquet(parts)
            finally:
                events.unpersist()
        except PySparkException as e:
            raise SparkJobError(_first_line(e)) from None
        if directory_out:
            count = _count(parts)
            _replace_dir(parts, final)
        else:
            tmp = os.path.join(work, "events.parquet")
            count = _concatenate(parts, tmp)
            os.replace(tmp, final)
        return count
    except OSError as e:
        raise UsageError(f"{output}: cannot write: {e.strerror or e}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if started is not None:
            started.stop()


def _part_files(parts: str) -> list[str]:
    """Spark's part files in partition order (part-00000-..., part-00001-..., part-100000-...)."""
    names = [n for n in os.listdir(parts) if n.startswith("part-") and n.endswith(".parquet")]
    return [os.path.join(parts, n) for n in sorted(names, key=lambda n: int(n.split("-")[1]))]


def _concatenate(parts: str, path: str) -> int:
    """Spark's sorted part files as one Parquet file of ``EVENT_SCHEMA``, a row group at a time."""
    import pyarrow.parquet as pq

    count = 0
    with pq.ParquetWriter(path, EVENT_SCHEMA) as writer:
        for part in _part_files(parts):
            f = pq.ParquetFile(part)
            for i in range(f.num_row_groups):
                table = f.read_row_group(i).cast(EVENT_SCHEMA)
                writer.write_table(table)
                count += table.num_rows
    return count


def _count(parts: str) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in _part_files(parts))


def _replace_dir(new: str, final: str) -> None:
    old = None
    if os.path.exists(final):
        old = f"{new}.old"
        os.replace(final, old)
    os.replace(new, final)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def _first_line(e: Exception) -> str:
    """The useful line of a Spark error: a worker's plays error (its message alone), else the worker's
    Python exception line, else Spark's own first line."""
    raw = str(e).splitlines()
    exceptions = [m for m in (_EXCEPTION_LINE.match(ln) for ln in raw) if m]
    for m in reversed(exceptions):
        if m.group(1).startswith("plays."):
            return m.group(2).strip()
    if "Traceback (most recent call last):" in (ln.strip() for ln in raw):
        start = next(i for i, ln in enumerate(raw) if ln.strip() == "Traceback (most recent call last):")
        # the traceback's frames are indented; its first line that is not is the exception
        for ln in raw[start + 1:]:
            if ln.strip() and not ln[:1].isspace():
                return f"the Spark job failed: {ln.strip()}"
    first = next((ln.strip() for ln in raw if ln.strip()), type(e).__name__)
    return f"the Spark job failed: {first}"


_EXCEPTION_LINE = re.compile(r"^\s*([\w.]+(?:Error|Error_|Exception)): (.+)$")
