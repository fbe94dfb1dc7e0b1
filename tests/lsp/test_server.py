"""`plays lsp` driven over stdio by a real LSP client (pytest-lsp): diagnostics, completion, hover, navigation.

Each test starts its own server (about 1.5 s of imports, pygls's protocol types mostly): all but the first
are marked slow, so the inner loop (-m "not slow") still talks to a real server once.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pygls.uris import from_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient

ROOT = Path(__file__).resolve().parents[2]

CATALOG = """account {
  name: text
  segment: enum(smb, enterprise)
  go_live_date: date
}
metric mau: count "Monthly active users"
metric mrr: money "Monthly recurring revenue"
"""

ALERTS = """alert usage_drop "MAU fell" {
  severity: high
  where: segment == enterprise
  when: pct_change(mau, 7d) <= -20%
  playbook {
    task call "Call {{ account.name }}" { type: call  due: 2d }
  }
}
"""

GOALS = """goal adoption "Adoption" {
  duration: 30d
  deploy: on account.go_live_date
  kpi: mrr up 10%
  playbook {
    task call "Call {{ account.name }}" { type: call  due: 2d }
    task follow_up "Follow up" { type: email  after: call  due: 3d }
  }
}
"""
AFTER_CALL = GOALS.split("\n")[6].index("after: call") + len("after: ")  # the column of `call` in `after: call`


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "plays.cli", "lsp"]))
async def client(lsp_client: LanguageClient, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ws")
    (folder / "catalog.play").write_text(CATALOG)
    (folder / "alerts.play").write_text(ALERTS)
    (folder / "goals.play").write_text(GOALS)
    lsp_client.folder = folder
    lsp_client.registrations = []

    @lsp_client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
    def register(client: LanguageClient, params: lsp.RegistrationParams):
        client.registrations.extend(params.registrations)

    await lsp_client.initialize_session(
        lsp.InitializeParams(
            capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
            workspace_folders=[lsp.WorkspaceFolder(uri=from_fs_path(str(folder)), name="ws")],
            root_uri=from_fs_path(str(folder)),
        )
    )
    yield
    await lsp_client.shutdown_session()


def uri(client, name: str) -> str:
    return from_fs_path(str(client.folder / name))


async def diagnostics_after(client, action, *names: str) -> dict:
    """Run ``action`` and wait until the diagnostics of ``names`` (default: the file acted on) are published."""
    client.diagnostics.clear()
    action()
    wanted = {uri(client, n) for n in names or (client.acted_on,)}
    async with asyncio.timeout(30):
        while not wanted <= set(client.diagnostics):
            await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return client.diagnostics


def open_doc(client, name: str, text: str) -> None:
    client.acted_on = name
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri(client, name), language_id="plays", version=1, text=text)
        )
    )


def change(client, name: str, version: int, text: str, rng: lsp.Range | None = None) -> None:
    client.acted_on = name
    event = (
        lsp.TextDocumentContentChangePartial(range=rng, text=text)
        if rng is not None
        else lsp.TextDocumentContentChangeWholeDocument(text=text)
    )
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri(client, name), version=version),
            content_changes=[event],
        )
    )


def rng(line: int, col: int, end_line: int, end_col: int) -> lsp.Range:
    return lsp.Range(start=lsp.Position(line=line, character=col), end=lsp.Position(line=end_line, character=end_col))


@pytest.mark.asyncio
async def test_diagnostics_appear_with_check_codes_and_spans_and_clear_when_fixed(client):
    bad = ALERTS.replace("segment == enterprise", "segment == enterprize")
    got = await diagnostics_after(client, lambda: open_doc(client, "alerts.play", bad))
    (d,) = got[uri(client, "alerts.play")]
    # plays check: alerts.play:3:21: error[E302] ... (1-based; LSP is 0-based, end exclusive)
    assert (d.code, d.severity, d.source) == ("E302", lsp.DiagnosticSeverity.Error, "plays")
    assert d.range == rng(2, 20, 2, 30)
    assert "did you mean `enterprise`?" in d.message
    assert uri(client, "catalog.play") not in got  # not open, clean, never published: nothing to say
    # fix it with an incremental change of the one word: the file is published clean
    got = await diagnostics_after(client, lambda: change(client, "alerts.play", 2, "enterprise", rng(2, 20, 2, 30)))
    assert list(got[uri(client, "alerts.play")]) == []


@pytest.mark.asyncio
@pytest.mark.slow
async def test_names_resolve_across_files_and_an_edit_in_one_file_shows_in_another(client):
    got = await diagnostics_after(client, lambda: open_doc(client, "catalog.play", CATALOG))
    assert list(got[uri(client, "catalog.play")]) == []  # the opened file is answered, clean
    # rename the metric in the catalog (unsaved): alerts.play, not open, now uses an unknown name
    renamed = CATALOG.replace("metric mau:", "metric active_users:")
    got = await diagnostics_after(client, lambda: change(client, "catalog.play", 2, renamed), "alerts.play")
    (d,) = got[uri(client, "alerts.play")]
    # plays check: alerts.play:4:20: error[E301]: the first argument of `pct_change` must be a metric name
    assert d.code == "E301" and d.range == rng(3, 19, 3, 22) and d.message == "the first argument of `pct_change` must be a metric name"
    got = await diagnostics_after(client, lambda: change(client, "catalog.play", 3, CATALOG), "alerts.play")
    assert list(got[uri(client, "alerts.play")]) == []


@pytest.mark.asyncio
@pytest.mark.slow
async def test_a_syntax_error_while_typing_is_the_checks_error(client):
    text = ALERTS.replace("  severity: high\n", "  severity: high\n  when: mau >\n")
    got = await diagnostics_after(client, lambda: open_doc(client, "alerts.play", text))
    codes = [d.code for d in got[uri(client, "alerts.play")]]
    assert codes == ["E100"]


async def completion_labels(client, name: str, line: int, col: int) -> list[str]:
    result = await client.text_document_completion_async(
        lsp.CompletionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri(client, name)), position=lsp.Position(line=line, character=col)
        )
    )
    items = result.items if isinstance(result, lsp.CompletionList) else result
    return sorted(i.label for i in items)


@pytest.mark.asyncio
@pytest.mark.slow
async def test_completion_at_a_few_cursor_positions(client):
    text = ALERTS.replace("  severity: high\n", "  \n  severity: \n")
    await diagnostics_after(client, lambda: open_doc(client, "alerts.play", text))
    assert await completion_labels(client, "alerts.play", 2, 12) == ["critical", "high", "low", "medium"]
    # an empty line in an alert: the keys an alert takes, and `playbook`
    assert await completion_labels(client, "alerts.play", 1, 2) == [
        "cooldown", "for", "playbook", "severity", "when", "where",
    ]
    # the first argument of pct_change: a metric (in a declaration without a syntax error before the cursor)
    change(client, "alerts.play", 2, ALERTS)
    assert await completion_labels(client, "alerts.play", 3, 19) == [
        "account", "false", "mau", "mrr", "not", "true",
    ]
    # after: the other tasks of the same playbook (here before the cursor, and after it)
    goals = GOALS.replace("after: call", "after: ").replace("  }\n}", '    task last "Last" { due: 9d }\n  }\n}')
    await diagnostics_after(client, lambda: open_doc(client, "goals.play", goals))
    assert await completion_labels(client, "goals.play", 6, AFTER_CALL) == ["call", "last"]


async def hover_text(client, name: str, line: int, col: int) -> str | None:
    result = await client.text_document_hover_async(
        lsp.HoverParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri(client, name)), position=lsp.Position(line=line, character=col)
        )
    )
    return None if result is None else result.contents.value


@pytest.mark.asyncio
@pytest.mark.slow
async def test_hover_a_metric_a_function_an_attribute_and_a_diagnostic(client):
    bad = ALERTS.replace("severity: high", "severity: hgh")
    await diagnostics_after(client, lambda: open_doc(client, "alerts.play", bad))
    assert await hover_text(client, "alerts.play", 3, 21) == "```\nmetric mau: count\n```\n\nMonthly active users"
    text = await hover_text(client, "alerts.play", 3, 10)
    assert text.startswith("```\npct_change(m, 7d)\n```") and "(gives percent)" in text
    assert await hover_text(client, "alerts.play", 2, 10) == (
        "```\naccount.segment: enum(smb, enterprise)\n```\n\nan attribute of the account catalog"
    )
    text = await hover_text(client, "alerts.play", 1, 13)
    assert "E208" in text and "value not allowed" in text
    assert await hover_text(client, "alerts.play", 0, 0) is None
    text = await hover_text(client, "alerts.play", 5, 10)
    assert text == 'task `call` "Call {{ account.name }}" of `usage_drop`'


@pytest.mark.asyncio
@pytest.mark.slow
async def test_definition_and_references_of_a_metric_and_a_task(client):
    await diagnostics_after(client, lambda: open_doc(client, "alerts.play", ALERTS))
    ident = lsp.TextDocumentIdentifier(uri=uri(client, "alerts.play"))
    (loc,) = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=ident, position=lsp.Position(line=3, character=20))
    )
    assert loc.uri == uri(client, "catalog.play") and loc.range == rng(5, 7, 5, 10)
    refs = await client.text_document_references_async(
        lsp.ReferenceParams(
            text_document=ident, position=lsp.Position(line=3, character=20),
            context=lsp.ReferenceContext(include_declaration=True),
        )
    )
    assert [(r.uri.rsplit("/", 1)[1], r.range.start.line, r.range.start.character) for r in refs] == [
        ("catalog.play", 5, 7), ("alerts.play", 3, 19),
    ]
    # `after: call` jumps to the task `call` of the same playbook (goals.play, not open: read from disk)
    goals = lsp.TextDocumentIdentifier(uri=uri(client, "goals.play"))
    await diagnostics_after(client, lambda: open_doc(client, "goals.play", GOALS))
    (loc,) = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=goals, position=lsp.Position(line=6, character=AFTER_CALL + 1))
    )
    assert loc.uri == uri(client, "goals.play") and loc.range == rng(5, 9, 5, 13)
    refs = await client.text_document_references_async(
        lsp.ReferenceParams(
            text_document=goals, position=lsp.Position(line=5, character=10),
            context=lsp.ReferenceContext(include_declaration=False),
        )
    )
    assert [(r.range.start.line, r.range.start.character) for r in refs] == [(6, AFTER_CALL)]
    # the task `call` of alerts.play is another task: not a reference


@pytest.mark.asyncio
@pytest.mark.slow
async def test_the_attribute_of_deploy_on_jumps_to_the_catalog(client):
    await diagnostics_after(client, lambda: open_doc(client, "goals.play", GOALS))
    ident = lsp.TextDocumentIdentifier(uri=uri(client, "goals.play"))
    (loc,) = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=ident, position=lsp.Position(line=2, character=25))
    )
    assert loc.uri == uri(client, "catalog.play") and loc.range == rng(3, 2, 3, 14)
    (loc,) = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=ident, position=lsp.Position(line=3, character=8))
    )
    assert loc.range == rng(6, 7, 6, 10)


@pytest.mark.asyncio
@pytest.mark.slow
async def test_formatting_is_plays_fmt_and_leaves_an_unparsable_file_alone(client):
    from plays.dsl.fmt import format_source

    messy = 'metric mau:count  "Monthly active users"\nalert low{when:mau<5 # few\n}'
    await diagnostics_after(client, lambda: open_doc(client, "messy.play", messy))
    ident = lsp.TextDocumentIdentifier(uri=uri(client, "messy.play"))
    options = lsp.FormattingOptions(tab_size=2, insert_spaces=True)
    (edit,) = await client.text_document_formatting_async(
        lsp.DocumentFormattingParams(text_document=ident, options=options)
    )
    assert edit.new_text == format_source(messy) == (
        'metric mau: count "Monthly active users"\n\nalert low {\n  when: mau < 5  # few\n}\n'
    )
    assert edit.range == rng(0, 0, 3, 0)  # the whole document: from its start to past its last line
    # already formatted: no edit; not parsable: no edit either (the diagnostics say why)
    await diagnostics_after(client, lambda: change(client, "messy.play", 2, edit.new_text))
    assert list(await client.text_document_formatting_async(
        lsp.DocumentFormattingParams(text_document=ident, options=options)
    )) == []
    await diagnostics_after(client, lambda: change(client, "messy.play", 3, "alert low { when: }"))
    assert list(await client.text_document_formatting_async(
        lsp.DocumentFormattingParams(text_document=ident, options=options)
    )) == []


def test_without_pygls_it_says_how_to_install_it(tmp_path):
    import subprocess

    # A site folder whose pygls cannot be imported stands for an installation without the extra.
    (tmp_path / "pygls").mkdir()
    (tmp_path / "pygls" / "__init__.py").write_text("raise ImportError('no pygls here')\n")
    proc = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); from plays.cli import main; main(['lsp'])"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr == "plays: error: the language server needs pygls: pip install 'plays[lsp]'\n"
    assert proc.stdout == ""


@pytest.mark.asyncio
@pytest.mark.slow
async def test_an_unsaved_buffer_is_not_checked_but_still_completed(client):
    untitled = "untitled:Untitled-1"
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=untitled, language_id="plays", version=1, text="alert a {\n  sev")
        )
    )
    result = await client.text_document_completion_async(
        lsp.CompletionParams(text_document=lsp.TextDocumentIdentifier(uri=untitled), position=lsp.Position(line=1, character=5))
    )
    assert sorted(i.label for i in result.items) == ["cooldown", "for", "playbook", "severity", "when", "where"]
    assert untitled not in client.diagnostics
    # and the server goes on with the workspace
    got = await diagnostics_after(client, lambda: open_doc(client, "alerts.play", ALERTS.replace("high", "hgh")))
    assert [d.code for d in got[uri(client, "alerts.play")]] == ["E208"]


@pytest.mark.asyncio
@pytest.mark.slow
async def test_ranges_count_utf16_code_units_after_an_emoji(client):
    # `😋` is one character to plays check (column 30 below) and two UTF-16 code units to the client.
    text = ALERTS.replace('{ type: call  due: 2d }', '{ type: call  due: 2d }\n    task e "Email 😋" { type: emial }')
    got = await diagnostics_after(client, lambda: open_doc(client, "alerts.play", text))
    (d,) = got[uri(client, "alerts.play")]
    line = text.split("\n")[6]
    assert d.code == "E208" and line.index("emial") == 29  # characters before it, the emoji counted once
    assert d.range == rng(6, 30, 6, 35)


@pytest.mark.asyncio
@pytest.mark.slow
async def test_a_file_written_outside_the_editor_joins_the_spec_set_when_the_client_reports_it(client):
    await diagnostics_after(client, lambda: open_doc(client, "alerts.play", ALERTS))
    # the server asked to be told of .play files changing on disk
    (reg,) = client.registrations
    assert reg.method == lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES
    assert [w["globPattern"] for w in reg.register_options["watchers"]] == [  # as sent (JSON)
        "**/*.play", "**/plays.toml", "**/pyproject.toml",
    ]
    (client.folder / "more.play").write_text('alert more { when: mau > 1  severity: hgh }\n')

    def report():
        client.acted_on = "more.play"
        client.workspace_did_change_watched_files(
            lsp.DidChangeWatchedFilesParams(
                changes=[lsp.FileEvent(uri=uri(client, "more.play"), type=lsp.FileChangeType.Created)]
            )
        )

    got = await diagnostics_after(client, report)
    assert [d.code for d in got[uri(client, "more.play")]] == ["W402", "E208"]
