"""Every DuckDB connection of the product leaves standard output alone (it is where `plays run` writes events)."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_a_long_query_draws_no_progress_bar_on_stdout():
    code = (
        "from plays.runtime.db import connect\n"
        "con = connect(threads=1)\n"
        "assert con.execute(\"SELECT current_setting('enable_progress_bar')\").fetchone() == (False,)\n"
        "con.execute('SELECT count(*) FROM range(200000000) t(i) WHERE i % 7 = 3').fetchall()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (out.returncode, out.stdout) == (0, ""), out.stderr


def test_product_code_opens_duckdb_only_through_runtime_db():
    found = []
    for folder in ("plays", "dsl", "compiler", "runtime", "state", "spectest", "spark"):
        for f in (ROOT / folder).rglob("*.py"):
            if f.name == "db.py" and f.parent.name == "runtime":
                continue
            for node in ast.walk(ast.parse(f.read_text("utf-8"))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "connect"
                        and isinstance(node.func.value, ast.Name) and node.func.value.id == "duckdb"):
                    found.append(f"{f.relative_to(ROOT)}:{node.lineno}")
    assert found == []
