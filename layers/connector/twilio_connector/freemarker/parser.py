"""The parser: pieces from :mod:`lexer` into a tree of :mod:`tree` elements, then FreeMarker's
white-space stripping (lines holding only directives or comments vanish, ``<#t>``, ``<#lt>``,
``<#rt>``, ``<#nt>``)."""

from __future__ import annotations

import re
from decimal import Decimal

from twilio_connector.freemarker import tree as t
from twilio_connector.freemarker.errors import FtlSyntaxError, Refused
from twilio_connector.freemarker.lexer import Piece, Token, split, tokenize

MAX_NESTING = 40

#: Directives FreeMarker has that this engine refuses, by name.
REFUSED_DIRECTIVES = {
    "include", "import", "visit", "recurse", "fallback", "escape", "noescape", "outputformat",
    "autoesc", "noautoesc", "attempt_not", "ftl_not",
}  # fmt: skip
REFUSED_DIRECTIVES -= {"attempt_not", "ftl_not"}
_STRING_ESCAPES = {
    "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "l": "<", "g": ">", "a": "&",
    "\\": "\\", '"': '"', "'": "'", "{": "{", "=": "=",
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

    def or_expr(self) -> t.Expr:
        left = self.and_expr()
        while self.at("||"):
            pos = self.take().pos
            left = t.Binary(pos, "||", left, self.and_expr())
        return left

    def and_expr(self) -> t.Expr:
        left = self.equality()
        while self.at("&&"):
            pos = self.take().pos
            left = t.Binary(pos, "&&", left, self.equality())
        return left

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
            left = t.Binary(tok.pos, op, left, self.range_expr())
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
        left = self.multiplicative()
        while self.at("+", "-"):
            tok = self.take()
            left = t.Binary(tok.pos, tok.text, left, self.multiplicative())
        return left

    def multiplicative(self) -> t.Expr:
        left = self.unary()
        while self.at("*", "/", "%"):
            tok = self.take()
            left = t.Binary(tok.pos, tok.text, left, self.unary())
        return left

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
                if name in _SUBNAMED and self.at(".") and (nxt := self.peek(1)) and nxt.kind == "name":
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
    from twilio_connector.freemarker.builtins import REFUSED, known

    if name in REFUSED or name.startswith("is_") and name not in _known():
        raise Refused(f"?{name}", pos)
    if name not in _known():
        raise FtlSyntaxError(f"unknown built-in ?{name}", pos)


def _known() -> set[str]:
    from twilio_connector.freemarker.builtins import known

    if not _KNOWN:
        _KNOWN.update(known())
        _KNOWN.update(["string", "string.number", "string.currency", "string.percent",
                       "string.computer", "string.short", "string.medium", "string.long",
                       "string.full", "string.iso", "string.xs", "truncate", "url", "url_path",
                       "is_string", "is_number", "is_boolean", "is_sequence", "is_enumerable",
                       "is_hash", "is_date", "is_date_like", "is_datetime", "is_date_only",
                       "is_time", "is_function", "is_macro"])  # fmt: skip
    return _KNOWN


_KNOWN: set[str] = set()


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
        self.i = 0
        self.strip = True

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

    def d_list(self, piece: Piece) -> t.Element:
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

    in_macro = 0

    def d_switch(self, piece: Piece) -> t.Element:
        node = t.Switch(piece.pos, piece.end, value=parse_expression(piece))
        before = self.block(node, ("case", "default", "on", "/switch"))
        if any(not (isinstance(x, t.Text) and not x.text.strip()) for x in before):
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

    loops = 0
    switches = 0
    in_function = 0

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
        node.end = self.close(node, self.pieces[self.i].name if self.i < len(self.pieces) else "attempt")
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


def _track_loops(method):  # noqa: ANN001, ANN202 - decorator for the parser's block directives
    def wrapper(self: TemplateParser, piece: Piece) -> t.Element:
        field = "switches" if method.__name__ == "d_switch" else "loops"
        setattr(self, field, getattr(self, field) + 1)
        try:
            return method(self, piece)
        finally:
            setattr(self, field, getattr(self, field) - 1)

    return wrapper


TemplateParser.d_list = _track_loops(TemplateParser.d_list)  # type: ignore[method-assign]
TemplateParser.d_switch = _track_loops(TemplateParser.d_switch)  # type: ignore[method-assign]


def walk(elements: list[t.Element]):  # noqa: ANN201 - a generator of elements
    for element in elements:
        yield element
        if not isinstance(element, t.ListDirective | t.Macro):
            yield from walk(element.kids())


def parse(source: str) -> t.Block:
    return TemplateParser(source).parse()


# --- white-space stripping (FreeMarker's TextBlock.postParseCleanup) ----------------------------
_NON_OUTPUTTING = (t.Macro, t.Assign, t.Setting, t.Comment)


class _Lines:
    def __init__(self, source: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer(r"\r\n|\n|\r", source)]

    def line(self, pos: int) -> int:
        import bisect

        return bisect.bisect_right(self.starts, pos)


def strip_whitespace(root: t.Block, source: str) -> None:
    lines = _Lines(source)
    parents: dict[int, tuple[t.Element, int]] = {}

    def index(node: t.Element) -> None:
        for k, kid in enumerate(node.kids()):
            parents[id(kid)] = (node, k)
            index(kid)

    index(root)
    leaves_cache: dict[int, list[t.Element]] = {}

    def is_leaf(node: t.Element) -> bool:
        return not node.kids() or isinstance(node, t.Macro | t.CaptureAssign)

    def first_leaf(node: t.Element) -> t.Element:
        while not is_leaf(node):
            node = node.kids()[0]
        return node

    def last_leaf(node: t.Element) -> t.Element:
        while not is_leaf(node):
            node = node.kids()[-1]
        return node

    def sibling(node: t.Element, step: int) -> t.Element | None:
        parent = parents.get(id(node))
        if parent is None:
            return None
        kids = parent[0].kids()
        k = parent[1] + step
        return kids[k] if 0 <= k < len(kids) else None

    def prev_leaf(node: t.Element) -> t.Element | None:
        while True:
            prev = sibling(node, -1)
            if prev is not None:
                return last_leaf(prev)
            parent = parents.get(id(node))
            if parent is None or parent[0] is root:
                return None
            node = parent[0]

    def next_leaf(node: t.Element) -> t.Element | None:
        while True:
            nxt = sibling(node, 1)
            if nxt is not None:
                return first_leaf(nxt)
            parent = parents.get(id(node))
            if parent is None or parent[0] is root:
                return None
            node = parent[0]

    del leaves_cache
    class _LineOf(dict):
        def __init__(self, at_end: bool) -> None:
            super().__init__()
            self.at_end = at_end

        def __getitem__(self, key: int) -> int:
            node = nodes[key]
            return lines.line(max(node.end - 1, node.pos) if self.at_end else node.pos)

    nodes: dict[int, t.Element] = {id(root): root}
    for node in list(_all(root)):
        nodes[id(node)] = node
    begin, end_line = _LineOf(False), _LineOf(True)

    def heeds_opening(node: t.Element) -> bool:  # asked of elements before, on the same line
        if isinstance(node, t.Interpolation | t.NumericInterpolation):
            return True
        if isinstance(node, t.Text):
            if ignorable(node):
                return False
            for ch in reversed(node.text):
                if ch in "\r\n":
                    return False
                if not ch.isspace():
                    return True
            return True
        return False

    def heeds_trailing(node: t.Element) -> bool:  # asked of elements after, on the same line
        if isinstance(node, t.Interpolation | t.NumericInterpolation):
            return True
        if isinstance(node, t.Text):
            if ignorable(node):
                return False
            for ch in node.text:
                if ch in "\r\n":
                    return False
                if not ch.isspace():
                    return True
            return True
        return False

    def ignorable(node: t.Text) -> bool:
        if not node.text:
            return True
        if node.text.strip():
            return False
        top = parents.get(id(node), (root,))[0] is root
        prev, nxt = sibling(node, -1), sibling(node, 1)
        return ((prev is None and top) or isinstance(prev, _NON_OUTPUTTING)) and (
            (nxt is None and top) or isinstance(nxt, _NON_OUTPUTTING)
        )

    def on_line_before(node: t.Element):  # noqa: ANN202
        line = begin[id(node)]
        leaf = prev_leaf(node)
        while leaf is not None and end_line[id(leaf)] == line:
            yield leaf
            leaf = prev_leaf(leaf)

    def on_line_after(node: t.Element):  # noqa: ANN202
        line = end_line[id(node)]
        leaf = next_leaf(node)
        while leaf is not None and begin[id(leaf)] == line:
            yield leaf
            leaf = next_leaf(leaf)

    texts = [n for n in walk(root.body) if isinstance(n, t.Text)]
    texts += [n for m in walk(root.body) if isinstance(m, t.ListDirective | t.Macro)
              for n in walk(m.kids()) if isinstance(n, t.Text)]  # fmt: skip
    seen: set[int] = set()
    for node in sorted(texts, key=lambda n: n.pos):
        if id(node) in seen:
            continue
        seen.add(id(node))
        _strip_text(node, on_line_before, on_line_after, heeds_opening, heeds_trailing,
                    parents, root, sibling)  # fmt: skip
    for node in [n for n in walk(root.body) if isinstance(n, t.Text)] + [
        n for m in walk(root.body) if isinstance(m, t.ListDirective | t.Macro)
        for n in walk(m.kids()) if isinstance(n, t.Text)
    ]:  # fmt: skip
        pass
    _remove_ignorable(root, ignorable)


def _all(node: t.Element):  # noqa: ANN202
    for kid in node.kids():
        yield kid
        yield from _all(kid)


def _remove_ignorable(node: t.Element, ignorable) -> None:  # noqa: ANN001
    kids = node.kids()
    doomed = [k for k in kids if isinstance(k, t.Text) and ignorable(k)]
    for kid in kids:
        _remove_ignorable(kid, ignorable)
    for kid in doomed:
        if isinstance(node, t.ListDirective | t.Attempt) and kid not in node.body:
            continue
        if hasattr(node, "body") and kid in node.body:
            node.body.remove(kid)


def _strip_text(node, before, after, heeds_opening, heeds_trailing, parents, root, sibling):  # noqa: ANN001, PLR0913
    text = node.text
    left_trim = right_trim = False
    for leaf in after(node):
        if isinstance(leaf, t.Trim):
            if not leaf.left and not leaf.right:
                left_trim = True
            if leaf.left:
                left_trim = True
                last_nl = max(text.rfind("\n"), text.rfind("\r"))
                head, last_line = text[: last_nl + 1], text[last_nl + 1 :]
                if last_nl >= 0 or _column_one(node):
                    text = head + last_line.lstrip() if last_line.strip() else head
    for leaf in before(node):
        if isinstance(leaf, t.Trim):
            if not leaf.left and not leaf.right:
                right_trim = True
            if leaf.right:
                right_trim = True
                first = _first_newline_end(text)
                if first == 0:
                    break
                opening, trailing = text[:first], text[first:]
                if not opening.strip():
                    text = trailing
                else:
                    text = opening.rstrip() + trailing
    node.text = text
    parent = parents.get(id(node), (root,))[0]
    if parent is root and sibling(node, -1) is None:
        return
    strip_tail = 0 if left_trim else _trailing_to_strip(node, after, heeds_trailing)
    strip_head = 0 if right_trim else _opening_to_strip(node, before, heeds_opening)
    if strip_head or strip_tail:
        node.text = node.text[strip_head : len(node.text) - strip_tail]


def _column_one(node: t.Text) -> bool:
    return node.pos == 0 or node.text[:0] == "" and False


def _first_newline_end(text: str) -> int:
    for k, ch in enumerate(text):
        if ch == "\n":
            return k + 1
        if ch == "\r":
            return k + 2 if text[k + 1 : k + 2] == "\n" else k + 1
    return 0


def _opening_to_strip(node, before, heeds_opening) -> int:  # noqa: ANN001
    text = node.text
    first = _first_newline_end(text)
    if first == 0:
        return 0
    if text[:first].strip():
        return 0
    if any(heeds_opening(leaf) for leaf in before(node)):
        return 0
    return first


def _trailing_to_strip(node, after, heeds_trailing) -> int:  # noqa: ANN001
    text = node.text
    last_nl = max(text.rfind("\n"), text.rfind("\r"))
    if last_nl < 0:
        return 0
    tail = text[last_nl + 1 :]
    if tail.strip():
        return 0
    if any(heeds_trailing(leaf) for leaf in after(node)):
        return 0
    return len(tail)
