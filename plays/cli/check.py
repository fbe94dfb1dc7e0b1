"""``plays check`` and ``plays compile``: the front end (text -> AST -> plan) on a spec set."""

from __future__ import annotations

import os
import sys

import click

from .settings import config_options, default_strict_option, is_strict, load_settings, strict_option, strict_reason

FORMATS = click.Choice(["text", "json", "github", "sarif"])


def _colour(text: str, kind: str) -> str:
    colours = {"error": "red", "warning": "yellow", "note": "cyan", "caret": "red", "path": None}
    fg = colours.get(kind)
    return click.style(text, fg=fg, bold=kind in ("error", "warning")) if fg else click.style(text, bold=True)


def _echo_diagnostics(result, fmt: str, max_per_file: int, *, err: bool = False) -> None:
    from plays.render import render

    stream = sys.stderr if err else sys.stdout
    styled = fmt == "text" and stream.isatty() and not os.environ.get("NO_COLOR")
    kw = {"style": _colour} if styled else {}
    click.echo(render(result.diagnostics, result.sources, fmt, max_per_file=max_per_file, **kw), nl=False, err=err)


def _max_diagnostics():
    from plays.render import DEFAULT_MAX_PER_FILE

    return click.option(
        "--max-diagnostics", "max_per_file", type=click.IntRange(min=0), default=DEFAULT_MAX_PER_FILE,
        show_default=True, metavar="N",
        help="Show at most N diagnostics per file and count the rest; 0 shows all. Exit codes count all.",
    )


def _need_paths(paths, settings=None) -> list[str]:
    """PATHS, or the configuration's ``paths``; a usage error when there are neither."""
    from .settings import spec_paths

    paths = spec_paths(paths, settings) if settings is not None else list(paths)
    if not paths:
        ctx = click.get_current_context()
        raise click.UsageError(
            f"give at least one .play file or folder of them, for example: {ctx.command_path} specs/, "
            "or set `paths` in the configuration", ctx
        )
    return paths


def _compile(paths, lower: bool, settings=None, cache_dir=False):
    """``cache_dir``: False for no cache, None for the default folder (next to the configuration, or here)."""
    from plays.compiler.driver import compile_sources
    from plays.sources import discover

    cache = None
    if cache_dir is not False:
        from plays.compiler.cache import CheckCache, default_dir

        cache = CheckCache(cache_dir or default_dir(settings.root if settings is not None else None))
    return compile_sources(discover(paths), lower=lower, settings=settings, cache=cache)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(), metavar="[PATHS]...")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
              help="text for people; json; github for workflow annotations; sarif for code scanning.")
@strict_option("Exit 1 on warnings too.")
@default_strict_option()
@_max_diagnostics()
@config_options
@click.option("--cache-dir", type=click.Path(file_okay=False), envvar="PLAYS_CACHE_DIR", metavar="DIR",
              help="Where to keep results of earlier checks, by file content (default: .plays_cache next to "
                   "the configuration file, or in the current folder).")
@click.option("--no-cache", is_flag=True, help="Check every file afresh; read and write no cache.")
def check(paths, fmt, strict, default_strict, max_per_file, config_file, isolated, cache_dir, no_cache):
    """Check spec files: syntax, names, types, playbooks, templates.

    PATHS are .play files or folders searched for them; together they are one
    spec set (declarations may be split across files in any order). Every
    problem is reported, not just the first. Exit 0 when clean, 1 on errors
    (or warnings with --strict), 2 when a path or the configuration cannot be
    read. Without PATHS, the configuration's `paths` are checked
    (plays.toml or pyproject.toml's [tool.plays], found upward).

    \b
    Examples:
      plays check specs/
      plays check --strict --format github specs/
      plays check --format sarif specs/ > plays.sarif

    Results are cached by file content in .plays_cache/ (next to the
    configuration file, or in the current folder): a re-check after editing
    one file parses that file only (--no-cache to check afresh).
    """
    settings = load_settings(config_file, isolated)
    paths = _need_paths(paths, settings)
    result = _compile(paths, lower=False, settings=settings, cache_dir=False if no_cache else cache_dir)
    if fmt == "text" and not result.diagnostics:
        click.echo(f"{len(result.sources)} file{'s' if len(result.sources) != 1 else ''} checked: no problems")
    else:
        _echo_diagnostics(result, fmt, max_per_file)
    failing_warnings = is_strict(strict, settings, default_strict) and result.warnings and not result.errors
    if failing_warnings and fmt == "text":  # `0 errors, 2 warnings` and exit 1: say why
        click.echo(f"warnings fail the check: {strict_reason(strict, settings, default_strict)}")
    sys.exit(1 if result.errors or failing_warnings else 0)


@click.command("compile")
@click.argument("paths", nargs=-1, type=click.Path(), metavar="[PATHS]...")
@click.option("-o", "--output", required=True, metavar="FILE",
              help="Where to write the plan (JSON); - for standard output.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
              help="Format of the diagnostics, if any.")
@strict_option("Refuse to write the plan when there are warnings.")
@_max_diagnostics()
@config_options
def compile_(paths, output, fmt, strict, max_per_file, config_file, isolated):
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

    settings = load_settings(config_file, isolated)
    paths = _need_paths(paths, settings)
    result = _compile(paths, lower=True, settings=settings)
    if result.diagnostics:
        _echo_diagnostics(result, fmt, max_per_file, err=output == "-")  # keep stdout for the plan
    if not result.ok:
        sys.exit(1)
    if is_strict(strict, settings) and result.warnings:
        click.echo(f"plays: error: no plan written: warnings fail with {strict_reason(strict, settings)}", err=True)
        sys.exit(1)
    if output == "-":
        validate(result.plan)
        click.echo(dumps(result.plan), nl=False)
    else:
        write(result.plan, output)
