"""plays: customer-success playbooks as code.

Stages: ``plays.dsl`` (text -> AST), ``plays.compiler`` (AST -> plan),
``plays.runtime`` (plan + snapshots -> events). ``plays.cli`` is the thin
command line over them.
"""

__version__ = "0.1.0"
LANGUAGE_VERSION = "1"

# In a source checkout that is not installed (or when `python -m ...` from the
# checkout's root puts its plays/ folder first on sys.path), the stages live in
# the checkout's top-level dsl/, compiler/, runtime/ and schemas/ folders, as
# setuptools' package-dir maps them when installing.
import os as _os

_checkout = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if _os.path.isfile(_os.path.join(_checkout, "dsl", "grammar.lark")) and _checkout not in __path__:
    __path__.append(_checkout)
del _os, _checkout
