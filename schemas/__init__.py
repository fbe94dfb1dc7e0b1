"""JSON Schemas shipped with plays (the plan, the spec-test file format)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources


@cache
def load(name: str) -> dict:
    """Return the parsed schema ``name`` (for example ``"plan.schema.json"``)."""
    return json.loads(resources.files(__name__).joinpath(name).read_text("utf-8"))
