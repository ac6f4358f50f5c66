"""The syntax tree: expression nodes (``Expr``) and template elements (``Element``).

Plain classes with ``__slots__`` rather than dataclasses: creating 42 dataclasses was three
fifths of the engine's import time, and the engine is imported on every cold start that renders."""

from __future__ import annotations

from typing import Any


class Node:
    """A tree node: its fields are the ``__slots__`` of its class and of the classes above it."""

    __slots__ = ()

    def __repr__(self) -> str:
        names = [
            name
            for cls in reversed(type(self).__mro__)
            for name in cls.__dict__.get("__slots__", ())
        ]
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__name__}({fields})"


class Expr(Node):
    __slots__ = ("pos",)

    def __init__(self, pos: int) -> None:
        self.pos = pos


class Literal(Expr):
    __slots__ = ("value",)

    def __init__(self, pos: int, value: Any) -> None:
        self.pos = pos
        self.value = value


class StringTemplate(Expr):
    # parts: str or Expr
    __slots__ = ("parts",)

    def __init__(self, pos: int, parts: list[Any]) -> None:
        self.pos = pos
        self.parts = parts


class Variable(Expr):
    __slots__ = ("name",)

    def __init__(self, pos: int, name: str) -> None:
        self.pos = pos
        self.name = name


class Special(Expr):
    # name: .now, .locale, ...
    __slots__ = ("name",)

    def __init__(self, pos: int, name: str) -> None:
        self.pos = pos
        self.name = name


class Dot(Expr):
    __slots__ = ("name", "target")

    def __init__(self, pos: int, target: Expr, name: str) -> None:
        self.pos = pos
        self.target = target
        self.name = name


class Index(Expr):
    __slots__ = ("key", "target")

    def __init__(self, pos: int, target: Expr, key: Expr) -> None:
        self.pos = pos
        self.target = target
        self.key = key


class CallExpr(Expr):
    __slots__ = ("args", "target")

    def __init__(self, pos: int, target: Expr, args: list[Expr]) -> None:
        self.pos = pos
        self.target = target
        self.args = args


class BuiltIn(Expr):
    __slots__ = ("args", "name", "target")

    def __init__(self, pos: int, target: Expr, name: str, args: list[Expr] | None = None) -> None:
        self.pos = pos
        self.target = target
        self.name = name
        self.args = args


class Default(Expr):
    __slots__ = ("fallback", "target")

    def __init__(self, pos: int, target: Expr, fallback: Expr | None) -> None:
        self.pos = pos
        self.target = target
        self.fallback = fallback


class Exists(Expr):
    __slots__ = ("target",)

    def __init__(self, pos: int, target: Expr) -> None:
        self.pos = pos
        self.target = target


class Paren(Expr):
    __slots__ = ("inner",)

    def __init__(self, pos: int, inner: Expr) -> None:
        self.pos = pos
        self.inner = inner


class Unary(Expr):
    __slots__ = ("op", "operand")

    def __init__(self, pos: int, op: str, operand: Expr) -> None:
        self.pos = pos
        self.op = op
        self.operand = operand


class Binary(Expr):
    __slots__ = ("left", "op", "right")

    def __init__(self, pos: int, op: str, left: Expr, right: Expr) -> None:
        self.pos = pos
        self.op = op
        self.left = left
        self.right = right


class RangeExpr(Expr):
    # kind: "..", "..<", "..*"
    __slots__ = ("kind", "start", "stop")

    def __init__(self, pos: int, start: Expr, stop: Expr | None, kind: str) -> None:
        self.pos = pos
        self.start = start
        self.stop = stop
        self.kind = kind


class ListLiteral(Expr):
    __slots__ = ("items",)

    def __init__(self, pos: int, items: list[Expr]) -> None:
        self.pos = pos
        self.items = items


class HashLiteral(Expr):
    __slots__ = ("pairs",)

    def __init__(self, pos: int, pairs: list[tuple[Expr, Expr]]) -> None:
        self.pos = pos
        self.pairs = pairs


class Lambda(Expr):
    __slots__ = ("body", "param")

    def __init__(self, pos: int, param: str, body: Expr) -> None:
        self.pos = pos
        self.param = param
        self.body = body


# --- elements ------------------------------------------------------------------------------------
class Element(Node):
    __slots__ = ("end", "pos")

    def __init__(self, pos: int, end: int) -> None:
        self.pos = pos
        self.end = end

    def kids(self) -> list[Element]:
        return []


class Block(Element):
    """Elements in sequence (the body of a directive, a branch)."""

    __slots__ = ("body",)

    def __init__(self, pos: int, end: int, body: list[Element] | None = None) -> None:
        self.pos = pos
        self.end = end
        self.body = [] if body is None else body

    def kids(self) -> list[Element]:
        return self.body


class Text(Element):
    __slots__ = ("text",)

    def __init__(self, pos: int, end: int, text: str = "") -> None:
        self.pos = pos
        self.end = end
        self.text = text


class Comment(Element):
    __slots__ = ()


class Interpolation(Element):
    __slots__ = ("expr",)

    def __init__(self, pos: int, end: int, expr: Expr | None = None) -> None:
        self.pos = pos
        self.end = end
        self.expr = expr


class NumericInterpolation(Element):
    __slots__ = ("expr", "max_fraction", "min_fraction")

    def __init__(
        self,
        pos: int,
        end: int,
        expr: Expr | None = None,
        min_fraction: int | None = None,
        max_fraction: int | None = None,
    ) -> None:
        self.pos = pos
        self.end = end
        self.expr = expr
        self.min_fraction = min_fraction
        self.max_fraction = max_fraction


class Branch(Block):
    # condition: None: <#else>
    __slots__ = ("condition",)

    def __init__(
        self, pos: int, end: int, body: list[Element] | None = None, condition: Expr | None = None
    ) -> None:
        self.pos = pos
        self.end = end
        self.body = [] if body is None else body
        self.condition = condition


class If(Block):
    # body: Branch elements
    __slots__ = ()


class ListDirective(Block):
    # var: None: the <#items> form
    __slots__ = ("else_branch", "source", "value_var", "var")

    def __init__(
        self,
        pos: int,
        end: int,
        body: list[Element] | None = None,
        source: Expr | None = None,
        var: str | None = None,
        value_var: str | None = None,
        else_branch: Block | None = None,
    ) -> None:
        self.pos = pos
        self.end = end
        self.body = [] if body is None else body
        self.source = source
        self.var = var
        self.value_var = value_var
        self.else_branch = else_branch

    def kids(self) -> list[Element]:
        return self.body + ([self.else_branch] if self.else_branch else [])


class Items(Block):
    __slots__ = ("value_var", "var")

    def __init__(
        self,
        pos: int,
        end: int,
        body: list[Element] | None = None,
        var: str = "",
        value_var: str | None = None,
    ) -> None:
        self.pos = pos
        self.end = end
        self.body = [] if body is None else body
        self.var = var
        self.value_var = value_var


class Sep(Block):
    __slots__ = ()


class Assign(Element):
    __slots__ = ("ops", "scope")

    def __init__(
        self,
        pos: int,
        end: int,
        scope: str = "assign",
        ops: list[tuple[str, str, Expr | None]] | None = None,
    ) -> None:
        self.pos = pos
        self.end = end
        self.scope = scope
        self.ops = [] if ops is None else ops


class CaptureAssign(Block):
    __slots__ = ("name", "scope")

    def __init__(
        self,
        pos: int,
        end: int,
        body: list[Element] | None = None,
        scope: str = "assign",
        name: str = "",
    ) -> None:
        self.pos = pos
        self.end = end
        self.body = [] if body is None else body
        self.scope = scope
        self.name = name


class Case(Block):
    # values: None: <#default>
    __slots__ = ("values",)

    def __init__(
        self,
        pos: int,
        end: int,
        body: list[Element] | None = None,
        values: list[Expr] | None = None,
    ) -> None:
        self.pos = pos
        self.end = end
        self.body = [] if body is None else body
        self.values = values


class Switch(Block):
    # value: body: Case elements
    __slots__ = ("value",)

    def __init__(
        self, pos: int, end: int, body: list[Element] | None = None, value: Expr | None = None
    ) -> None:
        self.pos = pos
        self.end = end
        self.body = [] if body is None else body
        self.value = value


class Jump(Element):
    # kind: break, continue, return, stop
    __slots__ = ("kind", "value")

    def __init__(self, pos: int, end: int, kind: str = "break", value: Expr | None = None) -> None:
        self.pos = pos
        self.end = end
        self.kind = kind
        self.value = value


class Nested(Element):
    __slots__ = ("args",)

    def __init__(self, pos: int, end: int, args: list[Expr] | None = None) -> None:
        self.pos = pos
        self.end = end
        self.args = [] if args is None else args


class Setting(Element):
    __slots__ = ("name", "value")

    def __init__(self, pos: int, end: int, name: str = "", value: Expr | None = None) -> None:
        self.pos = pos
        self.end = end
        self.name = name
        self.value = value


class Compress(Block):
    __slots__ = ()


class Attempt(Block):
    __slots__ = ("recover",)

    def __init__(
        self, pos: int, end: int, body: list[Element] | None = None, recover: Block | None = None
    ) -> None:
        self.pos = pos
        self.end = end
        self.body = [] if body is None else body
        self.recover = recover

    def kids(self) -> list[Element]:
        return self.body + ([self.recover] if self.recover else [])


class Macro(Block):
    __slots__ = ("catch_all", "is_function", "name", "params")

    def __init__(
        self,
        pos: int,
        end: int,
        body: list[Element] | None = None,
        name: str = "",
        params: list[tuple[str, Expr | None]] | None = None,
        catch_all: str | None = None,
        is_function: bool = False,
    ) -> None:
        self.pos = pos
        self.end = end
        self.body = [] if body is None else body
        self.name = name
        self.params = [] if params is None else params
        self.catch_all = catch_all
        self.is_function = is_function


class MacroCall(Block):
    __slots__ = ("has_body", "loop_vars", "named", "positional", "target")

    def __init__(
        self,
        pos: int,
        end: int,
        body: list[Element] | None = None,
        target: Expr | None = None,
        positional: list[Expr] | None = None,
        named: list[tuple[str, Expr]] | None = None,
        loop_vars: list[str] | None = None,
        has_body: bool = False,
    ) -> None:
        self.pos = pos
        self.end = end
        self.body = [] if body is None else body
        self.target = target
        self.positional = [] if positional is None else positional
        self.named = [] if named is None else named
        self.loop_vars = [] if loop_vars is None else loop_vars
        self.has_body = has_body


class Trim(Element):
    __slots__ = ("left", "right")

    def __init__(self, pos: int, end: int, left: bool = True, right: bool = True) -> None:
        self.pos = pos
        self.end = end
        self.left = left
        self.right = right


class Flush(Element):
    __slots__ = ()
