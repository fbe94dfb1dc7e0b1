"""Plays on Spark: the same partition engine, run inside Spark's Python workers.

Snapshots are a Spark DataFrame; accounts are split into stable hash buckets
(``plays.runtime.snapshots.bucket_of``), and each bucket's rows go, as one Arrow
table, to ``plays.runtime.arrow.evaluate_arrow`` in a Python worker
(``groupBy(bucket).applyInArrow``): the semantics have one implementation.

    from plays.spark import run, sort_events
    events = run(spark, plan, spark.read.parquet("s3://.../snapshots"))
    sort_events(events).write.parquet("s3://.../events")

``run_files`` is what ``plays run --engine spark`` calls: read files, run,
write one Parquet file (or directory) of events in the contract's order.
PySpark is an optional extra: ``pip install 'plays[spark]'``.
"""

from .engine import SparkInputError, SparkJobError, SparkMissing, run, run_files, sort_events

__all__ = ["SparkInputError", "SparkJobError", "SparkMissing", "run", "run_files", "sort_events"]
