"""Type-checking built-ins (``x?is_string``, ``x?is_number``, ``x?is_date_only``...)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from twilio_connector.freemarker import tree as t
from twilio_connector.freemarker.builtins import builtin
from twilio_connector.freemarker.values import DATE, DATETIME, TIME, FmDate, MacroValue, is_sequence

TESTS = {
    "is_string": lambda v: isinstance(v, str),
    "is_number": lambda v: isinstance(v, Decimal),
    "is_boolean": lambda v: isinstance(v, bool),
    "is_sequence": is_sequence,
    "is_enumerable": lambda v: is_sequence(v),
    "is_hash": lambda v: isinstance(v, dict),
    "is_date": lambda v: isinstance(v, FmDate),
    "is_date_like": lambda v: isinstance(v, FmDate),
    "is_datetime": lambda v: isinstance(v, FmDate) and v.kind == DATETIME,
    "is_date_only": lambda v: isinstance(v, FmDate) and v.kind == DATE,
    "is_time": lambda v: isinstance(v, FmDate) and v.kind == TIME,
    "is_function": lambda v: isinstance(v, MacroValue) and v.node.is_function,
    "is_macro": lambda v: isinstance(v, MacroValue) and not v.node.is_function,
}


@builtin(*TESTS, lazy=True)
def type_test(r: Any, expr: t.BuiltIn) -> bool:
    return TESTS[expr.name](r.eval(expr.target))
