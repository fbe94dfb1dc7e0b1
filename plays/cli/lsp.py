"""``plays lsp``: the language server, over standard input and output (for editors; see docs/editors.md)."""

from __future__ import annotations

import click


@click.command()
@click.option("--stdio", is_flag=True, help="Speak over standard input and output (the default and only transport).")
def lsp(stdio):
    """Run the language server for .play files: diagnostics as you type, completion, hover, navigation.

    Editors start it and speak LSP with it over standard input and output;
    it checks the workspace folder's .play files as one spec set, with the
    open files' unsaved text. Needs the `lsp` extra: pip install 'plays[lsp]'.

    \b
    Examples:
      plays lsp          (from an editor's language-server settings; see docs/editors.md)
    """
    try:
        import pygls  # noqa: F401
        import lsprotocol  # noqa: F401
    except ImportError:
        from plays.errors import UsageError

        raise UsageError("the language server needs pygls: pip install 'plays[lsp]'") from None
    from plays.lsp.server import serve

    serve()
