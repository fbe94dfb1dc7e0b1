"""``plays diff``: what a spec change does, semantically and measured on snapshot history."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from plays.diagnostics import UsageError

from .run import _SNAPSHOTS, _date, _runtime_errors, load_plan, prepare_input
from .settings import config_options, load_settings, spec_paths


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@_SNAPSHOTS
@click.option("--git", "rev", metavar="REV",
              help="Compare the spec files of PATHS at this git revision (the base) with the working tree (the head).")
@click.option("--from", "from_", callback=_date, metavar="DATE", help="Count events from this date on.")
@click.option("--to", "to", callback=_date, metavar="DATE", help="Count events up to this date.")
@click.option("--all", "all_", is_flag=True, help="Evaluate every rule, unchanged ones too.")
@click.option("--by", "by", multiple=True, metavar="ATTR",
              help="Also count per value of this account attribute (its latest value); repeatable.")
@click.option("--show", type=click.IntRange(min=0), default=10, show_default=True, metavar="N",
              help="Accounts that start or stop being alerted: list the first N.")
@click.option("--noisy", type=click.FloatRange(min=0, max=100), default=50.0, show_default=True, metavar="PCT",
              help="Verdict when a rule fires on (or deploys to) more than PCT% of the accounts.")
@click.option("--silent-after", "silent_after", type=click.IntRange(min=1), default=28, show_default=True,
              metavar="DAYS", help="Verdict when a rule never fires over at least DAYS days of history.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True,
              help="text for people, markdown for a pull-request comment, json for tools.")
@click.option("-o", "--output", metavar="FILE", help="Write the diff to FILE instead of standard output (-: standard output).")
@click.option("--html", "html_file", metavar="FILE",
              help="Also write a self-contained HTML page with a chart of alerts and tasks per week.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 3 when the rules' behaviour changes, 0 when it does not (1 problems, 2 usage).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), metavar="N", help="Worker processes (default: the cores).")
@click.option("--partitions", type=click.IntRange(min=1), metavar="N",
              help="Evaluate the accounts in N hash buckets (default: from the input size).")
@config_options
def diff(paths, snapshots, rev, from_, to, all_, by, show, noisy, silent_after, fmt, output, html_file,
         detailed_exitcode, jobs, partitions, config_file, isolated):
    """What a spec change does: rules added, removed, changed, and their effect on the snapshot history.

    BASE and HEAD are spec paths (a folder or a .play file) or compiled plan
    files (.json). With --git REV, PATHS are read twice: at that git revision
    (the base, read with git itself, nothing checked out) and in the working
    tree (the head); without PATHS, the configuration's `paths`. Both sides
    must check clean, with the configuration's severities.

    Rules are compared by meaning: moving a rule, reordering files and
    reformatting are no change. Only the rules whose plan changed are
    evaluated on both sides (the snapshots are read once); --all evaluates
    every rule. Counts cover --from/--to and equal what `plays run` reports
    for that rule on each side.

    \b
    Examples:
      plays diff old/specs specs/ --snapshots examples/snapshots.csv
      plays diff --git origin/main specs/ -s 'history/*.parquet' --format markdown
      plays diff base.plan.json head.plan.json -s data.csv --by segment --format json
    """
    import json
    import tempfile

    from plays.diff.changes import catalog_changes, compare
    from plays.diff.measure import account_attribute, both_sides, catalog_mismatch, date_range
    from plays.diff.report import build, html, markdown, text

    if from_ and to and from_ > to:
        raise UsageError("--from is after --to")
    if output == "-":  # as `compile -o -`: standard output (was: a file named `-`)
        output = None
    if html_file == "-":
        raise UsageError("--html -: the page is written to a file (standard output has the diff); "
                         "name one, such as diff.html")
    settings = load_settings(config_file, isolated)
    if rev is not None:
        paths = tuple(spec_paths(paths, settings))
        if not paths:
            raise UsageError("--git REV needs the spec paths (for example: plays diff --git origin/main specs/ -s data.csv)")
        base = _side("base", f"the base ({rev})", _git_sources(rev, paths), settings=settings)
        head = _side("head", "the head (working tree)", None, paths=list(paths), settings=settings)
    else:
        if len(paths) != 2:
            raise UsageError("give BASE and HEAD (spec paths or plan files), or --git REV PATHS...")
        base = _side("base", f"the base ({paths[0]})", None, paths=[paths[0]], settings=settings)
        head = _side("head", f"the head ({paths[1]})", None, paths=[paths[1]], settings=settings)
    for attr in by:
        if attr != "id" and head.catalog.attribute(attr) is None:
            raise UsageError(f"--by {attr}: not an account attribute of the head's catalog")
    changes = compare(base, head)
    measured = {(c.kind, c.name) for c in changes if all_ or c.change != "unchanged"}
    why = catalog_mismatch(base.catalog, head.catalog)
    if why:
        click.echo(f"plays: error: cannot measure both versions on one set of snapshots: {why}", err=True)
        sys.exit(1)
    old_names = {(c.kind, c.renamed_from or c.name) for c in changes if (c.kind, c.name) in measured}
    with tempfile.TemporaryDirectory(prefix="plays-diff-") as work:
        prepared = prepare_input(snapshots, head, os.path.join(work, "input"), partitions)
        os.makedirs(os.path.join(work, "events"))
        group_of = None
        if by:
            values = {attr: account_attribute(prepared, attr) if attr != "id" else None for attr in by}
            group_of = (lambda a: [(attr, a if v is None else v.get(a, "")) for attr, v in values.items()])
        with _runtime_errors():
            tallies = both_sides(base, old_names, head, measured, prepared, os.path.join(work, "events"),
                                 jobs=jobs, date_from=from_, date_to=to, group_of=group_of)
        first, last = date_range(prepared)
    first = max(first, from_) if first and from_ else first
    last = min(last, to) if last and to else last
    data = build(changes, tallies[0], tallies[1], measured, accounts=prepared.accounts, first=first, last=last,
                 show=show, never_days=silent_after, noisy=noisy, by=tuple(by),
                 catalog=catalog_changes(base, head))
    if fmt == "json":
        rendered = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    elif fmt == "markdown":
        rendered = markdown(data)
    else:
        rendered = text(data)
    from plays.sources import write_atomic

    if html_file:
        write_atomic(html_file, html(data))
    if output:
        write_atomic(output, rendered)
    else:
        click.echo(rendered, nl=False)
    if detailed_exitcode and data["summary"]["behaviour_changed"]:
        sys.exit(3)


def _side(which: str, label: str, sources, paths=None, settings=None):
    """One side's plan: compiled from ``sources`` (or spec ``paths``), or a plan file; exit 1 when it is broken."""
    from plays.compiler.driver import compile_sources
    from plays.render import render_text
    from plays.sources import discover

    if sources is None:
        if len(paths) == 1 and paths[0].endswith(".json") and os.path.isfile(paths[0]):
            return load_plan((), paths[0])
        sources = discover(paths)
    result = compile_sources(sources, settings=settings)
    if not result.ok:
        click.echo(render_text(result.diagnostics, result.sources), err=True, nl=False)
        click.echo(f"plays: error: {label} does not check clean; nothing was compared", err=True)
        sys.exit(1)
    return result.plan


def _git(*args: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], capture_output=True, check=False)
    except OSError as e:
        raise UsageError(f"--git: cannot run git: {e.strerror or e}") from None
    if done.returncode != 0:
        first = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["git failed"])[0]
        raise UsageError(f"--git: {first.removeprefix('fatal: ')}")
    return done.stdout


def _git_sources(rev: str, paths):
    """The spec files under ``paths`` at git revision ``rev`` (``*.play`` in folders, named files whatever
    their name; hidden folders skipped), read with ``git ls-tree``/``git show``: nothing is checked out."""
    from plays.sources import Source

    if rev.startswith("-"):
        raise UsageError(f"--git: `{rev}` is not a revision")
    try:
        _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except UsageError as e:
        if str(e) != "--git: git failed":  # git said why (not a repository, ...)
            raise
        # --quiet: git says nothing when the name is not a commit
        raise UsageError(f"--git: `{rev}` is not a commit of this repository (a branch, tag or commit id, "
                         "such as origin/main or HEAD~1)") from None
    found: dict[str, None] = {}
    for raw in paths:
        listed = _git("ls-tree", "-r", "-z", "--name-only", rev, "--", raw).decode("utf-8", "replace")
        root = raw.rstrip("/").removeprefix("./")
        for name in filter(None, listed.split("\0")):
            if root in ("", "."):
                below = name.split("/")
            else:
                below = name[len(root) + 1:].split("/") if name.startswith(root + "/") else [name]
            if name == root or (name.endswith(".play") and not any(part.startswith(".") for part in below[:-1])):
                found.setdefault(name)
    sources = []
    for name in sorted(found):
        data = _git("show", f"{rev}:./{name}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"--git: {rev}:{name}: not UTF-8 text") from None
        sources.append(Source(name, text.removeprefix("\ufeff")))
    return sources
