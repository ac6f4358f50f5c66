"""Built-ins (``x?name``), grouped by the type of value they apply to. ``REGISTRY`` maps a name
to its function ``(renderer, target, args) -> value``; the evaluator handles the few that look
at missing values (``??``-like) or take lambdas and lazy arguments."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

BuiltinFn = Callable[[Any, Any, list[Any]], Any]
REGISTRY: dict[str, BuiltinFn] = {}

#: Handled by the evaluator itself: they test for missing values or evaluate lazily.
SPECIAL = {
    "has_content", "exists", "if_exists", "default", "then", "switch", "filter", "map",
    "take_while", "drop_while", "index", "counter", "has_next", "is_first", "is_last",
    "item_parity", "item_parity_cap", "is_even_item", "is_odd_item", "item_cycle", "string",
    "is_string", "is_number", "is_boolean", "is_sequence", "is_enumerable", "is_hash", "is_date",
    "is_date_like", "is_datetime", "is_date_only", "is_time", "is_function", "is_macro",
}  # fmt: skip

#: FreeMarker built-ins this engine refuses (TEMPLATE_SYNTAX_ERROR naming them).
REFUSED = {
    "eval", "eval_json", "new", "api", "has_api", "interpret", "no_esc", "esc", "markup_string",
    "absolute_template_name", "get_optional_template", "children", "parent", "root",
    "ancestors", "node_name", "node_type", "node_namespace", "byte", "short", "float",
    "double", "number_to_date", "number_to_time", "number_to_datetime", "date_if_unknown",
    "time_if_unknown", "datetime_if_unknown", "is_transform", "is_directive", "is_macro",
    "is_method", "is_node", "is_markup_output", "is_collection", "is_collection_ex",
    "is_indexable", "is_hash_ex", "rtf", "web_safe", "lower_abc",
    "upper_abc", "is_infinite", "is_nan", "namespace", "with_args", "with_args_last",
    "iso_local", "iso_nz", "iso_ms", "iso_m", "iso_h", "iso_utc_ms", "iso_utc_m", "iso_utc_h",
    "iso_utc_nz", "iso_local_nz", "iso_local_ms", "iso_local_m", "iso_local_h", "string.iso_m",
    "cn", "c_lower_case", "c_upper_case", "blank_to_null", "empty_to_null", "trim_to_null",
    "sequence", "groups",
}  # fmt: skip


def builtin(*names: str) -> Callable[[BuiltinFn], BuiltinFn]:
    def register(fn: BuiltinFn) -> BuiltinFn:
        for name in names:
            REGISTRY[name] = fn
        return fn

    return register


@cache
def known() -> frozenset[str]:
    """Every built-in name the engine runs."""
    from twilio_connector.freemarker.builtins import (  # noqa: F401 - they register themselves
        dates,
        hashes,
        numbers,
        sequences,
        strings,
    )

    return frozenset(REGISTRY) | SPECIAL
