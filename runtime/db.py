"""DuckDB connections as the runtime opens them.

DuckDB draws a progress bar for long queries on standard output, which is
where `plays run` writes its events: every connection of plays turns it off.
"""

from __future__ import annotations

import duckdb


def connect(**config) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection without a progress bar; ``config`` adds DuckDB settings (``threads=1``)."""
    con = duckdb.connect(config=config)
    con.execute("SET enable_progress_bar = false")  # a per-connection setting, not a global one
    return con
