"""The lexer: template text into top-level pieces (text, interpolations, tags, comments), and
expressions into tokens."""

from __future__ import annotations

import re
from typing import NamedTuple

from twilio_connector.freemarker.errors import FtlSyntaxError

_EXPR_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
    |(?P<number>\d+(?:\.\d+)?)
    |(?P<string>r"[^"]*"|r'[^']*'|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    |(?P<op>\.\.<|\.\.!|\.\.\*|\.\.|\?\?|==|!=|<=|>=|&&|\|\||->|\+\+|--|[-+*/%]=
        |&gt;=|&lt;=|&gt;|&lt;|&amp;&amp;|[-+*/%()\[\]{}.,:;!?=<>])
    |(?P<name>[^\W\d][\w$@]*|[$@][\w$@]*)
    """,
    re.VERBOSE | re.DOTALL,
)
_ENTITIES = {"&gt;": ">", "&lt;": "<", "&gt;=": ">=", "&lt;=": "<=", "&amp;&amp;": "&&"}
OPEN = {"(": ")", "[": "]", "{": "}"}


class Token(NamedTuple):
    kind: str  # number, string, op, name
    text: str
    pos: int


class Piece:
    """A top-level piece: ``text``, ``interp`` (``${``), ``numinterp`` (``#{``), ``tag``
    (``<#name``), ``end`` (``</#name>``), ``call`` (``<@``), ``endcall`` (``</@``), ``comment``.
    A plain class, as the tree's nodes are (see tree.py)."""

    __slots__ = ("end", "kind", "name", "pos", "self_closing", "text", "tokens")

    def __init__(
        self,
        kind: str,
        pos: int,
        end: int,
        text: str = "",
        name: str = "",
        tokens: list[Token] | None = None,
        self_closing: bool = False,
    ) -> None:
        self.kind, self.pos, self.end, self.text, self.name = kind, pos, end, text, name
        self.tokens = [] if tokens is None else tokens
        self.self_closing = self_closing


def tokenize(source: str, start: int, terminator: str) -> tuple[list[Token], int]:
    """Expression tokens from ``start`` to the first ``terminator`` (``}`` or ``>``) outside
    brackets; returns them and the terminator's index."""
    tokens: list[Token] = []
    stack: list[str] = []
    pos, size = start, len(source)
    while pos < size:
        ch = source[pos]
        if not stack:
            if terminator == ">" and (ch == ">" or source.startswith("/>", pos)):
                return tokens, pos
            if terminator == "}" and ch == "}":
                return tokens, pos
        match = _EXPR_TOKEN.match(source, pos)
        if not match:
            if ch in "\"'":
                raise FtlSyntaxError("unterminated string literal", pos)
            raise FtlSyntaxError(f"unexpected character {ch!r}", pos)
        kind, text = match.lastgroup or "", match.group()
        pos = match.end()
        if kind == "ws":
            continue
        if kind == "op":
            text = _ENTITIES.get(text, text)
            if text == ">=" and terminator == "}" and not stack:
                # FreeMarker reads ">=" at the top of ${...} as ">" then "=": a syntax error
                tokens.append(Token("op", ">", match.start()))
                text = "="
            if text in OPEN:
                stack.append(OPEN[text])
            elif text in ")]}":
                if not stack or stack[-1] != text:
                    raise FtlSyntaxError(f"unexpected {text!r}", match.start())
                stack.pop()
        tokens.append(Token(kind, text, match.start()))
    raise FtlSyntaxError(f"unclosed expression: expected {terminator!r}", start)


_MARK = re.compile(r"\$\{|#\{|<#--|<#|</#|<@|</@")
_TAG_NAME = re.compile(r"[A-Za-z_][\w.]*")


def split(source: str) -> list[Piece]:
    """The template's top-level pieces, in order."""
    pieces: list[Piece] = []
    pos, size = 0, len(source)
    while pos < size:
        match = _MARK.search(source, pos)
        if not match:
            pieces.append(Piece("text", pos, size, source[pos:]))
            break
        at = match.start()
        if at > pos:
            pieces.append(Piece("text", pos, at, source[pos:at]))
        mark = match.group()
        if mark == "<#--":
            end = source.find("-->", at + 4)
            stop = size if end < 0 else end + 3  # FreeMarker: an unclosed comment runs to the end
            pieces.append(Piece("comment", at, stop))
            pos = stop
        elif mark in ("${", "#{"):
            tokens, end = tokenize(source, at + 2, "}")
            kind = "interp" if mark == "${" else "numinterp"
            pieces.append(Piece(kind, at, end + 1, tokens=tokens))
            pos = end + 1
        else:
            name_match = _TAG_NAME.match(source, match.end())
            closing = mark.startswith("</")
            if not name_match:
                if mark.endswith("#"):
                    pieces.append(Piece("text", at, match.end(), mark))  # "<#" then not a name
                    pos = match.end()
                    continue
                raise FtlSyntaxError("expected a name after " + mark, at)
            name = name_match.group()
            if mark.endswith("#") and name == "noparse" and not closing:
                close = source.find(">", name_match.end())
                end_tag = source.find("</#noparse>", close)
                if close < 0 or end_tag < 0:
                    raise FtlSyntaxError("unclosed <#noparse>", at)
                pieces.append(Piece("text", close + 1, end_tag, source[close + 1 : end_tag]))
                pos = end_tag + len("</#noparse>")
                continue
            if closing:
                end = name_match.end()
                while end < size and source[end].isspace():
                    end += 1
                if end >= size or source[end] != ">":
                    raise FtlSyntaxError(f"expected '>' to close {mark}{name}", at)
                kind = "end" if mark == "</#" else "endcall"
                pieces.append(Piece(kind, at, end + 1, name=name))
                pos = end + 1
                continue
            tokens, end = tokenize(source, name_match.end(), ">")
            self_closing = source.startswith("/>", end)
            stop = end + (2 if self_closing else 1)
            kind = "tag" if mark == "<#" else "call"
            pieces.append(
                Piece(kind, at, stop, name=name, tokens=tokens, self_closing=self_closing)
            )
            pos = stop
    return pieces
