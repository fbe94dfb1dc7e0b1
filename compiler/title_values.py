"""How values read in task titles: empty values, numbers, arithmetic, comparisons and the filters.

The semantics of ``compiler/title.py``'s programs at render time, kept
apart from the compiling: an empty value (``None``) reads ``—`` and
empties arithmetic and comparisons, as in the language; arithmetic is on
numbers only, rounded to the language's 10 decimal places, whole numbers
read without ``.0``; ``pct``, ``money`` and ``days`` round half away from
zero on the decimal value; every filter is bounded and takes an empty value.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Context as DecimalContext, Decimal

import jinja2
from jinja2.filters import do_truncate

MAX_TITLE = 1000
"""A rendered title longer than this many characters is cut to ``MAX_TITLE - 1`` characters and ``…``."""

DECIMALS = 10
"""Title arithmetic is rounded to this many decimal places, as the language's is."""

EMPTY = "—"
"""How an empty value reads in a title."""

_MAX_TEXT = 10 * MAX_TITLE  # longest text a filter may build along the way
_EXACT = 2.0**53  # whole floats below this are exact integers


def is_number(v) -> bool:
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def rounded_number(x: float):
    """A result of title arithmetic: rounded like the language's, whole numbers as integers, non-finite empty."""
    if not math.isfinite(x):
        return None
    x = round(x, DECIMALS)
    return int(x) if x.is_integer() and abs(x) < _EXACT else x


def plain(v):
    """A value the runtime supplies, as titles show it: whole floats as integers, decimals as floats."""
    if isinstance(v, Decimal):
        v = float(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return None
        return int(v) if v.is_integer() and abs(v) < _EXACT else v
    return v


def as_text(v) -> str:
    """How a value reads in a title (Jinja's ``finalize``)."""
    if v is None:
        return EMPTY
    v = plain(v)
    return EMPTY if v is None else str(v)


def arith(op: str, a, b):
    if a is None or b is None:
        return None
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    if op == "**" or not (is_number(a) and is_number(b)):
        return None  # refused at compile time; never repetition, powers or text arithmetic at run time
    x, y = float(a), float(b)
    try:
        r = {"+": x + y, "-": x - y, "*": x * y}.get(op)
        if r is None:
            r = x / y if op == "/" else x // y if op == "//" else x % y
    except (ZeroDivisionError, OverflowError):
        return None  # division by zero is empty, as in the language
    return rounded_number(r)


def compare(ops: tuple[str, ...], first, *rest):
    """A comparison chain; with an empty value, or values that do not compare, it is empty (None)."""
    left = first
    for op, right in zip(ops, rest):
        if left is None or right is None:
            return None
        try:
            if op == "eq":
                ok = left == right
            elif op == "ne":
                ok = left != right
            elif op == "lt":
                ok = left < right
            elif op == "lteq":
                ok = left <= right
            elif op == "gt":
                ok = left > right
            elif op == "gteq":
                ok = left >= right
            elif op == "in":
                ok = left in right
            else:
                ok = left not in right
        except TypeError:
            return None
        if not ok:
            return False
        left = right
    return True


def join(*parts) -> str:
    """``a ~ b``: the parts as they read in a title (empty as ``—``)."""
    return "".join(as_text(p) for p in parts)


# --- filters -------------------------------------------------------------------------------------

_WIDE = DecimalContext(prec=400)  # exact for any float's decimal value


def _decimal(v) -> Decimal | None:
    """The decimal value of a number as it reads (``0.575``, not its binary approximation)."""
    v = plain(v)
    if not is_number(v):
        return None
    return v if isinstance(v, Decimal) else Decimal(repr(v)) if isinstance(v, float) else Decimal(v)


def _rounded(d: Decimal, places: int, rounding=ROUND_HALF_UP) -> Decimal:
    """``d`` rounded to ``places`` decimals, half away from zero; never a negative zero."""
    q = d.quantize(Decimal(1).scaleb(-places), rounding=rounding, context=_WIDE)
    return q.copy_abs() if q.is_zero() else q


def _places(digits, most: int = DECIMALS) -> int:
    try:
        return min(max(int(digits), 0), most)
    except (TypeError, ValueError, OverflowError):
        return 0


def fmt_pct(value, digits: int = 0) -> str:
    """0.2 -> "20%"; -0.314 -> "-31%"; 0.575 -> "58%"; ``pct(1)``: one decimal; empty -> "—"."""
    d = _decimal(value)
    if d is None:
        return EMPTY
    return f"{_rounded(d * 100, _places(digits)):f}%"


def fmt_money(value) -> str:
    """1234.5 -> "$1,234.50"; 1200 -> "$1,200"; 1.125 -> "$1.13"; rounded to cents; empty -> "—"."""
    d = _decimal(value)
    if d is None:
        return EMPTY
    q = _rounded(d, 2)
    sign, q = ("-" if q < 0 else ""), q.copy_abs()
    return f"{sign}${q:,.0f}" if q == q.to_integral_value() else f"{sign}${q:,.2f}"


def fmt_days(value) -> str:
    """7 -> "7 days"; 1 -> "1 day"; 2.5 -> "3 days" (whole days); empty -> "—"."""
    d = _decimal(value)
    if d is None:
        return EMPTY
    n = int(_rounded(d, 0))
    return f"{n} day" if n in (1, -1) else f"{n} days"


def _f_round(value, precision=0, method="common"):
    d = _decimal(value)
    if d is None or method not in ("common", "ceil", "floor"):
        return None
    rounding = {"common": ROUND_HALF_UP, "ceil": ROUND_CEILING, "floor": ROUND_FLOOR}[method]
    return plain(float(_rounded(d, _places(precision), rounding)))


def _on_numbers(fn):
    def apply(value, *args):
        d = _decimal(value)
        return None if d is None else plain(fn(plain(value), *args))

    return apply


def _on_text(fn):
    def apply(value, *args, **kwargs):
        if value is None:
            return None
        try:
            return fn(as_text(value), *args, **kwargs)
        except Exception:  # a bad argument: an empty value rather than a stopped run
            return None

    return apply


def _f_default(value, default_value="", boolean=False):
    if value is None or isinstance(value, jinja2.Undefined) or (boolean and not value):
        return default_value
    return value


def _f_int(value, default=0):
    v = plain(value)
    if v is None:
        return None
    try:
        return int(float(v)) if not isinstance(v, int) else v
    except (TypeError, ValueError, OverflowError):
        return default


def _f_float(value, default=0.0):
    v = plain(value)
    if v is None:
        return None
    try:
        return plain(float(v))
    except (TypeError, ValueError, OverflowError):
        return default


def _f_length(value):
    if isinstance(value, (str, list, tuple, dict)):
        return len(value)
    return None


def _f_truncate(s: str, length: int = 255, killwords: bool = False, end: str = "...", leeway=None):
    return do_truncate(None, s, length, killwords, end, 5 if leeway is None else leeway)  # Jinja's default leeway


def _f_replace(s: str, old, new, count=None):
    old, new = str(old), str(new)
    n = s.count(old) if old else len(s) + 1
    if count is not None:
        n = min(n, max(int(count), 0))
    grow = len(new) - len(old)
    if grow > 0 and len(s) + n * grow > _MAX_TEXT:
        n = max((_MAX_TEXT - len(s)) // grow, 0)
    return s.replace(old, new, n)[:_MAX_TEXT]


TITLE_FILTERS = {
    "pct": fmt_pct, "money": fmt_money, "days": fmt_days,
    "upper": _on_text(str.upper), "lower": _on_text(str.lower), "capitalize": _on_text(str.capitalize),
    "title": _on_text(str.title), "trim": _on_text(str.strip), "string": _on_text(str),
    "truncate": _on_text(_f_truncate), "replace": _on_text(_f_replace),
    "round": _f_round, "abs": _on_numbers(abs), "int": _f_int, "float": _f_float,
    "length": _f_length, "count": _f_length, "default": _f_default, "d": _f_default,
}
"""The filters titles may use: the language's three and a few of Jinja's, each bounded and empty-safe."""
