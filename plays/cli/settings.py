"""The configuration options every spec-reading command shares: ``--config FILE`` and ``--isolated``."""

from __future__ import annotations

import click


def config_options(f):
    """Add ``--config FILE`` and ``--isolated`` (as ``config_file`` and ``isolated``) to a command."""
    f = click.option("--isolated", is_flag=True,
                     help="Ignore configuration files (plays.toml, pyproject.toml's [tool.plays]).")(f)
    return click.option("--config", "config_file", metavar="FILE",
                        help="Read the configuration from FILE (a plays.toml or a pyproject.toml) "
                             "instead of searching upward from the current folder.")(f)


def load_settings(config_file: str | None, isolated: bool):
    """The ``plays.config.Settings`` that apply (``ConfigError``, exit 2, when the file does not validate)."""
    from plays.config import load

    return load(config=config_file, isolated=isolated)


def spec_paths(paths, settings) -> list[str]:
    """PATHS as given, or the configuration's ``paths`` when none are given (``[]`` when neither)."""
    return list(paths) if paths else configured(settings.spec_paths(), "paths", settings)


def configured(paths: list[str], key: str, settings) -> list[str]:
    """Paths from the configuration, each of which must exist: a missing one names the file and key it came from."""
    import os

    from plays.errors import UsageError

    for p in paths:
        if not os.path.lexists(p):
            raise UsageError(f"{p}: no such file or directory (from `{key}` in {settings.file})")
    return paths


def strict_option(help_on: str):
    """``--strict/--no-strict`` (``None`` when neither is given: the configuration, then the default, decide)."""
    return click.option("--strict/--no-strict", "strict", default=None,
                        help=f"{help_on} --no-strict: not, whatever the configuration says.")


def default_strict_option():
    return click.option(
        "--default-strict", is_flag=True,
        help="Exit 1 on warnings unless --no-strict or the configuration's `strict` says otherwise "
             "(what the pre-commit hook uses).")


def is_strict(strict: bool | None, settings, default: bool = False) -> bool:
    """The command line's --strict/--no-strict, else the configuration's ``strict``, else ``default``."""
    if strict is not None:
        return strict
    if settings.strict is not None:
        return settings.strict
    return default


def strict_reason(strict: bool | None, settings, default: bool = False) -> str:
    """What made warnings fail (when ``is_strict`` says they do), for the line that says why exit 1."""
    if strict:
        return "--strict"
    if strict is None and settings.strict:
        return f"strict = true in {settings.file}"
    return "--default-strict, as the pre-commit hook runs it (strict = false in the configuration lets them pass)"
