"""`plays run --engine spark` end to end: the local engine's events as Parquet; bad rows reported, nothing written.

(The options it refuses are tested with the others in tests/runtime/test_partitions.py.)
"""

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from plays.runtime.arrow import EVENT_SCHEMA, events_from_arrow

ROOT = Path(__file__).resolve().parents[2]
SPECS = str(ROOT / "specs")
EXAMPLE = str(ROOT / "examples" / "snapshots.csv")

pytestmark = pytest.mark.slow


def test_engine_spark_writes_the_local_events_as_parquet(spark, run_cli, tmp_path):
    # the session of the fixture is the active one: the command uses it and leaves it running
    code, out, err = run_cli("run", SPECS, "-s", EXAMPLE, "--engine", "spark", "--partitions", "3",
                             "-o", "events.parquet")
    assert code == 0, err
    table = pq.read_table(tmp_path / "events.parquet")
    assert table.schema == EVENT_SCHEMA
    local = subprocess.run([sys.executable, "-m", "plays.cli", "run", SPECS, "-s", EXAMPLE, "--format", "json"],
                           capture_output=True, text=True, check=True).stdout
    assert [e.to_json() for e in events_from_arrow(table)] == [json.loads(line) for line in local.splitlines()]
    assert f"wrote {table.num_rows:,} events to events.parquet" in err


def test_engine_spark_bad_rows_are_reported_and_nothing_is_written(spark, run_cli, tmp_path):
    (tmp_path / "bad.csv").write_text("account,date,mau\nacme,2026-01-01,lots\n")
    code, out, err = run_cli("run", SPECS, "-s", "bad.csv", "--engine", "spark", "-o", "events.parquet")
    assert code == 1
    assert "error[R103]: account `acme` on 2026-01-01: `mau` is `lots`, not a number" in err
    assert err.rstrip().endswith("1 problem in the snapshots; nothing was evaluated")
    assert not (tmp_path / "events.parquet").exists()


def test_engine_spark_reports_a_failed_job_in_one_line(spark, run_cli, tmp_path, monkeypatch):
    from plays.spark import engine

    def broken(plan_text, manual, threads, table):
        raise ValueError("disk full")

    monkeypatch.setattr(engine, "_bucket_events", broken)  # the closure is pickled with this function
    code, out, err = run_cli("run", SPECS, "-s", EXAMPLE, "--engine", "spark", "-o", "events.parquet")
    assert code == 1
    assert err.strip().splitlines()[-1] == "plays: error: the Spark job failed: ValueError: disk full"
    assert "Traceback" not in err and not (tmp_path / "events.parquet").exists()
