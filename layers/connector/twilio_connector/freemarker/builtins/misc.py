"""Built-ins on any value whose arguments are evaluated only as needed, or that format with the
render's settings: ``?then`` (booleans), ``?switch``, ``?string`` / ``?string.<format>``
(booleans, numbers, dates)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from twilio_connector.freemarker import tree as t
from twilio_connector.freemarker.builtins import builtin
from twilio_connector.freemarker.errors import FtlRuntimeError, Refused
from twilio_connector.freemarker.values import FmDate, type_name


@builtin("then", lazy=True)
def then(r: Any, expr: t.BuiltIn) -> Any:
    target = r.eval(expr.target)
    args = expr.args or []
    if len(args) != 2:
        raise FtlRuntimeError("?then takes 2 arguments", expr.pos)
    if not isinstance(target, bool):
        raise FtlRuntimeError(f"?then needs a boolean, not a {type_name(target)}", expr.pos)
    return r.eval(args[0] if target else args[1])


@builtin("switch", lazy=True)
def switch(r: Any, expr: t.BuiltIn) -> Any:
    target = r.eval(expr.target)
    args = expr.args or []
    if len(args) < 2:
        raise FtlRuntimeError("?switch takes at least 2 arguments", expr.pos)
    for k in range(0, len(args) - 1, 2):
        if r.equals(target, r.eval(args[k]), expr.pos):
            return r.eval(args[k + 1])
    if len(args) % 2:
        return r.eval(args[-1])
    raise FtlRuntimeError("the value before ?switch didn't match any case", expr.pos)


@builtin("string", lazy=True)  # and every ``string.<format>`` (the evaluator routes them here)
def string_builtin(r: Any, expr: t.BuiltIn) -> Any:
    target = r.eval(expr.target)
    name = expr.name
    sub = name.partition(".")[2]
    args = None if expr.args is None else [r.eval(a) for a in expr.args]
    if isinstance(target, bool):
        if sub:
            raise FtlRuntimeError(f"?{name} on a boolean", expr.pos)
        if args is None:
            return "true" if target else "false"
        if len(args) != 2:
            raise FtlRuntimeError(
                f"?string(...) expects 2 arguments but has received {len(args)}", expr.pos
            )
        return r.to_text(args[0] if target else args[1], "?string", expr.pos)
    if args is not None and len(args) != 1:
        raise FtlRuntimeError(
            f"?string(...) expects 1 argument but has received {len(args)}", expr.pos
        )
    fmt = sub if sub else (r.to_text(args[0], "?string", expr.pos) if args else None)
    if isinstance(target, Decimal):
        if fmt is None:
            return r.to_text(target, "?string", expr.pos)
        if sub and sub not in ("number", "currency", "percent", "computer"):
            raise Refused(f"?string.{sub} on a number", expr.pos)
        return r.format_number(target, fmt, expr.pos)
    if isinstance(target, FmDate):
        if fmt is None:
            return r.to_text(target, "?string", expr.pos)
        return r.format_date(target, fmt, expr.pos)
    if isinstance(target, str):
        if sub:
            raise FtlRuntimeError(f"?{name} on a string", expr.pos)
        if args is not None:
            raise FtlRuntimeError(
                "?string(format) formats a number or a date, and this value is a string: "
                'make it one first (?number?string("0.00"), '
                '?date.iso?string("dd/MM/yyyy"))',
                expr.pos,
            )
        return target
    raise FtlRuntimeError(f"?string on a {type_name(target)}", expr.pos)
