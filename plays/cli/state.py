"""Commands on the state store: manual actions (goal deploy/measure, task done) and lists (tasks, alerts)."""

from __future__ import annotations

import json
import os
import sys
from datetime import date

import click

from plays.render import printable
from plays.state.store import ActionRefused, connect, list_alerts, list_tasks, reading

from . import SuggestingGroup

STATE = click.option(
    "--state", "state", default=lambda: os.environ.get("PLAYS_STATE") or "plays.db", show_default="plays.db or $PLAYS_STATE",
    metavar="STORE", help="The state store (written by `plays run --state`).",
)
FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
                      help="text: one line per row and a count; json: an array of objects with every field.")


def _date(ctx, param, value):
    if value is None:
        return date.today()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"`{printable(value)}` is not a date like 2026-03-01") from None
    problem = date_problem(day)
    if problem:
        raise click.BadParameter(problem)
    return day


def date_problem(d: date) -> str | None:
    """Why a date given on the command line is outside the language's bounds (docs/language.md), or None."""
    from plays.dsl.language import MAX_DATE, MIN_DATE

    if MIN_DATE <= d <= MAX_DATE:
        return None
    return f"{d.isoformat()} is out of range: dates are from {MIN_DATE} to {MAX_DATE}"


ON = click.option("--on", "on", callback=_date, metavar="DATE", help="The date (default: today).")


def _open(state: str, *, readonly: bool = False):
    """The store at ``state``; the list commands open it read-only (it may be a store they cannot write)."""
    from plays.errors import UsageError

    if not os.path.exists(state):
        raise UsageError(f"{state}: no state store here (create one with `plays run SPECS -s DATA --state {state}`)")
    return connect(state, readonly=readonly)


def _emit(rows: list[dict], fmt: str, line, noun: str) -> None:
    """A list as JSON, or one line per row and a count."""
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        # ids, names and titles come from the data: shown escaped, they cannot forge a line
        click.echo(line({k: printable(v) if isinstance(v, str) else v for k, v in r.items()}))
    click.echo(f"{len(rows)} {noun}{'s' if len(rows) != 1 else ''}")


def _refused(e: ActionRefused):
    click.echo(f"plays: refused: {printable(e)}", err=True)
    sys.exit(1)


@click.group(cls=SuggestingGroup)
def goal():
    """Goals in the state store: deploy a template by hand, record an external goal's measure.

    \b
    Examples:
      plays goal deploy save_plan --account acme --on 2026-03-01
      plays goal measure g-1a2b3c4d5e6f 28 --on 2026-04-30
    """


@goal.command("deploy")
@click.argument("template")
@click.option("--account", "-a", required=True, metavar="ID", help="The account.")
@ON
@click.option("--playbook", metavar="NAME", help="The playbook (default: the first whose `where` holds for the account).")
@STATE
def goal_deploy(template, account, on, playbook, state):
    """Deploy goal template TEMPLATE on an account by hand.

    The goal starts on --on (default today); its tasks are scheduled from
    then, and later runs follow its KPI. Refused for an unknown template or
    account, or when the account already has an active instance.

    \b
    Examples:
      plays goal deploy save_plan --account acme
      plays goal deploy onboarding -a globex --on 2026-03-01 --playbook enterprise --state plays.db
    """
    from plays.state.actions import deploy_goal

    con = _open(state)
    try:
        with reading(state):
            d = deploy_goal(con, template, account, on, playbook, path=state)
    except ActionRefused as e:
        _refused(e)
    click.echo(f"deployed {printable(template)} on {printable(account)}: id {d.id}, playbook {printable(d.playbook)}, "
               f"{d.start} to {d.end}")
    for t in d.tasks:
        click.echo(f"  {t.id}  due {t.due}  {printable(t.title)}")


@goal.command("measure", context_settings={"ignore_unknown_options": True})  # so that VALUE may be -5
@click.argument("goal_id")
@click.argument("value", type=float)
@ON
@STATE
def goal_measure(goal_id, value, on, state):
    """Record VALUE of an external goal's customer-tracked measure.

    GOAL_ID is the goal instance's id (the `instance` of its goal_deployed
    event; `plays goals` lists them). --on is between the goal's start and
    due date. At the due date its outcome follows from the last value
    recorded on or before it and the target; a value entered late (dated
    on or before due, after the outcome was settled) settles it again.

    \b
    Examples:
      plays goal measure g-1a2b3c4d5e6f 34.5 --on 2026-04-15
    """
    from plays.state.actions import record_measure

    con = _open(state)
    try:
        with reading(state):
            out = record_measure(con, goal_id, value, on, state)
    except ActionRefused as e:
        _refused(e)
    click.echo(f"recorded {value:g} for {printable(out['goal'])} on {on}: {out['status']}")


@click.group(cls=SuggestingGroup)
def task():
    """Tasks in the state store: complete one.

    \b
    Examples:
      plays task done t-0123456789ab --on 2026-03-04
    """


@task.command("done")
@click.argument("task_id")
@ON
@STATE
def task_done(task_id, on, state):
    """Complete task TASK_ID; the tasks that follow it are rescheduled.

    A task that follows others is due its `due` after the latest actual (or,
    if not done yet, planned) completion of the tasks it follows.

    \b
    Examples:
      plays task done t-0123456789ab
      plays task done t-0123456789ab --on 2026-03-04
    """
    from plays.state.actions import complete_task

    con = _open(state)
    try:
        with reading(state):
            changed = complete_task(con, task_id, on, state)
    except ActionRefused as e:
        _refused(e)
    click.echo(f"done: {printable(task_id)} on {on}")
    for name, due in changed:
        click.echo(f"  rescheduled {printable(name)}: due {due}")


@click.command("tasks")
@click.option("--account", metavar="ID", help="Only this account's tasks.")
@click.option("--owner", metavar="ROLE", help="Only tasks of this owner (csm, manager, ...).")
@click.option("--open", "open_only", is_flag=True, help="Only open tasks.")
@click.option("--overdue", is_flag=True, help="Only open tasks past their due date.")
@click.option("--as-of", "as_of", callback=lambda c, p, v: _date(c, p, v), metavar="DATE",
              help="The date overdue is judged on (default: today).")
@FORMAT
@STATE
def tasks(account, owner, open_only, overdue, as_of, fmt, state):
    """List tasks (open, done, overdue) from the state store.

    \b
    Examples:
      plays tasks --open --owner csm
      plays tasks --overdue --as-of 2026-04-01 --format json
    """
    with reading(state):
        rows = list_tasks(_open(state, readonly=True), account=account, owner=owner, open_only=open_only,
                          overdue=overdue, as_of=as_of)
    _emit(rows, fmt, lambda r: f"{r['id']}  {r['due']}  {r['status']:<8} {r['account']:<14} {r['owner']:<10} "
                               f"{r['title']}  [{r['rule']}]", "task")


@click.command("alerts")
@click.option("--all", "everything", is_flag=True, help="Resolved alerts too.")
@FORMAT
@STATE
def alerts(everything, fmt, state):
    """List open alerts from the state store.

    \b
    Examples:
      plays alerts
      plays alerts --all --format json
    """
    with reading(state):
        rows = list_alerts(_open(state, readonly=True), include_resolved=everything)
    _emit(rows, fmt, lambda r: f"{r['fired']}  {r['alert']:<18} {r['severity'] or '':<8} {r['account']:<14} "
                               f"{r['status']}  {r['id']}", "alert")


@click.command("goals")
@FORMAT
@STATE
def goals(fmt, state):
    """List goal instances (active, achieved, missed) from the state store.

    \b
    Examples:
      plays goals --format json
    """
    from plays.state.store import list_goals

    with reading(state):
        rows = list_goals(_open(state, readonly=True))
    _emit(rows, fmt, lambda r: f"{r['start']}  {r['goal']:<18} {r['account']:<14} {r['playbook'] or '-':<12} "
                               f"{r['status']:<9} {r['id']}", "goal")


@click.command("report")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True,
              help="text for a terminal; json, with every goal instance and open alert; csv, one long table for "
                   "a spreadsheet or BI tool.")
@click.option("--html", "html", metavar="FILE", help="Also write a self-contained HTML page for managers.")
@click.option("--as-of", "as_of", metavar="DATE", help="The date overdue is judged on (default: the last run's latest snapshot).")
@click.option("--period", "period", default="30d", show_default=True, metavar="PERIOD",
              help="The period the figures cover, compared with the one before it: 30d, 13w.")
@click.option("--by", "by", multiple=True, metavar="ATTRIBUTE",
              help="Break down by this account attribute; repeatable (default: the catalog's owner and segment "
                   "attributes, such as csm, segment, region, tier).")
@click.option("--state", "state", default=lambda: os.environ.get("PLAYS_STATE") or "plays.db",
              show_default="plays.db or $PLAYS_STATE", metavar="STORE", help="The state store.")
def report(fmt, html, as_of, period, by, state):
    """Goals reporting: how goal templates, playbooks and alerts work overall.

    An overview (goals active, achieved, missed, achievement rate, median
    days to KPI, task on-time rate, open and overdue tasks, open alerts and
    their age) against the previous period; breakdowns by template, playbook,
    each --by account attribute and task owner; cohorts by month of start per
    template; alerts fired and open per week per rule and time to resolve.
    --format json also lists every goal instance and open alert.

    \b
    Examples:
      plays report
      plays report --by csm --by segment --period 90d
      plays report --format csv > report.csv
      plays report --html report.html --state plays.db
    """
    from plays.errors import UsageError
    from plays.sources import write_atomic

    from plays.state.report import as_of_default, build, render_csv, render_json, render_text
    from plays.state.report_html import render as render_page

    day = None
    if as_of:
        try:
            day = date.fromisoformat(as_of)
        except ValueError:
            raise UsageError(f"--as-of: `{printable(as_of)}` is not a date like 2026-03-01") from None
        if date_problem(day):
            raise UsageError(f"--as-of: {date_problem(day)}")
    days = period_days(period)
    if html == "-":  # was: a file named `-`
        raise UsageError("--html -: the page is written to a file (standard output has the report); "
                         "name one, such as report.html")
    if html and os.path.isdir(html):  # before the work of building the page
        raise UsageError(f"--html: {html} is a folder; name the page's file, such as {os.path.join(html, 'report.html')}")
    con = _open(state, readonly=True)
    with reading(state):
        latest = as_of_default(con)
        if day and day > latest and con.execute("SELECT 1 FROM runs LIMIT 1").fetchone():
            # a typo (2062 for 2026) or a stale store: the figures would look real
            click.echo(f"plays: note: --as-of {day} is after the latest snapshot of the store's runs ({latest}): "
                       "nothing after it is recorded, so the figures are as things stood then", err=True)
        day = day or latest
        # the drill-down list is in the JSON and the page, not in text or CSV
        data = build(con, as_of=day, period_days=days, by=list(by) if by else None,
                     instances=fmt == "json" or bool(html)).to_json()
        page = render_page(data) if html else None
    if html:
        # First: a page that cannot be written (a missing folder, no permission)
        # is an error with nothing on standard output, not a report then an error.
        write_atomic(html, page)
    if fmt == "json":
        click.echo(render_json(data), nl=False)
    elif fmt == "csv":
        click.echo(render_csv(data), nl=False)
    else:
        click.echo(render_text(data), nl=False)
    sys.stdout.flush()
    if html:
        click.echo(f"wrote {printable(html)}", err=True)


MAX_PERIOD_DAYS = 3660  # ten years


def period_days(text: str) -> int:
    """``30d`` or ``13w`` as days; anything else is a one-line usage error."""
    import re

    from plays.errors import UsageError

    m = re.fullmatch(r"\s*(\d{1,6})\s*([dw])\s*", text)
    if not m:
        raise UsageError(f"--period: `{printable(text)}` is not a period like 30d or 13w")
    days = int(m.group(1)) * (7 if m.group(2) == "w" else 1)
    if not 1 <= days <= MAX_PERIOD_DAYS:
        raise UsageError(f"--period: {printable(text)} is out of range: from 1d to {MAX_PERIOD_DAYS}d")
    return days
