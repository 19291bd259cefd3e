"""What each request of the page gets: JSON-ready answers, from one cache.

The page asks several questions about the same text in a row (its types as
you type, then the diagram, a hover, the code tab), so the last few checked
versions are kept in memory, keyed by file name and text. Nothing is written
anywhere: the server holds no state but this cache and its examples.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path

from . import markup, views
from .adapter import Checked, Verified, examples_dir, parse_cache

CACHED_VERSIONS = 8
OPEN_DOCUMENTS = 16
MIN_DRAW_WIDTH, MAX_DRAW_WIDTH = 300, 4000

# The examples menu: the lesson's programs first, then every family of the zoo.
FEATURED = (
    ("lesson", "The lesson"),
    ("quiz", "The quiz"),
    ("lenet5", "LeNet-5"),
    ("vgg16", "VGG-16"),
    ("resnet18", "ResNet-18"),
)


@dataclass(frozen=True)
class Example:
    key: str  # "quiz", "zoo/resnet50"
    label: str
    group: str
    path: Path

    @property
    def filename(self) -> str:
        return self.path.name


def find_examples(folder: Path | None = None) -> dict[str, Example]:
    """The menu's examples, by key, in menu order."""
    folder = folder or examples_dir()
    found: dict[str, Example] = {}
    for stem, label in FEATURED:
        path = folder / f"{stem}.cnn"
        if path.is_file():
            found[stem] = Example(stem, label, "Examples", path)
    for path in sorted((folder / "zoo").glob("*.cnn")):
        key = f"zoo/{path.stem}"
        found[key] = Example(key, path.stem, "Model zoo (torchvision's families)", path)
    return found


class Workbench:
    """Checked versions of the page's text, and the answers built from them."""

    def __init__(self) -> None:
        self._cache: OrderedDict[tuple[str, str], Checked] = OrderedDict()
        # A parse cache per open page (its `document` id), as the language server keeps one per file.
        self._documents: OrderedDict[str, object] = OrderedDict()
        # One check (or hover, or table) at a time: the parse caches and the
        # language server's lazily built indexes are not shared between
        # threads. Drawings, code and verification only read a checked version
        # and run outside it.
        self._lock = threading.Lock()

    def checked(self, text: str, filename: str, document: str | None = None) -> Checked:
        key = (filename, text)
        with self._lock:
            found = self._cache.get(key)
            if found is None:
                found = Checked(text, filename, self._parse_cache(document))
                self._cache[key] = found
                while len(self._cache) > CACHED_VERSIONS:
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(key)
            return found

    def _parse_cache(self, document: str | None):
        if not document:
            return None
        found = self._documents.pop(document, None) or parse_cache()
        self._documents[document] = found
        while len(self._documents) > OPEN_DOCUMENTS:
            self._documents.popitem(last=False)
        return found

    # -- as you type ---------------------------------------------------------
    def check(self, text: str, filename: str, document: str | None = None) -> dict:
        """Diagnostics and the hint after each line: what each keystroke must update."""
        checked = self.checked(text, filename, document)
        with self._lock:
            problems = checked.problems()
            layers, params = checked.totals
            return {
                "network": checked.network,
                "ok": checked.ok,
                "layers": layers,
                "params": params,
                "errors": sum(1 for p in problems if p.severity == "error"),
                "warnings": sum(1 for p in problems if p.severity != "error"),
                "diagnostics": [{**asdict(p), "html": views.problem_html(p)} for p in problems],
                "hints": [asdict(h) for h in checked.hints()],
            }

    def summary(self, text: str, filename: str) -> dict:
        """The summary table, and each layer's lines and statement (the table's and the diagram's links to the editor)."""
        checked = self.checked(text, filename)
        if not checked.ok:
            return {"summary": None, "layers": []}
        with self._lock:
            return {
                "summary": views.summary_parts(checked.overview()),
                "layers": [
                    {"index": r.index, "line": r.line, "calls": list(r.calls), "start": r.start, "end": r.end}
                    for r in checked.rows()
                ],
            }

    def hover(self, text: str, filename: str, offset: int) -> dict | None:
        checked = self.checked(text, filename)
        with self._lock:
            found = checked.hover(offset)
        if found is None:
            return None
        return {"html": markup.to_html(found.markdown), "start": found.start, "end": found.end}

    # -- a moment later --------------------------------------------------------
    def draw(self, text: str, filename: str, width: float) -> dict:
        checked = self.checked(text, filename)
        if not checked.ok:
            return {"svg": None, "reason": "fix the errors to draw the network"}
        width = max(MIN_DRAW_WIDTH, min(MAX_DRAW_WIDTH, width))
        # Outside the lock: drawing only reads this checked version, and a
        # keystroke's check must not wait for a whole drawing.
        try:
            return {"svg": checked.svg(width)}
        except ValueError as error:
            return {"svg": None, "reason": str(error)}

    def build(self, text: str, filename: str) -> dict:
        checked = self.checked(text, filename)
        if not checked.ok:
            return {"code": None, "reason": "fix the errors to generate the module"}
        code = checked.python_source()  # outside the lock, as a drawing
        return {"code": code, "filename": Path(filename).with_suffix(".py").name}

    # -- on request --------------------------------------------------------------
    def verify(self, text: str, filename: str) -> dict:
        """`cnnc verify` on the CPU; the caller runs one at a time (it takes seconds and memory)."""
        checked = self.checked(text, filename)
        if not checked.ok:
            return {"ok": False, "html": views.verification_html(Verified(False, "not run: fix the errors first"))}
        verified = checked.verify()  # not under the lock: typing goes on meanwhile
        return {"ok": verified.ok, "html": views.verification_html(verified)}
