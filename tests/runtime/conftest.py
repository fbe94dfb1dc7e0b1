"""Make tests/runtime/reference.py importable as `reference` (test code, not product code)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
