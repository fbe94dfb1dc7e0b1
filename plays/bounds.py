"""Bounds of the dates and durations plays accepts wherever they are written (docs/cli.md, "Bounds")."""

from __future__ import annotations

from datetime import date

MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2999, 12, 31)
MAX_DURATION_DAYS = 36_500  # 100 years: any date within the bounds plus any duration stays a valid date


def date_problem(d: date) -> str | None:
    """Why ``d`` is out of bounds, or None.

    >>> date_problem(date(9999, 12, 31))
    '9999-12-31 is out of range: dates are between 1900-01-01 and 2999-12-31'
    """
    if MIN_DATE <= d <= MAX_DATE:
        return None
    return f"{d.isoformat()} is out of range: dates are between {MIN_DATE} and {MAX_DATE}"
