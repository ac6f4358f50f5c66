"""Loop variable built-ins (``item?index``, ``item?has_next``, ``item?item_cycle(...)``): they
read the state of the ``<#list>`` loop that binds the variable, never its value."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from twilio_connector.freemarker import tree as t
from twilio_connector.freemarker.builtins import builtin
from twilio_connector.freemarker.errors import FtlRuntimeError, FtlSyntaxError

LOOP_BUILTINS = (
    "index", "counter", "has_next", "is_first", "is_last", "item_parity", "item_parity_cap",
    "is_even_item", "is_odd_item", "item_cycle",
)  # fmt: skip


@builtin(*LOOP_BUILTINS, lazy=True)
def loop_builtin(r: Any, expr: t.BuiltIn) -> Any:
    target = expr.target
    loop = r.find_loop(target.name) if isinstance(target, t.Variable) else None
    if loop is None:
        raise FtlSyntaxError(f"?{expr.name} needs a loop variable", expr.pos)
    name = expr.name
    if name == "item_cycle":
        args = [r.eval(a) for a in expr.args or []]
        if not args:
            raise FtlRuntimeError("?item_cycle needs arguments", expr.pos)
        return args[loop.index % len(args)]
    if expr.args is not None:
        raise FtlRuntimeError(f"?{name} takes no arguments", expr.pos)
    odd = loop.index % 2 == 0
    return {
        "index": Decimal(loop.index),
        "counter": Decimal(loop.index + 1),
        "has_next": loop.has_next,
        "is_first": loop.index == 0,
        "is_last": not loop.has_next,
        "item_parity": "odd" if odd else "even",
        "item_parity_cap": "Odd" if odd else "Even",
        "is_even_item": not odd,
        "is_odd_item": odd,
    }[name]
