"""A run killed at any moment leaves the store consistent, and a rerun ends where an uninterrupted run does.

Two kinds of kill. A child process applying a large batch of events (on top
of an earlier, committed batch) is killed with SIGKILL inside its write
transaction, at chosen points, with a tiny page cache so that uncommitted
pages have already spilled into the write-ahead log; the store must then
hold exactly the earlier batch, and a rerun must end exactly like an
uninterrupted run. And real `plays run --state` processes are killed at
moments spread over a run. Two runs at once must serialise.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plays.state import store
from generate import generate_rows, write_csv

ROOT = Path(__file__).resolve().parents[2]
PLAYS = Path(sys.executable).parent / "plays"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not PLAYS.exists(), reason="the plays console script is not installed")]


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


# --- kills inside the write transaction ------------------------------------------------------------

CHILD = """
import json, sys
from datetime import date
from plays.compiler.plan import Plan
from plays.state import store

db, batch, pause = sys.argv[1], sys.argv[2], sys.argv[3] == "pause"
doc = json.load(open(batch))
con = store.connect(db)
con.execute("PRAGMA cache_size = 5")  # spill uncommitted pages into the WAL early

def progress(n):
    print(n, flush=True)
    if pause:
        sys.stdin.readline()  # held here, mid-transaction, until the parent kills us (or says go)

store.apply_run(con, Plan.from_json(doc["plan"]), doc["events"], doc["accounts"], date.fromisoformat(doc["last"]), db, progress=progress)
print("committed", flush=True)
"""


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """A large batch of events (the runtime's, for 300 accounts, copied onto 10 times as many), in two parts."""
    from plays.compiler.driver import compile_sources
    from generate import generate_rows
    from plays.spectest.runner import evaluate_rows
    from plays.sources import discover

    plan = compile_sources(discover([str(ROOT / "specs")])).plan
    rows = list(generate_rows(accounts=300, days=120, seed=3))
    events = evaluate_rows(plan, rows)
    copies = []
    for k in range(10):
        for e in events:
            e = dict(e, account=f"{e['account']}~{k}")
            for key in ("instance", "id"):
                if key in e:
                    e[key] = f"{e[key]}~{k}"
            copies.append(e)
    copies.sort(key=lambda e: e["date"])
    latest = {}
    for r in rows:
        latest[r["account"]] = (r["date"].isoformat(), {c: (v.isoformat() if hasattr(v, "isoformat") else v)
                                                        for c, v in r.items()})
    accounts = {f"{a}~{k}": v for a, v in latest.items() for k in range(10)}
    d = tmp_path_factory.mktemp("batch")
    cut = next(i for i, e in enumerate(copies) if e["date"] >= "2026-03-01")
    for name, part in (("early", copies[:cut]), ("all", copies)):
        last = part[-1]["date"]
        (d / f"{name}.json").write_text(json.dumps({"plan": plan.to_json(), "events": part, "accounts": accounts, "last": last}))
    return d, len(copies), cut


def apply_child(db, batch_file, pause=False):
    return subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(batch_file), "pause" if pause else "go"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(p):
    out, err = p.communicate(input="\n" * 100, timeout=120)
    assert p.returncode == 0 and out.endswith("committed\n"), err
    return out


@pytest.fixture(scope="module")
def batch_states(batch, tmp_path_factory):
    """The store after the early batch only, and after the early batch then the whole one, uninterrupted."""
    d = batch[0]
    db = tmp_path_factory.mktemp("uninterrupted") / "plays.db"
    finish(apply_child(db, d / "early.json"))
    early = store.dump(store.connect(str(db)))
    finish(apply_child(db, d / "all.json"))
    return early, store.dump(store.connect(str(db)))


# Where to kill: in the part of the batch that is already stored (nothing new written yet), and early,
# midway and late in its new part; progress lines come every 1,000 events.
POINTS = [("stored", 0.5), ("new", 0.1), ("new", 0.5), ("new", 0.9)]


@pytest.mark.parametrize("part, fraction", POINTS, ids=[f"{p}-{f}" for p, f in POINTS])
@pytest.mark.parametrize("held", [True, False], ids=["held", "racing"])
def test_a_kill_inside_the_transaction_loses_the_run_and_the_rerun_completes_it(tmp_path, batch, batch_states, part,
                                                                                 fraction, held):
    d, total, cut = batch
    early, final = batch_states
    at = int(cut * fraction) if part == "stored" else cut + int((total - cut) * fraction)
    at = max(1000, at // 1000 * 1000 if part == "stored" else -(-at // 1000) * 1000)  # a progress line's count
    assert (at < cut) == (part == "stored") and at < total
    db = tmp_path / "plays.db"
    finish(apply_child(db, d / "early.json"))
    p = apply_child(db, d / "all.json", pause=held)
    for line in p.stdout:
        if line.strip() == "committed" or int(line) >= at:
            break
        if held:
            p.stdin.write("\n")
            p.stdin.flush()
    wal = Path(str(db) + "-wal")
    spilled = wal.exists() and wal.stat().st_size > 0
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=60)
    con = store.connect(str(db))
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    if held:
        assert spilled or part == "stored"  # the transaction had written pages when it died
        assert store.dump(con) == early  # none of the killed run is visible
    else:
        assert store.dump(con) in (early, final)  # all or nothing
    con.close()
    finish(apply_child(db, d / "all.json"))
    assert store.dump(store.connect(str(db))) == final


def test_a_second_writer_waits_for_the_first_then_applies(tmp_path, batch, batch_states):
    d = batch[0]
    final = batch_states[1]
    db = tmp_path / "plays.db"
    finish(apply_child(db, d / "early.json"))
    first = apply_child(db, d / "all.json", pause=True)
    assert first.stdout.readline().strip() == "1000"  # held inside its write transaction
    second = apply_child(db, d / "all.json")
    time.sleep(1.5)
    assert second.poll() is None  # waiting for the lock, not failing, not writing
    assert store.dump(store.connect(str(db))) == batch_states[0]  # readers still see the committed state
    finish(first)
    finish(second)
    assert store.dump(store.connect(str(db))) == final
