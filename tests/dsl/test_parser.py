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


# --- parentheses, sources, walking -------------------------------------------------


def test_parentheses_are_kept_and_spans_cover_them():
    m = parse("alert a {\n  when: not (a and b)  where: (c or d) and e\n}", "p.play")
    when, where = m.declarations[0].props
    assert when.value == ast.Unary(
        op="not", operand=ast.Paren(expr=ast.Binary(op="and", left=name("a"), right=name("b"), span=_span()),
                                    span=_span()), span=_span())
    assert when.value.span == Span("p.play", 2, 9, 2, 22)  # through the closing parenthesis
    assert where.value.span == Span("p.play", 2, 31, 2, 45)  # from the opening one
    assert (when.source, where.source) == ("not (a and b)", "(c or d) and e")
    assert ast.unparen(ast.Paren(expr=name("x"), span=_span())) == name("x")


def test_sources_are_the_text_as_written_with_comments_and_lf():
    m = parse('goal g {\r\n  deploy: when mau > 1 # soon\r\n    and mau < 9\r\n  playbook p where (x) { task t "T" {} }\r\n}')
    deploy = m.declarations[0].props[0]
    assert deploy.value.source == "mau > 1 # soon\n    and mau < 9"
    assert m.declarations[0].playbooks[0].where_source == "(x)"


def test_calls_keep_their_text_as_written():
    call = parse_expression("sum(tickets_opened,  2w) > 3").left
    assert (call.source, call.args[1].value) == ("sum(tickets_opened,  2w)", 14)


def test_negated_literal_in_parentheses_still_folds():
    assert parse_expression("-(5)") == lit("number", -5, "-5")


def test_walk_is_iterative_and_in_written_order():
    e = parse_expression("(a + f(b, 2)) in (c, -d)")
    names = [n.name for n in ast.find_all(e, ast.Name)]
    assert names == ["a", "b", "c", "d"]
    assert [type(n).__name__ for n in ast.iter_child_nodes(e)] == ["Paren", "Name", "Unary"]


# --- bounds ---------------------------------------------------------------------------


def codes(text):
    _, diags = parse_module(text, "b.play")
    return [(d.code, d.span.line, d.span.col) for d in diags]


@pytest.mark.parametrize("depth, ok", [(100, True), (101, False)])
def test_nesting_is_bounded_at_100_levels(depth, ok):
    # `not` x (depth - 1) over `mau > 1` (one level): exactly `depth` levels.
    text = "metric mau: count\nalert a { when: " + "not " * (depth - 1) + "mau > 1 }\nmetric other: count\n"
    module, diags = parse_module(text, "d.play")
    if ok:
        assert diags == [] and len(module.declarations) == 3
    else:
        assert [d.code for d in diags] == ["E102"] and diags[0].span.line == 2
        assert [d.name for d in module.declarations] == ["mau", "other"]  # the rest still parses


@pytest.mark.parametrize("expr", [
    "not " * 500 + "x",
    "-" * 500 + "x",
    " and ".join(["x"] * 500),
    "(" * 5000 + "x" + ")" * 5000,
    " or ".join(f"x == {i}" for i in range(120)),
    "f(" * 101 + "x" + ")" * 101,
])
def test_deep_or_long_expressions_are_refused_not_crashed(expr):
    assert [c for c, *_ in codes(f"alert a {{ when: {expr} }}")] == ["E102"]


def test_a_long_chain_of_negative_signs_on_a_literal_folds_into_one_literal():
    e = parse_expression("-" * 500 + "5")
    assert isinstance(e, ast.Literal) and e.value == 5


@pytest.mark.parametrize("literal, code", [
    ("9" * 5001, "E103"),
    ("1234567890123456", "E103"),
    ("0.1234567890123456", "E103"),
    ("$10000000000000000", "E103"),
    ("12345678901234567%", "E103"),
    ("36501d", "E104"),
    ("5215w", "E104"),
    ("99999999999999999999d", "E104"),
    ("1899-12-31", "E105"),
    ("3000-01-01", "E105"),
])
def test_literals_out_of_range_are_positioned_errors(literal, code):
    assert codes(f"alert a {{\n  when: x > {literal} }}") == [(code, 2, 13)]


@pytest.mark.parametrize("literal", ["123456789012345", "0.123456789012345", "36500d", "5214w", "1900-01-01",
                                     "2999-12-31", "000000000000000000001"])
def test_literals_at_the_bounds_are_fine(literal):
    assert codes(f"alert a {{ when: x > {literal} }}") == []


def test_duration_properties_are_bounded_too():
    assert codes('goal g { duration: 40000d  playbook { task t "T" { due: 36501d } } }') == [
        ("E104", 1, 20), ("E104", 1, 57)]


def test_parses_share_no_state():
    """Each file gets its own builder: interleaved parses keep their own paths and positions."""
    from plays.dsl import parser

    a = parser._Builder("a.play", "metric a: count")
    b = parser._Builder("b.play", "\n\nmetric b: count")
    first = parser._parse_text(a)
    second = parser._parse_text(b)
    assert (first[0].span.path, first[0].span.line) == ("a.play", 1)
    assert (second[0].span.path, second[0].span.line) == ("b.play", 3)
    assert parser._lark.cache_info().currsize == 1


def test_recovery_keeps_positions_of_the_whole_file():
    text = "metric a: count\n\nalert b { when: a > }\n\nalert c { when: a >> 1 }\n"
    assert codes(text) == [("E100", 3, 21), ("E100", 5, 20)]


@pytest.mark.parametrize("text, message, suggestion", [
    ("alert a { when: m > = 3 }", "unexpected character `=`: write `>=` without a space", None),
    ("alert a { when: m ! 3 }", "unexpected character `!`: write `not`, or `!=` to compare", None),
    ("alert a { when: m = 3 }", "unexpected character `=`: use `==` to compare", None),
    ('goal g { playbook { task a "A" {} task b "B" { after: [a] } } }',
     "unexpected character `[`: write the task names without brackets: `after: a, b`", None),
    ("alert a { when: m in [1, 2] }", "unexpected character `[`: lists are written in parentheses: `in (a, b)`", None),
    ("metric LowSeats: count", "unexpected `L`: names are lowercase letters, digits and `_`", "low_seats"),
    ("metric MAU: count", "unexpected `M`: names are lowercase letters, digits and `_`", "mau"),
    # the whole name, not the part from the capital on
    ("metric mau2X: count", "unexpected `X`: names are lowercase letters, digits and `_`", "mau2_x"),
    ("metric HTTPServer: count", "unexpected `H`: names are lowercase letters, digits and `_`", "http_server"),
    # operators written in another order or with a space in them
    ("alert a { when: m => 3 }", "unexpected character `=`: write `>=`", None),
    ("alert a { when: m =< 3 }", "unexpected character `=`: write `<=`", None),
    ("alert a { when: m = = 3 }", "unexpected character `=`: write `==` without a space", None),
    ("alert a { when: m ! = 3 }", "unexpected character `!`: write `!=` without a space", None),
    ("alert a { when: m >== 3 }", "unexpected character `=`: `>==` is not an operator: write `>=`", None),
    ("alert a { when: m <> 3 }", 'unexpected `>`: write `!=` for "is not equal to"', None),
    # `after:` lists
    ('goal g { playbook { task a "A" {} task b "B" { after: (a) } } }',
     "unexpected `(`: write the task names without parentheses: `after: a, b`", None),
    ('goal g { playbook { task a "A" {} task b "B" {} task c "C" { after: a b } } }',
     "unexpected `b`: separate the task names with commas: `after: a, b`", None),
    ('goal g { playbook { task a "A" {} task b "B" {} task c "C" { after: a and b } } }',
     "unexpected `and`: separate the task names with commas: `after: a, b`", None),
    # a misspelt key after an `after:` list is still a misspelt key
    ('goal g { playbook { task a "A" {} task c "C" { after: a  dua: 3d } } }',
     "unknown property `dua`; expected `type:`, `owner:`, `due:`, `after:`, `every:`, `until:`, `}`", "due"),
])
def test_hints_say_what_was_meant(text, message, suggestion):
    _, [d] = parse_module(text, "h.play")
    assert (d.message, d.suggestion) == (message, suggestion)


def _check_in_subprocess(cache_home, tmp_path):
    import os
    import subprocess
    import sys

    (tmp_path / "a.play").write_text("metric a: count\n")
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    # --no-cache: a re-check of an unchanged file would not need the grammar at all
    return subprocess.run([sys.executable, "-m", "plays.cli", "check", "--no-cache", "a.play"], cwd=tmp_path, env=env,
                          capture_output=True, text=True)


def test_the_grammar_tables_are_cached_in_the_users_cache_folder(tmp_path):
    cache_home = tmp_path / "cache"
    first = _check_in_subprocess(cache_home, tmp_path)
    assert first.returncode == 0 and first.stderr == ""
    [cached] = (cache_home / "plays").iterdir()
    assert cached.name.startswith("grammar-py") and cached.stat().st_size > 10_000
    assert (cache_home / "plays").stat().st_mode & 0o077 == 0  # private
    cached.write_bytes(b"not a pickle")  # a corrupted cache is rebuilt, silently
    again = _check_in_subprocess(cache_home, tmp_path)
    assert (again.returncode, again.stderr) == (0, "") and cached.stat().st_size > 10_000


def test_a_cache_folder_others_can_write_is_not_used(tmp_path):
    folder = tmp_path / "cache" / "plays"
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    result = _check_in_subprocess(tmp_path / "cache", tmp_path)
    assert (result.returncode, result.stderr) == (0, "") and list(folder.iterdir()) == []
