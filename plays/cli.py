"""The command line: thin wrappers that parse options, call the stages, render results.

Commands that live with their stage (``run`` and ``explain`` in the runtime,
``test``...) are registered in ``_LAZY`` as ``"module:attribute"`` and imported
only when used, so ``plays check`` starts without loading DuckDB.

Exit codes: 0 clean, 1 problems found in the input (errors, or warnings with
``--strict``; failing spec tests), 2 usage or I/O errors, 70 internal error.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from plays import __version__
from plays.diagnostics import UsageError

_LAZY = {
    "run": "plays.runtime.cli:run",
    "explain": "plays.runtime.cli:explain",
    "test": "plays.runtime.spectest_cli:test_command",
    "goal": "plays.runtime.state_cli:goal",
    "task": "plays.runtime.state_cli:task",
    "tasks": "plays.runtime.state_cli:tasks",
    "alerts": "plays.runtime.state_cli:alerts",
    "goals": "plays.runtime.state_cli:goals",
    "report": "plays.runtime.report:report",
}

FORMATS = click.Choice(["text", "json", "github", "sarif"])


class _Group(click.Group):
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


def _colour(text: str, kind: str) -> str:
    colours = {"error": "red", "warning": "yellow", "note": "cyan", "caret": "red", "path": None}
    fg = colours.get(kind)
    return click.style(text, fg=fg, bold=kind in ("error", "warning")) if fg else click.style(text, bold=True)


def _echo_diagnostics(result, fmt: str) -> None:
    from plays.render import render

    styled = fmt == "text" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    kw = {"style": _colour} if styled else {}
    click.echo(render(result.diagnostics, result.sources, fmt, **kw), nl=False)


def _need_paths(paths) -> None:
    if not paths:
        ctx = click.get_current_context()
        raise click.UsageError(
            f"give at least one .play file or folder of them, for example: {ctx.command_path} specs/", ctx
        )


def _compile(paths, lower: bool):
    from plays.compiler.driver import compile_sources
    from plays.sources import discover

    return compile_sources(discover(paths), lower=lower)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(), metavar="PATHS...")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
              help="text for people; json; github for workflow annotations; sarif for code scanning.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
def check(paths, fmt, strict):
    """Check spec files: syntax, names, types, playbooks, templates.

    PATHS are .play files or folders searched for them; together they are one
    spec set (declarations may be split across files in any order). Every
    problem is reported, not just the first. Exit 0 when clean, 1 on errors
    (or warnings with --strict), 2 when a path cannot be read.

    \b
    Examples:
      plays check specs/
      plays check --strict --format github specs/
      plays check --format sarif specs/ > plays.sarif
    """
    _need_paths(paths)
    result = _compile(paths, lower=False)
    if fmt == "text" and not result.diagnostics:
        click.echo(f"{len(result.sources)} file{'s' if len(result.sources) != 1 else ''} checked: no problems")
    else:
        _echo_diagnostics(result, fmt)
    sys.exit(1 if result.errors or (strict and result.warnings) else 0)


@cli.command("compile")
@click.argument("paths", nargs=-1, type=click.Path(), metavar="PATHS...")
@click.option("-o", "--output", required=True, metavar="FILE",
              help="Where to write the plan (JSON); - for standard output.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
              help="Format of the diagnostics, if any.")
@click.option("--strict", is_flag=True, help="Refuse to write the plan when there are warnings.")
def compile_(paths, output, fmt, strict):
    """Compile spec files to the JSON plan the runtime executes.

    The plan is validated against schemas/plan.schema.json before it is
    written, and written atomically: on any error the output file is left as
    it was. The same spec set gives the same bytes, in any file order.

    \b
    Examples:
      plays compile specs/ -o plan.json
      plays compile specs/ -o - | jq '.alerts[].name'
    """
    from plays.compiler.plan import dumps, validate, write

    _need_paths(paths)
    result = _compile(paths, lower=True)
    if result.diagnostics:
        if output == "-":
            # keep stdout for the plan
            from plays.render import render

            click.echo(render(result.diagnostics, result.sources, fmt), err=True, nl=False)
        else:
            _echo_diagnostics(result, fmt)
    if not result.ok or (strict and result.warnings):
        sys.exit(1)
    if output == "-":
        validate(result.plan)
        click.echo(dumps(result.plan), nl=False)
    else:
        write(result.plan, output)


def main(argv=None) -> None:
    """Console entry point: usage errors exit 2 with one line, never a traceback."""
    try:
        rv = cli.main(args=argv, prog_name="plays", standalone_mode=False)
    except UsageError as e:
        click.echo(f"plays: error: {e}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("plays: aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(2 if isinstance(e, click.UsageError) else e.exit_code)
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
        click.echo(f"plays: internal error: {type(e).__name__}: {e}", err=True)
        sys.exit(70)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":  # python -m plays.cli
    main()
