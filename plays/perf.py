"""Process-level tuning shared by the stages."""

from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def fewer_collections(threshold: int = 200_000):
    """Run a block that builds many long-lived objects with fewer garbage collections.

    Parsing a large spec set or building a run's events allocates millions of
    objects that all survive; CPython's default threshold (700) then runs full
    collections that walk the whole, growing heap again and again (a third of
    `plays check` on the benchmark). mypy raises the threshold the same way.
    """
    old = gc.get_threshold()
    gc.set_threshold(threshold, 30, 30)
    try:
        yield
    finally:
        gc.set_threshold(*old)
