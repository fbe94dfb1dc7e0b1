"""The HTML report in a real browser (headless Chromium): no console errors, the expected numbers."""

import re
import shutil
import subprocess

import pytest
from conftest import apply

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)")


def load(page, profile):
    """The DOM after load and the console messages, as headless Chromium reports them."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return proc.stdout, console


def test_the_harness_sees_console_errors(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>nosuchfunction();</script></body></html>")
    _, console = load(page, tmp_path / "profile")
    assert any("nosuchfunction" in line for line in console)


def test_report_page_loads_cleanly_and_shows_the_figures(run_cli, tmp_path, plan):
    apply(tmp_path / "plays.db", plan)
    assert run_cli("report", "--html", "report.html")[0] == 0
    dom, console = load(tmp_path / "report.html", tmp_path / "profile")
    assert console == []
    row = re.search(r'<tr data-goal="g" data-playbook="a">(.*?)</tr>', dom, re.S).group(1)
    cells = dict(re.findall(r'<td class="(\w+)">([^<]*)</td>', row))
    assert (cells["deployed"], cells["achieved"], cells["missed"], cells["rate"]) == ("1", "1", "0", "100%")
    alert = re.search(r'<tr data-alert="low">(.*?)</tr>', dom, re.S).group(1)
    assert dict(re.findall(r'<td class="(\w+)">([^<]*)</td>', alert)) == {"fired": "2", "open": "1", "resolved": "1"}
    assert 'id="alert-chart"' in dom and dom.count("<circle") >= 3
