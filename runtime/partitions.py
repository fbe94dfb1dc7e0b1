"""Partitioned evaluation: hash buckets of accounts evaluated independently, in parallel, merged in order.

Every rule of the language is per account, so the book is split into
buckets of whole accounts (a stable hash of the account id: the same account
always lands in the same bucket) and each bucket is evaluated on its own
DuckDB connection by ``engine.evaluate``; memory is bounded by the bucket,
not the book. Buckets run in a process pool (``jobs`` workers, each with its
share of DuckDB's threads so that workers do not oversubscribe the cores).
Each bucket's events are sorted and spilled to a file as the bucket finishes;
a k-way merge of those files then yields the events of the whole book in the
contract's order (date, account, kind, rule, ...), never holding every event
in memory. Because the buckets split whole accounts and the order is total,
the result is byte-for-byte the same for any number of buckets and jobs.
"""

from __future__ import annotations

import heapq
import os
import pickle
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

from plays.compiler.plan import Plan

from plays.diagnostics import error
from plays.errors import EvaluationError

from .engine import ManualDeploy, evaluate
from .events import Event

_CHUNK = 4096  # events per pickled chunk of a bucket's spill file


@dataclass(frozen=True, slots=True)
class BucketResult:
    """What one bucket produced: its spill file of sorted events, and how many."""

    bucket: int
    path: str
    events: int


def default_jobs() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


Record = tuple  # (sort key, playbook, *what ``render`` made of the event)


def default_render(e: Event) -> tuple:
    """The record payload when no renderer is given: the event itself."""
    return (e,)


def records(events: Iterable[Event], render: Callable[[Event], tuple] = default_render) -> Iterator[Record]:
    """Sorted events as merge records: the sort key, the playbook (for summaries), then the rendered payload."""
    for e in events:
        yield (e.sort_key(), e.playbook, *render(e))


def evaluate_buckets(plan: Plan, buckets: Sequence[Sequence[str]], workdir: str, *, jobs: int | None = None,
                     manual: Iterable[ManualDeploy] = (), progress: Callable[[int, int], None] | None = None,
                     render: Callable[[Event], tuple] = default_render) -> list[BucketResult]:
    """Evaluate every bucket (a list of Parquet files of whole accounts) and spill its sorted records to ``workdir``.

    ``render`` (a module-level function, so that worker processes can import
    it) turns each event into what the consumer needs (a JSON line, a text
    line): that work then runs in the workers, in parallel, not in the
    merging process. ``progress(done, total)`` is called as buckets finish.
    With one job (or one bucket) everything runs in this process.
    """
    jobs = max(1, jobs or default_jobs())
    manual = tuple(manual)
    work = [(k, list(files)) for k, files in enumerate(buckets) if files]
    threads = max(1, default_jobs() // min(jobs, max(1, len(work))))
    tasks = [(plan, files, os.path.join(workdir, f"events-{k:05d}.pickle"), manual, threads, k, render)
             for k, files in work]
    results: list[BucketResult] = []
    done = 0
    if jobs == 1 or len(tasks) <= 1:
        for t in tasks:
            results.append(_evaluate_bucket(t))
            done += 1
            if progress:
                progress(done, len(tasks))
    else:
        # spawn, not fork: a forked child would inherit this process's DuckDB threads and locks.
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=get_context("spawn")) as pool:
            for r in pool.map(_evaluate_bucket, tasks):
                results.append(r)
                done += 1
                if progress:
                    progress(done, len(tasks))
    return sorted(results, key=lambda r: r.bucket)


def _evaluate_bucket(task) -> BucketResult:
    """Worker: one bucket's snapshots into a fresh connection, evaluated, its sorted records spilled to a file."""
    import duckdb

    plan, files, out, manual, threads, bucket, render = task
    con = duckdb.connect(config={"threads": threads})
    try:
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        con.execute(f"CREATE TABLE snapshots AS SELECT * FROM read_parquet([{listed}], hive_partitioning = false) "
                    "ORDER BY account, date")
        events = evaluate(plan, con, manual=manual)  # sorted
    except duckdb.Error as e:  # DuckDB's own exceptions do not cross processes; its first line does
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise EvaluationError([error("R202", f"cannot evaluate the plan on these snapshots: {first}", None)]) from None
    finally:
        con.close()
    with open(out, "wb") as f:
        chunk = []
        for r in records(events, render):
            chunk.append(r)
            if len(chunk) == _CHUNK:
                pickle.dump(chunk, f, protocol=pickle.HIGHEST_PROTOCOL)
                chunk = []
        if chunk:
            pickle.dump(chunk, f, protocol=pickle.HIGHEST_PROTOCOL)
    return BucketResult(bucket, out, len(events))


def read_spill(path: str) -> Iterator[Record]:
    """The records of one bucket's spill file, in order."""
    with open(path, "rb") as f:
        while True:
            try:
                chunk = pickle.load(f)
            except EOFError:
                return
            yield from chunk


def merged(results: Sequence[BucketResult]) -> Iterator[Record]:
    """Every bucket's records in the contract's order: a k-way merge of the sorted spill files on the sort key."""
    streams = [read_spill(r.path) for r in results if r.events]
    if len(streams) == 1:
        return streams[0]
    return heapq.merge(*streams, key=_key)


def _key(record: Record) -> tuple:
    return record[0]
