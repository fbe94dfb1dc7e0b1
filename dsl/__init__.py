"""The syntax stage: grammar, parser and AST of the playbook language."""

from .parser import parse, parse_expression, parse_module

__all__ = ["parse", "parse_module", "parse_expression"]
