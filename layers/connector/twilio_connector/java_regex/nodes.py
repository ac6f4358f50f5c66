"""The nodes the parser emits: Pattern.java's ``Node`` chain (``CharProperty``, ``GroupHead`` /
``GroupTail``, ``Curly``, ``Branch``...) reduced to what the translation needs: each node's
``regex`` source, its ops for the study pass (:mod:`.study`), and its kind.
"""

from __future__ import annotations

import regex

from twilio_connector.java_regex.char_predicates import _set
from twilio_connector.java_regex.study import Op


class _Node:
    """An emitted piece: its regex source, its study ops, and its kind: ``char`` (one code
    point), ``group`` (a group Java repeats as a group), or ``other``."""

    __slots__ = ("captures", "kind", "ops", "source")

    def __init__(
        self, source: str, ops: list[Op], kind: str = "other", captures: bool = False
    ) -> None:
        self.source = source
        self.ops = ops
        self.kind = kind
        self.captures = captures  # a group that is or holds a capturing group


_LITERAL = regex.compile(r"[A-Za-z0-9]|\\u[0-9a-f]{4}|\\U[0-9a-f]{8}")


def _char_node(predicate: str) -> _Node:
    single = _LITERAL.fullmatch(predicate) is not None
    return _Node(predicate if single else _set(predicate), [("fixed", 1, 1)], "char")
