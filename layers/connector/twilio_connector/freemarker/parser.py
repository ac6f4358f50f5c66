"""The parser: pieces from :mod:`lexer` into a tree of :mod:`tree` elements, then FreeMarker's
white-space stripping (lines holding only directives or comments vanish, ``<#t>``, ``<#lt>``,
``<#rt>``, ``<#nt>``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal

from twilio_connector.freemarker import tree as t
from twilio_connector.freemarker.errors import FtlLimit, FtlSyntaxError, Refused
from twilio_connector.freemarker.lexer import Piece, Token, split, tokenize
from twilio_connector.freemarker.whitespace import strip_whitespace

MAX_NESTING = 40
#: Compile-time caps: compiling costs grow with the expressions, before any render cap applies.
MAX_CONSTRUCTS = 100  # interpolations and directives in one template
MAX_TOKENS = 1000  # expression tokens in one template

#: Directives FreeMarker has that this engine refuses, by name.
REFUSED_DIRECTIVES = {
    "include", "import", "visit", "recurse", "fallback", "escape", "noescape", "outputformat",
    "autoesc", "noautoesc",
}  # fmt: skip
_STRING_ESCAPES = {
    "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "l": "<", "g": ">", "a": "&",
    "\\": "\\", '"': '"', "'": "'", "{": "{", "=": "=",
}  # fmt: skip
#: Every setting FreeMarker's <#setting> takes (the evaluator runs some, refuses the others).
FREEMARKER_SETTINGS = {
    "locale", "time_zone", "number_format", "boolean_format", "date_format", "time_format",
    "datetime_format", "sql_date_and_time_time_zone", "url_escaping_charset", "output_encoding",
    "classic_compatible", "c_format", "api_builtin_enabled", "show_error_tips",
    "template_exception_handler", "arithmetic_engine", "object_wrapper", "auto_flush",
    "new_builtin_class_resolver", "wrap_unchecked_exceptions", "attempt_exception_reporter",
    "log_template_exceptions", "truncate_builtin_algorithm", "lazy_imports",
    "lazy_auto_imports", "auto_import", "auto_include", "custom_number_formats",
    "custom_date_formats",
}  # fmt: skip
_SUBNAMED = {"string", "date", "time", "datetime"}
_RELATIONAL = {"<", "<=", ">", ">=", "lt", "lte", "gt", "gte"}


class ExprParser:
    """Recursive descent over one expression's tokens (precedence as in FreeMarker's FTL.jj)."""

    def __init__(self, tokens: list[Token], end: int, depth: int = 0) -> None:
        self.tokens, self.end, self.i, self.depth = tokens, end, 0, depth

    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def at(self, *texts: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind in ("op", "name") and tok.text in texts

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise FtlSyntaxError("unexpected end of expression", self.end)
        self.i += 1
        return tok

    def expect(self, text: str) -> Token:
        tok = self.peek()
        if tok is None or tok.text != text or tok.kind == "string":
            found = "the end" if tok is None else repr(tok.text)
            raise FtlSyntaxError(f"expected {text!r}, found {found}", tok.pos if tok else self.end)
        self.i += 1
        return tok

    def name(self) -> str:
        tok = self.take()
        if tok.kind != "name":
            raise FtlSyntaxError(f"expected a name, found {tok.text!r}", tok.pos)
        return tok.text

    def done(self) -> bool:
        return self.i >= len(self.tokens)

    def finish(self) -> None:
        if not self.done():
            tok = self.take()
            raise FtlSyntaxError(f"unexpected {tok.text!r}", tok.pos)

    def here(self) -> int:
        tok = self.peek()
        return tok.pos if tok else self.end

    # expressions, lowest precedence first
    def expression(self) -> t.Expr:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise FtlSyntaxError("expression nested too deeply", self.here())
        try:
            return self.or_expr()
        finally:
            self.depth -= 1

    def chain(self, operators: tuple[str, ...], operand: Callable[[], t.Expr]) -> t.Expr:
        """Left-associative binary operators of one precedence level."""
        left = operand()
        while self.at(*operators):
            tok = self.take()
            left = t.Binary(tok.pos, tok.text, left, operand())
        return left

    def or_expr(self) -> t.Expr:
        return self.chain(("||",), self.and_expr)

    def and_expr(self) -> t.Expr:
        return self.chain(("&&",), self.equality)

    def equality(self) -> t.Expr:
        left = self.relational()
        if self.at("==", "!=", "="):
            tok = self.take()
            op = "!=" if tok.text == "!=" else "=="
            left = t.Binary(tok.pos, op, left, self.relational())
        return left

    def relational(self) -> t.Expr:
        left = self.range_expr()
        tok = self.peek()
        if tok is not None and tok.kind in ("op", "name") and tok.text in _RELATIONAL:
            self.take()
            op = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}.get(tok.text, tok.text)
            right = self.range_expr()
            for side in (left, right):
                if isinstance(side, t.StringTemplate) or (
                    isinstance(side, t.Literal) and isinstance(side.value, str)
                ):
                    raise FtlSyntaxError(f"'{tok.text}' can't compare strings", side.pos)
            left = t.Binary(tok.pos, op, left, right)
        return left

    def range_expr(self) -> t.Expr:
        left = self.additive()
        if self.at("..", "..<", "..!", "..*"):
            tok = self.take()
            kind = "..<" if tok.text == "..!" else tok.text
            if kind == ".." and not self._starts_expression():
                return t.RangeExpr(tok.pos, left, None, "..")
            return t.RangeExpr(tok.pos, left, self.additive(), kind)
        return left

    def _starts_expression(self) -> bool:
        tok = self.peek()
        if tok is None:
            return False
        if tok.kind in ("number", "string"):
            return True
        if tok.kind == "name":
            return tok.text not in {"as", "using"} | _RELATIONAL
        return tok.text in ("(", "[", "{", "-", "+", "!", ".")

    def additive(self) -> t.Expr:
        return self.chain(("+", "-"), self.multiplicative)

    def multiplicative(self) -> t.Expr:
        return self.chain(("*", "/", "%"), self.unary)

    def unary(self) -> t.Expr:
        if self.at("-", "+"):
            tok = self.take()
            return t.Unary(tok.pos, tok.text, self.primary())
        if self.at("!"):
            tok = self.take()
            return t.Unary(tok.pos, "!", self.unary_not())
        return self.primary()

    def unary_not(self) -> t.Expr:
        if self.at("!"):
            tok = self.take()
            return t.Unary(tok.pos, "!", self.unary_not())
        return self.primary()

    def primary(self) -> t.Expr:
        expr = self.atom()
        while True:
            tok = self.peek()
            if tok is None or tok.kind != "op":
                return expr
            if tok.text == ".":
                self.take()
                nxt = self.take()
                if nxt.kind != "name" and not (nxt.kind == "op" and nxt.text == "*"):
                    raise FtlSyntaxError(f"expected a name after '.', found {nxt.text!r}", nxt.pos)
                expr = t.Dot(nxt.pos, expr, nxt.text)
            elif tok.text == "[":
                self.take()
                key = self.expression()
                self.expect("]")
                expr = t.Index(tok.pos, expr, key)
            elif tok.text == "(":
                self.take()
                expr = t.CallExpr(tok.pos, expr, self.arguments(")"))
            elif tok.text == "?":
                self.take()
                name_tok = self.take()
                if name_tok.kind != "name":
                    raise FtlSyntaxError("expected a built-in name after '?'", name_tok.pos)
                name = name_tok.text
                if (
                    name in _SUBNAMED
                    and self.at(".")
                    and (nxt := self.peek(1))
                    and nxt.kind == "name"
                ):
                    self.take()
                    name += "." + self.take().text
                check_builtin(name, name_tok.pos)
                expr = t.BuiltIn(name_tok.pos, expr, name)
                if self.at("("):
                    self.take()
                    expr.args = self.arguments(")")
            elif tok.text == "??":
                self.take()
                expr = t.Exists(tok.pos, expr)
            elif tok.text == "!":
                self.take()
                fallback = self.expression() if self._starts_expression() else None
                expr = t.Default(tok.pos, expr, fallback)
            else:
                return expr

    def arguments(self, close: str) -> list[t.Expr]:
        args: list[t.Expr] = []
        while not self.at(close):
            args.append(self.argument())
            if not self.at(close):
                self.expect(",")
        self.expect(close)
        return args

    def argument(self) -> t.Expr:
        tok, nxt = self.peek(), self.peek(1)
        if tok is not None and tok.kind == "name" and nxt is not None and nxt.text == "->":
            self.i += 2
            return t.Lambda(tok.pos, tok.text, self.expression())
        return self.expression()

    def atom(self) -> t.Expr:
        tok = self.take()
        if tok.kind == "number":
            return t.Literal(tok.pos, Decimal(tok.text))
        if tok.kind == "string":
            return string_literal(tok, self.depth)
        if tok.kind == "name":
            if tok.text in ("true", "false"):
                return t.Literal(tok.pos, tok.text == "true")
            return t.Variable(tok.pos, tok.text)
        if tok.text == "(":
            inner = self.expression()
            self.expect(")")
            return t.Paren(tok.pos, inner)
        if tok.text == "[":
            return t.ListLiteral(tok.pos, self.arguments("]"))
        if tok.text == "{":
            pairs = []
            while not self.at("}"):
                key = self.expression()
                self.expect(":")
                pairs.append((key, self.expression()))
                if not self.at("}"):
                    self.expect(",")
            self.expect("}")
            return t.HashLiteral(tok.pos, pairs)
        if tok.text == ".":
            return t.Special(tok.pos, self.name())
        raise FtlSyntaxError(f"unexpected {tok.text!r}", tok.pos)


def check_builtin(name: str, pos: int) -> None:
    """A built-in FreeMarker has and this engine runs; refused or unknown ones fail to parse."""
    from twilio_connector.freemarker.builtins import REFUSED, known

    if name.startswith("string."):
        return  # ?string.<format>: the format is checked when rendering, as FreeMarker does
    if name in REFUSED:
        raise Refused(f"?{name}", pos)
    if name not in known():
        raise FtlSyntaxError(f"unknown built-in ?{name}", pos)


_INTERP = re.compile(r"\$\{|#\{")


def string_literal(tok: Token, depth: int) -> t.Expr:
    text = tok.text
    if text.startswith("r"):
        return t.Literal(tok.pos, text[2:-1])
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]
            if nxt == "x":
                digits = re.match(r"[0-9A-Fa-f]{1,4}", body[i + 2 :])
                if not digits:
                    raise FtlSyntaxError("bad \\x escape in a string literal", tok.pos)
                out.append(chr(int(digits.group(), 16)))
                i += 2 + len(digits.group())
                continue
            if nxt not in _STRING_ESCAPES:
                raise FtlSyntaxError(f"unknown escape \\{nxt} in a string literal", tok.pos)
            out.append(_STRING_ESCAPES[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    value = "".join(out)
    if "${" not in value and "#{" not in value:
        return t.Literal(tok.pos, value)
    parts: list[object] = []
    pos = 0
    while (match := _INTERP.search(value, pos)) is not None:
        if match.start() > pos:
            parts.append(value[pos : match.start()])
        tokens, stop = tokenize(value, match.end(), "}")
        parser = ExprParser([_shift(x, tok.pos) for x in tokens], tok.pos, depth)
        parts.append(parser.expression())
        parser.finish()
        pos = stop + 1
    if pos < len(value):
        parts.append(value[pos:])
    return t.StringTemplate(tok.pos, parts)


def _shift(token: Token, pos: int) -> Token:
    return Token(token.kind, token.text, pos)


# --- elements ------------------------------------------------------------------------------------
def parse_expression(piece: Piece) -> t.Expr:
    parser = ExprParser(piece.tokens, piece.end - 1)
    if parser.done():
        raise FtlSyntaxError("an expression is expected here", piece.end - 1)
    expr = parser.expression()
    parser.finish()
    return expr


class TemplateParser:
    """Pieces into elements, one directive at a time, with a stack of open blocks."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.pieces = split(source)
        constructs = [p for p in self.pieces if p.kind not in ("text", "comment")]
        if len(constructs) > MAX_CONSTRUCTS:
            raise FtlLimit(f"the template holds more than {MAX_CONSTRUCTS} expressions")
        if sum(len(p.tokens) for p in constructs) > MAX_TOKENS:
            raise FtlLimit(f"the template holds more than {MAX_TOKENS} expression tokens")
        self.i = 0
        self.strip = True
        # what encloses the directive being parsed: <#break>, <#return>, <#nested> need it
        self.loops = self.switches = self.in_macro = self.in_function = 0

    def parse(self) -> t.Block:
        root = t.Block(0, len(self.source))
        root.body = self.block(root, ())
        if self.i < len(self.pieces):
            piece = self.pieces[self.i]
            raise FtlSyntaxError(f"unexpected </#{piece.name}>", piece.pos)
        if self.strip:
            strip_whitespace(root, self.source)
        return root

    def block(self, owner: t.Element, stops: tuple[str, ...]) -> list[t.Element]:
        """Elements until a piece named in ``stops`` (left unconsumed) or the end."""
        out: list[t.Element] = []
        while self.i < len(self.pieces):
            piece = self.pieces[self.i]
            if piece.kind in ("end", "endcall") or (piece.kind == "tag" and piece.name in stops):
                if piece.kind == "endcall" and "@" not in stops:
                    raise FtlSyntaxError(f"unexpected </@{piece.name}>", piece.pos)
                if piece.kind == "end" and ("/" + piece.name) not in stops:
                    raise FtlSyntaxError(f"unexpected </#{piece.name}>", piece.pos)
                return out
            self.i += 1
            out.append(self.element(piece))
        if stops:
            raise FtlSyntaxError(f"unclosed <#{stops[-1].lstrip('/')}>", owner.pos)
        return out

    def close(self, owner: t.Element, name: str) -> int:
        """Consumes ``</#name>``; returns where it ends."""
        piece = self.pieces[self.i] if self.i < len(self.pieces) else None
        if piece is None or piece.kind != "end" or piece.name != name:
            raise FtlSyntaxError(f"unclosed <#{name}>", owner.pos)
        self.i += 1
        return piece.end

    def element(self, piece: Piece) -> t.Element:
        if piece.kind == "text":
            return t.Text(piece.pos, piece.end, piece.text)
        if piece.kind == "comment":
            return t.Comment(piece.pos, piece.end)
        if piece.kind == "interp":
            return t.Interpolation(piece.pos, piece.end, parse_expression(piece))
        if piece.kind == "numinterp":
            return self.numeric_interpolation(piece)
        if piece.kind == "call":
            return self.macro_call(piece)
        handler = getattr(self, "d_" + piece.name, None)
        if handler is None:
            if piece.name in REFUSED_DIRECTIVES:
                raise Refused(f"<#{piece.name}>", piece.pos)
            raise FtlSyntaxError(f"unknown directive <#{piece.name}>", piece.pos)
        return handler(piece)

    def numeric_interpolation(self, piece: Piece) -> t.Element:
        tokens = piece.tokens
        split_at = next((k for k, x in enumerate(tokens) if x.text == ";"), len(tokens))
        parser = ExprParser(tokens[:split_at], piece.end - 1)
        expr = parser.expression()
        parser.finish()
        node = t.NumericInterpolation(piece.pos, piece.end, expr)
        if split_at < len(tokens):
            spec = "".join(x.text for x in tokens[split_at + 1 :])
            match = re.fullmatch(r"(?:m(\d+))?(?:M(\d+))?", spec)
            if not spec or not match:
                raise FtlSyntaxError(f"bad numerical format {spec!r}", piece.pos)
            low, high = match.group(1), match.group(2)
            node.min_fraction = int(low) if low else None
            node.max_fraction = int(high) if high else None
        return node

    def parser(self, piece: Piece) -> ExprParser:
        return ExprParser(piece.tokens, piece.end - 1)

    def no_params(self, piece: Piece) -> None:
        if piece.tokens:
            raise FtlSyntaxError(f"<#{piece.name}> takes no parameters", piece.tokens[0].pos)

    # directives
    def d_if(self, piece: Piece) -> t.Element:
        node = t.If(piece.pos, piece.end)
        condition: t.Expr | None = parse_expression(piece)
        start = piece
        while True:
            branch = t.Branch(start.pos, start.end, condition=condition)
            branch.body = self.block(node, ("elseif", "else", "/if"))
            node.body.append(branch)
            nxt = self.pieces[self.i]
            if nxt.kind == "end":
                node.end = self.close(node, "if")
                return node
            self.i += 1
            if condition is None:
                raise FtlSyntaxError(f"<#{nxt.name}> after <#else>", nxt.pos)
            condition = parse_expression(nxt) if nxt.name == "elseif" else None
            if nxt.name == "else":
                self.no_params(nxt)
            start = nxt

    @contextmanager
    def inside(self, what: str) -> Iterator[None]:
        setattr(self, what, getattr(self, what) + 1)
        try:
            yield
        finally:
            setattr(self, what, getattr(self, what) - 1)

    def d_list(self, piece: Piece) -> t.Element:
        with self.inside("loops"):
            return self._list(piece)

    def _list(self, piece: Piece) -> t.Element:
        parser = self.parser(piece)
        source = parser.expression()
        node = t.ListDirective(piece.pos, piece.end, source=source)
        if parser.at("as"):
            parser.take()
            node.var = parser.name()
            if parser.at(","):
                parser.take()
                node.value_var = parser.name()
        parser.finish()
        node.body = self.block(node, ("else", "/list"))
        nxt = self.pieces[self.i]
        if nxt.kind == "tag":  # <#else>
            self.i += 1
            self.no_params(nxt)
            node.else_branch = t.Block(nxt.pos, nxt.end)
            node.else_branch.body = self.block(node, ("/list",))
        node.end = self.close(node, "list")
        has_items = any(isinstance(x, t.Items) for x in walk(node.body))
        if node.var is None and not has_items:
            raise FtlSyntaxError("<#list> without 'as' needs an <#items> inside", piece.pos)
        if node.var is not None and has_items:
            raise FtlSyntaxError("<#items> inside a <#list ... as ...>", piece.pos)
        return node

    def d_items(self, piece: Piece) -> t.Element:
        parser = self.parser(piece)
        parser.expect("as")
        node = t.Items(piece.pos, piece.end, var=parser.name())
        if parser.at(","):
            parser.take()
            node.value_var = parser.name()
        parser.finish()
        node.body = self.block(node, ("/items",))
        node.end = self.close(node, "items")
        return node

    def d_sep(self, piece: Piece) -> t.Element:
        self.no_params(piece)
        node = t.Sep(piece.pos, piece.end)
        if not piece.self_closing:
            node.body = self.block(node, ("/sep", "/list", "/items", "else"))
            nxt = self.pieces[self.i]
            if nxt.kind == "end" and nxt.name == "sep":
                node.end = self.close(node, "sep")
        return node

    def _assign(self, piece: Piece, scope: str) -> t.Element:
        parser = self.parser(piece)
        if parser.done():
            raise FtlSyntaxError(f"<#{scope}> needs a name", piece.end - 1)
        ops: list[tuple[str, str, t.Expr | None]] = []
        while not parser.done():
            tok = parser.take()
            if tok.kind not in ("name", "string"):
                raise FtlSyntaxError(f"expected a variable name, found {tok.text!r}", tok.pos)
            name = tok.text if tok.kind == "name" else tok.text[1:-1]
            if not ops and parser.done():  # capture form: <#assign x>...</#assign>
                node = t.CaptureAssign(piece.pos, piece.end, scope=scope, name=name)
                node.body = self.block(node, ("/" + scope,))
                node.end = self.close(node, scope)
                return node
            if parser.at("++", "--"):
                op = parser.take().text
                ops.append((name, op, None))
            else:
                op_tok = parser.take()
                if op_tok.text not in ("=", "+=", "-=", "*=", "/=", "%="):
                    raise FtlSyntaxError(f"expected '=', found {op_tok.text!r}", op_tok.pos)
                ops.append((name, op_tok.text, parser.expression()))
            if parser.at(","):
                parser.take()
            if parser.at("in"):
                raise Refused(f"<#{scope} ... in namespace>", parser.here())
        return t.Assign(piece.pos, piece.end, scope=scope, ops=ops)

    def d_assign(self, piece: Piece) -> t.Element:
        return self._assign(piece, "assign")

    def d_global(self, piece: Piece) -> t.Element:
        return self._assign(piece, "global")

    def d_local(self, piece: Piece) -> t.Element:
        if not self.in_macro:
            raise FtlSyntaxError("<#local> outside a macro or function", piece.pos)
        return self._assign(piece, "local")

    def d_switch(self, piece: Piece) -> t.Element:
        with self.inside("switches"):
            return self._switch(piece)

    def _switch(self, piece: Piece) -> t.Element:
        node = t.Switch(piece.pos, piece.end, value=parse_expression(piece))
        before = self.block(node, ("case", "default", "on", "/switch"))
        if any(not isinstance(x, t.Comment | t.Text) for x in before):
            raise FtlSyntaxError("only <#case> and <#default> in a <#switch>", piece.pos)
        while True:
            nxt = self.pieces[self.i]
            if nxt.kind == "end":
                node.end = self.close(node, "switch")
                return node
            self.i += 1
            if nxt.name == "on":
                raise Refused("<#on>", nxt.pos)
            case = t.Case(nxt.pos, nxt.end)
            if nxt.name == "case":
                parser = self.parser(nxt)
                if parser.done():
                    raise FtlSyntaxError("<#case> needs a value", nxt.end - 1)
                case.values = [parser.expression()]
                parser.finish()
            else:
                self.no_params(nxt)
            case.body = self.block(case, ("case", "default", "/switch"))
            node.body.append(case)

    def _jump(self, piece: Piece, kind: str, allowed: bool) -> t.Element:
        if not allowed:
            raise FtlSyntaxError(f"<#{kind}> is not allowed here", piece.pos)
        value = parse_expression(piece) if piece.tokens else None
        return t.Jump(piece.pos, piece.end, kind=kind, value=value)

    def d_break(self, piece: Piece) -> t.Element:
        self.no_params(piece)
        return self._jump(piece, "break", self.loops + self.switches > 0)

    def d_continue(self, piece: Piece) -> t.Element:
        self.no_params(piece)
        return self._jump(piece, "continue", self.loops > 0)

    def d_return(self, piece: Piece) -> t.Element:
        if self.in_macro and not self.in_function and piece.tokens:
            raise FtlSyntaxError("a macro's <#return> takes no value", piece.pos)
        return self._jump(piece, "return", self.in_macro > 0)

    def d_stop(self, piece: Piece) -> t.Element:
        return self._jump(piece, "stop", True)

    def d_nested(self, piece: Piece) -> t.Element:
        if not self.in_macro:
            raise FtlSyntaxError("<#nested> outside a macro", piece.pos)
        parser = self.parser(piece)
        args = []
        while not parser.done():
            args.append(parser.expression())
            if parser.at(","):
                parser.take()
        return t.Nested(piece.pos, piece.end, args=args)

    def d_setting(self, piece: Piece) -> t.Element:
        parser = self.parser(piece)
        name = parser.name()
        if name not in FREEMARKER_SETTINGS:
            raise FtlSyntaxError(f"unknown setting {name!r}", piece.tokens[0].pos)
        parser.expect("=")
        node = t.Setting(piece.pos, piece.end, name=name, value=parser.expression())
        parser.finish()
        return node

    def d_compress(self, piece: Piece) -> t.Element:
        node = t.Compress(piece.pos, piece.end)
        node.body = self.block(node, ("/compress",))
        node.end = self.close(node, "compress")
        return node

    def d_attempt(self, piece: Piece) -> t.Element:
        self.no_params(piece)
        node = t.Attempt(piece.pos, piece.end)
        node.body = self.block(node, ("recover",))
        nxt = self.pieces[self.i]
        self.i += 1
        node.recover = t.Block(nxt.pos, nxt.end)
        node.recover.body = self.block(node, ("/attempt", "/recover"))
        node.end = self.close(
            node, self.pieces[self.i].name if self.i < len(self.pieces) else "attempt"
        )
        return node

    def _macro(self, piece: Piece, is_function: bool) -> t.Element:
        parser = self.parser(piece)
        kind = "function" if is_function else "macro"
        if parser.done():
            raise FtlSyntaxError(f"<#{kind}> needs a name", piece.end - 1)
        node = t.Macro(piece.pos, piece.end, name=parser.name(), is_function=is_function)
        if is_function and parser.at("("):
            parser.take()
        while not parser.done() and not parser.at(")"):
            name = parser.name()
            if parser.at("..."):
                raise Refused("catch-all parameters", parser.here())
            default = None
            if parser.at("="):
                parser.take()
                default = parser.expression()
            node.params.append((name, default))
            if parser.at(","):
                parser.take()
        if parser.at(")"):
            parser.take()
        parser.finish()
        self.in_macro += 1
        self.in_function += is_function
        saved = self.loops, self.switches
        self.loops = self.switches = 0
        try:
            node.body = self.block(node, ("/" + kind,))
        finally:
            self.in_macro -= 1
            self.in_function -= is_function
            self.loops, self.switches = saved
        node.end = self.close(node, kind)
        return node

    def d_macro(self, piece: Piece) -> t.Element:
        return self._macro(piece, False)

    def d_function(self, piece: Piece) -> t.Element:
        return self._macro(piece, True)

    def macro_call(self, piece: Piece) -> t.Element:
        parser = self.parser(piece)
        target: t.Expr = t.Variable(piece.pos, piece.name)
        node = t.MacroCall(piece.pos, piece.end, target=target)
        while not parser.done() and not parser.at(";"):
            tok, nxt = parser.peek(), parser.peek(1)
            if tok and tok.kind == "name" and nxt is not None and nxt.text == "=":
                parser.i += 2
                node.named.append((tok.text, parser.expression()))
            else:
                node.positional.append(parser.expression())
            if parser.at(","):
                parser.take()
        if parser.at(";"):
            parser.take()
            while not parser.done():
                node.loop_vars.append(parser.name())
                if parser.at(","):
                    parser.take()
        if not piece.self_closing:
            node.has_body = True
            node.body = self.block(node, ("@",))
            end = self.pieces[self.i] if self.i < len(self.pieces) else None
            if end is None or end.kind != "endcall" or end.name not in (piece.name, ""):
                raise FtlSyntaxError(f"unclosed <@{piece.name}>", piece.pos)
            self.i += 1
            node.end = end.end
        return node

    def d_ftl(self, piece: Piece) -> t.Element:
        if piece.pos != 0 and self.source[: piece.pos].strip():
            raise FtlSyntaxError("<#ftl> must be the first thing in the template", piece.pos)
        parser = self.parser(piece)
        while not parser.done():
            name = parser.name()
            parser.expect("=")
            value = parser.expression()
            if name == "strip_whitespace" and isinstance(value, t.Literal):
                self.strip = bool(value.value)
            else:
                raise Refused(f"<#ftl {name}=...>", piece.pos)
        nxt = self.pieces[self.i] if self.i < len(self.pieces) else None
        if nxt is not None and nxt.kind == "text":  # the header's line break is not output
            rest = re.sub(r"^[ \t]*(\r\n|\n|\r)", "", nxt.text, count=1)
            nxt.pos += len(nxt.text) - len(rest)
            nxt.text = rest
        return t.Comment(piece.pos, piece.end)

    def d_flush(self, piece: Piece) -> t.Element:
        self.no_params(piece)
        return t.Flush(piece.pos, piece.end)

    def d_t(self, piece: Piece) -> t.Element:
        return t.Trim(piece.pos, piece.end, left=True, right=True)

    def d_lt(self, piece: Piece) -> t.Element:
        return t.Trim(piece.pos, piece.end, left=True, right=False)

    def d_rt(self, piece: Piece) -> t.Element:
        return t.Trim(piece.pos, piece.end, left=False, right=True)

    def d_nt(self, piece: Piece) -> t.Element:
        return t.Trim(piece.pos, piece.end, left=False, right=False)


def walk(elements: list[t.Element]) -> Iterator[t.Element]:
    """The elements and their descendants, not looking into nested lists and macros."""
    for element in elements:
        yield element
        if not isinstance(element, t.ListDirective | t.Macro):
            yield from walk(element.kids())


def parse(source: str) -> t.Block:
    return TemplateParser(source).parse()
