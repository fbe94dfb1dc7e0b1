"""The report page in a real browser: Playwright for Python driving Debian's Chromium (no browser download).

The page is written by `plays report --html` from the small store of
conftest.py, with two tasks marked done, and opened at 1600, 1400 and 900 px:
no console error (a first test proves the harness sees one), the figures
shown are the hand-computed ones, filters and breakdown links narrow the
drill-down list to the right rows, the timeline draws the chosen goal, no
heading overlaps what follows it, and a full-page screenshot at each width
is written to $PLAYS_TEST_ARTIFACTS (or the test's tmp_path) and printed.

Chromium comes from Debian's package (`apt-get install -y chromium`, which
.ci/run does); without it these tests are skipped with that reason.
"""

from __future__ import annotations

import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import apply

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install -y chromium)")]

WIDTHS = (1600, 1400, 900)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


class Opened:
    """A page, every console error and uncaught exception it reported, and every URL it requested."""

    def __init__(self, browser, url: str, width: int):
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url)

    def ready(self) -> "Opened":
        self.page.wait_for_selector("body[data-ready]", timeout=30_000)
        assert self.page.get_attribute("body", "data-ready") == "1", self.page.inner_text("#drill-count")
        return self

    def text(self, selector: str) -> str:
        return " ".join(self.page.inner_text(selector).split())

    def follow(self, selector: str) -> None:
        """Click a link to the filtered list and wait for the page to apply it: the address changes at once,
        but the page reads it in its `hashchange` handler, which runs after the click has returned."""
        self.page.click(selector)
        self.page.wait_for_function("""() => {
            const h = location.hash;
            if (!h.startsWith("#drill?")) return false;
            for (const [k, v] of new URLSearchParams(h.slice(7))) {
                const s = document.querySelector(`#filters select[name="${k}"]`);
                if (s && s.value !== v) return false;
            }
            return true;
        }""", timeout=10_000)

    def drill_rows(self) -> list[tuple[str, str, str, str]]:
        """(kind, template or rule, playbook, account) of the list's rows on screen."""
        return [tuple(r) for r in self.page.eval_on_selector_all(
            "#drill-table tbody tr", "rows => rows.map(r => [0, 1, 2, 3].map(i => r.cells[i].textContent))")]


@pytest.fixture
def report_page(run_cli, tmp_path, plan):
    """`plays report --html` of conftest's store as of 2026-01-11, period 7 days (current Jan 5-11, previous
    Dec 29-Jan 4), with p1's kickoff done on time (Jan 3, due Jan 3) and its follow-up late (Jan 8, due Jan 6)."""
    from plays.state import actions

    con, _ = apply(tmp_path / "plays.db", plan)
    tid = lambda acc, task: con.execute("SELECT id FROM tasks WHERE account = ? AND task = ?", [acc, task]).fetchone()[0]  # noqa: E731
    actions.complete_task(con, tid("p1", "k"), date(2026, 1, 3))
    actions.complete_task(con, tid("p1", "f"), date(2026, 1, 8))
    con.close()
    code, _, err = run_cli("report", "--html", "report.html", "--period", "7d", "--as-of", "2026-01-11")
    assert code == 0, err
    return (tmp_path / "report.html").as_uri()


def artifacts(tmp_path: Path) -> Path:
    """Where screenshots go: $PLAYS_TEST_ARTIFACTS if set (CI keeps it), else the test's tmp_path."""
    folder = Path(os.environ.get("PLAYS_TEST_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_harness_sees_console_errors_and_exceptions(browser, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>console.error('told'); nosuchfunction();</script></body></html>")
    opened = Opened(browser, page.as_uri(), 900)
    opened.page.wait_for_load_state("load")
    assert any("told" in e for e in opened.errors) and any("nosuchfunction" in e for e in opened.errors), opened.errors


@pytest.mark.parametrize("width", WIDTHS)
def test_the_page_loads_without_console_errors_and_is_self_contained(browser, report_page, width):
    opened = Opened(browser, report_page, width).ready()
    assert opened.errors == []
    assert opened.requests == [report_page]  # nothing but the page itself: no network at view time
    assert opened.text("#drill-count") == "Showing 1–4 of 4 (4 in all)."


def card(opened: Opened, key: str) -> tuple[str, str, str]:
    sel = f'.card[data-figure="{key}"]'
    return opened.text(f"{sel} .value"), opened.text(f"{sel} .change"), opened.text(f"{sel} .previous")


def row(opened: Opened, table: str, key: str) -> dict[str, str]:
    cells = opened.page.eval_on_selector_all(
        f'{table} tbody tr[data-key="{key}"] td, {table} tbody tr[data-rule="{key}"] td',
        "cells => cells.map(c => [c.classList[0], c.textContent.trim().replace(/\\s+/g, ' ')])")
    return dict(cells)


def test_the_figures_shown_are_the_hand_computed_ones(browser, report_page):
    o = Opened(browser, report_page, 1400).ready()
    # goals: g/p1 achieved and g/s1 missed on Jan 11 (current period); ext/p1 due Jan 9 with no measure
    assert card(o, "goals_active") == ("0", "-3 vs previous period", "previous period: 3")  # on Jan 4 all 3 ran
    assert card(o, "goals_achieved")[:2] == ("1", "+1 vs previous period")
    assert card(o, "goals_missed")[0] == "1"
    assert card(o, "goals_awaiting_measure")[0] == "1"
    assert card(o, "achievement_rate") == ("50%", "", "previous period: no goal ended in the period")
    # g/p1's KPI met Jan 3 (2 days after its start): in the previous period, none in the current one
    assert card(o, "median_days_to_kpi") == ("no KPI met in the period", "", "previous period: 2")
    # due Jan 5-11: f (done late Jan 8) and low's second call (due Jan 5, open): 0 of 2 on time;
    # due Dec 29-Jan 4, judged on Jan 4: k on time; w, base and low's first call past due: 1 of 4
    assert card(o, "task_on_time_rate") == ("0%", "-25 pts vs previous period", "previous period: 25%")
    # open on Jan 11: w, base and both calls, all past due; on Jan 4: f (due Jan 6) was open and not yet due
    assert card(o, "tasks_open")[0] == "4" and card(o, "tasks_overdue")[0] == "4"
    assert card(o, "alerts_open")[0] == "1"
    assert card(o, "alerts_open_median_age_days")[0] == "7"  # fired Jan 4

    g = row(o, "#by-template", "g")
    assert (g["goals"], g["achieved"], g["missed"], g["rate"], g["open"], g["overdue"]) == ("2", "1", "1", "50%", "1", "1")
    assert row(o, "#by-template", "ext")["rate"] == "no goal ended in the period"
    # tier standard: s1's goal and a1's alert calls, none ever done: the honest state, not 0%
    standard = row(o, "#by-tier", "standard")
    assert (standard["goals"], standard["missed"], standard["overdue"], standard["ontime"]) == (
        "1", "1", "3", "no tasks completed yet")
    premium = row(o, "#by-tier", "premium")
    assert (premium["goals"], premium["achieved"], premium["awaiting"], premium["ontime"]) == ("2", "1", "1", "0%")
    # p1's tasks due Dec 29-Jan 4: k on time, base past due (50%); due Jan 5-11: f, late (0%)
    assert premium["ontime-change"] == "-50 pts"

    low = row(o, "#alert-rules", "low")
    assert (low["fired"], low["fired-change"], low["open"], low["resolve"], low["age"]) == (
        "0", "-2", "1", "no alert resolved in the period", "7")
    # fewer alerts fired than in the previous period: the good way
    assert o.page.get_attribute('#alert-rules tr[data-rule="low"] td.fired-change', "class") == "fired-change good"
    weeks = o.page.eval_on_selector_all('figure.weekly[data-rule="low"] rect.fired title', "ts => ts.map(t => t.textContent)")
    assert weeks == ["week of 2025-12-29: 2 fired, 1 open at its end", "week of 2026-01-05: 0 fired, 1 open at its end"]

    g_jan = dict(o.page.eval_on_selector_all('figure.cohort[data-template="g"] tr[data-month="2026-01"] td',
                                             "cs => cs.map(c => [c.className, c.textContent.trim()])"))
    assert (g_jan["deployed"], g_jan["achieved"], g_jan["missed"], g_jan["rate"], g_jan["days"]) == ("2", "1", "1", "50%", "2")
    ext_jan = dict(o.page.eval_on_selector_all('figure.cohort[data-template="ext"] tr[data-month="2026-01"] td',
                                               "cs => cs.map(c => [c.className, c.textContent.trim()])"))
    assert ext_jan["rate"] == "no goal has ended yet"
    assert o.errors == []


def test_a_filter_narrows_the_list_to_the_right_rows(browser, report_page):
    o = Opened(browser, report_page, 1400).ready()
    assert sorted(o.drill_rows()) == [("alert", "low", "default", "a1"), ("goal", "ext", "default", "p1"),
                                      ("goal", "g", "a", "p1"), ("goal", "g", "b", "s1")]
    o.page.select_option('#filters select[name="tier"]', "premium")
    assert o.drill_rows() == [("goal", "ext", "default", "p1"), ("goal", "g", "a", "p1")]  # newest first
    assert o.text("#drill-count") == "Showing 1–2 of 2 (4 in all)."
    assert o.page.evaluate("location.hash") == "#drill?tier=premium"  # the filtered list has an address
    o.page.select_option('#filters select[name="status"]', "achieved")
    assert o.drill_rows() == [("goal", "g", "a", "p1")]
    o.page.click("#clear")
    o.page.fill('#filters input[name="q"]', "S1")  # search: any text of the row, case-insensitive
    assert o.drill_rows() == [("goal", "g", "b", "s1")]
    o.page.fill('#filters input[name="q"]', "")
    o.page.select_option('#filters select[name="kind"]', "alert")
    assert o.drill_rows() == [("alert", "low", "default", "a1")]
    o.page.select_option('#filters select[name="kind"]', "")
    o.page.select_option('#filters select[name="status"]', "awaiting measure")
    assert o.drill_rows() == [("goal", "ext", "default", "p1")]
    assert o.errors == []


def test_a_breakdown_row_links_to_its_filtered_list(browser, report_page):
    o = Opened(browser, report_page, 1400).ready()
    o.follow('#by-tier tr[data-key="standard"] a')
    assert o.page.evaluate("location.hash") == "#drill?tier=standard"
    assert o.page.input_value('#filters select[name="tier"]') == "standard"
    assert o.drill_rows() == [("alert", "low", "default", "a1"), ("goal", "g", "b", "s1")]
    o.follow('#by-playbook tr[data-key="g/a"] a')
    assert o.drill_rows() == [("goal", "g", "a", "p1")]
    o.follow('#alert-rules tr[data-rule="low"] a')
    assert o.drill_rows() == [("alert", "low", "default", "a1")]
    # the list is scrolled into view (as far as the page's end allows)
    o.page.evaluate("window.scrollTo(0, 0)")
    o.follow('#by-tier tr[data-key="premium"] a')
    assert 0 <= o.page.evaluate("document.getElementById('drill').getBoundingClientRect().top") < 900 / 2
    # an address opened directly, with a filter the page does not have: said, not silently dropped
    o2 = Opened(browser, report_page + "#drill?template=g&segment=x", 1400).ready()
    assert sorted(o2.drill_rows()) == [("goal", "g", "a", "p1"), ("goal", "g", "b", "s1")]
    assert o2.text("#drill-count") == "Showing 1–2 of 2 (4 in all). Unknown filter ignored: segment."
    assert o.errors == [] and o2.errors == []


def test_the_timeline_shows_the_chosen_goal_only(browser, report_page):
    o = Opened(browser, report_page, 1400).ready()
    assert o.page.query_selector("#timeline svg") is None  # no timeline until one is chosen
    o.page.select_option('#filters select[name="playbook"]', "a")
    o.page.click("#drill-table tbody tr button")
    assert o.text("#timeline-title") == "g · p1 · playbook a · achieved"
    states = o.page.eval_on_selector_all("#timeline-svg rect.tl-task", "rs => rs.map(r => r.dataset.state)")
    assert states == ["done", "late"]  # kickoff done on its due date, follow-up after it; in due order
    assert len(o.page.query_selector_all("#timeline svg")) == 1
    assert o.errors == []


OVERLAPS = """() => {
  const box = e => e.getBoundingClientRect();
  const meets = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  const visible = e => { const r = box(e); return r.width > 0 && r.height > 0; };
  const out = [];
  const headings = Array.from(document.querySelectorAll("h1, h2, h3, h4")).filter(visible);
  for (const h of headings) {
    const next = h.nextElementSibling;  // what the heading heads must start below it
    if (next && visible(next) && box(next).top < box(h).bottom - 0.5)
      out.push(`${h.tagName} "${h.textContent.trim()}" is not above the ${next.tagName} after it`);
    for (const e of document.querySelectorAll("svg, table, .cards, .filters")) {
      if (visible(e) && !e.contains(h) && !h.contains(e) && meets(box(h), box(e)))
        out.push(`${h.tagName} "${h.textContent.trim()}" overlaps a ${e.tagName}`);
    }
  }
  return [headings.length, out];
}"""


@pytest.mark.parametrize("width", WIDTHS)
def test_no_element_overlaps_a_heading_and_a_screenshot_is_kept(browser, report_page, tmp_path, width):
    o = Opened(browser, report_page, width).ready()
    o.page.select_option('#filters select[name="playbook"]', "a")
    o.page.click("#drill-table tbody tr button")  # a timeline too: its heading and chart
    o.page.select_option('#filters select[name="playbook"]', "")
    count, problems = o.page.evaluate(OVERLAPS)
    assert count >= 14 and problems == []
    # nothing wider than the window but the tables' own scrolling boxes
    assert o.page.evaluate("document.documentElement.scrollWidth") <= width
    shot = artifacts(tmp_path) / f"report-{width}.png"
    o.page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert o.errors == []


def test_the_printed_page_has_no_controls_and_fits_the_paper(browser, report_page):
    # A4 landscape (the page's @page) less its 10 mm margins: 277 mm, 1047 CSS px
    o = Opened(browser, report_page, 1047).ready()
    o.page.emulate_media(media="print")
    assert not o.page.is_visible("#filters") and not o.page.is_visible(".pager")
    assert o.page.is_visible("#overview .cards") and o.page.is_visible("#drill-table")
    assert o.page.evaluate("document.documentElement.scrollWidth") <= 1047
    assert o.page.pdf(prefer_css_page_size=True)[:5] == b"%PDF-"


def test_the_list_shows_100_rows_at_a_time(browser, tmp_path, plan):
    """250 goal instances (the fixture's report with its list replaced): pages of 100, a filter starts again at
    the first page."""
    from plays.state.report import build
    from plays.state.report_html import render

    con, _ = apply(tmp_path / "plays.db", plan)
    report = build(con, as_of=date(2026, 1, 11), period_days=7).to_json()
    report["instances"] = [
        {"kind": "goal", "id": f"g-{n}", "template": "g", "playbook": "ab"[n % 2], "account": f"acct{n:03d}",
         "attributes": {"tier": "premium" if n < 30 else "standard"}, "task_owners": [], "status": "active",
         "deployed": (date(2026, 1, 1) - timedelta(days=n)).isoformat(), "end": "2026-03-01", "ended": None,
         "kpi_met": None, "tasks": []} for n in range(250)]
    page = tmp_path / "many.html"
    page.write_text(render(report), encoding="utf-8")
    o = Opened(browser, page.as_uri(), 1400).ready()
    assert o.text("#drill-count") == "Showing 1–100 of 250 (250 in all)."
    assert len(o.drill_rows()) == 100 and o.drill_rows()[0][3] == "acct000"  # newest first
    assert o.page.is_disabled("#prev")
    o.page.click("#next")
    o.page.click("#next")
    assert o.text("#drill-count") == "Showing 201–250 of 250 (250 in all)."
    assert [r[3] for r in o.drill_rows()] == [f"acct{n:03d}" for n in range(200, 250)]
    assert o.page.is_disabled("#next")
    o.page.select_option('#filters select[name="playbook"]', "b")
    assert o.text("#drill-count") == "Showing 1–100 of 125 (250 in all)."
    assert o.drill_rows()[0][3] == "acct001"
    o.page.select_option('#filters select[name="tier"]', "premium")
    assert o.text("#drill-count") == "Showing 1–15 of 15 (250 in all)."
    assert o.errors == []


def test_a_long_breakdown_shows_20_rows_until_asked_and_sorts_by_any_column(browser, tmp_path, plan):
    from plays.state.report import build
    from plays.state.report_html import render

    con, _ = apply(tmp_path / "plays.db", plan)
    report = build(con, as_of=date(2026, 1, 11), period_days=7).to_json()
    tier = next(b for b in report["breakdowns"] if b["dimension"] == "tier")
    template_row = tier["rows"][0]
    tier["rows"] = [{**template_row, "key": f"t{n:02d}", "filter": {"attributes.tier": f"t{n:02d}"}, "goals": n,
                     "tasks_overdue": (n * 7) % 30} for n in range(30)]
    page = tmp_path / "long.html"
    page.write_text(render(report), encoding="utf-8")
    o = Opened(browser, page.as_uri(), 1400).ready()
    visible = lambda: o.page.eval_on_selector_all(  # noqa: E731
        "#by-tier tbody tr", "rs => rs.filter(r => !r.hidden).map(r => r.dataset.key)")
    assert visible() == [f"t{n:02d}" for n in range(20)]
    o.page.click("#by-tier th:has-text('tasks overdue')")  # largest first: n * 7 % 30 == 29 at n = 17
    assert visible()[:3] == ["t17", "t04", "t21"] and len(visible()) == 20  # 29, 28, 27 overdue
    o.page.click("#by-tier th:has-text('tasks overdue')")  # again: smallest first
    assert visible()[0] == "t00"
    o.page.click("#by-tier button.more")
    assert len(visible()) == 30 and o.text("#by-tier button.more") == "show the first 20"
    o.page.focus("#by-tier th:has-text('goals')")
    o.page.keyboard.press("Enter")  # the headings work from the keyboard too
    assert visible()[:2] == ["t29", "t28"]
    o.page.click("#by-tier button.more")
    assert len(visible()) == 20
    shown = "rs => rs.filter(r => r.offsetHeight > 0).length"
    assert o.page.eval_on_selector_all("#by-tier tbody tr", shown) == 20
    o.page.emulate_media(media="print")  # paper has every row
    assert o.page.eval_on_selector_all("#by-tier tbody tr", shown) == 30
    assert o.errors == []
