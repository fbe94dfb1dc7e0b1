"""plays: customer-success playbooks as code.

Stages: ``plays.dsl`` (text -> AST), ``plays.compiler`` (AST -> plan),
``plays.runtime`` (plan + snapshots -> events). ``plays.cli`` is the thin
command line over them.
"""

__version__ = "0.1.0"
LANGUAGE_VERSION = "1"
