"""`cnnc lsp`: the language server (pygls 2 on stdio).

The server keeps one `Analysis` (cnndsl/lsp/analysis.py) per open document:
the newest one completed. Requests (hover, inlay hints, completion, symbols,
definition, code actions, formatting) are answered from it at once, never
after waiting for an analysis. Analyses run one at a time on a worker thread
(`Scheduler`), so the event loop keeps reading messages and answering
requests while one runs. An edit is analysed after DEBOUNCE seconds without
a newer edit to the same document; an analysis whose document changed while
it ran is kept for requests but its diagnostics are not published, and the
newest text is analysed next. So a burst of edits costs at most one analysis
that nobody asked for, and only the newest version's diagnostics are
published. Every handler is guarded: whatever the text or the request, the
server answers (an empty answer at worst) and keeps serving. It never
imports torch, black or jinja2.

Documents are synchronised in full (`TextDocumentSyncKind.Full`): .cnn files
are small, and pygls' incremental sync splits lines with `str.splitlines`,
which breaks lines where the protocol does not (U+2028, form feeds, ...).
Position conversion lives in cnndsl/lsp_positions.py, nowhere else.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from .. import __version__
from .analysis import Analysis
from ..syntax.incremental import ParseCache

logger = logging.getLogger("cnndsl.lsp")

STATUS = "cnnc/status"
DOCS_ENV = "CNNC_DIAGNOSTICS_DOCS"
# How long an edit waits for the next one before it is analysed: keystrokes
# of a burst (typing, an editor's multi-edit) come closer together than this.
DEBOUNCE = 0.015


def default_docs_url() -> str | None:
    """Where codeDescription links point: docs/diagnostics.md of this checkout.

    Overridden by the `diagnosticsDocs` initialization option or the
    CNNC_DIAGNOSTICS_DOCS environment variable (a URL without the `#code`).
    """
    if os.environ.get(DOCS_ENV):
        return os.environ[DOCS_ENV]
    docs = Path(__file__).resolve().parents[2] / "docs"  # the checkout: cnndsl/lsp/server.py
    if docs.is_dir():
        return (docs / "diagnostics.md").as_uri()
    return None


class CnnLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("cnnc", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full)
        # Per document: the newest completed analysis, what requests read.
        self.analyses: dict[str, Analysis] = {}
        # Per document: re-parse only the statements an edit changed.
        self.parse_caches: dict[str, ParseCache] = {}
        self.docs_url: str | None = default_docs_url()
        self.scheduler = Scheduler(self)

    @property
    def encoding(self) -> str:
        try:
            return str(self.workspace.position_encoding or "utf-16")
        except Exception:  # before initialize
            return "utf-16"

    def analyse(self, uri: str, text: str, path: str) -> tuple[Analysis | None, list]:
        """One analysis and its diagnostics (run on the worker thread)."""
        try:
            cache = self.parse_caches.setdefault(uri, ParseCache())
            analysis = Analysis(text, path, self.encoding, cache)
            return analysis, analysis.diagnostics(uri, self.docs_url)
        except Exception as error:  # a bug in cnnc: say so in the editor, keep serving
            logger.exception("checking %s failed", uri)
            self.parse_caches.pop(uri, None)
            return None, [
                types.Diagnostic(
                    range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)),
                    severity=types.DiagnosticSeverity.Error,
                    source="cnnc",
                    message=f"internal error in cnnc while checking this file ({type(error).__name__}: {error}); "
                    "please report it with the file",
                )
            ]


class Scheduler:
    """When documents are analysed: one at a time, off the event loop, newest text only.

    Per document, one task loops: wait until the document has had no edit for
    DEBOUNCE seconds, take its text and version, analyse them on the worker
    thread, keep the analysis; publish its diagnostics if the document is
    still at that version, else go round again for the newer text.
    """

    def __init__(self, server: CnnLanguageServer) -> None:
        self.server = server
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cnnc-analysis")
        self.tasks: dict[str, asyncio.Task] = {}
        self.quiet_from: dict[str, float] = {}  # per document: when it may be analysed
        self.analysed: dict[str, int] = {}  # per document: analyses run (cnnc/status, tests)

    def changed(self, uri: str, delay: float) -> None:
        """The document changed (or opened): analyse it once it has been quiet for `delay`."""
        loop = asyncio.get_running_loop()
        self.quiet_from[uri] = loop.time() + delay
        task = self.tasks.get(uri)
        if task is None or task.done():
            self.tasks[uri] = loop.create_task(self._run(uri))

    def closed(self, uri: str) -> None:
        task = self.tasks.pop(uri, None)
        if task is not None:
            task.cancel()  # an analysis already on the worker finishes; its result is dropped
        self.quiet_from.pop(uri, None)
        self.analysed.pop(uri, None)

    async def _run(self, uri: str) -> None:
        try:
            await self._analyse_until_current(uri)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug in the scheduling itself: log it, keep serving
            logger.exception("analysing %s failed", uri)

    async def _analyse_until_current(self, uri: str) -> None:
        loop = asyncio.get_running_loop()
        server = self.server
        while True:
            while (wait := self.quiet_from.get(uri, 0) - loop.time()) > 0:
                await asyncio.sleep(wait)
            document = server.workspace.get_text_document(uri)
            version, text = document.version, document.source
            analysis, diagnostics = await loop.run_in_executor(
                self.worker, server.analyse, uri, text, document.path or uri
            )
            if self.tasks.get(uri) is not asyncio.current_task():
                return  # closed (and maybe opened again) meanwhile
            self.analysed[uri] = self.analysed.get(uri, 0) + 1
            if analysis is not None:
                server.analyses[uri] = analysis
            else:
                server.analyses.pop(uri, None)
            if server.workspace.get_text_document(uri).version == version and self.quiet_from.get(uri, 0) <= loop.time():
                server.text_document_publish_diagnostics(
                    types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
                )
                return
            # Edited while it ran: its diagnostics are out of date; analyse the newest text.


def _guarded(default=None):
    """Log and swallow any exception from a handler: the server keeps serving."""

    def wrap(handler):
        @functools.wraps(handler)
        def guarded(server, params):
            try:
                return handler(server, params)
            except Exception:
                logger.exception("%s failed", handler.__name__)
                return default() if callable(default) else default

        return guarded

    return wrap


def create_server() -> CnnLanguageServer:
    server = CnnLanguageServer()

    @server.feature(types.INITIALIZE)
    @_guarded()
    def initialize(ls: CnnLanguageServer, params: types.InitializeParams):
        options = params.initialization_options
        if isinstance(options, dict) and isinstance(options.get("diagnosticsDocs"), str):
            ls.docs_url = options["diagnosticsDocs"] or None

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    @_guarded()
    def did_open(ls: CnnLanguageServer, params: types.DidOpenTextDocumentParams):
        ls.scheduler.changed(params.text_document.uri, 0.0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    @_guarded()
    def did_change(ls: CnnLanguageServer, params: types.DidChangeTextDocumentParams):
        ls.scheduler.changed(params.text_document.uri, DEBOUNCE)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    @_guarded()
    def did_close(ls: CnnLanguageServer, params: types.DidCloseTextDocumentParams):
        uri = params.text_document.uri
        ls.scheduler.closed(uri)
        ls.analyses.pop(uri, None)
        ls.parse_caches.pop(uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def current(ls: CnnLanguageServer, uri: str) -> Analysis | None:
        return ls.analyses.get(uri)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    @_guarded()
    def hover(ls: CnnLanguageServer, params: types.HoverParams):
        analysis = current(ls, params.text_document.uri)
        if analysis is None:
            return None
        return analysis.hover(analysis.index.offset(params.position))

    @server.feature(types.TEXT_DOCUMENT_INLAY_HINT, types.InlayHintOptions(resolve_provider=False))
    @_guarded(list)
    def inlay_hints(ls: CnnLanguageServer, params: types.InlayHintParams):
        analysis = current(ls, params.text_document.uri)
        if analysis is None:
            return []
        index = analysis.index
        return analysis.inlay_hints(index.offset(params.range.start), index.offset(params.range.end))

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=[" ", "="], resolve_provider=False),
    )
    @_guarded(lambda: types.CompletionList(is_incomplete=False, items=[]))
    def completion(ls: CnnLanguageServer, params: types.CompletionParams):
        analysis = current(ls, params.text_document.uri)
        if analysis is None:
            return types.CompletionList(is_incomplete=False, items=[])
        return analysis.completion(analysis.index.offset(params.position))

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @_guarded(list)
    def document_symbols(ls: CnnLanguageServer, params: types.DocumentSymbolParams):
        analysis = current(ls, params.text_document.uri)
        return analysis.symbols() if analysis is not None else []

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    @_guarded()
    def definition(ls: CnnLanguageServer, params: types.DefinitionParams):
        analysis = current(ls, params.text_document.uri)
        if analysis is None:
            return None
        return analysis.definition(analysis.index.offset(params.position), params.text_document.uri)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    @_guarded(list)
    def code_actions(ls: CnnLanguageServer, params: types.CodeActionParams):
        analysis = current(ls, params.text_document.uri)
        if analysis is None:
            return []
        index = analysis.index
        return analysis.code_actions(
            index.offset(params.range.start), index.offset(params.range.end), params.text_document.uri, ls.docs_url
        )

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    @_guarded()
    def formatting(ls: CnnLanguageServer, params: types.DocumentFormattingParams):
        analysis = current(ls, params.text_document.uri)
        return analysis.formatting() if analysis is not None else None

    @server.feature(STATUS)
    @_guarded()
    def status(ls: CnnLanguageServer, params):
        """Not part of LSP: what the server has loaded (tests check torch is not)."""
        return {
            "version": __version__,
            "documents": len(ls.analyses),
            # Analyses run per open document: [[uri, count], ...].
            "analyses": sorted([uri, count] for uri, count in ls.scheduler.analysed.items()),
            "torch_loaded": "torch" in sys.modules,
            "heavy_modules": sorted(m for m in ("torch", "black", "jinja2") if m in sys.modules),
        }

    return server


def serve() -> None:
    """Run the server on stdin/stdout until the client says exit."""
    logging.basicConfig(level=os.environ.get("CNNC_LSP_LOG", "WARNING").upper(), stream=sys.stderr)
    create_server().start_io()
