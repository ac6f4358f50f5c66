"""Built-ins on sequences (lists and ranges), those taking a lambda included."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from twilio_connector.freemarker import tree as t
from twilio_connector.freemarker.builtins import builtin
from twilio_connector.freemarker.builtins.common import arity, as_int, as_seq, no_args
from twilio_connector.freemarker.errors import FtlRuntimeError, Refused
from twilio_connector.freemarker.values import FmDate, is_sequence, type_name


@builtin("size")
def size(r: Any, value: Any, args: Any) -> Any:
    no_args("size", args)
    if isinstance(value, dict):
        return Decimal(len(value))
    return Decimal(len(as_seq("size", value)))


@builtin("first")
def first(r: Any, value: Any, args: Any) -> Any:
    items = as_seq("first", value)
    if not items:
        return None
    return items[0]


@builtin("last")
def last(r: Any, value: Any, args: Any) -> Any:
    items = as_seq("last", value)
    if not items:
        return None
    return items[-1]


@builtin("reverse")
def reverse(r: Any, value: Any, args: Any) -> Any:
    if isinstance(value, str):
        raise FtlRuntimeError("?reverse expects a sequence, not a string")
    return list(reversed(as_seq("reverse", value)))


def _key(value: Any, name: str) -> tuple[int, Any]:
    if isinstance(value, str):
        return (0, value.lower())  # Collator-like order for plain text
    if isinstance(value, Decimal):
        return (1, value)
    if isinstance(value, FmDate):
        return (2, value.instant)
    if isinstance(value, bool):
        return (3, value)
    raise FtlRuntimeError(f"?{name} can't sort a sequence holding a {type_name(value)}")


def _sorted(items: list[Any], name: str, key=lambda v: v) -> list[Any]:  # noqa: ANN001
    if not items:
        return []
    keys = [_key(key(v), name) for v in items]
    if len({k[0] for k in keys}) > 1:
        raise FtlRuntimeError(f"?{name}: the values to sort are not all of the same type")
    if keys[0][0] == 0:
        if any(not k[1].isascii() or not k[1].isalnum() for k in keys):
            raise Refused(f"?{name} of text by the locale's collation")
        originals = [key(v) for v in items]
        if len(set(originals)) != len({o.lower() for o in originals}):
            raise Refused(f"?{name} of text differing only in case")
    order = sorted(range(len(items)), key=lambda k: keys[k][1])
    return [items[k] for k in order]


@builtin("sort")
def sort(r: Any, value: Any, args: Any) -> Any:
    return _sorted(as_seq("sort", value), "sort")


@builtin("sort_by")
def sort_by(r: Any, value: Any, args: Any) -> Any:
    arity("sort_by", args, 1)
    keys = args[0] if is_sequence(args[0]) else [args[0]]

    def key(item: Any) -> Any:
        for name in keys:
            if not isinstance(item, dict):
                raise FtlRuntimeError("?sort_by: the items are not hashes")
            if item.get(name) is None:
                raise FtlRuntimeError(f"?sort_by: an item has no {name!r}")
            item = item[name]
        return item

    return _sorted(as_seq("sort_by", value), "sort_by", key)


@builtin("join")
def join(r: Any, value: Any, args: Any) -> Any:
    arity("join", args, 1, 3)
    items = as_seq("join", value)
    sep = r.to_text(args[0], "?join argument")
    if not items:
        return r.to_text(args[1], "?join argument") if len(args) > 1 else ""
    texts = [r.to_text(item, "?join item") for item in items if item is not None]
    out = sep.join(texts)
    if len(args) > 2:
        out += r.to_text(args[2], "?join argument")
    return out


@builtin("seq_contains")
def seq_contains(r: Any, value: Any, args: Any) -> Any:
    arity("seq_contains", args, 1)
    return any(_same(item, args[0]) for item in as_seq("seq_contains", value))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return False


@builtin("seq_index_of")
def seq_index_of(r: Any, value: Any, args: Any) -> Any:
    arity("seq_index_of", args, 1)
    items = as_seq("seq_index_of", value)
    return Decimal(next((k for k, v in enumerate(items) if _same(v, args[0])), -1))


@builtin("seq_last_index_of")
def seq_last_index_of(r: Any, value: Any, args: Any) -> Any:
    arity("seq_last_index_of", args, 1)
    items = as_seq("seq_last_index_of", value)
    found = [k for k, v in enumerate(items) if _same(v, args[0])]
    return Decimal(found[-1] if found else -1)


@builtin("chunk")
def chunk(r: Any, value: Any, args: Any) -> Any:
    arity("chunk", args, 1, 2)
    items, width = as_seq("chunk", value), as_int("chunk", args[0])
    if width < 1:
        raise FtlRuntimeError("?chunk size must be at least 1")
    rows = [items[k : k + width] for k in range(0, len(items), width)]
    if len(args) > 1 and rows and len(rows[-1]) < width:
        rows[-1] = rows[-1] + [args[1]] * (width - len(rows[-1]))
    return rows


def _extreme(name: str, pick):  # noqa: ANN001
    def run(r: Any, value: Any, args: Any) -> Any:
        no_args(name, args)
        items = [v for v in as_seq(name, value) if v is not None]
        if not items:
            return None
        if not all(isinstance(v, Decimal) and not isinstance(v, bool) for v in items):
            raise FtlRuntimeError(f"?{name} of values that are not all numbers")
        return pick(items)

    builtin(name)(run)


_extreme("min", min)
_extreme("max", max)


@builtin("filter", "map", "take_while", "drop_while", lazy=True)
def functional(r: Any, expr: t.BuiltIn) -> Any:
    """The built-ins that take a lambda (``xs?filter(x -> x > 1)``), run per item."""
    target = r.eval(expr.target)
    name = expr.name
    args = expr.args or []
    if len(args) != 1 or not isinstance(args[0], t.Lambda):
        raise Refused(f"?{name} with anything but a lambda (x -> ...)", expr.pos)
    lam = args[0]
    items = as_seq(name, target)
    out = []

    def call(item: Any) -> Any:
        r.scopes.append({lam.param: item})
        try:
            return r.eval(lam.body)
        finally:
            r.scopes.pop()

    for k, item in enumerate(items):
        r.tick()
        if name == "map":
            out.append(call(item))
            continue
        keep = call(item)
        if not isinstance(keep, bool):
            raise FtlRuntimeError(f"?{name}: the lambda must return a boolean", expr.pos)
        if name == "filter":
            if keep:
                out.append(item)
        elif name == "take_while":
            if not keep:
                return out
            out.append(item)
        elif not keep:  # drop_while
            return items[k:]
    return out if name != "drop_while" else []
