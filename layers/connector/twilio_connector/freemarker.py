"""The Freemarker-style template engine behind :mod:`twilio_connector.rendering`, on a jinja2
sandbox. Imported only when a template holds an interpolation or a directive.

A template is translated once into a jinja2 template for a ``SandboxedEnvironment`` whose
undefined type is a ``StrictUndefined``. The translation is token by token: user text never
becomes jinja syntax. Literal text and string literals travel as constants (``K[i]``), variables
are looked up by the renderer (``S.var("name")``: only the process variables are reachable,
never jinja's globals), and every operator and built-in is a method of the per-render state
``S``, which enforces the caps on time and size.

Supported: ``${expr}`` interpolations; paths ``a.b.c`` and ``a["b"]`` / ``a[0]``; defaults
``x!"d"`` and ``x!``; ``x??``; built-ins (``?upper_case``, ``?lower_case``, ``?cap_first``,
``?trim``, ``?length``, ... see ``BUILTINS``); arithmetic, comparison and logic operators; the
directives ``<#if>``/``<#elseif>``/``<#else>``, ``<#list xs as x>`` (with ``<#else>``) and
``<#-- comments -->``.
"""

from __future__ import annotations

import html
import json
import math
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, UndefinedError
from jinja2.exceptions import SecurityError, TemplateError

from twilio_connector.errors import (
    TEMPLATE_METADATA_ERROR,
    TEMPLATE_READ_ERROR,
    TEMPLATE_SYNTAX_ERROR,
)
from twilio_connector.rendering import type_name as _type_name

MAX_OUTPUT_CHARS = 20_000
MAX_VALUE_CHARS = 20_000
MAX_SEQUENCE_ITEMS = 10_000
MAX_NESTING = 40
#: Compile-time caps: compiling costs grow with the expressions, before any render cap applies.
MAX_CONSTRUCTS = 100  # interpolations and directives in one template
MAX_TOKENS = 1000  # expression tokens in one template
RENDER_SECONDS = 0.5


class Missing(StrictUndefined):
    """A value absent from the metadata. Chains (``a.b.c`` on a missing ``a`` is missing), so that
    ``!`` and ``??`` can test a whole path; any other use fails, as ``StrictUndefined`` does."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        return f"missing variable '{self._undefined_name}'"


class _TemplateDataError(Exception):
    """A value of the wrong type for an operation (becomes TEMPLATE_METADATA_ERROR)."""


class _RenderLimitError(Exception):
    """A render cap was exceeded (becomes TEMPLATE_READ_ERROR)."""


class _TooLarge(Exception):
    """Over the compile caps (becomes TEMPLATE_READ_ERROR)."""


class _SyntaxError(Exception):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos


# --- the expression language --------------------------------------------------------------------
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
    |(?P<number>\d+(?:\.\d+)?)
    |(?P<string>r?"(?:[^"\\]|\\.)*"|r?'(?:[^'\\]|\\.)*')
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op>\?\?|==|!=|<=|>=|&&|\|\||[-+*/%()\[\].,!?=<>])
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\", "$": "$", "{": "{"}
_WORD_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@dataclass
class _Token:
    kind: str
    text: str
    pos: int


def _unquote(literal: str, pos: int) -> str:
    if literal.startswith("r"):
        return literal[2:-1]
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]
            if nxt not in _ESCAPES:
                raise _SyntaxError(f"unknown escape \\{nxt} in a string literal", pos)
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _tokenize(source: str, start: int, terminator: str) -> tuple[list[_Token], int]:
    """Tokens from ``start`` up to the first ``terminator`` outside brackets; returns its index."""
    tokens: list[_Token] = []
    depth, pos = 0, start
    while pos < len(source):
        ch = source[pos]
        closes = ch == terminator or (terminator == ">" and source.startswith("/>", pos))
        if depth == 0 and closes:
            return tokens, pos
        match = _TOKEN.match(source, pos)
        if not match:
            raise _SyntaxError(f"unexpected character {ch!r}", pos)
        kind, text = match.lastgroup or "", match.group()
        if kind != "ws":
            if text in "([":
                depth += 1
            elif text in ")]":
                depth -= 1
            tokens.append(_Token(kind, text, pos))
        pos = match.end()
    raise _SyntaxError(f"unclosed expression: expected {terminator!r}", start)


class _Parser:
    """Recursive descent over one expression's tokens, emitting jinja source that calls ``S``."""

    def __init__(
        self,
        tokens: list[_Token],
        source: str,
        const: Callable[[str], str],
        loops: list[str],
        end: int,
    ) -> None:
        self.tokens, self.source, self.const, self.loops = tokens, source, const, loops
        self.end = end  # where the expression's closing delimiter stands
        self.i = 0
        self.depth = 0

    # helpers
    def peek(self, offset: int = 0) -> _Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def at(self, *texts: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind in ("op", "name") and tok.text in texts

    def take(self) -> _Token:
        tok = self.peek()
        if tok is None:
            raise _SyntaxError("unexpected end of expression", self._end())
        self.i += 1
        return tok

    def expect(self, text: str) -> _Token:
        tok = self.peek()
        if tok is None or tok.text != text:
            found = "the end" if tok is None else repr(tok.text)
            raise _SyntaxError(f"expected {text!r}, found {found}", tok.pos if tok else self._end())
        self.i += 1
        return tok

    def _end(self) -> int:
        return self.end

    def parse(self) -> str:
        if not self.tokens:
            raise _SyntaxError("empty expression", self.end)
        out = self.expr()
        if self.peek() is not None:
            tok = self.take()
            raise _SyntaxError(f"unexpected {tok.text!r}", tok.pos)
        return out

    def nested(self, parse: Callable[[], str]) -> str:
        self.depth += 1
        if self.depth > MAX_NESTING:
            tok = self.peek()
            raise _SyntaxError("expression nested too deeply", tok.pos if tok else self._end())
        try:
            return parse()
        finally:
            self.depth -= 1

    # grammar, lowest precedence first
    def expr(self) -> str:
        return self.nested(self.or_)

    def or_(self) -> str:
        out = self.and_()
        while self.at("||"):
            self.take()
            out = f"(S.truth({out}) or S.truth({self.and_()}))"
        return out

    def and_(self) -> str:
        out = self.equality()
        while self.at("&&"):
            self.take()
            out = f"(S.truth({out}) and S.truth({self.equality()}))"
        return out

    def equality(self) -> str:
        out = self.relation()
        while self.at("==", "=", "!="):
            negate = self.take().text == "!="
            out = f"S.eq({out}, {self.relation()}, {negate})"
        return out

    def relation(self) -> str:
        out = self.additive()
        while self.at("<", "<=", ">", ">=", *_WORD_OPS):
            op = self.take().text
            op = _WORD_OPS.get(op, op)
            out = f"S.compare({json.dumps(op)}, {out}, {self.additive()})"
        return out

    def additive(self) -> str:
        out = self.multiplicative()
        while self.at("+", "-"):
            op = self.take().text
            out = f"S.arith({json.dumps(op)}, {out}, {self.multiplicative()})"
        return out

    def multiplicative(self) -> str:
        out = self.unary()
        while self.at("*", "/", "%"):
            op = self.take().text
            out = f"S.arith({json.dumps(op)}, {out}, {self.unary()})"
        return out

    def unary(self) -> str:
        if self.at("!"):
            self.take()
            return f"(not S.truth({self.nested(self.unary)}))"
        if self.at("-"):
            self.take()
            return f"S.arith('-', 0, {self.nested(self.unary)})"
        if self.at("+"):
            self.take()
            return f"S.arith('+', 0, {self.nested(self.unary)})"
        return self.postfix()

    def postfix(self, allow_default: bool = True) -> str:
        start = self.peek()
        out, loop_var = self.primary()
        while True:
            tok = self.peek()
            if tok is None or tok.kind != "op":
                return out
            if tok.text == ".":
                self.take()
                name = self.take()
                if name.kind != "name":
                    raise _SyntaxError("expected a name after '.'", name.pos)
                path = self.source[start.pos : name.pos + len(name.text)] if start else ""
                out = f"S.get({out}, {self.const(name.text)}, {self.const(path)})"
            elif tok.text == "[":
                self.take()
                key = self.expr()
                close = self.expect("]")
                path = self.source[start.pos : close.pos + 1] if start else ""
                out = f"S.get({out}, {key}, {self.const(path)})"
            elif tok.text == "??":
                self.take()
                out = f"S.exists({out})"
            elif tok.text == "?":
                self.take()
                out = self.builtin(out, loop_var)
            elif tok.text == "!" and allow_default:
                self.take()
                nxt = self.peek()
                starts_operand = nxt is not None and (
                    nxt.kind in ("number", "string", "name") or nxt.text in ("(", "[")
                )
                default = self.nested(lambda: self.postfix(False)) if starts_operand else "''"
                return f"S.default({out}, {default})"
            else:
                return out
            loop_var = None

    def builtin(self, target: str, loop_var: str | None) -> str:
        name = self.take()
        if name.kind != "name":
            raise _SyntaxError("expected a built-in name after '?'", name.pos)
        if name.text in LOOP_BUILTINS:
            if loop_var is None or loop_var != self.loops[-1]:
                raise _SyntaxError(
                    f"?{name.text} applies to the innermost <#list> loop variable", name.pos
                )
            return LOOP_BUILTINS[name.text]
        if name.text not in BUILTINS:
            raise _SyntaxError(f"unknown built-in ?{name.text}", name.pos)
        args = [target]
        if self.at("("):
            self.take()
            while not self.at(")"):
                args.append(self.expr())
                if not self.at(")"):
                    self.expect(",")
            self.expect(")")
        return f"S.builtin({json.dumps(name.text)}, {', '.join(args)})"

    def primary(self) -> tuple[str, str | None]:
        tok = self.take()
        if tok.kind == "number":
            return tok.text, None
        if tok.kind == "string":
            return self.const(_unquote(tok.text, tok.pos)), None
        if tok.kind == "name":
            if tok.text in ("true", "false"):
                return ("True" if tok.text == "true" else "False"), None
            if tok.text in self.loops:
                return f"L_{tok.text}", tok.text
            return f"S.var({self.const(tok.text)})", None
        if tok.text == "(":
            out = self.expr()
            self.expect(")")
            return f"({out})", None
        if tok.text == "[":
            items = []
            while not self.at("]"):
                items.append(self.expr())
                if not self.at("]"):
                    self.expect(",")
            self.expect("]")
            return f"[{', '.join(items)}]", None
        raise _SyntaxError(f"unexpected {tok.text!r}", tok.pos)


# --- templates ----------------------------------------------------------------------------------
_DIRECTIVE = re.compile(r"<#(--|[a-z]+)|</#([a-z]+)\s*>")


@dataclass
class _Compiled:
    template: Any
    consts: list[str]
    positions: list[int] = field(default_factory=list)


@lru_cache(maxsize=1)
def _environment() -> Any:
    """The sandbox, built on first use (a plain-text body never needs it)."""
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=Missing, autoescape=False, cache_size=0)


@lru_cache(maxsize=256)
def _compile(source: str) -> _Compiled:
    consts: list[str] = []
    positions: list[int] = []
    parts: list[str] = []
    blocks: list[tuple[str, int]] = []  # open directives: ("if" | "list", position)
    loops: list[str] = []

    def const(text: str) -> str:
        consts.append(text)
        return f"K[{len(consts) - 1}]"

    def mark(at: int) -> str:
        """``S.mark(n)`` records which construct runs, for error positions; it returns ''."""
        positions.append(at)
        return f"S.mark({len(positions) - 1})"

    budget = {"constructs": 0, "tokens": 0}

    def expression(tokens: list[_Token], end: int) -> str:
        budget["constructs"] += 1
        budget["tokens"] += len(tokens)
        if budget["constructs"] > MAX_CONSTRUCTS or budget["tokens"] > MAX_TOKENS:
            raise _TooLarge(
                f"The template has more than {MAX_CONSTRUCTS} expressions or {MAX_TOKENS} "
                "expression tokens"
            )
        return _Parser(tokens, source, const, loops, end).parse()

    pos = 0
    while pos < len(source):
        interp = source.find("${", pos)
        directive = _DIRECTIVE.search(source, pos)
        starts = [p for p in (interp, directive.start() if directive else -1) if p >= 0]
        if not starts:
            parts.append("{{ " + const(source[pos:]) + " }}")
            break
        nxt = min(starts)
        if nxt > pos:
            parts.append("{{ " + const(source[pos:nxt]) + " }}")
        if nxt == interp:
            tokens, end = _tokenize(source, nxt + 2, "}")
            parts.append("{{ " + mark(nxt) + " or S.out(" + expression(tokens, end) + ") }}")
            pos = end + 1
            continue
        assert directive is not None
        opened, closed = directive.group(1), directive.group(2)
        if opened == "--":
            end = source.find("-->", directive.end())
            if end < 0:
                raise _SyntaxError("unclosed comment <#--", nxt)
            pos = end + 3
            continue
        if closed:
            if not blocks or blocks[-1][0] != closed:
                raise _SyntaxError(f"unexpected </#{closed}>", nxt)
            blocks.pop()
            if closed == "list":
                loops.pop()
            parts.append("{% endif %}" if closed == "if" else "{% endfor %}")
            pos = directive.end()
            continue
        end = directive.end()
        if opened in ("if", "elseif"):
            if opened == "elseif" and (not blocks or blocks[-1][0] != "if"):
                raise _SyntaxError("<#elseif> outside <#if>", nxt)
            tokens, end = _tokenize(source, end, ">")
            tag = "if" if opened == "if" else "elif"
            parts.append(f"{{% {tag} {mark(nxt)} or S.truth({expression(tokens, end)}) %}}")
            if opened == "if":
                blocks.append(("if", nxt))
        elif opened == "else":
            if not blocks:
                raise _SyntaxError("<#else> outside <#if> or <#list>", nxt)
            parts.append("{% else %}")
        elif opened == "list":
            tokens, end = _tokenize(source, end, ">")
            if len(tokens) < 3 or tokens[-2].text != "as" or tokens[-1].kind != "name":
                raise _SyntaxError("expected <#list sequence as name>", nxt)
            sequence = expression(tokens[:-2], tokens[-2].pos)
            loops.append(tokens[-1].text)
            parts.append(
                f"{{% for L_{tokens[-1].text} in {mark(nxt)} or S.sequence({sequence}) %}}"
            )
            blocks.append(("list", nxt))
        else:
            raise _SyntaxError(f"unsupported directive <#{opened}>", nxt)
        close = source.find(">", end)
        if close < 0:
            raise _SyntaxError(f"unclosed <#{opened}", nxt)
        pos = close + 1
    if blocks:
        raise _SyntaxError(f"unclosed <#{blocks[-1][0]}>", blocks[-1][1])
    return _Compiled(_environment().from_string("".join(parts)), consts, positions)


def _line_col(source: str, pos: int) -> tuple[int, int]:
    line = source.count("\n", 0, pos) + 1
    return line, pos - (source.rfind("\n", 0, pos) + 1) + 1


def render_template(template: str, variables: Mapping[str, Any]) -> str:
    """Render a template already checked by :func:`twilio_connector.rendering.render`."""
    try:
        compiled = _compile(template)
    except _TooLarge as exc:
        raise TEMPLATE_READ_ERROR(str(exc)) from None
    except _SyntaxError as exc:
        line, col = _line_col(template, exc.pos)
        raise TEMPLATE_SYNTAX_ERROR(
            f"{exc} at line {line}, column {col}", line=line, column=col
        ) from None
    except TemplateError as exc:  # the translation produced jinja it refuses: still a syntax error
        raise TEMPLATE_SYNTAX_ERROR(f"Invalid template: {type(exc).__name__}") from None
    state = _State(variables)
    try:
        return compiled.template.render(S=state, K=compiled.consts)
    except _RenderLimitError as exc:
        raise TEMPLATE_READ_ERROR(str(exc)) from None
    except SecurityError:
        raise TEMPLATE_SYNTAX_ERROR("The template tried an operation the sandbox refuses") from None
    except (UndefinedError, _TemplateDataError, ArithmeticError, TypeError, ValueError) as exc:
        where = compiled.positions[state.current] if state.current >= 0 else -1
        detail = str(exc) if isinstance(exc, UndefinedError | _TemplateDataError) else "bad value"
        if where >= 0:
            line, col = _line_col(template, where)
            raise TEMPLATE_METADATA_ERROR(
                f"{detail} at line {line}, column {col}", line=line, column=col
            ) from None
        raise TEMPLATE_METADATA_ERROR(detail) from None
    except RecursionError:
        raise TEMPLATE_READ_ERROR("The template is nested too deeply to render") from None


# --- the runtime --------------------------------------------------------------------------------
def _is_missing(value: object) -> bool:
    return value is None or isinstance(value, Missing)


class _State:
    """One render: variable lookup, operators, built-ins, and the caps. Only its public methods
    are reachable from a template (the sandbox refuses names that start with ``_``)."""

    def __init__(self, variables: Mapping[str, Any]) -> None:
        self._variables = variables
        self._deadline = time.monotonic() + RENDER_SECONDS
        self._output = 0
        self.current = -1

    def _tick(self) -> None:
        if time.monotonic() > self._deadline:
            raise _RenderLimitError(f"The template took over {RENDER_SECONDS} s to render")

    def _need(self, value: object, what: str) -> Any:
        if isinstance(value, Missing):
            value._fail_with_undefined_error()
        if value is None:
            raise _TemplateDataError(f"{what} is null")
        return value

    def _text(self, value: object, what: str = "value") -> str:
        value = self._need(value, what)
        if isinstance(value, str):
            return value
        if isinstance(value, bool | int | float):
            return _format_scalar(value)
        raise _TemplateDataError(f"{what} is a {_type_name(value)}, not text")

    def _number(self, value: object, what: str = "value") -> float | int:
        value = self._need(value, what)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _TemplateDataError(f"{what} is a {_type_name(value)}, not a number")
        return value

    def _sized(self, value: Any) -> Any:
        if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
            raise _RenderLimitError(f"A value grew over {MAX_VALUE_CHARS} characters")
        if isinstance(value, list) and len(value) > MAX_SEQUENCE_ITEMS:
            raise _RenderLimitError(f"A sequence grew over {MAX_SEQUENCE_ITEMS} items")
        return value

    # called by the generated template
    def mark(self, index: int) -> str:
        self._tick()
        self.current = index
        return ""

    def var(self, name: str) -> Any:
        self._tick()
        value = self._variables.get(name)
        return Missing(name=name) if value is None else value

    def get(self, target: Any, key: Any, path: str) -> Any:
        self._tick()
        if isinstance(target, Missing) or target is None:
            return Missing(name=path)
        value: Any = None
        if isinstance(target, dict):
            value = target.get(key) if isinstance(key, str) else None
        elif isinstance(target, list | str) and isinstance(key, int) and not isinstance(key, bool):
            value = target[key] if -len(target) <= key < len(target) else None
        return Missing(name=path) if value is None else value

    def default(self, value: Any, fallback: Any) -> Any:
        return fallback if _is_missing(value) else value

    def exists(self, value: Any) -> bool:
        return not _is_missing(value)

    def truth(self, value: Any) -> bool:
        value = self._need(value, "condition")
        if not isinstance(value, bool):
            raise _TemplateDataError(f"a condition is a {_type_name(value)}, not a boolean")
        return value

    def eq(self, left: Any, right: Any, negate: bool) -> bool:
        left, right = self._need(left, "left operand"), self._need(right, "right operand")
        return (left == right) != negate

    def compare(self, op: str, left: Any, right: Any) -> bool:
        left, right = self._need(left, "left operand"), self._need(right, "right operand")
        if isinstance(left, str) != isinstance(right, str):
            raise _TemplateDataError(f"cannot compare {_type_name(left)} with {_type_name(right)}")
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]

    def arith(self, op: str, left: Any, right: Any) -> Any:
        self._tick()
        if op == "+":
            left, right = self._need(left, "left operand"), self._need(right, "right operand")
            if isinstance(left, str) or isinstance(right, str):
                return self._sized(self._text(left) + self._text(right))
            if isinstance(left, list) and isinstance(right, list):
                return self._sized(left + right)
        a, b = self._number(left, "left operand"), self._number(right, "right operand")
        if op == "+":
            result = a + b
        elif op == "-":
            result = a - b
        elif op == "*":
            result = a * b
        elif op == "/":
            if b == 0:
                raise _TemplateDataError("division by zero")
            result = a / b
        else:
            if b == 0:
                raise _TemplateDataError("division by zero")
            result = a % b
        if isinstance(result, float) and not math.isfinite(result):
            raise _TemplateDataError("the result is not a finite number")
        return result

    def sequence(self, value: Any) -> list[Any]:
        value = self._need(value, "sequence")
        if not isinstance(value, list):
            raise _TemplateDataError(f"<#list> needs a sequence, not a {_type_name(value)}")
        return value

    def builtin(self, name: str, target: Any, *args: Any) -> Any:
        self._tick()
        if name == "has_content":
            return not _is_missing(target) and target not in ("", [], {})
        function, arity = BUILTINS[name]
        if not arity[0] <= len(args) <= arity[1]:
            raise _TemplateDataError(f"?{name} takes {arity[0]} to {arity[1]} arguments")
        return self._sized(function(self, self._need(target, f"?{name}'s operand"), *args))

    def out(self, value: Any) -> str:
        value = self._need(value, "interpolated value")
        if isinstance(value, list | dict):
            raise _TemplateDataError(
                f'cannot print a {_type_name(value)}: use ?join(", ") or a path to one value'
            )
        text = self._text(value)
        self._output += len(text)
        if self._output > MAX_OUTPUT_CHARS:
            raise _RenderLimitError(f"The rendered text grew over {MAX_OUTPUT_CHARS} characters")
        return text


def _format_scalar(value: bool | int | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


# --- built-ins: name -> (function(state, target, *args), (min args, max args)) ------------------
def _pad(state: _State, target: Any, width: Any, fill: Any = " ", left: bool = True) -> str:
    text, width, fill = state._text(target), state._number(width, "width"), state._text(fill)
    if not fill or int(width) > MAX_VALUE_CHARS:
        raise _TemplateDataError("invalid padding")
    missing = max(int(width) - len(text), 0)
    pad = (fill * (missing // len(fill) + 1))[:missing]
    return pad + text if left else text + pad


def _sized_list(state: _State, target: Any, what: str) -> list[Any]:
    if not isinstance(target, list):
        raise _TemplateDataError(f"{what} needs a sequence, not a {_type_name(target)}")
    return target


def _join(state: _State, target: Any, sep: Any = ", ") -> str:
    items = _sized_list(state, target, "?join")
    return state._sized(state._text(sep).join(state._text(item, "an item") for item in items))


def _capitalize(state: _State, target: Any) -> str:
    text = state._text(target)
    return re.sub(r"\w+", lambda m: m.group(0)[:1].upper() + m.group(0)[1:].lower(), text)


def _string(state: _State, target: Any, *args: Any) -> str:
    if isinstance(target, bool) and len(args) == 2:
        return state._text(args[0] if target else args[1])
    return state._text(target)


def _number_of(state: _State, target: Any) -> float | int:
    if isinstance(target, int | float) and not isinstance(target, bool):
        return target
    text = state._text(target).strip()
    try:
        return int(text) if re.fullmatch(r"[-+]?\d{1,18}", text) else float(text)
    except ValueError:
        raise _TemplateDataError(f"{text[:20]!r} is not a number") from None


def _then(state: _State, target: Any, when_true: Any, when_false: Any) -> Any:
    return when_true if state.truth(target) else when_false


def _split(state: _State, target: Any, separator: Any) -> list[str]:
    text, separator = state._text(target), state._text(separator)
    return state._sized(text.split(separator) if separator else [text])


def _sort_key(value: Any) -> tuple[str, Any]:
    return (_type_name(value), value)


def _length(state: _State, target: Any) -> int:
    if isinstance(target, list | dict):
        return len(target)
    return len(state._text(target))


def _truncate(state: _State, target: Any, width: Any, marker: Any = "...") -> str:
    text, width = state._text(target), int(state._number(width, "width"))
    return text if len(text) <= width else text[: max(width - len(state._text(marker)), 0)] + marker


BUILTINS: dict[str, tuple[Callable[..., Any], tuple[int, int]]] = {
    "upper_case": (lambda s, t: s._text(t).upper(), (0, 0)),
    "lower_case": (lambda s, t: s._text(t).lower(), (0, 0)),
    "cap_first": (lambda s, t: (x := s._text(t))[:1].upper() + x[1:], (0, 0)),
    "uncap_first": (lambda s, t: (x := s._text(t))[:1].lower() + x[1:], (0, 0)),
    "capitalize": (_capitalize, (0, 0)),
    "trim": (lambda s, t: s._text(t).strip(), (0, 0)),
    "length": (_length, (0, 0)),
    "size": (lambda s, t: len(t if isinstance(t, dict) else _sized_list(s, t, "?size")), (0, 0)),
    "string": (_string, (0, 2)),
    "c": (lambda s, t: s._text(t), (0, 0)),
    "left_pad": (lambda s, t, w, f=" ": _pad(s, t, w, f, True), (1, 2)),
    "right_pad": (lambda s, t, w, f=" ": _pad(s, t, w, f, False), (1, 2)),
    "replace": (lambda s, t, a, b: s._sized(s._text(t).replace(s._text(a), s._text(b))), (2, 2)),
    "contains": (lambda s, t, x: s._text(x) in s._text(t), (1, 1)),
    "starts_with": (lambda s, t, x: s._text(t).startswith(s._text(x)), (1, 1)),
    "ends_with": (lambda s, t, x: s._text(t).endswith(s._text(x)), (1, 1)),
    "index_of": (lambda s, t, x: s._text(t).find(s._text(x)), (1, 1)),
    "keep_before": (lambda s, t, x: s._text(t).partition(s._text(x))[0], (1, 1)),
    "keep_after": (lambda s, t, x: s._text(t).partition(s._text(x))[2], (1, 1)),
    "remove_beginning": (lambda s, t, x: s._text(t).removeprefix(s._text(x)), (1, 1)),
    "remove_ending": (lambda s, t, x: s._text(t).removesuffix(s._text(x)), (1, 1)),
    "truncate": (_truncate, (1, 2)),
    "split": (_split, (1, 1)),
    "word_list": (lambda s, t: s._text(t).split(), (0, 0)),
    "join": (_join, (0, 1)),
    "first": (lambda s, t: _sized_list(s, t, "?first")[0] if t else Missing(name="?first"), (0, 0)),
    "last": (lambda s, t: _sized_list(s, t, "?last")[-1] if t else Missing(name="?last"), (0, 0)),
    "reverse": (lambda s, t: list(reversed(_sized_list(s, t, "?reverse"))), (0, 0)),
    "sort": (lambda s, t: sorted(_sized_list(s, t, "?sort"), key=_sort_key), (0, 0)),
    "seq_contains": (lambda s, t, x: x in _sized_list(s, t, "?seq_contains"), (1, 1)),
    "has_content": (lambda s, t: True, (0, 0)),  # handled before the operand is required
    "html": (lambda s, t: html.escape(s._text(t)), (0, 0)),
    "url": (lambda s, t: urllib.parse.quote(s._text(t), safe=""), (0, 0)),
    "json_string": (lambda s, t: json.dumps(s._text(t))[1:-1], (0, 0)),
    "number": (_number_of, (0, 0)),
    "abs": (lambda s, t: abs(s._number(t)), (0, 0)),
    "round": (lambda s, t: math.floor(s._number(t) + 0.5), (0, 0)),
    "floor": (lambda s, t: math.floor(s._number(t)), (0, 0)),
    "ceiling": (lambda s, t: math.ceil(s._number(t)), (0, 0)),
    "then": (_then, (2, 2)),
}

#: Built-ins of a ``<#list>`` loop variable, read from jinja's innermost ``loop``.
LOOP_BUILTINS = {
    "index": "loop.index0",
    "counter": "loop.index",
    "has_next": "(not loop.last)",
    "is_first": "loop.first",
    "is_last": "loop.last",
}
