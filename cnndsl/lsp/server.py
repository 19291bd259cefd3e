"""`cnnc lsp`: the language server (pygls 2 on stdio).

The server keeps one `Analysis` (cnndsl/lsp_features.py) per open document,
rebuilt on every open and change, and publishes its diagnostics at once.
Requests (hover, inlay hints, completion, symbols, definition, code actions,
formatting) read the latest analysis. Every handler is guarded: whatever the
text or the request, the server answers (an empty answer at worst) and keeps
serving. It never imports torch, black or jinja2.

Documents are synchronised in full (`TextDocumentSyncKind.Full`): .cnn files
are small, and pygls' incremental sync splits lines with `str.splitlines`,
which breaks lines where the protocol does not (U+2028, form feeds, ...).
Position conversion lives in cnndsl/lsp_positions.py, nowhere else.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from .. import __version__
from .analysis import Analysis
from ..syntax.incremental import ParseCache

logger = logging.getLogger("cnndsl.lsp")

STATUS = "cnnc/status"
DOCS_ENV = "CNNC_DIAGNOSTICS_DOCS"


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
        self.analyses: dict[str, Analysis] = {}
        # Per document: re-parse only the statements an edit changed.
        self.parse_caches: dict[str, ParseCache] = {}
        self.docs_url: str | None = default_docs_url()

    @property
    def encoding(self) -> str:
        try:
            return str(self.workspace.position_encoding or "utf-16")
        except Exception:  # before initialize
            return "utf-16"

    def analyse(self, uri: str) -> Analysis | None:
        document = self.workspace.get_text_document(uri)
        cache = self.parse_caches.setdefault(uri, ParseCache())
        analysis = Analysis(document.source, document.path or uri, self.encoding, cache)
        self.analyses[uri] = analysis
        return analysis

    def publish(self, uri: str, version: int | None) -> None:
        try:
            analysis = self.analyse(uri)
            diagnostics = analysis.diagnostics(uri, self.docs_url) if analysis else []
        except Exception as error:  # a bug in cnnc: say so in the editor, keep serving
            logger.exception("checking %s failed", uri)
            self.analyses.pop(uri, None)
            self.parse_caches.pop(uri, None)
            diagnostics = [
                types.Diagnostic(
                    range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)),
                    severity=types.DiagnosticSeverity.Error,
                    source="cnnc",
                    message=f"internal error in cnnc while checking this file ({type(error).__name__}: {error}); "
                    "please report it with the file",
                )
            ]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )


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
        ls.publish(params.text_document.uri, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    @_guarded()
    def did_change(ls: CnnLanguageServer, params: types.DidChangeTextDocumentParams):
        ls.publish(params.text_document.uri, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    @_guarded()
    def did_close(ls: CnnLanguageServer, params: types.DidCloseTextDocumentParams):
        uri = params.text_document.uri
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
            "torch_loaded": "torch" in sys.modules,
            "heavy_modules": sorted(m for m in ("torch", "black", "jinja2") if m in sys.modules),
        }

    return server


def serve() -> None:
    """Run the server on stdin/stdout until the client says exit."""
    logging.basicConfig(level=os.environ.get("CNNC_LSP_LOG", "WARNING").upper(), stream=sys.stderr)
    create_server().start_io()
