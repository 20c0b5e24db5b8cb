"""A small stdio client of `minidl-lsp`, for the tests, the benchmark and trying it by hand.

async with SpecClient() as client:
    await client.open("file:///tmp/x.mdl", text)
    diagnostics = await client.diagnostics("file:///tmp/x.mdl", version=0)
"""

from __future__ import annotations

import asyncio
import sys
from types import TracebackType
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

__all__ = ["SpecClient"]


class SpecClient:
    """Starts `python -m minidl.lsp`, initialises it, and remembers published diagnostics."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self.client = LanguageClient("minidl-test-client", "0.1")
        self.published: dict[str, types.PublishDiagnosticsParams] = {}
        self._changed = asyncio.Condition()
        self.versions: dict[str, int] = {}
        self._raw_id = 0

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)  # type: ignore[untyped-decorator]
        async def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
            async with self._changed:
                self.published[params.uri] = params
                self._changed.notify_all()

    async def __aenter__(self) -> SpecClient:
        await self.client.start_io(sys.executable, "-m", "minidl.lsp")
        await asyncio.wait_for(
            self.client.initialize_async(
                types.InitializeParams(
                    capabilities=types.ClientCapabilities(
                        general=types.GeneralClientCapabilities(
                            position_encodings=[types.PositionEncodingKind.Utf8]
                        )
                    ),
                    process_id=None,
                )
            ),
            self.timeout,
        )
        self.client.initialized(types.InitializedParams())
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), 10)
            self.client.exit(None)
        except Exception:
            pass
        await self.client.stop()  # type: ignore[no-untyped-call]

    @property
    def alive(self) -> bool:
        """Whether the server process is still running."""
        server = self.client._server
        return server is not None and server.returncode is None

    def open(self, uri: str, text: str) -> None:
        """Open a document at version 0."""
        self.versions[uri] = 0
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="mdl", version=0, text=text
                )
            )
        )

    def change(self, uri: str, text: str, range: types.Range | None = None) -> int:
        """Replace the whole text (or `range` of it) and return the new version."""
        self.versions[uri] += 1
        change: Any = (
            types.TextDocumentContentChangeWholeDocument(text=text)
            if range is None
            else types.TextDocumentContentChangePartial(range=range, text=text)
        )
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.versions[uri]
                ),
                content_changes=[change],
            )
        )
        return self.versions[uri]

    async def diagnostics(self, uri: str, version: int | None = None) -> list[types.Diagnostic]:
        """The diagnostics published for `uri` at `version` (the latest one by default)."""
        wanted = self.versions[uri] if version is None else version

        def ready() -> bool:
            params = self.published.get(uri)
            return params is not None and params.version == wanted

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(ready), self.timeout)
        return list(self.published[uri].diagnostics)

    async def request(self, method: str, params: Any) -> Any:
        """Send a request and wait for its answer; position params fit any position request."""
        if isinstance(params, types.TextDocumentPositionParams):
            params = _POSITION_PARAMS.get(method, type(params))(
                text_document=params.text_document, position=params.position
            )
        future = self.client.protocol.send_request_async(method, params)
        return await asyncio.wait_for(future, self.timeout)

    async def raw_request(self, method: str, params: Any) -> Any:
        """Send a request with `params` as given JSON data, unchecked (to test bad requests)."""
        protocol = self.client.protocol
        self._raw_id += 1
        msg_id = f"raw-{self._raw_id}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        protocol._request_futures[msg_id] = future  # type: ignore[assignment]
        protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return await asyncio.wait_for(future, self.timeout)


_POSITION_PARAMS: dict[str, type[Any]] = {
    types.TEXT_DOCUMENT_HOVER: types.HoverParams,
    types.TEXT_DOCUMENT_COMPLETION: types.CompletionParams,
    types.TEXT_DOCUMENT_DEFINITION: types.DefinitionParams,
}
