"""The plan as a file: deterministic JSON, schema validation, atomic writes, loading.

>>> from plays.compiler.driver import compile_text
>>> plan = compile_text('metric mau: count')
>>> validate(plan); dumps(plan).startswith('{\\n  "plan_version": 1')
True
"""

from __future__ import annotations

import json
from functools import cache

from plays.diagnostics import UsageError
from plays.schemas import load as load_schema


class PlanError(Exception):
    """A plan that does not match the schema.

    From the compiler it is a bug (exit 70, as an internal error); ``load``
    turns it into a ``UsageError`` for a plan file the user gave (exit 2)."""


@cache
def _validator():
    from jsonschema import Draft202012Validator

    schema = load_schema("plan.schema.json")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def dumps(plan: dict) -> str:
    """The plan's bytes: keys in contract order (as built), two-space indent, final newline."""
    return json.dumps(plan, indent=2, ensure_ascii=False) + "\n"


def validate(plan: dict) -> None:
    """Raise ``PlanError`` listing (up to five) schema violations."""
    errors = sorted(_validator().iter_errors(plan), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        shown = "; ".join(f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise PlanError(f"the plan does not match schemas/plan.schema.json: {shown}{more}")


def write(plan: dict, path: str) -> None:
    """Validate, then write atomically (a temporary file renamed over ``path``)."""
    from plays.sources import write_atomic

    validate(plan)
    write_atomic(path, dumps(plan))


def load(path: str) -> dict:
    """Read and validate a plan file; ``UsageError`` (one line) when it is not a usable plan."""
    try:
        with open(path, encoding="utf-8") as f:
            plan = json.load(f)
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror or e}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UsageError(f"{path}: not a plan (not JSON: {e})") from None
    if not isinstance(plan, dict) or "plan_version" not in plan:
        raise UsageError(f"{path}: not a plan (no plan_version)")
    from .lower import PLAN_VERSION

    if plan["plan_version"] != PLAN_VERSION:
        raise UsageError(
            f"{path}: plan version {json.dumps(plan['plan_version'])} is not supported "
            f"(this plays reads version {PLAN_VERSION}); recompile it with `plays compile`"
        )
    try:
        validate(plan)
    except PlanError as e:
        raise UsageError(f"{path}: {e}") from None
    return plan
