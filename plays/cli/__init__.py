"""The command line: thin wrappers that parse options, call the stages, render results.

One module per command group (``check``, ``run``, ``state``, ``spectest``);
every click import of the product is in this package. Commands are
registered in ``_LAZY`` as ``"module:attribute"`` and imported only when
used, so ``plays check`` starts without loading DuckDB.

Exit codes: 0 clean, 1 problems found in the input (errors, or warnings with
``--strict``; failing spec tests), 2 usage or I/O errors, 70 internal error.
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys

import click

from plays import __version__
from plays.errors import PlaysError, UsageError

_LAZY = {
    "check": "plays.cli.check:check",
    "compile": "plays.cli.check:compile_",
    "fmt": "plays.cli.fmt:fmt",
    "run": "plays.cli.run:run",
    "explain": "plays.cli.run:explain",
    "explain-code": "plays.cli.codes:explain_code",
    "diff": "plays.cli.diff:diff",
    "test": "plays.cli.spectest:test_command",
    "goal": "plays.cli.state:goal",
    "task": "plays.cli.state:task",
    "tasks": "plays.cli.state:tasks",
    "alerts": "plays.cli.state:alerts",
    "goals": "plays.cli.state:goals",
    "report": "plays.cli.state:report",
    "lsp": "plays.cli.lsp:lsp",
}

class SuggestingGroup(click.Group):
    """A group whose unknown command says which one was probably meant (`plays chek`, `plays goal deplyo`)."""

    def resolve_command(self, ctx, args):
        """An unknown command says which one was probably meant (`plays chek`, `plays format`)."""
        try:
            name, cmd, rest = super().resolve_command(ctx, args)
        except click.UsageError:
            name = args[0] if args else ""
            if not name or name.startswith("-") or self.get_command(ctx, name) is not None:
                raise
            names = self.list_commands(ctx)
            hint = _ALIASES.get(name.lower()) if _ALIASES.get(name.lower()) in names else next(
                iter(difflib.get_close_matches(name.lower(), names, n=1)), None)
            if hint is None:
                raise
            raise click.UsageError(f"No such command '{name}'. Did you mean `{ctx.command_path} {hint}`?",
                                   ctx) from None
        if cmd is not None and not isinstance(cmd, click.Group):
            _no_empty_option_values(ctx, name, cmd, rest)
        return name, cmd, rest


def _no_empty_option_values(ctx, name: str, cmd: click.Command, args: list[str]) -> None:
    """`--html "$PAGE"` with the variable unset: one line naming the option, not a file named ``
    silently skipped, or a message about a file with no name."""
    sub = click.Context(cmd, info_name=name, parent=ctx, **cmd.context_settings)  # as cmd.make_context
    try:
        values, _, _ = cmd.make_parser(sub).parse_args(list(args))
    except click.UsageError as e:
        # the command's own parse would raise the same; click leaves some (`-o` with no value) without
        # the command, so they could not say which --help to read
        if e.ctx is None:
            e.ctx = sub
        raise
    for param in cmd.params:
        if not isinstance(param, click.Option) or param.is_flag:
            continue
        raw = values.get(param.name)
        if raw == "" or (isinstance(raw, (list, tuple)) and "" in raw):
            raise click.UsageError(f"{max(param.opts, key=len)}: an empty value was given (a quoted variable "
                                   "that is not set?)", sub)


class _Group(SuggestingGroup):
    """A group whose stage commands are imported on first use."""

    def _lazy(self, name):
        target = _LAZY.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            # Only the command's own module missing means "not built yet"; a
            # module it imports being absent is a real error, and surfaces.
            if e.name and (module == e.name or module.startswith(e.name + ".")):
                return None
            raise
        return getattr(mod, attr, None)

    def list_commands(self, ctx):
        names = set(super().list_commands(ctx))
        for name in _LAZY:
            try:
                if self._lazy(name) is not None:
                    names.add(name)
            except Exception:  # a broken module must not take `plays --help` down with it
                continue
        return sorted(names)

    def get_command(self, ctx, name):
        return super().get_command(ctx, name) or self._lazy(name)

# What users of other linters and formatters type first.
_ALIASES = {"format": "fmt", "lint": "check", "validate": "check", "build": "compile", "rule": "explain-code",
            "rules": "explain-code", "tests": "test", "dry-run": "run", "complete": "done", "finish": "done",
            "close": "done"}


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="plays")
def cli():
    """plays: customer-success playbooks as code.

    Keep alert rules, goal templates and their playbooks in .play files,
    check them in CI, compile them to a plan, and dry-run them on metric
    snapshots.

    \b
    Examples:
      plays check specs/
      plays compile specs/ -o plan.json
      plays run specs/ --snapshots examples/snapshots.csv
    """


def main(argv=None) -> None:
    """Console entry point: usage errors exit 2 with one line, never a traceback."""
    try:
        rv = cli.main(args=argv, prog_name="plays", standalone_mode=False)
    except UsageError as e:
        from plays.render import printable  # a file name or an id in the message must not forge a line

        click.echo(f"plays: error: {printable(e)}", err=True)
        sys.exit(2)
    except PlaysError as e:
        # Every other error plays raises on purpose: its diagnostics (a malformed test file, bad data, an
        # evaluation problem) or its one line, and the exit code its class gives.
        from plays.render import printable, render_text

        diagnostics = getattr(e, "diagnostics", ())
        if diagnostics:
            sources = getattr(e, "sources", None) or {}  # a configuration error shows its line
            click.echo(render_text(list(diagnostics), sources, with_summary=False), err=True, nl=False)
        else:
            click.echo(f"plays: error: {printable(e)}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("plays: aborted", err=True)
        sys.exit(130)
    except click.exceptions.NoArgsIsHelpError as e:  # `plays` or `plays goal` alone: the help, exit 2
        e.show()
        sys.exit(2)
    except click.UsageError as e:
        # One line, like every other exit 2 (a bad option, a bad date, a missing argument), with where to look.
        from plays.render import printable

        where = f" (see `{e.ctx.command_path} --help`)" if e.ctx is not None else ""
        click.echo(f"plays: error: {printable(e.format_message())}{where}", err=True)
        sys.exit(2)
    except click.ClickException as e:
        from plays.render import printable

        click.echo(f"plays: error: {printable(e.format_message())}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("plays: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (`plays check ... | head`); say nothing more, and
        # keep Python from complaining while it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except SystemExit:
        raise
    except Exception as e:  # pragma: no cover - the last line of defence
        from plays.render import printable

        click.echo(f"plays: internal error: {type(e).__name__}: {printable(e)}", err=True)
        sys.exit(70)
    sys.exit(rv if isinstance(rv, int) else 0)
