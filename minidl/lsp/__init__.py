"""`minidl-lsp`: the MDL language server (diagnostics, hover, completion, formatting, ...).

    minidl-lsp            # or: python -m minidl.lsp; speaks LSP over stdin and stdout

Never imports torch: it reads specs with `minidl.lang` only.
"""

from __future__ import annotations

import argparse
import logging

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    """Run the language server over standard input and output."""
    parser = argparse.ArgumentParser(prog="minidl-lsp", description=__doc__.splitlines()[0])
    parser.add_argument("--stdio", action="store_true", help="talk over stdio (the default)")
    parser.add_argument("--log-level", default="WARNING", help="logging level, to stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    from minidl.lsp.server import server

    server.start_io()
