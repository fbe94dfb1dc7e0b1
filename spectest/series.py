"""The values of a spec test: the compact series notation, dates and durations, each with its bounds."""

from __future__ import annotations

import re
from datetime import date

from plays.dsl.language import MAX_DATE, MIN_DATE
from plays.dsl.language import MAX_DAYS as MAX_DURATION_DAYS

# Bounds of what a test file may write (docs/cli.md, "plays test"). Dates and
# durations have the language's bounds (dsl/language.py, docs/language.md); a series is at most MAX_SERIES_VALUES
# long, so that `100x999999999` is refused before anything is allocated.
MAX_SERIES_VALUES = 10_000

_VALUE = re.compile(r"^(?P<v>_|-?\$?\d+(?:\.\d+)?%?)(?:x(?P<n>\d+))?$")
_DURATION = re.compile(r"^(?P<n>\d+)(?P<unit>[dw])$")


class ValueProblem(ValueError):
    """A value of a test file that cannot be used; the message says why, in one line."""


def parse_series(text: str | int | float) -> list[float | None]:
    """Expand the compact series notation (at most MAX_SERIES_VALUES values).

    >>> parse_series("100x3 70 _x2 4.5 20% $1200")
    [100, 100, 100, 70, None, None, 4.5, 0.2, 1200]
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return [text]
    pieces = []
    total = 0
    for piece in str(text).split():
        m = _VALUE.match(piece)
        if not m:
            raise ValueProblem(
                f"`{piece}` is not a series value (a number, 20%, $1200, or _ for empty; VxN repeats V N times)"
            )
        count = m.group("n")
        # the digits are compared before they are converted: a 20-digit count never becomes an int
        n = 1 if count is None else (int(count) if len(count) <= 6 else MAX_SERIES_VALUES + 1)
        total += n
        if total > MAX_SERIES_VALUES:
            raise ValueProblem(f"`{piece}`: a series has at most {MAX_SERIES_VALUES:,} values")
        pieces.append((_series_value(m.group("v")), n))
    out: list[float | None] = []
    for value, n in pieces:
        out.extend([value] * n)
    return out


def _series_value(v: str) -> float | None:
    if v == "_":
        return None
    neg = v.startswith("-")
    v = v.lstrip("-").lstrip("$")
    if len(v) > 30:
        raise ValueProblem(f"`{v}` has too many digits for a series value")
    if v.endswith("%"):
        x = float(v[:-1]) / 100
    else:
        x = float(v) if "." in v else int(v)
    return -x if neg else x


def parse_duration(text: str) -> int:
    """``7d`` or ``2w`` in days, at most MAX_DURATION_DAYS.

    >>> parse_duration("2w")
    14
    """
    m = _DURATION.match(str(text))
    if not m:
        raise ValueProblem(f"`{text}` is not a duration like 7d or 2w")
    digits = m.group("n")
    days = int(digits) * (7 if m.group("unit") == "w" else 1) if len(digits) <= 6 else MAX_DURATION_DAYS + 1
    if not 1 <= days <= MAX_DURATION_DAYS:
        raise ValueProblem(f"`{text}`: a duration is from 1d to {MAX_DURATION_DAYS:,}d")
    return days


def parse_date(text) -> date:
    """A calendar date ``YYYY-MM-DD`` between MIN_DATE and MAX_DATE.

    >>> parse_date("2026-02-28")
    datetime.date(2026, 2, 28)
    """
    s = str(text)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        raise ValueProblem(f"`{s}` is not a date like 2026-01-31")
    try:
        d = date.fromisoformat(s)
    except ValueError:
        raise ValueProblem(f"`{s}` is not a calendar date") from None
    if not MIN_DATE <= d <= MAX_DATE:
        raise ValueProblem(f"`{s}` is out of range: dates are from {MIN_DATE} to {MAX_DATE}")
    return d


def is_date(text) -> bool:
    """Whether ``text`` is a calendar date within the bounds."""
    try:
        parse_date(text)
        return True
    except ValueProblem:
        return False
