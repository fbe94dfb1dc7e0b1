"""JUnit XML for CI test reports: one <testsuite> per test file, one <testcase> per test.

A test file that could not run is one <testcase> with an <error> carrying its
problems, so that CI shows it beside the tests that did run.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from plays.render import render_text as render_diagnostics

from .runner import FileProblem, Outcome

FILE_CASE = "(test file)"  # the name of the test case that stands for a file that could not run


def _xml_text(s: str) -> str:
    """XML 1.0 cannot hold most control characters, even escaped: show them escaped the plays way."""
    from plays.render import printable

    return "".join(printable(ch) if (ord(ch) < 0x20 and ch not in "\t\n\r") else ch for ch in s)


def render_junit(outcomes: list[Outcome], problems: list[FileProblem], detail: Callable[[Outcome], str]) -> bytes:
    """The JUnit XML document; ``detail(outcome)`` is the text of a failure, as the text output shows it."""
    root = ET.Element("testsuites", name="plays test")
    by_file: dict[str, tuple[list[Outcome], list[FileProblem]]] = {}
    for o in outcomes:
        by_file.setdefault(o.file, ([], []))[0].append(o)
    for p in problems:
        by_file.setdefault(p.file, ([], []))[1].append(p)
    total_fail = total_err = total = 0
    for file, (group, broken) in by_file.items():
        fails = sum(not o.passed for o in group)
        total_fail += fails
        total_err += len(broken)
        total += len(group) + len(broken)
        suite = ET.SubElement(root, "testsuite", name=_xml_text(file), tests=str(len(group) + len(broken)),
                              failures=str(fails), errors=str(len(broken)), skipped="0")
        classname = _xml_text(file.removesuffix(".test.yaml"))
        for p in broken:
            case = ET.SubElement(suite, "testcase", name=FILE_CASE, classname=classname, file=_xml_text(file))
            first = p.diagnostics[0] if p.diagnostics else None
            err = ET.SubElement(case, "error", type="MalformedTestFile",
                                message=_xml_text(f"{first.span}: {first.message}" if first else "malformed test file"))
            err.text = _xml_text(render_diagnostics(list(p.diagnostics), {}))
        for o in group:
            case = ET.SubElement(suite, "testcase", name=_xml_text(o.test.name), classname=classname,
                                 file=_xml_text(file), line=str(o.test.span.line))
            if not o.passed:
                first = o.error or f"{o.failures[0][1]}: {o.failures[0][0].text}"
                fail = ET.SubElement(case, "failure", message=_xml_text(first), type="ExpectationFailed")
                fail.text = _xml_text(detail(o))
    root.set("tests", str(total))
    root.set("failures", str(total_fail))
    root.set("errors", str(total_err))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
