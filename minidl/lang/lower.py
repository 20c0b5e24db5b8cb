"""Stage 2: the lark tree to syntax nodes (`minidl.lang.syntax`), purely structurally."""

from __future__ import annotations

import re

from lark import Token, Tree

from minidl.lang.literals import ESCAPES
from minidl.lang.syntax import (
    Bare,
    Call,
    Distribution,
    Group,
    JoinOp,
    JoinStage,
    Let,
    Option,
    Pipeline,
    RepeatStage,
    Shape,
    Statement,
    SyntaxStage,
    Value,
)

__all__ = ["lower", "lower_assignment", "lower_value"]

_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_BOOLEANS = {"true": True, "false": False}


def lower(tree: Tree[Token]) -> list[Statement]:
    """Turn a `spec` tree into its statements, in source order."""
    return [_statement(child) for child in tree.children if isinstance(child, Tree)]


def lower_assignment(tree: Tree[Token]) -> Option:
    """Turn an `assignment` tree (`key=value`, from `--set`) into an option."""
    return _option(tree)


def _statement(tree: Tree[Token]) -> Statement:
    if tree.data == "let":
        _, name, _, body = tree.children
        assert isinstance(name, Token) and isinstance(body, Tree)
        return Let(str(name), _pipeline(body), *_span(tree), _start(name), _end(name))
    return _pipeline(tree)


def _pipeline(tree: Tree[Token]) -> Pipeline:
    stages = tuple(_stage(c) for c in tree.children if isinstance(c, Tree))
    return Pipeline(stages, *_span(tree))


def _stage(tree: Tree[Token]) -> SyntaxStage:
    if tree.data == "join":
        branches = tuple(_operand(c) for c in tree.children if isinstance(c, Tree))
        ops = tuple(
            JoinOp(str(t), _start(t), _end(t)) for t in tree.children if isinstance(t, Token)
        )
        return JoinStage(branches, ops, *_span(tree))
    if tree.data == "repeat":
        term, _, count = tree.children
        assert isinstance(term, Tree) and isinstance(count, Token)
        inner = _stage(term)
        assert isinstance(inner, Call | Group)
        return RepeatStage(inner, int(count), *_span(tree), _start(count))
    if tree.data == "group":
        _, pipeline, _ = tree.children
        assert isinstance(pipeline, Tree)
        return Group(_pipeline(pipeline).stages, *_span(tree))
    name, *arguments = tree.children
    assert isinstance(name, Token)
    args: list[Value | Shape] = []
    options: list[Option] = []
    for argument in arguments:
        assert isinstance(argument, Tree)
        if argument.data == "option":
            options.append(_option(argument))
        elif argument.data == "shape":
            args.append(_shape(argument))
        else:
            args.append(lower_value(argument))
    return Call(str(name), tuple(args), tuple(options), *_span(tree), _end(name))


def _operand(tree: Tree[Token]) -> Call | Group | RepeatStage:
    if tree.data == "empty":
        return Group((), *_span(tree))
    operand = _stage(tree)
    assert not isinstance(operand, JoinStage)
    return operand


def _option(tree: Tree[Token]) -> Option:
    key, _, value = tree.children
    assert isinstance(key, Tree) and isinstance(value, Tree)
    name = ".".join(str(t) for t in key.children if isinstance(t, Token) and t.type == "NAME")
    return Option(name, lower_value(value), *_span(tree), _span(key)[1])


def _shape(tree: Tree[Token]) -> Shape:
    (token,) = tree.children
    assert isinstance(token, Token)
    left, right = str(token).split("->")
    in_features = int(left) if left.strip() else None
    return Shape(in_features, int(right), _start(token), _end(token))


def lower_value(tree: Tree[Token]) -> Value:
    """Turn a value tree into a `Value`: numbers, booleans, strings, bare names, lists."""
    start, end = _span(tree)
    if tree.data == "list":
        items = tuple(lower_value(c) for c in tree.children if isinstance(c, Tree))
        return Value(items, start, end)
    if tree.data == "distribution":
        name, *rest = tree.children
        assert isinstance(name, Token)
        args = tuple(lower_value(c) for c in rest if isinstance(c, Tree))
        return Value(Distribution(str(name), args, _end(name)), start, end)
    (token,) = tree.children
    assert isinstance(token, Token)
    text = str(token)
    if tree.data == "integer":
        return Value(int(text), start, end)
    if tree.data == "real":
        return Value(float(text), start, end)
    if tree.data == "string":
        body = _ESCAPE.sub(lambda m: ESCAPES.get(m[1], m[1]), text[1:-1])
        return Value(body, start, end)
    if text in _BOOLEANS:
        return Value(_BOOLEANS[text], start, end)
    return Value(Bare(text), start, end)


def _span(node: Tree[Token]) -> tuple[int, int]:
    """The offsets a subtree covers: from its first token's start to its last token's end.

    Found here rather than by lark's `propagate_positions`, which costs a third of the
    parse time on long networks.
    """
    first: Tree[Token] | Token = node
    while isinstance(first, Tree):
        first = next(c for c in first.children if c is not None)
    last: Tree[Token] | Token = node
    while isinstance(last, Tree):
        last = next(c for c in reversed(last.children) if c is not None)
    return _start(first), _end(last)


def _start(token: Token) -> int:
    return token.start_pos or 0


def _end(token: Token) -> int:
    return token.end_pos or 0
