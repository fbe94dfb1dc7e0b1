"""The report page at scale: render time and weight, then load and use in Debian's Chromium.

Given a store (e.g. the 100,000 accounts x 90 days one that bench_report.py or
`plays run specs/ --snapshots … --state` makes), builds the report once
(`report.build`, timed for reference), renders the page (`report_html.render`,
best of --repeat) and opens it in headless Chromium through Playwright: the
time until the drill-down list is ready (blob decoded, rows built, first page
drawn), a breakdown link and a search on the list, and console errors. See
docs/performance.md (The report page).

    python bench/bench_report_page.py --state bench/out/report.db [--repeat 3] [--out bench/out/report.html]
"""

import argparse
import os
import shutil
import sys
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--state", required=True, help="the store to report on")
    ap.add_argument("--repeat", type=int, default=3, help="renders and page loads to time (best of)")
    ap.add_argument("--out", default="bench/out/report.html", help="where the page is written")
    args = ap.parse_args()

    from plays.state import report_html
    from plays.state.report import as_of_default, build
    from plays.state.store import connect

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    con = connect(args.state, readonly=True)
    start, start_cpu = time.perf_counter(), time.process_time()
    data = build(con, as_of=as_of_default(con)).to_json()
    print(f"build: {time.perf_counter() - start:.2f} s ({time.process_time() - start_cpu:.2f} s CPU; {len(data['instances']):,} drill-down rows, "
          f"{sum(len(i.get('tasks') or ()) for i in data['instances']):,} tasks)")
    renders, cpu = [], []
    for _ in range(args.repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        page = report_html.render(data)
        renders.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(page, encoding="utf-8")
    size = len(page.encode("utf-8"))
    print(f"render: best {min(renders):.2f} s of {args.repeat} ({min(cpu):.2f} s CPU); page {size:,} bytes ({size / 2**20:.2f} MiB)")

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("no Chromium found (Debian: apt-get install -y chromium): page load not timed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        loads = []
        for _ in range(args.repeat):
            tab = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            tab.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
            tab.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            start = time.perf_counter()
            tab.goto(Path(args.out).resolve().as_uri())
            tab.wait_for_selector("body[data-ready]", timeout=120_000)
            loads.append(time.perf_counter() - start)
            if errors:
                sys.exit(f"console errors: {errors}")
        print(f"page ready in Chromium: best {min(loads):.2f} s of {args.repeat} ({tab.inner_text('#drill-count')})")
        link = next(row.query_selector("a") for row in tab.query_selector_all(".breakdown tbody tr")
                    if row.query_selector("td.goals").get_attribute("data-v") != "0")
        start = time.perf_counter()
        link.click()
        print(f"a breakdown link ({tab.evaluate('location.hash')}): {time.perf_counter() - start:.2f} s, "
              f"{tab.inner_text('#drill-count')}")
        tab.click("#clear")
        start = time.perf_counter()
        tab.fill("#filters input[name=q]", "onboarding")
        print(f"a search: {time.perf_counter() - start:.2f} s, {tab.inner_text('#drill-count')}")
        browser.close()


if __name__ == "__main__":
    main()
