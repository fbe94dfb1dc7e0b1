"""The syntax stage: AST values, spans and syntax errors in users' words."""

import pytest

from plays.diagnostics import CompileError, Span
from plays.dsl import ast, parse, parse_expression, parse_module


def _span(line=1, col=1):
    return Span("t", line, col, line, col)


def lit(kind, value, text):
    return ast.Literal(kind=kind, value=value, text=text, span=_span())


def name(n):
    return ast.Name(name=n, span=_span())


@pytest.mark.parametrize(
    "text, expected",
    [
        ("20%", lit("percent", 0.2, "20%")),
        ("7d", lit("duration", 7, "7d")),
        ("2w", lit("duration", 14, "2w")),
        ("2026-03-01", lit("date", "2026-03-01", "2026-03-01")),
        ("$1200", lit("money", 1200, "$1200")),
        ("0.5", lit("number", 0.5, "0.5")),
        ("70", lit("number", 70, "70")),
        ("true", lit("bool", True, "true")),
        ('"a \\"b\\" \\\\"', lit("string", 'a "b" \\', '"a \\"b\\" \\\\"')),
        ("-20%", lit("percent", -0.2, "-20%")),
    ],
)
def test_literals_with_units(text, expected):
    assert parse_expression(text) == expected


def test_precedence_and_or_not_comparison_arithmetic():
    e = parse_expression("not a or b and c + 1 * 2 > 3")
    assert e == ast.Binary(
        op="or",
        left=ast.Unary(op="not", operand=name("a"), span=_span()),
        right=ast.Binary(
            op="and",
            left=name("b"),
            right=ast.Binary(
                op=">",
                left=ast.Binary(
                    op="+",
                    left=name("c"),
                    right=ast.Binary(op="*", left=lit("number", 1, "1"), right=lit("number", 2, "2"), span=_span()),
                    span=_span(),
                ),
                right=lit("number", 3, "3"),
                span=_span(),
            ),
            span=_span(),
        ),
        span=_span(),
    )


def test_in_not_in_is_empty_calls_and_attributes():
    assert parse_expression("segment not in (smb, mid_market)") == ast.InList(
        operand=name("segment"), items=(name("smb"), name("mid_market")), negated=True, span=_span()
    )
    assert parse_expression("nps is not empty") == ast.IsEmpty(operand=name("nps"), negated=True, span=_span())
    assert parse_expression("pct_change(mau, 7d)") == ast.Call(
        func="pct_change", args=(name("mau"), lit("duration", 7, "7d")), span=_span()
    )
    assert parse_expression("account.tier") == ast.AttrRef(attr="tier", span=_span())


def test_keywords_are_contextual_so_property_words_stay_usable_as_names():
    m = parse('metric type: count\nmetric start: number\nalert due { when: type > start }')
    assert [d.name for d in m.declarations] == ["type", "start", "due"]


def test_spans_point_at_the_source():
    m = parse('\nalert a "t" {\n  when: pct_change(mau, 7d) <= -20%\n}', "f.play")
    alert = m.declarations[0]
    assert alert.span == Span("f.play", 2, 1, 2, 8)
    when = alert.props[0]
    assert when.span == Span("f.play", 3, 3, 3, 7)
    assert when.value.span == Span("f.play", 3, 9, 3, 36)
    assert when.value.right.span == Span("f.play", 3, 32, 3, 36)


def test_goal_properties_deploy_and_kpi_forms():
    m = parse(
        "goal g { deploy: on renewal_date - 120d  kpi: mrr up 10% }\n"
        "goal h { deploy: when seat_utilization >= 85%  kpi: health_score >= 70 }\n"
        "goal i { deploy: manual }"
    )
    g, h, i = m.declarations
    assert g.props[0].value.attr.name == "renewal_date" and g.props[0].value.offset.value == -120
    assert g.props[1].value.direction == "up" and g.props[1].value.amount.value == pytest.approx(0.1)
    assert isinstance(h.props[0].value, ast.DeployWhen)
    assert isinstance(h.props[1].value, ast.Binary)
    assert isinstance(i.props[0].value, ast.DeployManual)


def test_external_goal_and_playbooks():
    m = parse(
        'external goal e "E" { account: "acme" measure: "Minutes" target <= 30 start: 2026-04-01 due: 2026-06-30\n'
        '  playbook { task a "A" { due: 7d } task b "B" { after: a, c  every: 30d until: 90d } } }'
    )
    e = m.declarations[0]
    assert e.external and e.props[0].value.value == "acme"
    assert e.props[1].value.op == "<=" and e.props[1].value.target.value == 30
    b = e.playbooks[0].tasks[1]
    assert [w.name for w in b.props[0].value.names] == ["a", "c"]


def messages(text):
    _, diags = parse_module(text, "bad.play")
    return [(d.code, d.span.line, d.message) for d in diags]


def test_unclosed_playbook_names_the_block_and_its_line():
    text = 'alert a "x" {\n  when: mau > 3\n  playbook {\n    task t "x" { due: 2d }\n\nalert b "y" { when: mau > 1 }\n'
    assert messages(text) == [("E101", 4, "expected `}` to close the playbook opened at line 3")]


def test_one_error_per_broken_declaration_and_the_others_still_parse():
    text = 'alert a { sevrity: high }\nmetric ok: count\nalert b { when: x = 3 }\n'
    module, diags = parse_module(text, "bad.play")
    assert [d.code for d in diags] == ["E100", "E100"]
    assert diags[0].message.startswith("unknown property `sevrity`")
    assert diags[0].suggestion == "severity"
    assert diags[1].message == "unexpected character `=`: use `==` to compare"
    assert [d.name for d in module.declarations] == ["ok"]


def test_expected_tokens_are_said_in_words():
    (code, line, msg), = messages("alert c { when: x > }")
    assert msg == "unexpected `}`; expected a value (a name, a number, 20%, 7d, 2026-03-01, ...)"


def test_uppercase_names_and_unterminated_text():
    assert messages("metric MAU: count")[0][2].startswith("unexpected `M`: names are lowercase")
    assert messages('metric m: count "oops\n')[0][2] == 'this text is not closed by a `"` on the same line'


def test_empty_file_is_a_warning():
    assert messages("# nothing here\n") == [("W100", 1, "this file declares nothing")]


def test_parse_raises_compile_error_with_all_diagnostics():
    with pytest.raises(CompileError) as e:
        parse("alert {")
    assert e.value.diagnostics[0].code in ("E100", "E101")


@pytest.mark.parametrize("text", ["for: 24h", "for: 1m", "for: 3mo"])
def test_other_time_units_say_durations_are_days_or_weeks(text):
    [(code, _, msg)] = messages(f"alert a {{ when: m > 1  {text} }}")
    unit = text.split()[1]
    assert (code, msg) == ("E100", f"`{unit}` is not a duration: durations are whole days or weeks, like 7d or 2w")
