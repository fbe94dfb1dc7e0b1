"""A run killed at any moment leaves the store consistent, and a rerun ends where an uninterrupted run does.

Real `plays run --state` processes are killed with SIGKILL at several
moments: early, late, and right when the store's write-ahead log appears
(the write transaction is under way). Two runs at once must serialise.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plays.runtime import store
from plays.runtime.generate import generate_rows, write_csv

ROOT = Path(__file__).resolve().parents[2]
PLAYS = Path(sys.executable).parent / "plays"
pytestmark = pytest.mark.skipif(not PLAYS.exists(), reason="the plays console script is not installed")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("reliability")
    write_csv(generate_rows(accounts=300, days=120, seed=3), str(d / "snapshots.csv"))
    return d / "snapshots.csv"


def run(db, data, **kw):
    return subprocess.Popen([str(PLAYS), "run", str(ROOT / "specs"), "-s", str(data), "--state", str(db),
                             "--format", "json", "-o", os.devnull], stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    """The state of an uninterrupted run, and how long that run took."""
    db = tmp_path_factory.mktemp("ref") / "ref.db"
    t = time.monotonic()
    p = run(db, data)
    assert p.wait(timeout=300) == 0, p.stderr.read()
    return store.dump(store.connect(str(db))), time.monotonic() - t


@pytest.fixture(scope="module")
def reference_state(reference):
    return reference[0]


def kill_when(p, db: Path, moment: str, delay: float) -> None:
    wal = Path(str(db) + "-wal")
    deadline = time.monotonic() + 120
    if moment == "wal":
        while time.monotonic() < deadline and p.poll() is None:
            if wal.exists() and wal.stat().st_size > 0:
                break
            time.sleep(0.002)
    else:
        time.sleep(delay)
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
    p.wait(timeout=60)


# Kill moments: when the write-ahead log first grows (the store is being written), and at fractions of an
# uninterrupted run's duration; events are applied at the end of a run, so the late ones land in the write.
MOMENTS = [("wal", 0), ("at", 0.3), ("at", 0.7), ("at", 0.85), ("at", 0.95)]


@pytest.mark.parametrize("moment, fraction", MOMENTS)
def test_kill_then_rerun_ends_like_an_uninterrupted_run(tmp_path, data, reference, moment, fraction):
    reference_state, duration = reference
    db = tmp_path / "plays.db"
    kill_when(run(db, data), db, moment, fraction * duration)
    con = store.connect(str(db))  # opens: the store is consistent
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    p = run(db, data)
    assert p.wait(timeout=300) == 0, p.stderr.read()
    assert store.dump(store.connect(str(db))) == reference_state


def test_two_runs_at_once_serialise(tmp_path, data, reference_state):
    db = tmp_path / "plays.db"
    store.connect(str(db)).close()  # create it, so that both runs race for the write lock only
    a, b = run(db, data), run(db, data)
    assert (a.wait(timeout=300), b.wait(timeout=300)) == (0, 0), (a.stderr.read(), b.stderr.read())
    assert store.dump(store.connect(str(db))) == reference_state


def test_a_writer_held_past_the_timeout_gives_a_clear_message(tmp_path, monkeypatch):
    import sqlite3

    db = tmp_path / "plays.db"
    store.connect(str(db)).close()
    holder = sqlite3.connect(str(db), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.2)
    con = store.connect(str(db))
    with pytest.raises(store.StoreError, match="another plays command is writing to this store"):
        with store.transaction(con, str(db)):
            pass
    holder.execute("ROLLBACK")
