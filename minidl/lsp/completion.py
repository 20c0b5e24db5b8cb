"""Completion: what may be written at the cursor (layers and blocks, statements, options,
an option's values), read from the cursor's own statement."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from itertools import islice

from lsprotocol import types

from minidl.lang.registry import LAYERS, STATEMENTS, option_names
from minidl.lsp.analysis import Analysis
from minidl.lsp.cursor import defined_blocks, model_of
from minidl.lsp.outline import Statement, Token
from minidl.lsp.words import describe_option, describe_word, enumeration, variant_names

__all__ = ["completion"]


def completion(analysis: Analysis, position: types.Position) -> list[types.CompletionItem]:
    """What may be written at the cursor: layers and blocks, statements, options, values."""
    offset = analysis.lines.offset(position)
    context = Statement()
    for token in _statement_tokens(analysis, offset):
        if token.start >= offset:
            break
        if token.end > offset or (token.end == offset and token.kind in ("comment", "string")):
            if token.kind in ("comment", "string"):
                return []
            break  # the word being typed: not context
        if token.end == offset and token.kind in ("name", "number"):
            break
        if token.kind == "comment":
            continue
        context.tokens = [] if token.text == ";" else [*context.tokens, token]
    index = len(context.tokens)
    last = context.tokens[-1].text if context.tokens else ""
    if last == "=" and index >= 2 and context.is_key(index - 2):
        head = context.head_before(index - 2)
        model = model_of(context, head) if head else None
        values = enumeration(model, context.tokens[index - 2].text) if model else None
        return [_item(v, types.CompletionItemKind.EnumMember) for v in values or []]
    if context.kind == "statement" and index == 1 and variant_names(context.word):
        return [
            _item(v, types.CompletionItemKind.EnumMember, describe_word(context.word, v))
            for v in variant_names(context.word)
        ]
    if context.is_head(index):
        items = _stage_items(analysis)
        if index == 0:
            items += [
                _item(w, types.CompletionItemKind.Keyword, describe_word(w))
                for w in ("let", *STATEMENTS)
            ]
        return items
    head = context.head_before(index)
    model = model_of(context, head) if head else None
    if model is None:
        return []
    return [
        types.CompletionItem(
            label=name,
            kind=types.CompletionItemKind.Property,
            insert_text=f"{name}=",
            documentation=_markdown(describe_option(model, name)),
        )
        for name in option_names(model)
    ]


def _statement_tokens(analysis: Analysis, offset: int) -> Iterator[Token]:
    """The tokens from the start of the statement at `offset` on: the context of a completion
    is its own statement, and reading from the top of a long document would cost each request
    a pass over all of it."""
    every = analysis.tokens
    first = bisect.bisect_left(every, offset, key=lambda token: token.start)
    while first > 0 and not (every[first - 1].kind == "punct" and every[first - 1].text == ";"):
        first -= 1
    return islice(every, first, None)


def _stage_items(analysis: Analysis) -> list[types.CompletionItem]:
    layers = [_item(w, types.CompletionItemKind.Class, describe_word(w)) for w in LAYERS]
    blocks = [
        _item(name, types.CompletionItemKind.Function, None, "block")
        for name in defined_blocks(analysis)
    ]
    return layers + blocks


def _item(
    label: str,
    kind: types.CompletionItemKind,
    documentation: str | None = None,
    detail: str | None = None,
) -> types.CompletionItem:
    return types.CompletionItem(
        label=label,
        kind=kind,
        detail=detail,
        documentation=_markdown(documentation) if documentation else None,
    )


def _markdown(text: str) -> types.MarkupContent:
    return types.MarkupContent(kind=types.MarkupKind.Markdown, value=text)
