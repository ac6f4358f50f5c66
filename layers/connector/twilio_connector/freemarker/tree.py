"""The syntax tree: expression nodes (``Expr``) and template elements (``Element``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Expr:
    pos: int


@dataclass(eq=False)
class Literal(Expr):
    value: Any


@dataclass(eq=False)
class StringTemplate(Expr):
    parts: list[Any]  # str or Expr


@dataclass(eq=False)
class Variable(Expr):
    name: str


@dataclass(eq=False)
class Special(Expr):
    name: str  # .now, .locale, ...


@dataclass(eq=False)
class Dot(Expr):
    target: Expr
    name: str


@dataclass(eq=False)
class Index(Expr):
    target: Expr
    key: Expr


@dataclass(eq=False)
class CallExpr(Expr):
    target: Expr
    args: list[Expr]


@dataclass(eq=False)
class BuiltIn(Expr):
    target: Expr
    name: str
    args: list[Expr] | None = None


@dataclass(eq=False)
class Default(Expr):
    target: Expr
    fallback: Expr | None


@dataclass(eq=False)
class Exists(Expr):
    target: Expr


@dataclass(eq=False)
class Paren(Expr):
    inner: Expr


@dataclass(eq=False)
class Unary(Expr):
    op: str
    operand: Expr


@dataclass(eq=False)
class Binary(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(eq=False)
class RangeExpr(Expr):
    start: Expr
    stop: Expr | None
    kind: str  # "..", "..<", "..*"


@dataclass(eq=False)
class ListLiteral(Expr):
    items: list[Expr]


@dataclass(eq=False)
class HashLiteral(Expr):
    pairs: list[tuple[Expr, Expr]]


@dataclass(eq=False)
class Lambda(Expr):
    param: str
    body: Expr


# --- elements ------------------------------------------------------------------------------------
@dataclass(eq=False)
class Element:
    pos: int
    end: int

    def kids(self) -> list[Element]:
        return []


@dataclass(eq=False)
class Block(Element):
    """Elements in sequence (the body of a directive, a branch)."""

    body: list[Element] = field(default_factory=list)

    def kids(self) -> list[Element]:
        return self.body


@dataclass(eq=False)
class Text(Element):
    text: str = ""


@dataclass(eq=False)
class Comment(Element):
    pass


@dataclass(eq=False)
class Interpolation(Element):
    expr: Expr | None = None


@dataclass(eq=False)
class NumericInterpolation(Element):
    expr: Expr | None = None
    min_fraction: int | None = None
    max_fraction: int | None = None


@dataclass(eq=False)
class Branch(Block):
    condition: Expr | None = None  # None: <#else>


@dataclass(eq=False)
class If(Block):
    pass  # body: Branch elements


@dataclass(eq=False)
class ListDirective(Block):
    source: Expr | None = None
    var: str | None = None  # None: the <#items> form
    value_var: str | None = None
    else_branch: Block | None = None

    def kids(self) -> list[Element]:
        return self.body + ([self.else_branch] if self.else_branch else [])


@dataclass(eq=False)
class Items(Block):
    var: str = ""
    value_var: str | None = None


@dataclass(eq=False)
class Sep(Block):
    pass


@dataclass(eq=False)
class Assign(Element):
    scope: str = "assign"
    ops: list[tuple[str, str, Expr | None]] = field(default_factory=list)


@dataclass(eq=False)
class CaptureAssign(Block):
    scope: str = "assign"
    name: str = ""


@dataclass(eq=False)
class Case(Block):
    values: list[Expr] | None = None  # None: <#default>


@dataclass(eq=False)
class Switch(Block):
    value: Expr | None = None  # body: Case elements


@dataclass(eq=False)
class Jump(Element):
    kind: str = "break"  # break, continue, return, stop
    value: Expr | None = None


@dataclass(eq=False)
class Nested(Element):
    args: list[Expr] = field(default_factory=list)


@dataclass(eq=False)
class Setting(Element):
    name: str = ""
    value: Expr | None = None


@dataclass(eq=False)
class Compress(Block):
    pass


@dataclass(eq=False)
class Attempt(Block):
    recover: Block | None = None

    def kids(self) -> list[Element]:
        return self.body + ([self.recover] if self.recover else [])


@dataclass(eq=False)
class Macro(Block):
    name: str = ""
    params: list[tuple[str, Expr | None]] = field(default_factory=list)
    catch_all: str | None = None
    is_function: bool = False


@dataclass(eq=False)
class MacroCall(Block):
    target: Expr | None = None
    positional: list[Expr] = field(default_factory=list)
    named: list[tuple[str, Expr]] = field(default_factory=list)
    loop_vars: list[str] = field(default_factory=list)
    has_body: bool = False


@dataclass(eq=False)
class Trim(Element):
    left: bool = True
    right: bool = True


@dataclass(eq=False)
class Flush(Element):
    pass
