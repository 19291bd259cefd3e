"""End-to-end tests of `cnnc lsp`: pytest-lsp drives the real server over stdio.

One server serves the whole module (starting one costs about a second); each
test opens its own document URI. A second, short session starts the server
through the `cnnc` console script.
"""

from __future__ import annotations

import asyncio
import random
import time
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

import cnndsl
from cnndsl.formatter import format_source
from cnndsl.compiler import instantiate

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DOCS = "https://cnndsl.invalid/docs/diagnostics.md"

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(server_command=[sys.executable, "-m", "cnndsl", "lsp"]),
)
async def client(lsp_client: LanguageClient):
    result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            initialization_options={"diagnosticsDocs": DOCS},
        )
    )
    capabilities = result.capabilities
    assert capabilities.hover_provider and capabilities.inlay_hint_provider
    assert capabilities.document_formatting_provider and capabilities.code_action_provider
    yield
    await lsp_client.shutdown_session()


# -- helpers -----------------------------------------------------------------

_versions: dict[str, int] = {}


async def _published(client: LanguageClient, uri: str, version: int) -> list[types.Diagnostic]:
    async def wait():
        while True:
            params = await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
            if params.uri == uri and params.version == version:
                return list(params.diagnostics)

    return await asyncio.wait_for(wait(), timeout=20)


async def open_doc(client: LanguageClient, name: str, text: str) -> tuple[str, list[types.Diagnostic]]:
    uri = f"file:///work/{name}"
    _versions[uri] = 1
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="cnn", version=1, text=text)
        )
    )
    return uri, await _published(client, uri, 1)


async def change_doc(client: LanguageClient, uri: str, text: str) -> list[types.Diagnostic]:
    _versions[uri] += 1
    version = _versions[uri]
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    return await _published(client, uri, version)


def doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


def pos(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


async def hover_text(client, uri, line, character) -> str:
    result = await client.text_document_hover_async(types.HoverParams(text_document=doc(uri), position=pos(line, character)))
    assert result is not None, f"no hover at {line}:{character}"
    return result.contents.value


async def completion_labels(client, uri, line, character) -> list[str]:
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=doc(uri), position=pos(line, character))
    )
    items = result.items if isinstance(result, types.CompletionList) else result
    return [item.label for item in items]


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP edits (UTF-16 positions) the way an editor does."""
    lines = text.splitlines(keepends=True) or [""]

    def offset(position: types.Position) -> int:
        before = sum(len(line) for line in lines[: position.line])
        line = lines[position.line] if position.line < len(lines) else ""
        units = 0
        for index, char in enumerate(line):
            if units >= position.character:
                return before + index
            units += 2 if ord(char) > 0xFFFF else 1
        return before + len(line.rstrip("\r\n"))

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        start, end = offset(edit.range.start), offset(edit.range.end)
        text = text[:start] + edit.new_text + text[end:]
        lines = text.splitlines(keepends=True) or [""]
    return text


# -- diagnostics -------------------------------------------------------------

BROKEN = """\
block shrink(c) {
  conv c k5
}
network Broken
input 3x3x3
shrink 8
flatten
input 8x8x3
"""

MIXED = """\
input 8x8x3
conv 4 k3 s2
linear 10
"""


async def test_diagnostics_match_the_command_line(client: LanguageClient):
    text = BROKEN
    uri, published = await open_doc(client, "broken.cnn", text)
    expected = cnndsl.check_source(text, "broken.cnn")
    assert [d.code for d in published] == [d.code for d in expected]
    for got, want in zip(published, expected):
        assert got.range.start == pos(want.line - 1, want.column - 1)
        assert got.range.end == pos(want.end_line - 1, want.end_column - 1)
        assert got.source == "cnnc"
        assert got.message.splitlines()[0] == want.message
        for note in want.notes:
            assert f"note: {note}" in got.message
        if want.help:
            assert f"help: {want.help}" in got.message
        assert got.severity == (types.DiagnosticSeverity.Error if want.is_error else types.DiagnosticSeverity.Warning)
        assert got.code_description.href == f"{DOCS}#{want.code.lower()}"
    e0030 = next(d for d in published if d.code == "E0030")
    # Related information: the call site of the block the error is in.
    assert any(r.location.range.start.line == 5 and "called here" in r.message for r in e0030.related_information)


async def test_diagnostics_follow_changes(client: LanguageClient):
    uri, published = await open_doc(client, "changes.cnn", MIXED)
    assert {d.code for d in published} == {"W0001", "E0032"}
    fixed = await change_doc(client, uri, "input 8x8x3\nconv 4 k3 s2 p1\nflatten\nlinear 10\n")
    assert not fixed
    assert not client.diagnostics[uri]
    again = await change_doc(client, uri, "input 8x8x3\nconvv 4 k3\n")
    assert [d.code for d in again] == ["E0010"]
    assert "did you mean 'conv'?" in again[0].message


async def test_utf16_positions_after_non_ascii_text(client: LanguageClient):
    # U+1F600 is two UTF-16 units, é one; the error columns after them shift by one unit.
    text = "input 8x8x3  # café 😀\nconv 4 😀 k3 zz  # ü\n"
    uri, published = await open_doc(client, "utf16.cnn", text)
    stray = next(d for d in published if "😀" in d.message)
    assert stray.range.start == pos(1, 7) and stray.range.end == pos(1, 9)
    unknown = next(d for d in published if "'zz'" in d.message)
    assert unknown.range.start == pos(1, 13) and unknown.range.end == pos(1, 15)  # code points: 12 and 14
    # A hover asked for in UTF-16 units finds the word after the emoji.
    fine = "input 8x8x3  # café 😀\nconv 4 k3  # 😀😀 é\nrelu\n"
    await change_doc(client, uri, fine)
    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(text_document=doc(uri), range=types.Range(start=pos(0, 0), end=pos(3, 0)))
    )
    by_line = {h.position.line: h for h in hints}
    assert by_line[1].position.character == len("conv 4 k3  # ") + 4 + 2  # two emoji = 4 units, " é" = 2
    assert by_line[1].label == "-> 6x6x4, 112 params"


# -- hover -------------------------------------------------------------------


async def test_hover_on_a_layer_shows_types_parameters_and_arithmetic(client: LanguageClient):
    text = (EXAMPLES / "quiz.cnn").read_text()
    uri, _ = await open_doc(client, "quiz.cnn", text)
    line = text.splitlines().index(next(l for l in text.splitlines() if l.startswith("conv 10 k3")))
    value = await hover_text(client, uri, line, 1)
    assert "130x130x3" in value and "128x128x10" in value
    assert "(130 + 2*0 - 3)/1 + 1 = 128" in value
    assert "280 params" in value and "4,423,680 MACs" in value
    assert "nn.Conv2d(3, 10, 3)" in value
    linear = await hover_text(client, uri, line + 5, 2)
    assert "5120" in linear and "51,210" in linear


async def test_hover_on_a_block_call_and_inside_a_block(client: LanguageClient):
    text = (EXAMPLES / "vgg11.cnn").read_text()
    uri, _ = await open_doc(client, "vgg11.cnn", text)
    lines = text.splitlines()
    call = lines.index(next(l for l in lines if l.startswith("vgg 64 1")))
    value = await hover_text(client, uri, call, 1)
    assert "block vgg(c, n)" in value
    assert "c = 64" in value and "224x224x3" in value and "112x112x64" in value
    assert "nn.Conv2d(3, 64, 3, padding=1)" in value
    inner = lines.index(next(l for l in lines if "conv c k3 p1 relu" in l))
    value = await hover_text(client, uri, inner, 5)
    # Called five times, two of them with n = 2: eight instances, one row each.
    for row in ("vgg 64 1", "vgg 128 1", "vgg 256 2", "nn.Conv2d(256, 512, 3, padding=1)"):
        assert row in value
    assert "typed 8 times" in value
    # The activation suffix has its own hover.
    relu = await hover_text(client, uri, inner, lines[inner].index("relu") + 1)
    assert "nn.ReLU" in relu


# -- inlay hints -------------------------------------------------------------


async def test_inlay_hints_give_each_layer_line_its_output_type(client: LanguageClient):
    text = (EXAMPLES / "quiz.cnn").read_text()
    uri, _ = await open_doc(client, "quiz-hints.cnn", text)
    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(text_document=doc(uri), range=types.Range(start=pos(0, 0), end=pos(100, 0)))
    )
    lines = text.splitlines()
    labels = {lines[h.position.line].split("#")[0].strip(): h.label for h in hints}
    assert labels["conv 10 k3"] == "-> 128x128x10, 280 params"
    assert labels["pool 4"] == "-> 32x32x10"
    assert labels["conv 20 k5 p2"] == "-> 32x32x20, 5,020 params"
    assert labels["flatten"] == "-> 5120"
    assert labels["linear 10"] == "-> 10, 51,210 params"
    for hint in hints:  # at the end of the line
        assert hint.position.character == len(lines[hint.position.line])


# -- symbolic input sizes ----------------------------------------------------

SYMBOLIC = """\
network Seg
input HxWx3 where H >= 32
conv 64 k3 s2 p1 relu
pool 2
conv 10 k1
"""


async def test_symbolic_program_hover_and_inlay_hints(client: LanguageClient):
    uri, published = await open_doc(client, "seg.cnn", SYMBOLIC)
    assert [d.code for d in published] == [d.code for d in cnndsl.check_source(SYMBOLIC, "seg.cnn")]
    program = cnndsl.check_program(SYMBOLIC, "seg.cnn")
    smallest = instantiate(program, 32, 3)
    # The input line: the symbolic type, each bound, written or computed.
    value = await hover_text(client, uri, 1, len("input HxWx3 where H"))
    assert "`HxWx3`" in value and "`H >= 32` (written)" in value
    assert "`W >= 3` (computed: the smallest size every layer accepts)" in value
    # A layer: its symbolic type and MACs expression, with the value at the smallest size.
    value = await hover_text(client, uri, 2, 1)
    assert "`HxWx3` → `(H+1)//2 x (W+1)//2 x 64`" in value and "1,792 params" in value
    assert f"`1,728*((H+1)//2)*((W+1)//2)` MACs ({smallest.layers[0].macs:,} at 32x3, the smallest size)" in value
    assert "floor((H + 2*1 - 3)/2) + 1 = (H+1)//2" in value
    # The network: total MACs as an expression in H and W.
    value = await hover_text(client, uri, 0, 1)
    assert "`HxWx3` → `(H+1)//4 x (W+1)//4 x 10`" in value
    assert f"`{program.total_macs:,}` MACs ({smallest.total_macs:,} at 32x3" in value and "H" in format(program.total_macs, ",")
    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(text_document=doc(uri), range=types.Range(start=pos(0, 0), end=pos(10, 0)))
    )
    labels = {h.position.line: h.label for h in hints}
    assert labels == {
        1: "W >= 3 (computed)",
        2: "-> (H+1)//2 x (W+1)//2 x 64, 1,792 params",
        3: "-> (H+1)//4 x (W+1)//4 x 64",
        4: "-> (H+1)//4 x (W+1)//4 x 10, 650 params",
    }
    # Bounds completed after the size.
    assert await completion_labels(client, uri, 1, len("input HxWx3 ")) == []  # `where` is already written
    await change_doc(client, uri, "network Seg\ninput HxWx3 \nconv 8 k3 s2\n")
    assert await completion_labels(client, uri, 1, len("input HxWx3 ")) == ["where"]


async def test_symbolic_size_errors_are_published(client: LanguageClient):
    text = "network Bad\ninput HxWx3 where H >= 4, W >= 4\nconv 64 k7 relu\n"
    uri, published = await open_doc(client, "e0071.cnn", text)
    assert [d.code for d in published] == ["E0071", "E0071"]
    height = next(d for d in published if "height" in d.message)
    assert height.range.start == pos(2, 0) and height.range.end == pos(2, len("conv 64 k7 relu"))
    assert height.severity == types.DiagnosticSeverity.Error
    want = next(d for d in cnndsl.check_source(text, "e0071.cnn") if "height" in d.message)
    assert height.message.splitlines()[0] == want.message and "H = 6" in want.message
    assert f"help: {want.help}" in height.message and "H >= 7" in want.help
    assert height.code_description.href == f"{DOCS}#e0071"
    # The related location is the bound that admits the failing size.
    (related,) = height.related_information
    start = len("input HxWx3 where ")
    assert related.location.range.start == pos(1, start) and related.location.range.end == pos(1, start + len("H >= 4"))
    # Fixing the bound clears it; a flatten of a symbolic map is E0072.
    assert not await change_doc(client, uri, text.replace("4", "7"))
    flatten = await change_doc(client, uri, "input HxWx3\nconv 4 k3\nflatten\nlinear 10\n")
    assert [d.code for d in flatten] == ["E0072"] and flatten[0].range.start == pos(2, 0)


# -- completion --------------------------------------------------------------

COMPLETE = """\
block unit(c) {
  conv c k3 p1 \n  
}
input 32x32x3
conv 16 
linear 10 
pool 
input 
"""


async def test_completion_knows_where_the_cursor_is(client: LanguageClient):
    uri, _ = await open_doc(client, "complete.cnn", COMPLETE)
    start = await completion_labels(client, uri, 4, 0)
    assert {"conv", "pool", "maxpool", "linear", "relu", "unit", "repeat", "residual"} <= set(start)
    in_block = await completion_labels(client, uri, 2, 2)
    assert "unit" not in in_block and "input" not in in_block and "conv" in in_block
    after_conv = await completion_labels(client, uri, 5, 8)
    assert {"k3", "s2", "p1", "d2", "g4", "same", "nobias", "relu", "gelu", "kernel="} <= set(after_conv)
    after_linear = await completion_labels(client, uri, 6, 10)
    assert {"nobias", "relu", "softmax"} <= set(after_linear) and "k3" not in after_linear
    after_pool = await completion_labels(client, uri, 7, 5)
    assert "to" in after_pool and "s2" in after_pool and "relu" not in after_pool
    sizes = await completion_labels(client, uri, 8, 6)
    assert "224x224x3" in sizes and all("x" in s for s in sizes)
    given = await completion_labels(client, uri, 1, len("  conv c k3 p1 "))
    assert "k3" not in given and "p1" not in given and "s2" in given and "c" in given
    in_comment = await completion_labels(client, uri, 0, len("block unit(c) {"))
    assert in_comment  # not a comment: statement start after '{'


# -- symbols and definition --------------------------------------------------


async def test_document_symbols_and_go_to_definition(client: LanguageClient):
    text = (EXAMPLES / "resnet18.cnn").read_text()
    uri, _ = await open_doc(client, "resnet18.cnn", text)
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=doc(uri)))
    names = [s.name for s in symbols]
    assert names == ["basic", "down", "ResNet18"]
    down = symbols[1]
    residual = down.children[0]
    assert residual.name == "residual" and [c.name for c in residual.children][-1] == "shortcut"
    network = symbols[2]
    assert network.kind == types.SymbolKind.Class and "11,689,512 params" in network.detail
    assert any(c.name == "basic 64" for c in network.children)
    lines = text.splitlines()
    call = lines.index(next(l for l in lines if l.startswith("down 128")))
    location = await client.text_document_definition_async(
        types.DefinitionParams(text_document=doc(uri), position=pos(call, 1))
    )
    block_line = lines.index("block down(c) {")
    assert location.range.start == pos(block_line, len("block ")) and location.range.end == pos(block_line, len("block down"))
    # A parameter inside the block leads to its declaration.
    conv = next(i for i, l in enumerate(lines) if i > block_line and "conv c k3 s2" in l)
    param = await client.text_document_definition_async(
        types.DefinitionParams(text_document=doc(uri), position=pos(conv, lines[conv].index("conv c") + 5))
    )
    assert param.range.start == pos(block_line, len("block down("))


# -- code actions ------------------------------------------------------------


async def _fix(client, uri, text, code) -> str:
    diagnostics = client.diagnostics[uri]
    target = next(d for d in diagnostics if d.code == code)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=doc(uri),
            range=target.range,
            context=types.CodeActionContext(diagnostics=[target]),
        )
    )
    assert actions, f"no quick fix for {code}"
    return apply_edits(text, actions[0].edit.changes[uri]), actions[0].title


async def test_quick_fixes_insert_flatten_and_padding(client: LanguageClient):
    text = "input 32x32x3\nconv 8 k5 # keep\npool 2\nlinear 10\n"
    uri, published = await open_doc(client, "fixes.cnn", text)
    assert [d.code for d in published] == ["E0032"]
    fixed, title = await _fix(client, uri, text, "E0032")
    assert "flatten" in title and fixed == "input 32x32x3\nconv 8 k5 # keep\npool 2\nflatten\nlinear 10\n"
    assert not await change_doc(client, uri, fixed)

    small = "input 3x3x3\nconv 20 k5 relu\ndropout 0.5; linear 4\n"
    await change_doc(client, uri, small)
    fixed, title = await _fix(client, uri, small, "E0030")
    assert fixed.splitlines()[1] == "conv 20 k5 p2 relu" and "p2" in title
    after = await change_doc(client, uri, fixed)
    assert [d.code for d in after] == ["E0032"]
    fixed, _ = await _fix(client, uri, fixed, "E0032")
    assert fixed.splitlines()[2] == "dropout 0.5; flatten; linear 4"
    # What is left is a note: the 5x5 window's field is larger than the 3x3 input.
    (note,) = await change_doc(client, uri, fixed)
    assert note.code == "N0001" and note.severity == types.DiagnosticSeverity.Information

    strided = "input 8x8x3\nconv 4 k3 s2 p0\n"
    await change_doc(client, uri, strided)
    fixed, _ = await _fix(client, uri, strided, "W0001")
    assert fixed == "input 8x8x3\nconv 4 k3 s2 p1\n"
    assert not await change_doc(client, uri, fixed)


async def test_a_long_skip_that_fails_for_some_sizes_offers_the_constraint(client: LanguageClient):
    text = "input HxWx3 where H >= 8\nconv 8 k3 p1\nkeep s\npool 2\nconv 8 k3 p1\nupconv 8 k2 s2\ncat s\n"
    uri, published = await open_doc(client, "skip.cnn", text)
    assert [d.code for d in published if d.severity == types.DiagnosticSeverity.Error] == ["E0083"]
    fixed, title = await _fix(client, uri, text, "E0083")
    assert title == "add `where H % 2 == 0, W % 2 == 0` to the input line"
    assert fixed.splitlines()[0] == "input HxWx3 where H >= 8, H % 2 == 0, W % 2 == 0"
    after = await change_doc(client, uri, fixed)
    assert not [d for d in after if d.severity == types.DiagnosticSeverity.Error]
    bare = text.replace(" where H >= 8", "")
    await change_doc(client, uri, bare)
    fixed, _ = await _fix(client, uri, bare, "E0083")
    assert fixed.splitlines()[0] == "input HxWx3 where H % 2 == 0, W % 2 == 0"


# -- formatting --------------------------------------------------------------


async def test_formatting_request_uses_the_formatter(client: LanguageClient):
    messy = "network  N # é\ninput 8x8x3\nblock b( c ){\nconv c   kernel = 3;;relu\n}\nb 4 # x\n\n\n"
    uri, _ = await open_doc(client, "fmt.cnn", messy)
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(text_document=doc(uri), options=types.FormattingOptions(tab_size=2, insert_spaces=True))
    )
    formatted = apply_edits(messy, edits)
    assert formatted == format_source(messy)
    assert "  conv c kernel=3; relu" in formatted
    await change_doc(client, uri, "input 8x8x3\nconv 4 @ k3\n")
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(text_document=doc(uri), options=types.FormattingOptions(tab_size=2, insert_spaces=True))
    )
    assert not edits  # syntax errors: left unchanged


# -- robustness and fast paths -----------------------------------------------


def _broken_edits(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    sources = [p.read_text() for p in sorted(EXAMPLES.glob("*.cnn"))]
    junk = ["{", "}", "(", ")", ";", "=", ">=", "#", "\r", "\t", "\u2028", "😀", "\x00", "é", "x", "-", "99999999999999999999",
            "repeat 100000000 {", "residual {", "shortcut", "block", "input", "where", "conv", "k", "0x0x0", "\n"]
    texts = ["", "\n\n", "{" * 300, "}" * 50, "repeat 2 {" * 80, "block a() { a }\na\n", "\ufeffinput 8x8x3\n"]
    while len(texts) < count:
        text = rng.choice(sources)
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(text) + 1)
            if rng.random() < 0.5:
                text = text[:at] + rng.choice(junk) + text[at:]
            else:
                text = text[:at] + text[at + rng.randint(1, 40):]
        texts.append(text)
    return texts


async def test_a_stream_of_broken_edits_keeps_the_server_answering(client: LanguageClient):
    uri, _ = await open_doc(client, "stream.cnn", "input 8x8x3\n")
    for text in _broken_edits(seed=5, count=60):
        published = await change_doc(client, uri, text)
        assert all(d.message and "internal error" not in d.message for d in published), published
    end = pos(3, 4)
    await client.text_document_hover_async(types.HoverParams(text_document=doc(uri), position=end))
    await completion_labels(client, uri, 2, 1)
    await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=doc(uri)))
    await client.text_document_inlay_hint_async(
        types.InlayHintParams(text_document=doc(uri), range=types.Range(start=pos(0, 0), end=pos(99, 0)))
    )
    # Positions far outside the text are clamped, not errors.
    assert await client.text_document_hover_async(types.HoverParams(text_document=doc(uri), position=pos(10_000, 10_000))) is None
    await client.text_document_formatting_async(
        types.DocumentFormattingParams(text_document=doc(uri), options=types.FormattingOptions(tab_size=2, insert_spaces=True))
    )
    # Every request on every broken text still gets an answer.
    for text in _broken_edits(seed=11, count=12):
        await change_doc(client, uri, text)
        for line in range(0, 6):
            await client.text_document_hover_async(types.HoverParams(text_document=doc(uri), position=pos(line, 2)))
            await completion_labels(client, uri, line, 3)
        await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=doc(uri)))
        await client.text_document_code_action_async(
            types.CodeActionParams(text_document=doc(uri), range=types.Range(start=pos(0, 0), end=pos(50, 0)),
                                   context=types.CodeActionContext(diagnostics=[]))
        )
    # Requests for a document that was never opened get empty answers.
    assert await client.text_document_hover_async(
        types.HoverParams(text_document=doc("file:///never/opened.cnn"), position=pos(0, 0))
    ) is None
    status = await client.protocol.send_request_async("cnnc/status", None)
    assert status.version == cnndsl.__version__  # pygls turns unknown results into namedtuples


class _Publishes:
    """Every publishDiagnostics version for one document, recorded as each message is handled."""

    def __init__(self, client: LanguageClient, uri: str) -> None:
        self.protocol, self.uri, self.versions = client.protocol, uri, []
        self.handle = self.protocol._handle_notification

    def __enter__(self):
        def record(method, params):
            if method == types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS and params.uri == self.uri:
                self.versions.append(params.version)
            return self.handle(method, params)

        self.protocol._handle_notification = record
        return self

    def __exit__(self, *exc):
        del self.protocol._handle_notification


async def _analyses(client: LanguageClient, uri: str) -> int:
    """How many analyses the server has run for a document."""
    status = await client.protocol.send_request_async("cnnc/status", None)
    return dict((name, count) for name, count in status.analyses).get(uri, 0)


def _send_change(client: LanguageClient, uri: str, text: str) -> int:
    _versions[uri] += 1
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=_versions[uri]),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    return _versions[uri]


async def test_a_burst_of_edits_publishes_only_the_last_version(client: LanguageClient):
    lines = ["input 32x32x3"] + [f"conv {8 + i % 5} k3 p1\nrelu" for i in range(60)]
    uri, _ = await open_doc(client, "burst.cnn", "\n".join(lines) + "\n")
    before = await _analyses(client, uri)
    with _Publishes(client, uri) as published:
        for i in range(20):  # each version has its own mistake on its own line
            lines[1 + i] = f"conv 0 k3 p{i}"
            last = _send_change(client, uri, "\n".join(lines) + "\n")
        diagnostics = await _published(client, uri, last)
        await asyncio.sleep(0.5)  # a late publish of an older version would arrive by now
    assert published.versions == [last]
    assert sorted(d.range.start.line for d in diagnostics if d.severity == types.DiagnosticSeverity.Error) == list(range(1, 21))
    # The newest text, and at most one analysis that an edit made obsolete.
    assert 1 <= await _analyses(client, uri) - before <= 2


async def test_requests_never_wait_for_an_analysis_that_an_edit_made_obsolete(client: LanguageClient):
    small = "input 32x32x3\nconv 8 k3 p1\nrelu\n"
    large = "input 32x32x3\n" + "conv 8 k3 p1\nrelu\n" * 20_000
    from cnndsl.lsp.analysis import Analysis

    started = time.perf_counter()
    Analysis(large, "slow.cnn")
    analysis_time = time.perf_counter() - started  # what the obsolete analysis costs the server
    uri, _ = await open_doc(client, "slow.cnn", small)
    with _Publishes(client, uri) as published:
        obsolete = _send_change(client, uri, large)
        await asyncio.sleep(0.2)  # past the debounce: the server is analysing the large text now
        newest = _send_change(client, uri, small.replace("conv 8", "conv 9"))
        started = time.perf_counter()
        result = await client.text_document_hover_async(types.HoverParams(text_document=doc(uri), position=pos(1, 1)))
        hover_time = time.perf_counter() - started
        await _published(client, uri, newest)
    # Answered from the newest completed analysis (the first text's) at once,
    # not after the large text's analysis, which no one needs any more.
    assert result is not None and "conv" in result.contents.value
    assert hover_time < analysis_time / 2, (hover_time, analysis_time)
    assert obsolete not in published.versions and published.versions == [newest]


async def test_the_server_never_imports_torch(client: LanguageClient):
    # By now this server has checked, hovered, completed and formatted many texts.
    text = (EXAMPLES / "resnet34.cnn").read_text()
    uri, _ = await open_doc(client, "torch.cnn", text)
    line = text.splitlines().index(next(l for l in text.splitlines() if l.startswith("stage 128 3")))
    assert "block stage(c, n)" in await hover_text(client, uri, line, 2)
    status = await client.protocol.send_request_async("cnnc/status", None)
    assert status.torch_loaded is False
    assert list(status.heavy_modules) == []


@pytest.mark.skipif(shutil.which("cnnc") is None, reason="the cnnc console script is not on PATH")
async def test_cnnc_lsp_console_script_serves():
    config = ClientServerConfig(server_command=[shutil.which("cnnc"), "lsp"])
    client = await config.start()
    try:
        await client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities()))
        uri = "file:///work/script.cnn"
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="cnn", version=1, text="input 4x4x1\nlinear 2\n")
            )
        )
        diagnostics = await _published(client, uri, 1)
        assert [d.code for d in diagnostics] == ["E0032"]
        assert diagnostics[0].code_description is not None  # the default docs location of a checkout
        await client.shutdown_session()
    finally:
        await client.stop()
