"""A damaged store, a read-only store: one line and exit 2, never a traceback or the stored content."""

import os
import random
import sqlite3

import pytest
from conftest import apply

from plays.state import store

READERS = (["tasks"], ["alerts", "--all"], ["goals"], ["report"], ["report", "--format", "json"])


def built(store_path, plan):
    con, _ = apply(store_path, plan)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return store_path


def scramble(path, seed):
    data = bytearray(path.read_bytes())
    rnd = random.Random(seed)
    for i in range(4096, len(data), 97):  # every page after the header
        data[i] = rnd.randrange(256)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("args", READERS)
def test_a_store_with_damaged_pages_is_one_line_exit_2(run_cli, store_path, plan, args):
    scramble(built(store_path, plan), 3)
    code, out, err = run_cli(*args, "--state", str(store_path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"plays: error: {store_path}: ")
    assert "damaged" in err or "not a plays store" in err


@pytest.mark.parametrize("column, value", [("due", "SECRET-not-a-date"), ("status", "SECRET")])
def test_a_row_edited_by_hand_is_damage_and_its_content_is_not_shown(run_cli, store_path, plan, column, value):
    built(store_path, plan)
    con = sqlite3.connect(store_path)
    con.execute("PRAGMA ignore_check_constraints = ON")
    con.execute(f"UPDATE tasks SET {column} = ?", [value])
    con.execute("UPDATE goals SET start = 'SECRET-start'")
    con.commit()
    con.close()
    code, _, err = run_cli("report", "--state", str(store_path))
    assert code == 2 and err.count("\n") == 1 and "SECRET" not in err
    assert "the store is damaged (a stored value plays did not write: ValueError)" in err


def test_a_plan_that_does_not_parse_is_damage(run_cli, store_path, plan):
    built(store_path, plan)
    con = sqlite3.connect(store_path)
    con.execute("UPDATE plan SET json = '{\"SECRET\": '")
    con.commit()
    con.close()
    for args in (["report"], ["goal", "deploy", "g", "--account", "p1"]):
        code, _, err = run_cli(*args, "--state", str(store_path))
        assert code == 2 and err.count("\n") == 1 and "SECRET" not in err and "damaged" in err


def test_read_only_commands_open_the_store_read_only(store_path, plan):
    built(store_path, plan)
    before = store_path.read_bytes()
    con = store.connect(str(store_path), readonly=True)
    assert store.list_tasks(con)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        con.execute("DELETE FROM tasks")
    con.close()
    assert store_path.read_bytes() == before


def test_reading_a_store_in_a_folder_that_cannot_be_written(run_cli, store_path, plan, monkeypatch):
    # Without the -shm file, a WAL store opened read-only falls back to reading the file as it is.
    built(store_path, plan)
    for suffix in ("-wal", "-shm"):
        assert not os.path.exists(str(store_path) + suffix)
    real = sqlite3.connect

    def no_shm(database, *a, **kw):
        if "mode=ro" in str(database) and "immutable" not in str(database):
            raise sqlite3.OperationalError("unable to open database file")
        return real(database, *a, **kw)

    monkeypatch.setattr(sqlite3, "connect", no_shm)
    code, out, err = run_cli("tasks", "--state", str(store_path))
    assert code == 0 and out.endswith("tasks\n"), err


@pytest.fixture
def read_only(store_path, plan, monkeypatch):
    """A store the user may not write: real permissions, and os.access says so even for root."""
    built(store_path, plan)
    os.chmod(store_path, 0o444)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode & os.W_OK else real(p, mode, **kw))
    yield store_path
    os.chmod(store_path, 0o644)


@pytest.mark.parametrize("args", READERS)
def test_read_only_commands_work_on_a_read_only_store(run_cli, read_only, args):
    before = read_only.read_bytes()
    code, out, err = run_cli(*args, "--state", str(read_only))
    assert code == 0 and out and err == ""
    assert read_only.read_bytes() == before


@pytest.mark.parametrize("args", [
    ["task", "done", "t-000000000000"],
    ["goal", "deploy", "g", "--account", "p1"],
    ["goal", "measure", "g-000000000000", "3"],
])
def test_writing_commands_say_the_store_is_read_only(run_cli, read_only, args):
    code, _, err = run_cli(*args, "--state", str(read_only))
    assert code == 2
    assert err == (f"plays: error: {read_only}: the store is read-only (no write permission on the file or its "
                   "folder); `plays tasks`, `alerts`, `goals` and `report` can still read it\n")


def test_an_empty_file_or_another_database_read_only(run_cli, tmp_path):
    (tmp_path / "empty.db").write_bytes(b"")
    code, _, err = run_cli("tasks", "--state", "empty.db")
    assert (code, err) == (2, "plays: error: empty.db: no run has been applied to this store yet\n")
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE t (x)")
    other.commit()
    other.close()
    code, _, err = run_cli("goals", "--state", "other.db")
    assert code == 2 and "an SQLite database of something else" in err
    (tmp_path / "text.db").write_text("hello, not a database\n" * 100)
    code, _, err = run_cli("alerts", "--state", "text.db")
    assert code == 2 and err.startswith("plays: error: text.db: not a plays store (")


def test_a_run_into_a_damaged_store_is_one_line_exit_2(run_cli, store_path, plan, tmp_path):
    from conftest import SPEC

    (tmp_path / "s.play").write_text(SPEC)
    (tmp_path / "s.csv").write_text("account,date,name,tier,m\np1,2026-01-01,P,premium,10\n")
    built(store_path, plan)
    con = sqlite3.connect(store_path)
    con.execute("UPDATE goals SET manual = 1, start = 'SECRET-start'")
    con.commit()
    con.close()
    code, _, err = run_cli("run", "s.play", "-s", "s.csv", "--state", str(store_path))
    assert code == 2 and err.count("\n") == 1 and "SECRET" not in err and "the store is damaged" in err
    scramble(store_path, 5)
    code, _, err = run_cli("run", "s.play", "-s", "s.csv", "--state", str(store_path))
    assert code == 2 and err.count("\n") == 1 and err.startswith(f"plays: error: {store_path}: ")


def test_a_run_into_a_read_only_store_is_refused(run_cli, read_only, tmp_path):
    from conftest import SPEC

    (tmp_path / "s.play").write_text(SPEC)
    (tmp_path / "s.csv").write_text("account,date,name,tier,m\np1,2026-01-01,P,premium,10\n")
    before = read_only.read_bytes()
    code, _, err = run_cli("run", "s.play", "-s", "s.csv", "--state", str(read_only))
    assert code == 2 and "the store is read-only" in err and read_only.read_bytes() == before


@pytest.mark.slow
def test_any_damage_to_the_file_is_exit_0_or_2_in_one_line(run_cli, tmp_path, plan):
    """Hypothesis overwrites bytes anywhere in a real store (header, schema, rows, free pages)."""
    import shutil

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    pristine = built(tmp_path / "pristine.db", plan)
    size = pristine.stat().st_size

    scale = int(os.environ.get("PLAYS_FUZZ_SCALE", "1"))  # PLAYS_FUZZ_SCALE=10 for a longer hunt

    @settings(max_examples=60 * scale, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(st.integers(0, size - 1), st.binary(min_size=1, max_size=64)), min_size=1, max_size=8),
           st.sampled_from(READERS + (["task", "done", "t-000000000000"],)))
    def damaged(patches, args):
        target = tmp_path / "damaged.db"
        shutil.copy(pristine, target)
        data = bytearray(target.read_bytes())
        for at, chunk in patches:
            data[at:at + len(chunk)] = chunk
        target.write_bytes(bytes(data[:size]))
        code, out, err = run_cli(*args, "--state", str(target))
        assert code in (0, 1, 2), err
        assert "internal error" not in err and "Traceback" not in err
        if code == 2:
            assert err.count("\n") == 1 and err.startswith(f"plays: error: {target}: ")

    damaged()


def test_creating_a_store_in_a_folder_that_cannot_be_written(tmp_path, monkeypatch):
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode & os.W_OK else real(p, mode, **kw))
    with pytest.raises(store.StoreError, match=r"new.db: cannot create the store here \(no write permission"):
        store.connect(str(tmp_path / "new.db"))
    assert not (tmp_path / "new.db").exists()


def test_a_damaged_version_field_is_not_a_store(run_cli, store_path, plan):
    built(store_path, plan)
    data = bytearray(store_path.read_bytes())
    data[60:64] = b"\x80\x00\x00\x05"  # the header's user_version: negative
    store_path.write_bytes(bytes(data))
    for args in (["tasks"], ["task", "done", "t-000000000000"]):
        code, _, err = run_cli(*args, "--state", str(store_path))
        assert (code, err) == (2, f"plays: error: {store_path}: not a plays store (store version -2147483643)\n")
