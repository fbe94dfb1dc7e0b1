"""``python -m plays.cli``: the same as the ``plays`` command."""

from plays.cli import main

main()
