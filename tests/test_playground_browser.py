"""The playground page in a real headless Chromium (Debian's, driven by
Playwright): one `cnnc serve` and one browser for the module, a fresh page
per test. These run in CI (a browser test may not skip there: conftest.py).

The screenshot in the README (docs/images/playground.png) is made here:
`CNNDSL_UPDATE_GOLDENS=1 python -m pytest tests/test_playground_browser.py`
rewrites it; otherwise the test checks that it is there.
"""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import updating_goldens

ROOT = Path(__file__).resolve().parent.parent
QUIZ = (ROOT / "examples" / "quiz.cnn").read_text()
SCREENSHOT = ROOT / "docs" / "images" / "playground.png"
VIEWPORT = {"width": 1400, "height": 860}
WAIT = 20_000  # ms: generous for a loaded CI machine; a passing test waits far less


@pytest.fixture(scope="module")
def server_url():
    process = subprocess.Popen(
        [sys.executable, "-m", "cnndsl", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert match, line + process.stderr.read() if process.poll() is not None else line
        yield match.group(0)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser(chromium):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium.playwright_options())
        yield browser
        browser.close()


class Page:
    """A fresh page on the playground, with what it asked the network for and what it logged."""

    def __init__(self, browser, url: str) -> None:
        from playwright.sync_api import expect

        self.expect = expect
        self.url = url
        self.context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.complaints: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.complaints.append(f"page error: {error}"))
        self.page.on("console", lambda message: message.type == "error" and self.complaints.append(message.text))

    def open(self, url: str | None = None) -> None:
        self.page.goto(url or self.url)
        self.idle()

    def idle(self) -> None:
        """Wait for the editor's text to be checked."""
        self.expect(self.page.locator("#status[data-state=idle]")).to_be_attached(timeout=WAIT)

    def type_at_end(self, text: str) -> None:
        self.page.mouse.move(VIEWPORT["width"] - 5, VIEWPORT["height"] - 5)  # no tooltip in the way
        self.page.locator(".cm-content").focus()
        self.page.keyboard.press("Control+End")
        self.page.keyboard.type(text)

    def replace_text(self, text: str) -> None:
        self.page.locator(".cm-content").focus()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.insert_text(text)

    def editor_text(self) -> str:
        """The text in the editor's lines, without the hints (a short text: every line is drawn)."""
        return self.page.evaluate(
            """() => [...document.querySelectorAll(".cm-line")].map((line) => {
                   const copy = line.cloneNode(true);
                   copy.querySelectorAll(".cm-widgetBuffer, .cm-type-hint").forEach((hint) => hint.remove());
                   return copy.textContent;
               }).join("\\n")"""
        )

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def page(browser, server_url):
    opened = Page(browser, server_url)
    yield opened
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(server_url))
    elsewhere = [url for url in opened.requests if not (url.startswith(origin) or url.startswith(("blob:", "data:")))]
    opened.close()
    assert elsewhere == [], "the page asked the network for something else"
    assert opened.complaints == []


def test_the_quiz_is_typed_on_the_page(page):
    page.open()
    status = page.page.locator("#status")
    page.expect(status).to_have_text("Quiz: 6 layers, 56,510 params")
    summary = page.page.locator("#summary")
    page.expect(summary).to_contain_text("16x16x20")
    page.expect(summary).to_contain_text("56,510")
    page.expect(summary).to_contain_text("Estimated Total Size")
    # Each layer line's output type beside it, as the editor's inlay hints.
    hints = page.page.locator(".cm-type-hint")
    page.expect(hints).to_have_count(6)
    page.expect(hints.nth(3)).to_have_text("-> 16x16x20")
    page.expect(page.page.locator(".cm-line").nth(8)).to_contain_text("-> 16x16x20")
    # The diagram: one element per layer.
    page.expect(page.page.locator("#diagram svg [data-layer]")).to_have_count(6)
    assert page.editor_text().strip() == QUIZ.strip()


def test_a_mistake_is_shown_at_its_line_until_it_is_fixed(page):
    page.open()
    page.replace_text("network Tiny\ninput 3x3x3\n\n")
    page.type_at_end("conv 20 k5")
    mark = page.page.locator(".cm-lintRange-error")
    page.expect(mark).to_have_text("conv 20 k5", timeout=WAIT)
    page.expect(page.page.locator(".cm-line").nth(3)).to_contain_text("conv 20 k5")
    assert page.page.locator(".cm-line").nth(3).locator(".cm-lintRange-error").count() == 1
    page.expect(page.page.locator("#status")).to_contain_text("line 4: E0030")
    # Its message and help on hover.
    mark.hover()
    tooltip = page.page.locator(".cm-tooltip-lint")
    page.expect(tooltip).to_contain_text("error[E0030]", timeout=WAIT)
    page.expect(tooltip).to_contain_text("does not fit the 3x3x3 feature map")
    page.expect(tooltip).to_contain_text("help: add padding")
    # Fixed: the mark goes, the type comes.
    page.type_at_end(" p2")
    page.expect(mark).to_have_count(0, timeout=WAIT)
    page.expect(page.page.locator(".cm-type-hint")).to_have_text("-> 3x3x20, 1,520 params")
    page.expect(page.page.locator("#status")).to_have_text("Tiny: 1 layers, 1,520 params")


def test_hover_explains_a_layer_with_the_users_numbers(page):
    page.open()
    line = page.page.locator(".cm-line").nth(7)  # conv 20 k5 p2
    box = line.bounding_box()
    page.page.mouse.move(box["x"] + 12, box["y"] + 9)  # on "conv" (the line may wrap after its hint)
    hover = page.page.locator(".cnn-hover")
    page.expect(hover).to_contain_text("height: (32 + 2*2 - 5)/1 + 1 = 32", timeout=WAIT)
    page.expect(hover).to_contain_text("params: 20*5*5*10 + 20 = 5,020")


def test_layers_link_the_editor_the_table_and_the_diagram(page):
    page.open()
    page.expect(page.page.locator("#diagram svg")).to_be_attached(timeout=WAIT)
    # Table -> editor: the layer's statement is selected.
    page.page.locator('#summary tr[data-layer="2"]').click()
    page.expect(page.page.locator(".cm-activeLine")).to_contain_text("conv 20 k5 p2")
    selected = page.page.evaluate("document.getSelection().toString()")
    assert selected == "conv 20 k5 p2"
    # ... and the layer is marked in the table and the diagram.
    page.expect(page.page.locator('#summary tr[data-layer="2"]')).to_have_class(re.compile("selected"))
    page.expect(page.page.locator('#diagram [data-layer="2"].selected')).to_have_count(1)
    # Diagram -> editor: a box (the layer that made it) ...
    page.page.locator('#diagram g.step:has(> [data-layer="3"]) > g').click()
    page.expect(page.page.locator(".cm-activeLine")).to_contain_text("pool 2")
    page.expect(page.page.locator('#diagram g.step.chosen:has(> [data-layer="3"])')).to_have_count(1)
    # ... or a layer's label.
    page.page.locator('#diagram [data-layer="5"]').click()
    page.expect(page.page.locator(".cm-activeLine")).to_contain_text("linear 10")
    page.expect(page.page.locator('#summary tr[data-layer="5"]')).to_have_class(re.compile("selected"))
    # Editor -> table and diagram: the cursor's line.
    page.page.keyboard.press("ArrowUp")  # collapses the selection
    page.page.keyboard.press("ArrowUp")  # line 10: flatten
    page.expect(page.page.locator('#summary tr[data-layer="4"]')).to_have_class(re.compile("selected"))
    page.expect(page.page.locator('#diagram [data-layer="4"].selected')).to_have_count(1)
    page.expect(page.page.locator("#summary tr.selected")).to_have_count(1)


def test_the_share_link_holds_the_program(page, browser, server_url):
    page.open()
    page.type_at_end("\n# shared: 🙂 ünïcode")
    page.idle()
    page.page.locator("#share").click()
    link = page.page.locator("#share-link")
    page.expect(link).to_have_value(re.compile(r"#name=quiz\.cnn&z="), timeout=WAIT)
    shared = link.input_value()
    parts = urlsplit(shared)
    assert parts.path == "/" and parts.query == ""  # the program is in the fragment: the server never sees it
    text = page.editor_text()
    other = Page(browser, server_url)
    try:
        other.open(shared)
        assert other.editor_text() == text
        other.expect(other.page.locator("#filename")).to_have_text("quiz.cnn")
        other.expect(other.page.locator("#status")).to_have_text("Quiz: 6 layers, 56,510 params")
        assert other.complaints == []
    finally:
        other.close()


def test_code_tab_and_downloads(page):
    page.open()
    page.page.get_by_role("tab", name="PyTorch").click()
    code = page.page.locator("#code")
    page.expect(code).to_contain_text("nn.Linear(5120, 10)", timeout=WAIT)
    assert code.inner_text().strip() == (ROOT / "examples" / "quiz.py").read_text().strip()
    for button, name, start in (("#download-cnn", "quiz.cnn", "# The flattening quiz"), ("#download-py", "quiz.py", '"""'),
                                ("#download-svg", "quiz.svg", "<?xml")):
        with page.page.expect_download() as info:
            page.page.locator(button).click()
        download = info.value
        assert download.suggested_filename == name
        content = Path(download.path()).read_text()
        assert content.startswith(start), (name, content[:80])
    assert content.count("data-layer=") == 6


def test_examples_menu_opens_the_zoo(page):
    page.open()
    page.page.locator("#examples").select_option("zoo/resnet50")
    page.expect(page.page.locator("#status")).to_have_text(
        "ResNet50: 159 layers, 25,557,032 params · Ctrl-Z brings your text back", timeout=WAIT
    )
    page.expect(page.page.locator("#filename")).to_have_text("resnet50.cnn")
    page.page.locator(".cm-content").focus()
    page.page.keyboard.press("Control+z")
    page.expect(page.page.locator("#status")).to_have_text("Quiz: 6 layers, 56,510 params", timeout=WAIT)


def test_verify_shows_its_table(page):
    page.open()
    page.page.locator("#verify").click()
    report = page.page.locator("#verify-report")
    page.expect(report).to_have_attribute("data-state", "ok", timeout=180_000)  # the first Verify imports torch
    page.expect(report).to_contain_text("verified on cpu, batch 2: 6 layers, 56,510 parameters")
    page.expect(report).to_contain_text("Conv2d(10, 20, 5, padding=2)")
    page.expect(report).to_contain_text("(20, 32, 32)")


def test_screenshot_in_the_readme(page):
    """docs/images/playground.png: the quiz, with a hover showing the arithmetic."""
    if not updating_goldens():
        data = SCREENSHOT.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", data[16:24])
        assert (width, height) == (VIEWPORT["width"], VIEWPORT["height"])
        return
    page.open()
    page.expect(page.page.locator("#diagram svg")).to_be_attached(timeout=WAIT)
    page.page.locator('#summary tr[data-layer="2"]').click()  # the layer marked in the table and the diagram
    page.expect(page.page.locator('#diagram [data-layer="2"].selected')).to_have_count(1)
    line = page.page.locator(".cm-line").nth(7)
    box = line.bounding_box()
    page.page.mouse.move(box["x"] + 12, box["y"] + 9)  # on "conv" (the line may wrap after its hint)
    page.expect(page.page.locator(".cnn-hover")).to_be_visible(timeout=WAIT)
    page.page.screenshot(path=str(SCREENSHOT))
