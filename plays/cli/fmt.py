"""``plays fmt``: rewrite spec files in the one canonical layout (dsl/fmt.py), or check that they are."""

from __future__ import annotations

import difflib
import sys

import click

from .settings import config_options, load_settings, spec_paths


def _error(message: str) -> None:
    from plays.render import printable

    click.echo(f"plays: error: {printable(message)}", err=True)


def _files(paths) -> tuple[list, int]:
    """The spec files the paths name, each once, in the order given; and how many paths could not be read."""
    from plays.errors import UsageError
    from plays.sources import spec_files

    files, seen, failed = [], set(), 0
    for raw in paths:
        try:
            found = sorted(spec_files(raw), key=lambda p: p.as_posix())
        except UsageError as e:
            _error(str(e))
            failed += 1
            continue
        for p in found:
            if p.resolve() not in seen:
                seen.add(p.resolve())
                files.append(p)
    return files, failed


def _format(text: str, path: str) -> str | None:
    """``text`` formatted; None (its diagnostics printed) when it does not parse."""
    from plays.dsl.fmt import format_source
    from plays.errors import CompileError
    from plays.render import render_text

    try:
        return format_source(text, path)
    except CompileError as e:
        click.echo(render_text(list(e.diagnostics), {path: text}, with_summary=False), err=True, nl=False)
        return None


def _diff(before: str, after: str, path: str) -> str:
    from plays.render import printable  # a file name must not forge a line of the patch

    shown = printable(path)
    out = []
    for line in difflib.unified_diff(_lines(before), _lines(after), shown, f"{shown} (formatted)"):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _lines(text: str) -> list[str]:
    """The lines of ``text`` with their ``\\n``, split as the parser counts lines (only ``\\n`` ends one)."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _stdin(check: bool, show_diff: bool) -> int:
    """``plays fmt -``: standard input formatted to standard output (or checked, or diffed)."""
    if sys.stdin is None:  # started with standard input closed
        _error("-: standard input is closed")
        return 2
    data = sys.stdin.buffer.read()
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        _error("-: standard input is not UTF-8 text")
        return 2
    formatted = _format(text, "<stdin>")
    if formatted is None:
        return 1
    if show_diff:
        click.echo(_diff(text, formatted, "<stdin>"), nl=False)
        return 1 if formatted != text else 0
    if check:
        if formatted != text:
            click.echo("would reformat: <stdin>")
            return 1
        return 0
    click.echo(formatted, nl=False)
    return 0


_BOM = "\ufeff"


def _has_bom(path: str) -> bool:
    """Whether the file starts with a UTF-8 byte-order mark (read_source drops it; a rewrite keeps it)."""
    try:
        with open(path, "rb") as f:
            return f.read(3) == _BOM.encode("utf-8")
    except OSError:
        return False


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


@click.command("fmt")
@click.argument("paths", nargs=-1, type=click.Path(), metavar="[PATHS]...")
@click.option("--check", is_flag=True, help="Change nothing: list the files that would change; exit 1 if any.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Change nothing: print a unified diff of the changes; exit 1 if any.")
@config_options
def fmt(paths, check, show_diff, config_file, isolated):
    """Format spec files in the one canonical layout, in place.

    PATHS are .play files or folders searched for them (default: the
    configuration's `paths`, else the current folder); - reads standard input and writes the result to standard output.
    The layout: two spaces per block, one property per line, short tasks on
    one line; comments stay where they are; formatting twice changes nothing
    (docs/fmt.md). Files are rewritten atomically. A file that does not parse
    is left untouched and its syntax errors printed, and the others are still
    formatted. Exit 0 when done (or nothing would change), 1 when --check or
    --diff finds changes or a file does not parse, 2 when a path cannot be read
    or written.

    \b
    Examples:
      plays fmt specs/
      plays fmt --check specs/
      plays fmt --diff specs/alerts.play
      cat alerts.play | plays fmt - > formatted.play
    """
    if "-" in paths:
        if len(paths) > 1:
            raise click.UsageError("- (standard input) cannot be mixed with other paths", click.get_current_context())
        sys.exit(_stdin(check, show_diff))
    from plays.errors import UsageError
    from plays.render import printable
    from plays.sources import read_source, write_atomic

    settings = load_settings(config_file, isolated)
    files, unread = _files(spec_paths(paths, settings) or (".",))
    broken = changed = unchanged = unwritten = 0
    for p in files:
        try:
            source = read_source(p)
        except UsageError as e:
            _error(str(e))
            unread += 1
            continue
        formatted = _format(source.text, source.path)
        if formatted is None:
            broken += 1
            continue
        if formatted == source.text:
            unchanged += 1
            continue
        changed += 1
        if show_diff:
            click.echo(_diff(source.text, formatted, source.path), nl=False)
        elif check:
            click.echo(f"would reformat: {printable(source.path)}")
        else:
            real = str(p.resolve())  # through a symbolic link: the link stays one
            try:
                write_atomic(real, _BOM + formatted if _has_bom(real) else formatted)
            except UsageError as e:  # the folder is not writable, the disk is full: the file is as it was
                _error(source.path + str(e).removeprefix(real))
                unwritten += 1
                changed -= 1
    verb = "would be reformatted" if check or show_diff else "reformatted"
    left = "already formatted" if check or show_diff else "left unchanged"
    summary = f"{_plural(changed, 'file')} {verb}, {unchanged} {left}"
    if broken:
        summary += f", {broken} not parsed"
    if unread:
        summary += f", {unread} not read"
    if unwritten:
        summary += f", {unwritten} not written"
    # When no file could even be read, the error lines say it all: a count of
    # nothing (`0 files reformatted, 0 left unchanged`) would read as success.
    if changed or unchanged or broken or unwritten or not unread:
        # With --diff, standard output is the patch alone.
        click.echo(summary, err=show_diff)
    if unread or unwritten:
        sys.exit(2)
    sys.exit(1 if broken or ((check or show_diff) and changed) else 0)
