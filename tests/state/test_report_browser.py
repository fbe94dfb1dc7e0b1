"""The HTML report in a real browser (headless Chromium): no console errors, the expected numbers.

Chromium comes from Debian's package (`apt-get install -y chromium`, run by
.ci/run); without it these tests are skipped with that reason. The page is
loaded with --dump-dom (the DOM after load) and --enable-logging=stderr,
where Chromium writes every console message as a ``:CONSOLE`` line; a first
test proves the harness does see a console error.
"""

import re
import shutil
import subprocess
from datetime import date

import pytest
from conftest import apply

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install -y chromium)")]


def load(page, profile):
    """The DOM after load and the console messages, as headless Chromium reports them."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return proc.stdout, console


def cells(row_html: str) -> dict:
    return dict(re.findall(r'<td class="(\w+)">([^<]*)</td>', row_html))


def test_the_harness_sees_console_errors(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>nosuchfunction();</script></body></html>")
    _, console = load(page, tmp_path / "profile")
    assert any("nosuchfunction" in line for line in console)


def test_report_page_loads_cleanly_and_shows_the_figures(run_cli, tmp_path, plan):
    from plays.state import actions

    con, _ = apply(tmp_path / "plays.db", plan)
    tid = lambda acc, task: con.execute("SELECT id FROM tasks WHERE account = ? AND task = ?", [acc, task]).fetchone()[0]  # noqa: E731
    actions.complete_task(con, tid("p1", "k"), date(2026, 1, 3))  # on time
    actions.complete_task(con, tid("p1", "f"), date(2026, 1, 8))  # due Jan 6: late
    assert run_cli("report", "--html", "report.html")[0] == 0
    dom, console = load(tmp_path / "report.html", tmp_path / "profile")
    assert "</html>" in dom and console == []
    a = cells(re.search(r'<tr data-goal="g" data-playbook="a">(.*?)</tr>', dom, re.S).group(1))
    assert (a["deployed"], a["achieved"], a["missed"], a["rate"], a["ontime"], a["overdue"]) == ("1", "1", "0", "100%", "50%", "0")
    total = cells(re.search(r'<tr data-goal="g" data-playbook="\(all\)" class="total">(.*?)</tr>', dom, re.S).group(1))
    assert (total["deployed"], total["rate"], total["ontime"], total["overdue"]) == ("2", "50%", "33%", "1")
    alert = cells(re.search(r'<tr data-alert="low">(.*?)</tr>', dom, re.S).group(1))
    assert alert == {"fired": "2", "open": "1", "resolved": "1"}
    # alerts over time: Dec 29 - Jan 4 (2 fired, 1 open at its end) and Jan 5 - 11 (none fired, 1 open)
    chart = re.search(r'<svg id="alert-chart".*?</svg>', dom, re.S).group(0)
    assert re.findall(r"<title>week of ([\d-]+): (\d+) fired, (\d+) open", chart) == [
        ("2025-12-29", "2", "1"), ("2026-01-05", "0", "1")]
    # timelines: p1's tasks done on time and late; s1's welcome task past due
    p1 = re.search(r'<div class="timeline"[^>]*data-goal="g" data-account="p1">(.*?)</div>', dom, re.S).group(1)
    assert re.findall(r'<rect class="task (\w+)"', p1) == ["done", "late"]
    s1 = re.search(r'<div class="timeline"[^>]*data-goal="g" data-account="s1">(.*?)</div>', dom, re.S).group(1)
    assert re.findall(r'<rect class="task (\w+)"', s1) == ["overdue"]
