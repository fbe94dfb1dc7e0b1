"""prepare_snapshots: validated snapshots written as Parquet buckets by a stable hash of the account."""

import subprocess
import sys

import duckdb
import pytest

from plays.compiler.driver import compile_text
from plays.runtime.snapshots import SnapshotError, bucket_of, bucket_sql, load_snapshots, prepare_snapshots

PLAN = compile_text("account { tier: enum(standard, premium)  renewal: date }\nmetric mau: count\n")
ACCOUNTS = ["acme", "globex", "initech", "umbrella", "é-ü 株式会社", "x" * 300, "42", "a,b", 'q"uote']


def test_bucket_of_is_the_first_32_bits_of_md5_modulo_the_partitions():
    # md5("acme") = 53bce4f1 dfa0..., 0x53bce4f1 = 1404888305
    assert bucket_of("acme", 2**32) == 1404888305
    assert bucket_of("acme", 1000) == 305
    assert bucket_of("acme", 1) == 0


@pytest.mark.parametrize("partitions", [1, 2, 7, 64])
def test_bucket_of_agrees_with_the_sql(partitions):
    con = duckdb.connect()
    got = con.execute(f"SELECT a, {bucket_sql('a', partitions)} FROM unnest(?) t(a)", [ACCOUNTS]).fetchall()
    assert got == [(a, bucket_of(a, partitions)) for a in ACCOUNTS]


def test_bucket_of_is_the_same_in_another_process():
    code = "from plays.runtime.snapshots import bucket_of; print([bucket_of(a, 7) for a in %r])" % ACCOUNTS
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str([bucket_of(a, 7) for a in ACCOUNTS])


def _csv(tmp_path, n_accounts=40, days=5):
    lines = ["account,date,tier,renewal,mau,extra"]
    for d in range(days, 0, -1):  # written newest first, to see the sort
        for i in range(n_accounts):
            lines.append(f"acct{i:03d},2026-01-{d:02d},{'premium' if i % 3 else 'standard'},2026-06-30,{i * d},z")
    p = tmp_path / "s.csv"
    p.write_text("\n".join(lines) + "\n")
    return str(p)


def test_buckets_hold_each_account_once_sorted_and_equal_to_load_snapshots(tmp_path):
    f = _csv(tmp_path)
    prep = prepare_snapshots([f], PLAN, workdir=str(tmp_path / "work"), partitions=4)
    assert (prep.rows, prep.accounts, prep.last_date.isoformat(), prep.files) == (200, 40, "2026-01-05", [f])
    assert [w.code for w in prep.warnings] == ["R102"]  # the unknown column `extra`
    assert len(prep.partitions) == 4
    con = duckdb.connect()
    everything = []
    for b, files in enumerate(prep.partitions):
        for path in files:
            assert path.startswith(str(tmp_path / "work"))
            rows = con.execute(f"SELECT * FROM read_parquet('{path}')").fetchall()
            assert rows == sorted(rows, key=lambda r: (r[0], r[1]))
            assert {bucket_of(r[0], 4) for r in rows} <= {b}
            everything += rows
    expected = load_snapshots([f], PLAN).con.execute("SELECT * FROM snapshots").fetchall()
    assert sorted(everything) == expected
    types = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{prep.partitions[0][0]}')").fetchall()
    assert [(t[0], t[1]) for t in types] == [("account", "VARCHAR"), ("date", "DATE"), ("tier", "VARCHAR"),
                                             ("renewal", "DATE"), ("mau", "DOUBLE")]


def test_empty_buckets_are_allowed_and_partitions_default_from_the_size(tmp_path):
    one = tmp_path / "one.csv"
    one.write_text("account,date,mau\nacme,2026-01-01,1\n")
    prep = prepare_snapshots([str(one)], PLAN, workdir=str(tmp_path / "w1"), partitions=3)
    assert [len(p) for p in prep.partitions] == [1 if b == bucket_of("acme", 3) else 0 for b in range(3)]
    prep = prepare_snapshots([str(one)], PLAN, workdir=str(tmp_path / "w2"))
    assert len(prep.partitions) == 1 and prep.accounts == 1


def test_accounts_filter(tmp_path):
    prep = prepare_snapshots([_csv(tmp_path)], PLAN, workdir=str(tmp_path / "w"), partitions=2,
                             accounts=["acct001", "acct007"])
    assert (prep.rows, prep.accounts) == (10, 2)


def test_bad_input_raises_like_load_snapshots_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("account,date,mau\na,2026-01-01,x\n")
    with pytest.raises(SnapshotError) as e:
        prepare_snapshots([str(bad)], PLAN, workdir=str(tmp_path / "w"), partitions=2)
    assert [(d.code, d.span.line) for d in e.value.diagnostics] == [("R103", 2)]
    assert list((tmp_path / "w").iterdir()) == []


def test_progress_stages(tmp_path):
    seen = []
    prepare_snapshots([_csv(tmp_path)], PLAN, workdir=str(tmp_path / "w"), partitions=2, progress=seen.append)
    assert seen == ["validate", "partition", "done"]


def test_a_catalog_alone_is_enough(tmp_path):
    prep = prepare_snapshots([_csv(tmp_path, 3, 2)], PLAN.catalog, workdir=str(tmp_path / "w"), partitions=1)
    assert (prep.rows, prep.accounts) == (6, 3)
