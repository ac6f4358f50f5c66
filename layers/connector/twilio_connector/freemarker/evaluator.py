"""The evaluator: runs a parsed template against the metadata, with FreeMarker's semantics
(decimal arithmetic, missing values, scopes, loops, macros) and the caps on time and size."""

from __future__ import annotations

import time
from decimal import ROUND_HALF_UP, Decimal, DecimalException, localcontext
from typing import Any

from twilio_connector.freemarker import date_format, number_format
from twilio_connector.freemarker import tree as t
from twilio_connector.freemarker.builtins import LAZY, REGISTRY, load
from twilio_connector.freemarker.errors import (
    FtlError,
    FtlLimit,
    FtlMissing,
    FtlRuntimeError,
    FtlSyntaxError,
    FtlTimeout,
    Refused,
)
from twilio_connector.freemarker.values import (
    DATE,
    DATETIME,
    TIME,
    FmDate,
    LambdaValue,
    MacroValue,
    Range,
    capped,
    is_sequence,
    type_name,
)

MAX_OUTPUT_CHARS = 20_000
MAX_CALL_DEPTH = 40
MAX_ITERATIONS = 100_000
#: FreeMarker's special variables (``.name``) that this engine refuses.
REFUSED_SPECIALS = {
    "version", "main", "namespace", "template_name", "current_template_name",
    "main_template_name", "output_encoding", "url_escaping_charset", "node",
    "caller_template_name", "pass", "output_format", "auto_esc", "incompatible_improvements",
    "args", "get_optional_template", "time_zone",
}  # fmt: skip
SETTINGS = {
    "locale", "time_zone", "number_format", "boolean_format", "date_format", "time_format",
    "datetime_format",
}  # fmt: skip


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


class Loop:
    """The state of a ``<#list>`` loop, for ``?index``, ``?has_next`` and the like."""

    __slots__ = ("index", "size", "var")

    def __init__(self, var: str, index: int, size: int) -> None:
        self.var, self.index, self.size = var, index, size

    @property
    def has_next(self) -> bool:
        return self.index + 1 < self.size


class Renderer:
    """One render: the data model, the assigned variables (``namespace`` for ``<#assign>``,
    ``globals`` for ``<#global>``, ``scopes`` for loop variables and macro locals), the
    settings, and the output. Elements run through ``x_<Element>`` methods, expressions
    evaluate through ``e_<Expr>`` methods."""

    def __init__(self, data: dict[str, Any], locale: str, zone: str, deadline: float,
                 now_millis: int | None = None,
                 max_output: int = MAX_OUTPUT_CHARS) -> None:  # fmt: skip
        self.data = data
        self.namespace: dict[str, Any] = {}
        self.globals: dict[str, Any] = {}
        self.scopes: list[dict[str, Any]] = []
        self.loops: list[Loop] = []
        self.listed: list[tuple[Any, t.ListDirective]] = []  # <#list xs> awaiting its <#items>
        self.settings: dict[str, Any] = {
            "locale": locale, "time_zone": zone, "number_format": "number",
            "boolean_format": "true,false", "date_format": "", "time_format": "",
            "datetime_format": "",
        }  # fmt: skip
        self.out: list[str] = []
        self.size = 0
        self.max_output = max_output
        self.deadline = deadline
        self.now = date_format.now_value(now_millis)
        self.calls: list[tuple[t.MacroCall, list[dict[str, Any]], list[Loop]]] = []
        self.errors: list[str] = []
        load()  # the built-ins (done already when the template was parsed)

    # output --------------------------------------------------------------------------------------
    def write(self, text: str) -> None:
        self.size += len(text)
        if self.size > self.max_output:
            raise FtlLimit(f"the output is over {self.max_output} characters")
        self.out.append(text)

    def capture(self, body: list[t.Element]) -> str:
        saved, self.out = self.out, []
        try:
            self.run(body)
            return "".join(self.out)
        finally:
            self.out = saved

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise FtlTimeout("the template took too long to render")

    # elements ------------------------------------------------------------------------------------
    def run(self, body: list[t.Element]) -> None:
        for element in body:
            handler = getattr(self, "x_" + type(element).__name__)
            handler(element)

    def x_Block(self, node: t.Block) -> None:
        self.run(node.body)

    def x_Text(self, node: t.Text) -> None:
        if node.text:
            self.write(node.text)

    def x_Comment(self, node: t.Element) -> None:
        pass

    x_Trim = x_Flush = x_Comment

    def x_Interpolation(self, node: t.Interpolation) -> None:
        assert node.expr is not None
        self.write(self.to_text(self.eval(node.expr), "${...}", node.expr.pos))

    def x_NumericInterpolation(self, node: t.NumericInterpolation) -> None:
        assert node.expr is not None
        value = self.eval(node.expr)
        if not isinstance(value, Decimal):
            raise FtlRuntimeError(f"#{{...}} expects a number, not a {type_name(value)}", node.pos)
        self.write(
            number_format.legacy_interpolation(
                value, node.min_fraction, node.max_fraction, self.settings["locale"]
            )
        )

    def x_If(self, node: t.If) -> None:
        for branch in node.body:
            assert isinstance(branch, t.Branch)
            if branch.condition is None or self.condition(branch.condition):
                self.run(branch.body)
                return

    def condition(self, expr: t.Expr) -> bool:
        value = self.eval(expr)
        if not isinstance(value, bool):
            raise FtlRuntimeError(
                f"a condition must be a boolean, not a {type_name(value)}", expr.pos
            )
        return value

    def x_ListDirective(self, node: t.ListDirective) -> None:
        assert node.source is not None
        source = self.eval(node.source)
        if self._iterable_size(source, node) == 0:
            if node.else_branch:
                self.run(node.else_branch.body)
        elif node.var is None:  # <#list xs>...<#items as x>...</#items>...</#list>
            self.listed.append((source, node))
            try:
                self.run(node.body)
            finally:
                self.listed.pop()
        else:
            self.iterate(source, node.var, node.value_var, node.body, node)

    def _iterable_size(self, source: Any, node: t.Element) -> int:
        if isinstance(source, Range):  # before 2.3.21, listing ``n..`` lists nothing
            return 0 if source.stop is None else len(source)
        if isinstance(source, list | dict):
            return len(source)
        raise FtlRuntimeError(
            f"<#list> expects a sequence or hash, not a {type_name(source)}", node.pos
        )

    def x_Items(self, node: t.Items) -> None:
        if not self.listed:
            raise FtlSyntaxError("<#items> outside <#list>", node.pos)
        source, owner = self.listed[-1]
        self.iterate(source, node.var, node.value_var, node.body, owner)

    def iterate(self, source: Any, var: str, value_var: str | None, body: list[t.Element],
                node: t.Element) -> None:  # fmt: skip
        if isinstance(source, dict):
            if value_var is None:
                raise FtlRuntimeError("listing a hash needs two loop variables", node.pos)
            pairs = list(source.items())
        else:
            if value_var is not None:
                raise FtlRuntimeError("listing a sequence takes one loop variable", node.pos)
            pairs = None
        size = len(source)  # (a right-unbounded range never gets here: it lists as empty)
        scope: dict[str, Any] = {}
        loop = Loop(var, 0, size)
        self.scopes.append(scope)
        self.loops.append(loop)
        try:
            for k in range(size):
                self.tick()
                if k >= MAX_ITERATIONS:
                    raise FtlLimit(f"a loop of more than {MAX_ITERATIONS} iterations")
                loop.index = k
                if pairs is not None:
                    scope[var], scope[value_var] = pairs[k]  # type: ignore[index]
                elif isinstance(source, Range):
                    scope[var] = Decimal(source.start + k * source.step)
                else:
                    scope[var] = source[k]
                try:
                    self.run(body)
                except _Continue:
                    pass
                except _Break:
                    break
        finally:
            self.loops.pop()
            self.scopes.pop()

    def x_Sep(self, node: t.Sep) -> None:
        if self.loops and self.loops[-1].has_next:
            self.run(node.body)

    def x_Assign(self, node: t.Assign) -> None:
        for name, op, expr in node.ops:
            if op == "=":
                assert expr is not None
                value = self.eval(expr)
            else:
                current = self.lookup_name(name)
                if current is None:
                    raise FtlMissing(f"missing variable '{name}'", node.pos)
                if op in ("++", "--"):
                    value = self.arith("+" if op == "++" else "-", current, Decimal(1), node.pos)
                else:
                    assert expr is not None
                    value = self.arith(op[0], current, self.eval(expr), node.pos)
            self.store(node.scope, name, value)

    def store(self, scope: str, name: str, value: Any) -> None:
        if scope == "global":
            self.globals[name] = value
        elif scope == "local":
            self.scopes[0][name] = value
        else:
            self.namespace[name] = value

    def x_CaptureAssign(self, node: t.CaptureAssign) -> None:
        self.store(node.scope, node.name, self.capture(node.body))

    def x_Switch(self, node: t.Switch) -> None:
        assert node.value is not None
        value = self.eval(node.value)
        cases = [c for c in node.body if isinstance(c, t.Case)]
        start = None
        for k, case in enumerate(cases):
            if case.values is not None and any(
                self.equals(value, self.eval(v), v.pos) for v in case.values
            ):
                start = k
                break
        if start is None:
            start = next((k for k, c in enumerate(cases) if c.values is None), None)
        if start is None:
            return
        try:
            for case in cases[start:]:
                self.run(case.body)
        except _Break:
            pass

    def x_Jump(self, node: t.Jump) -> None:
        if node.kind == "break":
            raise _Break()
        if node.kind == "continue":
            raise _Continue()
        if node.kind == "return":
            raise _Return(self.eval(node.value) if node.value is not None else None)
        message = self.to_text(self.eval(node.value), "<#stop>") if node.value else "stopped"
        raise FtlRuntimeError(message, node.pos)

    def x_Setting(self, node: t.Setting) -> None:
        if node.name not in SETTINGS:
            raise Refused(f"<#setting {node.name}=...>", node.pos)
        assert node.value is not None
        value = self.to_text(self.eval(node.value), f"<#setting {node.name}>", node.pos)
        if node.name == "time_zone":
            value = date_format.check_zone(value)
        if node.name == "locale":
            value = value.replace("-", "_")
        if node.name == "boolean_format" and value != "c" and "," not in value:
            raise FtlRuntimeError("boolean_format must be 'c' or 'yes,no'", node.pos)
        self.settings[node.name] = value

    def x_Compress(self, node: t.Compress) -> None:
        import re

        text = self.capture(node.body)
        lines = re.sub(r"[ \t]*[\r\n][\s]*", "\n", text.strip())
        self.out.append(re.sub(r"[ \t]+", " ", lines))

    def x_Attempt(self, node: t.Attempt) -> None:
        saved_size = self.size
        try:
            text = self.capture(node.body)
        except (FtlMissing, FtlRuntimeError) as exc:
            self.size = saved_size
            self.errors.append(exc.message)
            try:
                assert node.recover is not None
                self.run(node.recover.body)
            finally:
                self.errors.pop()
            return
        self.out.append(text)

    def x_Macro(self, node: t.Macro) -> None:
        self.namespace[node.name] = MacroValue(node, self.namespace)

    def x_MacroCall(self, node: t.MacroCall) -> None:
        assert node.target is not None
        macro = self.eval(node.target)
        if not isinstance(macro, MacroValue) or macro.node.is_function:
            raise FtlRuntimeError(f"<@{type_name(macro)}> is not a macro", node.pos)
        frame = self.bind(macro.node, node.positional, node.named, node.pos)
        self.invoke(macro.node, frame, node)

    def bind(self, macro: t.Macro, positional: list[t.Expr], named: list[tuple[str, t.Expr]],
             pos: int, values: list[Any] | None = None) -> dict[str, Any]:  # fmt: skip
        params = [p for p, _ in macro.params]
        frame: dict[str, Any] = {}
        args = values if values is not None else [self.eval(e) for e in positional]
        if len(args) > len(params):
            raise FtlRuntimeError(f"{macro.name} takes {len(params)} parameters", pos)
        frame.update(zip(params, args, strict=False))
        for name, expr in named:
            if name not in params:
                raise FtlRuntimeError(f"{macro.name} has no parameter {name!r}", pos)
            frame[name] = self.eval(expr)
        for name, default in macro.params:
            if name not in frame or frame[name] is None:
                if default is None:
                    raise FtlRuntimeError(
                        f"required parameter '{name}' of {macro.name} was not specified", pos
                    )
                self.scopes.append(frame)
                try:
                    frame[name] = self.eval(default)
                finally:
                    self.scopes.pop()
        return frame

    def invoke(self, macro: t.Macro, frame: dict[str, Any], call: t.MacroCall | None) -> Any:
        if len(self.calls) >= MAX_CALL_DEPTH:
            raise FtlLimit("macros or functions nested too deeply")
        saved = self.scopes, self.loops
        self.calls.append((call, self.scopes, self.loops))  # type: ignore[arg-type]
        self.scopes, self.loops = [frame], []
        try:
            self.run(macro.body)
        except _Return as ret:
            return ret.value
        finally:
            self.calls.pop()
            self.scopes, self.loops = saved
        return None

    def x_Nested(self, node: t.Nested) -> None:
        call, scopes, loops = self.calls[-1]
        if call is None or not call.has_body:
            return
        values = [self.eval(a) for a in node.args]
        inner = dict(zip(call.loop_vars, values, strict=False))
        saved = self.scopes, self.loops
        top = self.calls.pop()
        self.scopes, self.loops = [*scopes, inner], loops
        try:
            self.run(call.body)
        finally:
            self.calls.append(top)
            self.scopes, self.loops = saved

    # expressions ---------------------------------------------------------------------------------
    def eval(self, expr: t.Expr) -> Any:
        value = self.lookup(expr)
        if value is None:
            raise FtlMissing(f"missing variable '{describe(expr)}'", expr.pos)
        return value

    def maybe(self, expr: t.Expr) -> Any:
        """The value, or None when it is missing (only the last step, unless parenthesized)."""
        if isinstance(expr, t.Paren):
            try:
                return self.lookup(expr.inner)
            except FtlMissing:
                return None
        return self.lookup(expr)

    def lookup(self, expr: t.Expr) -> Any:
        handler = getattr(self, "e_" + type(expr).__name__)
        return handler(expr)

    def e_Literal(self, expr: t.Literal) -> Any:
        return expr.value

    def e_Paren(self, expr: t.Paren) -> Any:
        return self.lookup(expr.inner)

    def e_StringTemplate(self, expr: t.StringTemplate) -> Any:
        parts = []
        for part in expr.parts:
            parts.append(
                part if isinstance(part, str) else self.to_text(self.eval(part), "${...}", part.pos)
            )
        return "".join(parts)

    def lookup_name(self, name: str) -> Any:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name in self.namespace:
            return self.namespace[name]
        if name in self.globals:
            return self.globals[name]
        return self.data.get(name)

    def e_Variable(self, expr: t.Variable) -> Any:
        value = self.lookup_name(expr.name)
        if value is None and expr.name.endswith(("_index", "_has_next")):
            base, _, suffix = expr.name.rpartition("_")
            if suffix == "next":  # x_has_next
                base = base.removesuffix("_has")
            loop = self.find_loop(base)
            if loop is not None:
                return loop.has_next if expr.name.endswith("_has_next") else Decimal(loop.index)
        return value

    def find_loop(self, name: str) -> Loop | None:
        for loop in reversed(self.loops):
            if loop.var == name:
                return loop
        return None

    def e_Special(self, expr: t.Special) -> Any:
        name = expr.name
        if name == "now":
            return self.now
        if name in ("locale",):
            return self.settings["locale"]
        if name == "lang":
            return self.settings["locale"].split("_")[0]
        if name == "vars":
            merged = dict(self.data)
            merged.update(self.globals)
            merged.update(self.namespace)
            for scope in self.scopes:
                merged.update(scope)
            return merged
        if name in ("globals",):
            return {**self.data, **self.globals}
        if name == "data_model":
            return self.data
        if name == "error":
            if not self.errors:
                raise FtlRuntimeError(
                    ".error is not available outside of a <#recover> block", expr.pos
                )
            return self.errors[-1]
        if name in REFUSED_SPECIALS:
            raise Refused(f".{name}", expr.pos)
        raise FtlSyntaxError(f"unknown special variable .{name}", expr.pos)

    def e_Dot(self, expr: t.Dot) -> Any:
        target = self.eval(expr.target)
        if isinstance(target, dict):
            return target.get(expr.name)
        raise FtlRuntimeError(f"'.{expr.name}' needs a hash, not a {type_name(target)}", expr.pos)

    def e_Index(self, expr: t.Index) -> Any:
        target = self.eval(expr.target)
        key = self.eval(expr.key)
        if isinstance(key, Range):
            return self.slice(target, key, expr)
        if isinstance(key, str):
            if isinstance(target, dict):
                return target.get(key)
            raise FtlRuntimeError(
                f"[...] with a string needs a hash, not a {type_name(target)}", expr.pos
            )
        if isinstance(key, Decimal):
            k = int(key)
            if is_sequence(target):
                items = target if isinstance(target, list) else target.items()
                return items[k] if 0 <= k < len(items) else None
            if isinstance(target, str | Decimal | FmDate):
                from twilio_connector.freemarker.builtins.common import utf16_units

                units = utf16_units(self.to_text(target, "[...]", expr.pos))
                if not 0 <= k < len(units):
                    raise FtlRuntimeError(f"string index {k} is out of range", expr.pos)
                return units[k]
            raise FtlRuntimeError(
                f"[...] needs a sequence or string, not a {type_name(target)}", expr.pos
            )
        raise FtlRuntimeError(
            f"an index must be a number, string or range, not a {type_name(key)}", expr.pos
        )

    def slice(self, target: Any, key: Range, expr: t.Expr) -> Any:
        from twilio_connector.freemarker.builtins.common import from_units, utf16_units

        if key.step < 0:
            raise Refused("slicing with a decreasing range", expr.pos)
        if isinstance(target, str):
            units = utf16_units(target)
            stop = len(units) if key.stop is None else key.stop
            if key.limited:
                stop = min(stop, len(units))
            if key.start < 0 or key.start > len(units) or stop > len(units):
                raise FtlRuntimeError("the range is out of the string's bounds", expr.pos)
            return from_units(units[key.start : max(stop, key.start)])
        if is_sequence(target):
            items = target if isinstance(target, list) else target.items()
            stop = len(items) if key.stop is None else key.stop
            if key.limited:
                stop = min(stop, len(items))
            if key.start < 0 or key.start > len(items) or stop > len(items):
                raise FtlRuntimeError("the range is out of the sequence's bounds", expr.pos)
            return items[key.start : max(stop, key.start)]
        raise FtlRuntimeError(
            f"slicing needs a sequence or string, not a {type_name(target)}", expr.pos
        )

    def e_CallExpr(self, expr: t.CallExpr) -> Any:
        target = self.eval(expr.target)
        if isinstance(target, MacroValue) and target.node.is_function:
            values = [self.eval(a) for a in expr.args]
            frame = self.bind(target.node, [], [], expr.pos, values)
            return self.invoke(target.node, frame, None)
        raise FtlRuntimeError(f"a {type_name(target)} cannot be called", expr.pos)

    def e_Default(self, expr: t.Default) -> Any:
        value = self.maybe(expr.target)
        if value is not None:
            return value
        return self.eval(expr.fallback) if expr.fallback is not None else ""

    def e_Exists(self, expr: t.Exists) -> Any:
        return self.maybe(expr.target) is not None

    def e_ListLiteral(self, expr: t.ListLiteral) -> Any:
        return [self.eval(item) for item in expr.items]

    def e_HashLiteral(self, expr: t.HashLiteral) -> Any:
        out = {}
        for key, value in expr.pairs:
            name = self.eval(key)
            if not isinstance(name, str):
                raise FtlRuntimeError("hash keys must be strings", key.pos)
            out[name] = self.eval(value)
        return out

    def e_RangeExpr(self, expr: t.RangeExpr) -> Any:
        start = self.int_of(self.eval(expr.start), expr.start.pos)
        if expr.stop is None:
            return Range(start, None, 1)
        stop = self.int_of(self.eval(expr.stop), expr.stop.pos)
        if expr.kind == "..*":
            return (
                Range(start, start + stop, 1, True)
                if stop >= 0
                else Range(start, start + stop, -1, True)
            )
        if expr.kind == "..<":
            return Range(start, stop, 1) if stop >= start else Range(start, stop, -1)
        if stop >= start:
            return Range(start, stop + 1, 1)
        return Range(start, stop - 1, -1)

    def int_of(self, value: Any, pos: int) -> int:
        if not isinstance(value, Decimal):
            raise FtlRuntimeError(f"a range bound must be a number, not a {type_name(value)}", pos)
        return int(value)

    def e_Lambda(self, expr: t.Lambda) -> Any:
        return LambdaValue(expr)

    def e_Unary(self, expr: t.Unary) -> Any:
        value = self.eval(expr.operand)
        if expr.op == "!":
            if not isinstance(value, bool):
                raise FtlRuntimeError(f"'!' needs a boolean, not a {type_name(value)}", expr.pos)
            return not value
        if not isinstance(value, Decimal):
            raise FtlRuntimeError(f"'{expr.op}' needs a number, not a {type_name(value)}", expr.pos)
        return -value if expr.op == "-" else value

    def e_Binary(self, expr: t.Binary) -> Any:
        op = expr.op
        if op in ("&&", "||"):
            left = self.eval(expr.left)
            if not isinstance(left, bool):
                raise FtlRuntimeError(f"'{op}' needs booleans, not a {type_name(left)}", expr.pos)
            if (op == "&&") != left:
                return left
            right = self.eval(expr.right)
            if not isinstance(right, bool):
                raise FtlRuntimeError(f"'{op}' needs booleans, not a {type_name(right)}", expr.pos)
            return right
        left, right = self.eval(expr.left), self.eval(expr.right)
        if op == "==":
            return self.equals(left, right, expr.pos)
        if op == "!=":
            return not self.equals(left, right, expr.pos)
        if op in ("<", "<=", ">", ">="):
            return self.compare(op, left, right, expr.pos)
        return self.arith(op, left, right, expr.pos)

    def equals(self, left: Any, right: Any, pos: int) -> bool:
        if isinstance(left, bool) and isinstance(right, bool):
            return left == right
        if isinstance(left, Decimal) and isinstance(right, Decimal):
            return left == right
        if isinstance(left, str) and isinstance(right, str):
            return left == right
        if isinstance(left, FmDate) and isinstance(right, FmDate):
            return left.instant == right.instant
        raise FtlRuntimeError(f"can't compare a {type_name(left)} with a {type_name(right)}", pos)

    def compare(self, op: str, left: Any, right: Any, pos: int) -> bool:
        if isinstance(left, Decimal) and isinstance(right, Decimal) and not isinstance(left, bool):
            a, b = left, right
        elif isinstance(left, FmDate) and isinstance(right, FmDate):
            a, b = left.instant, right.instant  # type: ignore[assignment]
        else:
            raise FtlRuntimeError(
                f"can't use '{op}' on a {type_name(left)} and a {type_name(right)}", pos
            )
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]

    def arith(self, op: str, left: Any, right: Any, pos: int) -> Any:
        if op == "+":
            if isinstance(left, Decimal) and isinstance(right, Decimal):
                return self.decimal(lambda: left + right, pos)
            if isinstance(left, dict) and isinstance(right, dict):
                return {**left, **right}
            if is_sequence(left) and is_sequence(right):
                items = (left if isinstance(left, list) else left.items()) + (
                    right if isinstance(right, list) else right.items()
                )
                return items
            if isinstance(left, str | Decimal | FmDate) and isinstance(
                right, str | Decimal | FmDate
            ):
                return capped(self.to_text(left, "+", pos) + self.to_text(right, "+", pos))
            bad = left if isinstance(left, bool) else right
            self.to_text(bad, "+", pos)
            raise FtlRuntimeError(f"can't add a {type_name(left)} and a {type_name(right)}", pos)
        for side, value in (("left", left), ("right", right)):
            if not isinstance(value, Decimal) or isinstance(value, bool):
                raise FtlRuntimeError(
                    f"'{op}' {side}-hand operand: expected a number, not a {type_name(value)}", pos
                )
        if op == "-":
            return self.decimal(lambda: left - right, pos)
        if op == "*":
            return self.decimal(lambda: left * right, pos)
        if op == "/":
            if right == 0:
                raise FtlRuntimeError("division by zero", pos)
            scale = max(12, -left.as_tuple().exponent, -right.as_tuple().exponent)  # type: ignore[operator]
            return self.decimal(
                lambda: (left / right).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP),
                pos,
            )
        if op == "%":
            a, b = int(left), int(right)
            if b == 0:
                raise FtlRuntimeError("division by zero", pos)
            remainder = abs(a) % abs(b)
            return Decimal(-remainder if a < 0 else remainder)
        raise FtlSyntaxError(f"unknown operator {op}", pos)

    def decimal(self, fn: Any, pos: int) -> Decimal:
        with localcontext() as ctx:
            ctx.prec = 120
            ctx.Emax, ctx.Emin = 400, -400
            try:
                result = fn()
            except DecimalException:
                raise FtlRuntimeError("the number is too large or too small", pos) from None
        return result

    # built-ins: every one is in freemarker/builtins/, registered with @builtin ----------------
    def e_BuiltIn(self, expr: t.BuiltIn) -> Any:
        name = expr.name
        lazy = LAZY.get("string" if name.startswith("string.") else name)
        if lazy is not None:
            return lazy(self, expr)
        target = self.eval(expr.target)
        fn = REGISTRY.get(name)
        if fn is None:
            raise FtlSyntaxError(f"unknown built-in ?{name}", expr.pos)
        args = None if expr.args is None else [self.eval(a) for a in expr.args]
        try:
            return fn(self, target, args)
        except FtlError as exc:
            if exc.pos < 0:
                exc.pos = expr.pos
            raise

    def format_number(self, value: Decimal, fmt: str, pos: int) -> str:
        try:
            return number_format.format_number(value, fmt, self.settings["locale"])
        except FtlError as exc:
            exc.pos = pos if exc.pos < 0 else exc.pos
            raise

    def format_date(self, value: FmDate, fmt: str, pos: int) -> str:
        try:
            return date_format.format_date(
                value, fmt, self.settings["locale"], self.settings["time_zone"]
            )
        except FtlError as exc:
            exc.pos = pos if exc.pos < 0 else exc.pos
            raise
        except (KeyError, ValueError):
            raise FtlRuntimeError(f"can't format a date with {fmt!r}", pos) from None

    def to_text(self, value: Any, where: str, pos: int = -1) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            fmt = self.settings["boolean_format"]
            if fmt == "true,false":
                raise FtlRuntimeError(
                    f"{where}: can't convert a boolean to text; use ?c or ?string('yes', 'no')", pos
                )
            if fmt == "c":
                return "true" if value else "false"
            yes, _, no = fmt.partition(",")
            return yes if value else no
        if isinstance(value, Decimal):
            return self.format_number(value, self.settings["number_format"], pos)
        if isinstance(value, FmDate):
            fmt = (
                self.settings[value.kind + "_format"]
                if value.kind in (DATE, TIME, DATETIME)
                else ""
            )
            return self.format_date(value, fmt, pos)
        if value is None:
            raise FtlMissing(f"{where}: missing value", pos)
        raise FtlRuntimeError(f"{where}: can't convert a {type_name(value)} to text", pos)


def describe(expr: t.Expr) -> str:
    if isinstance(expr, t.Variable):
        return expr.name
    if isinstance(expr, t.Dot):
        return f"{describe(expr.target)}.{expr.name}"
    if isinstance(expr, t.Index):
        return f"{describe(expr.target)}[{describe(expr.key)}]"
    if isinstance(expr, t.Literal):
        if isinstance(expr.value, str):
            return f'"{expr.value}"'
        return str(expr.value).lower() if isinstance(expr.value, bool) else str(expr.value)
    if isinstance(expr, t.BuiltIn):
        return f"{describe(expr.target)}?{expr.name}"
    if isinstance(expr, t.Paren):
        return f"({describe(expr.inner)})"
    if isinstance(expr, t.Special):
        return f".{expr.name}"
    return "expression"
