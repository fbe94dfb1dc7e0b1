"""The language's vocabulary in one table: functions, block keys, words, units and bounds.

Everything that knows the language reads it from here: the grammar's
transformer (dsl/parser.py: units, bounds, keys for messages), the type pass
(signatures), lowering, task titles, the SQL generator and the docs test.
LANGUAGE.md is the contract; docs/language.md documents the bounds.

>>> FUNCTIONS["pct_change"].params, FUNCTIONS["days_since"].params
(('metric', 'window'), ('date_attribute',))
>>> parse_duration("2w"), format_days(14)
(14, '14d')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


# --- functions ----------------------------------------------------------------------

# Argument kinds: a metric name; a date attribute's name (bare or `account.`); a
# duration literal longer than 0d (a window).
METRIC, DATE_ATTRIBUTE, WINDOW = "metric", "date_attribute", "window"


@dataclass(frozen=True, slots=True)
class Function:
    """One function of LANGUAGE.md's table.

    ``result`` is the value's type: ``"metric"`` for the metric's own type, or a
    type name (``percent``, ``count``, ``number``).
    """

    name: str
    params: tuple[str, ...]
    result: str
    meaning: str

    @property
    def arity(self) -> int:
        return len(self.params)

    @property
    def windowed(self) -> bool:
        return WINDOW in self.params

    @property
    def shape(self) -> str:
        """How it is written, for messages: ``sum(m, 7d)``, ``days_since(d)``."""
        names = {METRIC: "m", DATE_ATTRIBUTE: "d", WINDOW: "7d"}
        return f"{self.name}({', '.join(names[p] for p in self.params)})"


def _f(name: str, params: tuple[str, ...], result: str, meaning: str) -> Function:
    return Function(name, params, result, meaning)


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        _f("value_at", (METRIC, WINDOW), "metric", "m in the latest snapshot dated on or before t - w"),
        _f("previous", (METRIC,), "metric", "m in the previous snapshot"),
        _f("change", (METRIC, WINDOW), "metric", "m - value_at(m, w)"),
        _f("pct_change", (METRIC, WINDOW), "percent", "(m - value_at(m, w)) / value_at(m, w)"),
        _f("sum", (METRIC, WINDOW), "metric", "sum over the snapshots dated in (t - w, t]"),
        _f("avg", (METRIC, WINDOW), "metric", "average over the snapshots dated in (t - w, t]"),
        _f("min", (METRIC, WINDOW), "metric", "smallest over the snapshots dated in (t - w, t]"),
        _f("max", (METRIC, WINDOW), "metric", "largest over the snapshots dated in (t - w, t]"),
        _f("count", (METRIC, WINDOW), "count", "snapshots dated in (t - w, t] where m is not empty"),
        _f("days_since", (DATE_ATTRIBUTE,), "number", "t - d in days"),
        _f("days_until", (DATE_ATTRIBUTE,), "number", "d - t in days"),
    )
}

# --- blocks --------------------------------------------------------------------------

# Which property keys each kind of block takes. The grammar accepts every block
# key in every block so that a misplaced key gets a precise message from the
# compiler; the parser uses these lists to say what a misspelt key could be.
ALERT_KEYS = ("severity", "where", "when", "for", "cooldown")
GOAL_KEYS = ("category", "duration", "deploy", "where", "kpi")
EXTERNAL_KEYS = ("account", "measure", "start", "due", "category")
TASK_KEYS = ("type", "owner", "due", "after", "every", "until")
# Every key an alert, goal or external goal block accepts in the grammar.
BLOCK_KEYS = tuple(dict.fromkeys(ALERT_KEYS + GOAL_KEYS + EXTERNAL_KEYS))

# The words some properties take.
SEVERITIES = ("low", "medium", "high", "critical")
CATEGORIES = ("onboarding", "adoption", "expansion", "retention", "other")
TASK_TYPES = ("call", "email", "meeting", "todo")

# The catalog's types (LANGUAGE.md, "The account catalog").
METRIC_TYPES = ("count", "number", "money", "percent")
ATTRIBUTE_TYPES = ("text", "date", "number", "enum")

# --- units and bounds (docs/language.md, "Bounds") -------------------------------------

UNITS = {"d": 1, "w": 7}  # duration suffix -> days

MAX_DEPTH = 100  # nesting levels of one expression (E102)
MAX_DIGITS = 15  # digits before the point, and after it, of a number literal (E103)
# The longest duration and the furthest planned task (E104, E408), and the dates
# a spec, a test file or a command line may write (E105, T102, CLI dates):
# 100 years, so any date within the bounds plus any duration stays a valid date.
MAX_DAYS = 36_500
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2999, 12, 31)


def parse_duration(text: str) -> int:
    """Days of a duration written ``7d`` or ``2w``; ``ValueError`` for anything else.

    >>> parse_duration("7d"), parse_duration("10w")
    (7, 70)
    """
    if len(text) < 2 or text[-1] not in UNITS or not text[:-1].isdigit() or not text[:-1].isascii():
        raise ValueError(f"`{text}` is not a duration like 7d or 2w")
    return int(text[:-1]) * UNITS[text[-1]]


def format_days(days: int) -> str:
    """A whole number of days as a duration literal: ``14`` -> ``14d``."""
    return f"{days}d"
