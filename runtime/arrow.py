"""Events and snapshots as Arrow columns: the form DuckDB, Parquet and Spark exchange.

- ``EVENT_SCHEMA``: one column for every field of ``Event`` (what ``--format
  parquet`` writes and what ``plays.spark.run`` returns). Dates are ``date32``,
  ``after`` a list of task names, ``values`` the JSON text of the event's values
  exactly as the JSON Lines output writes them (key order and number forms kept).
- ``events_to_arrow`` / ``events_from_arrow``: the round trip is exact
  (``Event.to_json()`` is equal before and after).
- ``evaluate_arrow``: the engine on one Arrow table of snapshots (one partition
  of accounts, or the whole book), events back as Arrow in the contract's
  order. Spark's Python workers call it on each bucket of accounts, so the
  semantics have one implementation (as ``runtime/partitions.py`` does for
  the local engine's buckets).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator

import pyarrow as pa

from plays.compiler.plan import Plan

from .db import connect
from .engine import ManualDeploy, evaluate
from .events import Event
from .sql import ident

_FIELDS = tuple(f.name for f in dataclasses.fields(Event))
_DATES = ("date", "due", "start", "end")
_LISTS = ("after",)
_REQUIRED = ("event", "date", "account")

EVENT_SCHEMA = pa.schema([
    pa.field(
        name,
        pa.date32() if name in _DATES else pa.list_(pa.string()) if name in _LISTS else pa.string(),
        nullable=name not in _REQUIRED,
    )
    for name in _FIELDS
])


def events_to_arrow(events: Iterable[Event]) -> pa.Table:
    """The events as a table of ``EVENT_SCHEMA``, in the order given."""
    return pa.Table.from_batches(list(event_batches(events)), schema=EVENT_SCHEMA)


def event_batches(events: Iterable[Event], size: int = 65_536) -> Iterator[pa.RecordBatch]:
    """The events as record batches of ``EVENT_SCHEMA`` of at most ``size`` rows, in the order given.

    For streaming writers: ``pyarrow.parquet.ParquetWriter(path, EVENT_SCHEMA)``
    and one ``write_batch`` per batch keep one batch of events in memory.
    """
    plain = tuple(n for n in _FIELDS if n != "values")
    columns: dict[str, list] = {name: [] for name in _FIELDS}
    values = columns["values"]
    n = 0
    for e in events:
        for name in plain:
            columns[name].append(getattr(e, name))
        # exactly what the JSON Lines output writes: whole numbers as integers, dates as text
        values.append(None if e.values is None else json.dumps(e.to_json()["values"], ensure_ascii=False))
        n += 1
        if n == size:
            yield pa.RecordBatch.from_pydict(columns, schema=EVENT_SCHEMA)
            columns = {name: [] for name in _FIELDS}
            values = columns["values"]
            n = 0
    if n:
        yield pa.RecordBatch.from_pydict(columns, schema=EVENT_SCHEMA)


def events_from_arrow(table: pa.Table | pa.RecordBatch) -> Iterator[Event]:
    """The events of a table (or batch) of ``EVENT_SCHEMA``, one batch in memory at a time."""
    batches = table.to_batches() if isinstance(table, pa.Table) else [table]
    for batch in batches:
        columns = [batch.column(name).to_pylist() for name in _FIELDS]
        last = len(_FIELDS) - 1
        assert _FIELDS[last] == "values"
        for row in zip(*columns):
            values = row[last]
            yield Event(*row[:last], None if values is None else json.loads(values))


def snapshot_columns(plan: Plan) -> list[tuple[str, str]]:
    """(column, DuckDB type) of the ``snapshots`` table the engine reads, in catalog order."""
    cols = [("account", "VARCHAR"), ("date", "DATE")]
    cols += [(a.name, {"date": "DATE", "number": "DOUBLE"}.get(a.type, "VARCHAR")) for a in plan.catalog.attributes]
    cols += [(m.name, "DOUBLE") for m in plan.catalog.metrics]
    return cols


def evaluate_arrow(plan: Plan, snapshots: pa.Table, manual: tuple[ManualDeploy, ...] = (), *,
                   threads: int | None = None) -> pa.Table:
    """Every event of ``plan`` over the snapshot rows of ``snapshots``, as ``EVENT_SCHEMA`` in contract order.

    The table needs ``account`` and ``date``; catalog columns it lacks are
    empty, other columns are ignored. Values are cast to the catalog's types
    (the caller has validated them). ``threads`` caps DuckDB's threads (a
    worker among others on the same cores).
    """
    con = connect()
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        con.register("_input", snapshots)
        present = set(snapshots.column_names)
        cols = ", ".join(
            f"CAST({ident(c)} AS {t}) AS {ident(c)}" if c in present else f"NULL::{t} AS {ident(c)}"
            for c, t in snapshot_columns(plan)
        )
        con.execute(f"CREATE TABLE snapshots AS SELECT {cols} FROM _input ORDER BY account, date")
        con.unregister("_input")
        return events_to_arrow(evaluate(plan, con, manual=tuple(manual)))
    finally:
        con.close()
