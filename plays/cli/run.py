"""``plays run`` and ``plays explain``: dry runs of a spec set (or plan) on snapshots."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from datetime import date

import click

from plays.diagnostics import UsageError

from .settings import config_options, load_settings


def _date(ctx, param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"`{value}` is not a date like 2026-03-01") from None


def load_plan(paths, plan_file, settings=None):
    """The plan from spec paths (compiled now; without them, the configuration's ``paths``) or from --plan;
    exit 1 with diagnostics on errors. ``settings``: the configuration (``plays.config.Settings``)."""
    if plan_file and paths:
        raise UsageError("give spec paths or --plan, not both")
    if plan_file:
        from plays.compiler.plan import PlanError, load

        try:
            return load(plan_file)
        except PlanError as e:  # a hand-edited plan that names what its catalog lacks, ...
            click.echo(f"plays: error: {e}", err=True)
            sys.exit(1)
    if not paths and settings is not None:
        from .settings import spec_paths

        paths = spec_paths(paths, settings)
    if not paths:
        raise UsageError("no spec paths given (for example: plays run specs/ --snapshots data.csv)")
    from plays.compiler.driver import compile_sources
    from plays.render import render_text
    from plays.sources import discover

    result = compile_sources(discover(paths), settings=settings)
    if not result.ok:
        click.echo(render_text(result.diagnostics, result.sources), err=True, nl=False)
        sys.exit(1)
    return result.plan


def load_input(snapshots, plan, accounts=None):
    """Validated snapshots in a connection (explain), or exit 1 with the positioned report (nothing is evaluated)."""
    from plays.runtime.snapshots import load_snapshots

    with _bad_snapshots():
        snaps = load_snapshots(list(snapshots), plan, accounts=accounts)
    _warn(snaps.warnings)
    return snaps


def prepare_input(snapshots, plan, workdir: str, partitions: int | None, accounts=None):
    """Validated snapshots written as account buckets under ``workdir`` (a run), or exit 1 with the report."""
    from plays.runtime.snapshots import prepare_snapshots

    with _bad_snapshots():
        prepared = prepare_snapshots(list(snapshots), plan, workdir=workdir, partitions=partitions, accounts=accounts)
    _warn(prepared.warnings)
    return prepared


@contextmanager
def _bad_snapshots():
    from plays.render import render_text
    from plays.runtime.snapshots import SnapshotError

    try:
        yield
    except SnapshotError as e:
        click.echo(render_text(e.diagnostics, {}, with_summary=False), err=True, nl=False)
        more = f" (and {e.more:,} more)" if e.more else ""
        click.echo(f"{len(e.diagnostics)} problem{'s' if len(e.diagnostics) != 1 else ''} in the snapshots{more}; "
                   "nothing was evaluated", err=True)
        sys.exit(1)


def _warn(warnings) -> None:
    if warnings:
        from plays.render import render_text

        click.echo(render_text(warnings, {}, with_summary=False), err=True, nl=False)


_SNAPSHOTS = click.option(
    "--snapshots", "-s", "snapshots", multiple=True, required=True, metavar="FILE",
    help="Snapshot file (CSV, JSON Lines or Parquet), glob, or folder of Parquet files; repeatable.",
)
_PLAN = click.option("--plan", "plan_file", metavar="PLAN.json", help="Use a compiled plan instead of spec paths.")


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@_SNAPSHOTS
@_PLAN
@click.option("--from", "from_", callback=_date, metavar="DATE", help="Report events from this date on.")
@click.option("--to", "to", callback=_date, metavar="DATE", help="Report events up to this date.")
@click.option("--account", "accounts", multiple=True, metavar="ID", help="Only this account; repeatable.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "parquet"]), default="text", show_default=True,
              help="text for people; json for JSON Lines, one event per line; parquet (with -o) for large runs.")
@click.option("-o", "--output", metavar="FILE", help="Write the events to FILE instead of standard output (-: standard output).")
@click.option("--state", "state", metavar="STORE",
              help="Apply the events to this state store (SQLite), created if missing; see `plays tasks`.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), metavar="N",
              help="Worker processes for large books (default: the machine's cores).")
@click.option("--partitions", type=click.IntRange(min=1), metavar="N",
              help="Evaluate the accounts in N hash buckets (default: from the input size).")
@click.option("--engine", type=click.Choice(["local", "spark"]), default="local", show_default=True,
              help="local: this machine's cores; spark: a Spark cluster (pip install 'plays[spark]'), with -o.")
@click.option("--spark-master", "spark_master", metavar="URL",
              help="With --engine spark: the Spark master (default local[*]).")
@config_options
def run(paths, snapshots, plan_file, from_, to, accounts, fmt, output, state, jobs, partitions, engine, spark_master,
        config_file, isolated):
    """Dry-run specs on metric snapshots: which alerts fire, goals deploy, tasks are due.

    Evaluates every account at each of its snapshot dates and prints the
    events: alerts fired and resolved, goals deployed (with the playbook
    chosen for the account), tasks with their planned due dates, KPI met,
    goals achieved or missed. Snapshots are validated first: a bad row is
    reported with its file and line, and nothing is evaluated (exit 1).
    --from/--to only filter what is reported: earlier snapshots still feed
    the windows and lifecycles.

    \b
    Examples:
      plays run specs/ --snapshots examples/snapshots.csv
      plays run specs/ -s 'data/2026-*.parquet' --from 2026-03-01 --format json
      plays run --plan plan.json -s data.csv --account acme
      plays run specs/ -s 'data/*.parquet' --state plays.db
      plays run specs/ -s 'data/*.parquet' --jobs 2 --format parquet -o events.parquet
      plays run specs/ -s data/ --engine spark --spark-master spark://host:7077 -o events.parquet
    """
    import tempfile

    from plays.runtime.partitions import default_render, merged

    from .output import json_payload, text_render

    if from_ and to and from_ > to:
        raise UsageError("--from is after --to")
    if output == "-":  # as `compile -o -`: standard output (was: a file named `-`)
        output = None
    settings = load_settings(config_file, isolated)
    if fmt == "parquet" and not output:
        raise UsageError("--format parquet needs -o FILE (Parquet is not for a terminal)")
    if engine == "spark":
        return _run_on_spark(paths, plan_file, snapshots, output, fmt, spark_master, partitions, settings,
                             refused={"--from": from_, "--to": to, "--account": accounts, "--state": state,
                                      "--jobs": jobs})
    if spark_master:
        raise UsageError("--spark-master goes with --engine spark")
    plan = load_plan(paths, plan_file, settings)
    with tempfile.TemporaryDirectory(prefix="plays-run-") as work:
        prepared = prepare_input(snapshots, plan, work, partitions, list(accounts) or None)
        if accounts:
            found = _accounts_among(prepared, accounts)
            for a in dict.fromkeys(accounts):
                if a not in found:
                    click.echo(f"plays: warning: no snapshots for account `{a}`", err=True)
        if from_ and prepared.last_date and from_ > prepared.last_date:
            # the summary still counts the snapshots evaluated: say why nothing is reported
            click.echo(f"plays: warning: --from {from_} is after the last snapshot ({prepared.last_date}): "
                       "no event can be reported", err=True)
        store = manual = None
        if state:
            from plays.state import store as state_store

            store = state_store.connect(state)
            manual = state_store.manual_deploys(store)
        render = {"json": json_payload, "text": text_render(plan) if fmt == "text" else None,
                  "parquet": default_render}[fmt]
        results = _evaluate(plan, prepared, work, manual or (), jobs, render)
        if store is not None:
            changed = _apply(store, state, plan, (_as_json(r) for r in merged(results)), prepared)
            click.echo(f"{state}: " + (", ".join(f"{v:+d} {k.replace('_', ' ')}" for k, v in changed.items() if v)
                                       or "no change"), err=True)
        recs = merged(results)
        if from_ is not None or to is not None:
            recs = (r for r in recs if (from_ is None or r[0][0] >= from_) and (to is None or r[0][0] <= to))
        _write(recs, fmt, output, accounts=prepared.accounts, rows=prepared.rows)


def _evaluate(plan, prepared, work: str, manual, jobs: int | None, render):
    """Evaluate every bucket (in a process pool when there are several); the spilled, sorted results."""
    from plays.runtime.partitions import evaluate_buckets

    step = _progress(prepared.rows)
    try:
        with _runtime_errors():
            return evaluate_buckets(plan, prepared.partitions, work, jobs=jobs, manual=manual, render=render,
                                    progress=lambda done, total: step("buckets", done, total))
    finally:
        step("close")


def _as_json(record) -> dict:
    """A record's event in JSON form, for the state store (the payload is a JSON line or the event)."""
    import json

    payload = record[2]
    return json.loads(payload) if isinstance(payload, str) else payload.to_json()


def _run_on_spark(paths, plan_file, snapshots, output, fmt, master, partitions, settings, refused) -> None:
    """``--engine spark``: the same engine inside Spark's Python workers; events to a Parquet file or folder."""
    given = [name for name, value in refused.items() if value]
    if given:
        raise UsageError(f"{given[0]} is not available with --engine spark (it writes every event to -o)")
    if not output:
        raise UsageError("--engine spark needs -o FILE.parquet (or a folder ending in /)")
    if fmt not in ("parquet", "text"):  # text is the default: the Spark engine writes Parquet
        raise UsageError("--engine spark writes Parquet: use --format parquet")
    from plays.spark import SparkJobError, run_files

    plan = load_plan(paths, plan_file, settings)
    with _runtime_errors(), _bad_snapshots():
        try:
            n = run_files(plan, list(snapshots), output, master=master, partitions=partitions)
        except SparkJobError as e:  # a worker's error (its one line), or Spark's own
            click.echo(f"plays: error: {e}", err=True)
            sys.exit(1)
    click.echo(f"wrote {n:,} events to {output}", err=True)


def _accounts_among(prepared, accounts) -> set[str]:
    from plays.runtime.db import connect

    files = [f for bucket in prepared.partitions for f in bucket]
    if not files:
        return set()
    rows = connect().execute(
        "SELECT DISTINCT account FROM read_parquet(?, hive_partitioning = false) WHERE account IN (SELECT unnest(?))",
        [files, list(accounts)]).fetchall()
    return {r[0] for r in rows}


def _write(recs, fmt: str, output: str | None, *, accounts: int, rows: int) -> None:
    """Stream the records to ``output`` (atomically: all or nothing) or standard output."""
    from plays.sources import open_atomic

    from .output import write_jsonl, write_parquet, write_text

    def emit(out):
        if fmt == "json":
            write_jsonl(recs, out)
        else:
            write_text(recs, out, accounts=accounts, rows=rows)

    if fmt == "parquet":
        with open_atomic(output, "wb") as f:
            write_parquet(recs, f)
    elif output:
        with open_atomic(output) as f:
            emit(f)
    else:
        emit(sys.stdout)
        sys.stdout.flush()


def _apply(store, path, plan, events, prepared):
    """Apply a run's events (JSON form, streamed) to the state store in one transaction (see state/store.py)."""
    from plays.runtime.db import connect

    from plays.state.store import apply_run

    files = [f for bucket in prepared.partitions for f in bucket]
    accounts = {}
    if files:
        cur = connect().execute(
            "SELECT * FROM read_parquet(?, hive_partitioning = false) "
            "QUALIFY row_number() OVER (PARTITION BY account ORDER BY date DESC) = 1", [files])
        columns = [c[0] for c in cur.description]
        accounts = {r[0]: (r[1].isoformat(), dict(zip(columns, r))) for r in cur.fetchall()}
    return apply_run(store, plan, events, accounts, prepared.last_date, path)


def _progress(rows: int):
    """A progress bar on stderr for long runs (buckets evaluated), only when stderr is a terminal."""
    if rows < 200_000 or not sys.stderr.isatty():
        return lambda label, done=None, total=None: None
    bar = click.progressbar(length=100, label="evaluating", file=sys.stderr, show_eta=True)
    bar.__enter__()
    shown = [0]

    def step(label, done=None, total=None):
        if label == "close":
            bar.__exit__(None, None, None)
            return
        bar.label = f"evaluating {label}"
        if done is not None and total:
            now = done * 100 // total
            bar.update(now - shown[0])
            shown[0] = now

    return step


def _not_a_code(ctx, param, value):
    """`plays explain E302`: the user wants `plays explain-code` (said before `--account` is found missing)."""
    import re

    if value and re.fullmatch(r"[A-Za-z]\d{3}", value.strip()):
        from plays.codes import CODES

        if value.strip().upper() in CODES:
            raise click.UsageError(f"{value.strip()} is a diagnostic code: `plays explain-code {value.strip()}` "
                                   "explains it (`plays explain RULE` explains why a rule fired)", ctx)
    return value


@click.command()
@click.argument("rule", callback=_not_a_code)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--account", "-a", required=True, metavar="ID", help="The account.")
@click.option("--date", "-d", "day", required=True, callback=_date, metavar="DATE", help="The snapshot date.")
@_SNAPSHOTS
@_PLAN
@config_options
def explain(rule, paths, account, day, snapshots, plan_file, config_file, isolated):
    """Why an alert did or did not fire (or a goal deploy) for one account on one date.

    Shows the condition as written, the value of every sub-expression at that
    snapshot (with the snapshots that value_at, previous and the windows
    used), the verdict, and for an alert why it fired or not: not held long
    enough, in cooldown, already firing, `where` false, condition false.

    \b
    Examples:
      plays explain usage_drop specs/ -s examples/snapshots.csv --account acme --date 2026-02-14
      plays explain onboarding --plan plan.json -s data.csv -a globex -d 2026-03-01
    """
    from plays.runtime.explain import explain as run_explain
    from plays.runtime.explain import render

    plan = load_plan(paths, plan_file, load_settings(config_file, isolated))
    snaps = load_input(snapshots, plan, [account])
    with _runtime_errors():
        ex = run_explain(plan, snaps.con, rule, account, day)
    click.echo(render(ex), nl=False)


@contextmanager
def _runtime_errors():
    """A problem met while evaluating: one line on stderr and exit 1, never a traceback."""
    import duckdb

    from plays.errors import EvaluationError

    try:
        yield
    except EvaluationError as e:
        click.echo(f"plays: error: {e}", err=True)
        sys.exit(1)
    except duckdb.Error as e:  # a plan the checks let through but DuckDB cannot run
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        click.echo(f"plays: error: cannot evaluate the plan on these snapshots: {first}", err=True)
        sys.exit(1)
