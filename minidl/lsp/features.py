"""The editor features, as plain functions of an `Analysis` and an LSP position.

Hover, formatting and the blocks' definition, references and symbols live here;
completion in `minidl.lsp.completion`, re-exported so that the server finds every feature
in one place.
"""

from __future__ import annotations

from lsprotocol import types

from minidl.lang import SpecError, format_text
from minidl.lang.carried import Carried, describe_shape
from minidl.lang.format import format_stage
from minidl.lang.registry import LAYERS, STATEMENTS, option_names
from minidl.lang.walk import expand, measure
from minidl.lsp.analysis import Analysis
from minidl.lsp.completion import completion
from minidl.lsp.cursor import defined_blocks, model_of, token_at
from minidl.lsp.outline import Statement, Token
from minidl.lsp.words import describe_option, describe_word

__all__ = ["completion", "definition", "formatting", "hover", "references", "symbols"]

_EXPANSION_SHOWN = 12


# -- hover --------------------------------------------------------------------------------


def hover(analysis: Analysis, position: types.Position) -> types.Hover | None:
    """A stage's widths and parameters; a block's expansion; a word's or option's meaning."""
    offset = analysis.lines.offset(position)
    found = token_at(analysis, offset)
    if found is None:
        return None
    statement, index = found
    token = statement.tokens[index]
    if token.kind != "name":
        return None
    text = _hover_text(analysis, statement, index)
    if text is None:
        return None
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
        range=types.Range(
            start=analysis.lines.position_of(token.start), end=analysis.lines.position_of(token.end)
        ),
    )


def _hover_text(analysis: Analysis, statement: Statement, index: int) -> str | None:
    token = statement.tokens[index]
    if statement.is_key(index):
        head = statement.head_before(index)
        model = model_of(statement, head) if head else None
        if model is None or token.text not in option_names(model):
            return None
        return describe_option(model, token.text)
    if statement.kind == "statement" and index == 1:
        return describe_word(statement.word, token.text)
    if statement.is_head(index) or (statement.kind == "let" and index == 1):
        if token.text in LAYERS:
            widths = _stage_widths(analysis, token)
            meaning = describe_word(token.text) or ""
            return f"{widths}\n\n{meaning}" if widths else meaning
        if token.text in defined_blocks(analysis):
            return _block_text(analysis, token.text)
        if statement.kind == "statement":
            variant = statement.tokens[1].text if len(statement.tokens) > 1 else None
            return describe_word(token.text, variant)
    return None


def _stage_widths(analysis: Analysis, token: Token) -> str | None:
    """`in -> out, N parameters` of each expansion of the stage written at `token`."""
    resolution = analysis.resolution
    if resolution is None:
        return None
    line = analysis.lines.position_of(token.start).line + 1
    column = token.start - analysis.lines.starts[line - 1] + 1
    seen: dict[tuple[Carried | None, Carried | None, int | None], int] = {}
    for layer in resolution.layers:
        span = layer.span
        if span is None or (span.line, span.column) != (line, column):
            continue
        key = (layer.in_features, layer.out_features, layer.parameters)
        seen[key] = seen.get(key, 0) + 1
    if not seen:
        return None
    rows = []
    for (n_in, n_out, params), count in seen.items():
        times = f" (×{count})" if count > 1 else ""
        rows.append(
            f"`{token.text}`: {_count(n_in)} → {_count(n_out)}, {_count(params)} parameters{times}"
        )
    return "\n\n".join(rows)


def _count(value: Carried | None) -> str:
    return "?" if value is None else describe_shape(value)


def _block_text(analysis: Analysis, name: str) -> str:
    spec = analysis.spec
    if spec is None:
        return f"**{name}**: a block (defined with `let`)"
    blocks = {block.name: block.stages for block in spec.blocks}
    body = blocks.get(name, ())
    shown = [format_stage(s) for s in expand(body, blocks, _EXPANSION_SHOWN + 1)]
    total, _ = measure(body, blocks)
    more = " | …" if len(shown) > _EXPANSION_SHOWN else ""
    written = " | ".join(format_stage(s) for s in body)
    stages = "stage" if total == 1 else "stages"
    listed = " | ".join(shown[:_EXPANSION_SHOWN])
    return f"**{name}** = `{written}`\n\nexpands to {total:,} {stages}: `{listed}{more}`"


# -- formatting ---------------------------------------------------------------------------


def formatting(analysis: Analysis) -> list[types.TextEdit]:
    """The canonical text as one edit of the whole document; none when the spec has errors."""
    if analysis.spec is None:
        return []
    try:
        formatted = format_text(analysis.text, analysis.filename)
    except SpecError:
        return []
    if formatted == analysis.text:
        return []
    whole = types.Range(start=types.Position(line=0, character=0), end=analysis.lines.end())
    return [types.TextEdit(range=whole, new_text=formatted)]


# -- blocks: definition, references; symbols ----------------------------------------------


def _block_under(analysis: Analysis, position: types.Position) -> str | None:
    found = token_at(analysis, analysis.lines.offset(position))
    if found is None:
        return None
    statement, index = found
    token = statement.tokens[index]
    is_definition = statement.block_name() is token
    if token.kind == "name" and (is_definition or statement.is_head(index)):
        return token.text if token.text in defined_blocks(analysis) else None
    return None


def _location(analysis: Analysis, token: Token) -> types.Location:
    lines = analysis.lines
    return types.Location(
        uri=analysis.uri,
        range=types.Range(start=lines.position_of(token.start), end=lines.position_of(token.end)),
    )


def definition(analysis: Analysis, position: types.Position) -> list[types.Location]:
    """Where the `let` block under the cursor is defined."""
    name = _block_under(analysis, position)
    if name is None:
        return []
    return [_location(analysis, defined_blocks(analysis)[name])]


def references(
    analysis: Analysis, position: types.Position, include_declaration: bool
) -> list[types.Location]:
    """Every use of the `let` block under the cursor (and its definition, if asked)."""
    name = _block_under(analysis, position)
    if name is None:
        return []
    found = []
    for statement in analysis.statements:
        for index, token in enumerate(statement.tokens):
            if token.text != name or token.kind != "name":
                continue
            if statement.block_name() is token:
                if include_declaration:
                    found.append(_location(analysis, token))
            elif statement.is_head(index):
                found.append(_location(analysis, token))
    return found


def symbols(analysis: Analysis) -> list[types.DocumentSymbol]:
    """The blocks, the network and the statements, in the order written."""
    lines = analysis.lines
    out = []
    for statement in analysis.statements:
        whole = types.Range(
            start=lines.position_of(statement.start), end=lines.position_of(statement.end)
        )
        first = statement.tokens[0]
        selection = types.Range(
            start=lines.position_of(first.start), end=lines.position_of(first.end)
        )
        if statement.kind == "let":
            name_token = statement.block_name()
            if name_token is None:
                continue
            selection = _location(analysis, name_token).range
            name, kind, detail = name_token.text, types.SymbolKind.Function, "block"
        elif statement.kind == "network":
            name, kind, detail = "network", types.SymbolKind.Module, None
        else:
            variant = statement.tokens[1].text if len(statement.tokens) > 1 else ""
            positional = (
                STATEMENTS[statement.word].positional and variant and not (statement.is_key(1))
            )
            name = f"{statement.word} {variant}" if positional else statement.word
            kind, detail = types.SymbolKind.Property, "statement"
        out.append(
            types.DocumentSymbol(
                name=name, kind=kind, range=whole, selection_range=selection, detail=detail
            )
        )
    return out
