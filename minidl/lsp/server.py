"""The MDL language server: pygls over stdio, diagnostics as you type, and the editor features.

Each change is analysed off the request path (one worker thread; changes that arrive while it
works are coalesced, so only the newest text is analysed next), by the document's own
`Diagnoser`, which parses again only the statements that the change touched. Requests read
the analysis cached for the document's current version. A request whose parameters do not
parse, or that names a document never opened, gets a JSON-RPC error answer; nothing stops
the server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from minidl.lang import Diagnoser
from minidl.lsp import features
from minidl.lsp.analysis import Analysis, analyze
from minidl.lsp.fixes import quick_fixes

__all__ = ["LANGUAGE_ID", "MdlLanguageServer", "MdlProtocol", "server"]

LANGUAGE_ID = "mdl"
DEBOUNCE_S = 0.0
"""A pause before analysing. None is needed: while one analysis runs, the changes that arrive
are coalesced, so a burst of keystrokes costs one analysis after the first; a pause would
only add to every change's latency. (Zero still lets already-read messages run first.)"""

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Malformed:
    """A request whose parameters did not parse: answered with -32602, never dispatched."""

    id: int | str
    method: str
    reason: str


class MdlProtocol(LanguageServerProtocol):
    """pygls' protocol, but a request with malformed parameters gets an error answer.

    Stock pygls logs the failure and drops the request's id, so the client waits forever;
    JSON-RPC asks for an error response (-32602, invalid params).
    """

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            if isinstance(data, dict) and "id" in data and "method" in data:
                cause = error.__cause__ or error
                return _Malformed(data["id"], str(data["method"]), str(cause).splitlines()[0])
            raise

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Malformed):
            error = JsonRpcInvalidParams(f"invalid params for {message.method}: {message.reason}")
            self._send_response(message.id, error=error.to_response_error())
            return
        super().handle_message(message)

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(
        self, params: types.InitializeParams
    ) -> Generator[Any, Any, types.InitializeResult]:
        # Positions are always UTF-16 (the LSP's default), whatever else the client offers.
        if params.capabilities.general is not None:
            params.capabilities.general.position_encodings = None
        return (yield from super().lsp_initialize(params))


class MdlLanguageServer(LanguageServer):
    """The server: open documents, their latest analyses, and the analysis worker."""

    def __init__(self) -> None:
        super().__init__(
            "minidl-lsp",
            "0.1.0",
            protocol_cls=MdlProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.analyses: dict[str, Analysis] = {}
        self.diagnosers: dict[str, Diagnoser] = {}
        """Each open document's, used by the worker thread only."""
        self._pending: set[str] = set()
        self._worker: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mdl-analysis")

    def report_server_error(self, error: Exception, source: Any) -> None:
        # Logged, never shown in a window: requests already carry their errors.
        logger.error("%s: %s", getattr(source, "__name__", source), error)

    def schedule(self, uri: str) -> None:
        """Analyse `uri` soon, and publish its diagnostics."""
        self._pending.add(uri)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        await asyncio.sleep(DEBOUNCE_S)
        loop = asyncio.get_running_loop()
        while self._pending:
            uri = self._pending.pop()
            document = self.workspace.text_documents.get(uri)
            if document is None:
                continue
            text, version = document.source, document.version
            name = filename(uri)
            diagnoser = self.diagnosers.get(uri)
            if diagnoser is None or diagnoser.filename != name:
                diagnoser = self.diagnosers[uri] = Diagnoser(name)
            try:
                analysis = await loop.run_in_executor(
                    self._executor, analyze, uri, version, text, name, diagnoser
                )
            except Exception:
                logger.exception("analysing %s failed", uri)
                continue
            if uri in self._pending or uri not in self.workspace.text_documents:
                continue  # a newer text is waiting: publish that one
            self.analyses[uri] = analysis
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=uri, version=version, diagnostics=analysis.lsp_diagnostics
                )
            )

    def analysis(self, uri: str, *, full: bool = False) -> Analysis:
        """The analysis of the document's current text.

        The cached one when it is current; otherwise the text alone (outline-level features
        work on it), or, with `full`, a fresh full analysis. A document never opened is an error.
        """
        document = self.workspace.text_documents.get(uri)
        if document is None:
            raise JsonRpcInvalidParams(f"document not open: {uri}")
        cached = self.analyses.get(uri)
        if cached is not None and cached.version == document.version:
            return cached
        if full:
            return analyze(uri, document.version, document.source, filename(uri))
        return Analysis(uri, document.version, document.source, filename(uri))


def filename(uri: str) -> str:
    """The file path of a document (CSV data is found relative to it), or its URI."""
    try:
        return to_fs_path(uri) or uri
    except Exception:
        return uri


server = MdlLanguageServer()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: MdlLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.analyses.pop(params.text_document.uri, None)
    ls.diagnosers.pop(params.text_document.uri, None)
    ls.schedule(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: MdlLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: MdlLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.analyses.pop(uri, None)
    ls.diagnosers.pop(uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: MdlLanguageServer, params: types.HoverParams) -> types.Hover | None:
    return features.hover(ls.analysis(params.text_document.uri), params.position)


@server.feature(
    types.TEXT_DOCUMENT_COMPLETION,
    types.CompletionOptions(trigger_characters=["=", "|", "(", " "]),
)
def completion(ls: MdlLanguageServer, params: types.CompletionParams) -> types.CompletionList:
    items = features.completion(ls.analysis(params.text_document.uri), params.position)
    return types.CompletionList(is_incomplete=False, items=items)


@server.feature(types.TEXT_DOCUMENT_FORMATTING)
def formatting(
    ls: MdlLanguageServer, params: types.DocumentFormattingParams
) -> list[types.TextEdit]:
    return features.formatting(ls.analysis(params.text_document.uri, full=True))


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def definition(ls: MdlLanguageServer, params: types.DefinitionParams) -> list[types.Location]:
    return features.definition(ls.analysis(params.text_document.uri), params.position)


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
def references(ls: MdlLanguageServer, params: types.ReferenceParams) -> list[types.Location]:
    return features.references(
        ls.analysis(params.text_document.uri),
        params.position,
        params.context.include_declaration,
    )


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbols(
    ls: MdlLanguageServer, params: types.DocumentSymbolParams
) -> list[types.DocumentSymbol]:
    return features.symbols(ls.analysis(params.text_document.uri))


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
)
def code_action(ls: MdlLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    return quick_fixes(ls.analysis(params.text_document.uri, full=True), params.range)
