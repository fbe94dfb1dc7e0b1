"""``plays explain-code``: a diagnostic code's documentation, from the registry (plays/codes.py, codes.toml)."""

from __future__ import annotations

import re

import click

from plays.errors import UsageError


def _unknown(raw: str) -> UsageError:
    from plays.codes import CODES
    from plays.diagnostics import suggest_code
    from plays.render import printable

    shown = printable(raw)
    hint = suggest_code(raw, CODES)
    if not re.fullmatch(r"[A-Za-z](?=\S*\d)[\dOoIlL]+", raw.strip()):
        return UsageError(f"`{shown}` is not a diagnostic code (codes look like E302); "
                          "`plays explain RULE` explains a rule, `plays explain-code --list` lists the codes")
    more = f"; did you mean {hint}?" if hint else "; `plays explain-code --list` lists them"
    return UsageError(f"`{shown}` is not a diagnostic code of plays{more}")


@click.command("explain-code")
@click.argument("code", required=False, metavar="CODE")
@click.option("--list", "list_", is_flag=True, help="List every code with its severity and title.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True,
              help="text for a terminal; markdown with fenced examples.")
def explain_code(code, list_, fmt):
    """Explain a diagnostic code: what it means, a bad example with its diagnostic, the fix.

    CODE is a code as `plays check` prints it (E302, W300, R103, T101); case
    does not matter. Exit 2 for a code plays does not have.

    \b
    Examples:
      plays explain-code E302
      plays explain-code --list
    """
    from plays.codes import CODES, explain, explain_text

    if list_:
        if code:
            raise UsageError("give a CODE or --list, not both")
        if fmt == "markdown":  # a table to paste into a wiki (was: the text list, the option ignored)
            click.echo("| code | severity | title |\n|---|---|---|")
            for c in CODES.values():
                click.echo(f"| {c.code} | {c.severity} | {c.title.replace('|', chr(92) + '|')} |")
            return
        for c in CODES.values():
            click.echo(f"{c.code}  {c.severity:<7}  {c.title}")
        return
    if not code:
        raise click.UsageError("give a code, for example: plays explain-code E302 (or --list)")
    key = code.strip().upper()
    if key not in CODES:
        raise _unknown(code)
    click.echo(explain(key) if fmt == "markdown" else explain_text(key), nl=False)
