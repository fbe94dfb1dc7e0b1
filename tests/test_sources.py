"""Finding and reading spec files, and writing outputs atomically."""

import os
from pathlib import Path

import pytest

from plays.sources import Source
from plays.diagnostics import UsageError
from plays.sources import discover, display_path, write_atomic


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """tmp_path as the current directory, holding a small spec tree."""
    monkeypatch.chdir(tmp_path)
    for rel, text in {
        "specs/b.play": "metric b: count\n",
        "specs/a.play": "metric a: count\n",
        "specs/deep/er/c.play": "metric c: count\n",
        "specs/notes.txt": "not a spec",
        "specs/.hidden/x.play": "metric x: count\n",
        "specs/folder.play/d.play": "metric d: count\n",  # a folder named like a spec is searched, not read
    }.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, "utf-8")
    return tmp_path


def paths(sources):
    return [s.path for s in sources]


def test_a_folder_is_searched_recursively_sorted_and_without_hidden_folders(tree):
    assert paths(discover(["specs"])) == ["specs/a.play", "specs/b.play", "specs/deep/er/c.play", "specs/folder.play/d.play"]
    assert discover(["specs/a.play"]) == [Source("specs/a.play", "metric a: count\n")]


def test_a_hidden_folder_named_explicitly_is_searched(tree):
    assert paths(discover(["specs/.hidden"])) == ["specs/.hidden/x.play"]


def test_a_file_reached_twice_is_read_once(tree):
    found = discover(["specs/b.play", "specs", "./specs/a.play", str(tree / "specs" / "a.play"), "specs/deep/../a.play"])
    assert paths(found) == ["specs/a.play", "specs/b.play", "specs/deep/er/c.play", "specs/folder.play/d.play"]


def test_a_symbolic_link_keeps_its_name_and_is_not_read_twice(tree):
    (tree / "specs" / "link.play").symlink_to(tree / "specs" / "a.play")
    assert paths(discover(["specs/link.play"])) == ["specs/link.play"]
    assert paths(discover(["specs/a.play", "specs/link.play"])) == ["specs/a.play"]


def test_display_paths_are_relative_to_the_current_directory_when_under_it(tree, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "o.play"
    outside.write_text("metric o: count\n")
    assert paths(discover([str(outside)])) == [outside.as_posix()]
    os.chdir(tree / "specs" / "deep")
    assert paths(discover(["er", "../a.play"])) == ["../a.play", "er/c.play"]
    assert display_path(Path(str(tree / "specs" / "deep" / "er" / "c.play"))) == "er/c.play"


def test_an_explicit_file_is_read_whatever_its_name(tree):
    assert discover(["specs/notes.txt"]) == [Source("specs/notes.txt", "not a spec")]


def test_a_byte_order_mark_is_dropped_and_crlf_kept(tree):
    (tree / "bom.play").write_bytes(b"\xef\xbb\xbfmetric a: count\r\n")
    assert discover(["bom.play"]) == [Source("bom.play", "metric a: count\r\n")]


def test_an_empty_file_is_read_as_empty_text(tree):
    (tree / "empty.play").write_bytes(b"")
    assert discover(["empty.play"]) == [Source("empty.play", "")]


@pytest.mark.parametrize(
    "make, args, message",
    [
        (None, [], "no spec paths given (for example: plays check specs/)"),
        (None, ["missing.play"], "missing.play: no such file or directory"),
        (None, ["specs", "nope/"], "nope/: no such file or directory"),
        (lambda t: (t / "dangling.play").symlink_to(t / "gone"), ["dangling.play"], "dangling.play: broken link (what it points to does not exist)"),
        (lambda t: (t / "empty").mkdir(), ["empty"], "empty: no .play files in this directory"),
        (lambda t: (t / "latin1.play").write_bytes(b"metric a: count\n# caf\xe9\n"), ["latin1.play"],
         "latin1.play: not UTF-8 text (byte 0xe9 at line 2, byte 6 of the line); is it a binary file?"),
        (lambda t: (t / "nul.play").write_bytes(b"metric a\x00"), ["nul.play"],
         "nul.play: not a text file (it contains NUL bytes; is it a binary file?)"),
        (lambda t: (t / "utf16.play").write_text("metric a: count\n", "utf-16"), ["utf16.play"],
         "utf16.play: not a text file (it contains NUL bytes; is it a binary file?)"),
    ],
)
def test_unusable_input_is_one_line_usage_error(tree, make, args, message):
    if make:
        make(tree)
    with pytest.raises(UsageError) as e:
        discover(args)
    assert str(e.value) == message


def test_a_folder_with_only_hidden_specs_has_no_play_files(tree):
    (tree / "only" / ".git").mkdir(parents=True)
    (tree / "only" / ".git" / "x.play").write_text("metric x: count\n")
    with pytest.raises(UsageError, match=r"^only: no \.play files in this directory$"):
        discover(["only"])


def test_an_unreadable_file_is_a_usage_error(tree, monkeypatch):
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == "a.play":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with pytest.raises(UsageError, match=r"^specs/a\.play: cannot read: Permission denied$"):
        discover(["specs"])


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs file permissions that bind (not root)")
def test_an_unreadable_file_on_disk(tree):
    (tree / "specs" / "a.play").chmod(0)
    with pytest.raises(UsageError, match="cannot read"):
        discover(["specs"])


def test_an_unreadable_folder_is_a_usage_error(tree, monkeypatch):
    def walk(top, onerror=None, **kw):
        onerror(PermissionError(13, "Permission denied", os.path.join(top, "locked")))
        yield from ()

    monkeypatch.setattr(os, "walk", walk)
    with pytest.raises(UsageError, match=r"^specs/locked: cannot read: Permission denied$"):
        discover(["specs"])


def test_write_atomic_replaces_the_whole_file(tmp_path):
    target = tmp_path / "plan.json"
    target.write_text("old")
    write_atomic(target, "new ✓\n")
    assert target.read_text("utf-8") == "new ✓\n"
    write_atomic(str(target), b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_write_atomic_keeps_the_mode_of_the_file_it_replaces_or_follows_the_umask(tmp_path):
    fresh = tmp_path / "fresh.json"
    old = os.umask(0o022)
    try:
        write_atomic(fresh, "x")
    finally:
        os.umask(old)
    assert fresh.stat().st_mode & 0o777 == 0o644
    existing = tmp_path / "shared.json"
    existing.write_text("old")
    existing.chmod(0o640)
    write_atomic(existing, "new")
    assert existing.stat().st_mode & 0o777 == 0o640


def test_write_atomic_failing_midway_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "plan.json"
    target.write_text("old")

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(UsageError, match=r"plan\.json: cannot write: No space left on device$"):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


def test_write_atomic_into_a_missing_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match=r"cannot write: No such file or directory$"):
        write_atomic(tmp_path / "nowhere" / "plan.json", "x")


def test_a_symbolic_link_loop_is_called_a_loop(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.play").symlink_to(tmp_path / "b.play")
    (tmp_path / "b.play").symlink_to(tmp_path / "a.play")
    with pytest.raises(UsageError, match=r"^a.play: symbolic link loop \(the link leads back to itself\)$"):
        discover(["a.play"])
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "ok.play").write_text("metric m: count\n")
    (tmp_path / "d" / "loop.play").symlink_to(tmp_path / "d" / "loop.play")
    assert [s.path for s in discover(["d"])] == ["d/ok.play"]  # inside a folder: skipped


def test_pipes_devices_and_empty_paths_are_refused_without_blocking(tmp_path, monkeypatch):
    import os

    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "fifo.play")  # reading it would wait forever for a writer
    with pytest.raises(UsageError, match=r"^fifo.play: not a regular file"):
        discover(["fifo.play"])
    with pytest.raises(UsageError, match="an empty path was given"):
        discover([""])
    with pytest.raises(UsageError, match=r"^x+\.play: cannot read: File name too long$"):
        discover(["x" * 300 + ".play"])


def test_a_temporary_left_by_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    import os
    import subprocess
    import sys
    import time

    # a writer killed (SIGKILL) between writing its temporary and renaming it
    killed = ("import os, signal, sys; from plays.sources import write_atomic; "
              "os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL); write_atomic(sys.argv[1], 'new')")
    proc = subprocess.run([sys.executable, "-c", killed, str(tmp_path / "plan.json")], capture_output=True)
    assert proc.returncode == -9
    [left] = [p.name for p in tmp_path.iterdir()]
    assert left.startswith(".plan.json.") and left.endswith(".tmp")
    # others: a live writer's temporary, an old one without a pid, a fresh one without a pid, another file's
    live = tmp_path / f".plan.json.{os.getpid()}.abcd1234.tmp"
    old = tmp_path / ".plan.json.zzzz9999.tmp"
    fresh = tmp_path / ".plan.json.yyyy8888.tmp"
    other = tmp_path / ".plan.json.bak.999999999.abcd1234.tmp"
    for p in (live, old, fresh, other):
        p.write_text("x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    write_atomic(tmp_path / "plan.json", "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["plan.json", live.name, fresh.name, other.name])


def test_open_atomic_also_removes_temporaries_of_killed_writers(tmp_path):
    from plays.sources import open_atomic

    dead = tmp_path / ".events.jsonl.999999999.abcd1234.tmp"
    dead.write_text("half")
    with open_atomic(tmp_path / "events.jsonl") as f:
        f.write("x\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.jsonl"]
