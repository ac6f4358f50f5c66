"""java.util.regex patterns on the ``regex`` module: Java's syntax, refusals and semantics.

Trigger patterns are Java regular expressions (Java 17's ``Pattern``). This module parses a
pattern the way ``java.util.regex.Pattern`` does (its parser is followed method by method:
``expr``, ``sequence``, ``atom``, ``escape``, ``clazz``, ``range``, ``family``, ``group0``,
``closure``) and writes an equivalent ``regex`` (VERSION1) pattern in which nothing is left to
``regex``'s own defaults: every character class is spelled out (``\\w`` is ``[a-zA-Z0-9_]``
unless ``(?U)``), case-insensitivity is resolved per character (ASCII-only unless ``(?u)``),
``.``, ``^``, ``$`` and ``\\b`` follow Java's line terminators and word rules, class unions and
intersections become ``regex`` set operations. A pattern Java refuses raises
:class:`JavaPatternError` with Java's own description and index. The compiled pattern is a
``regex.Pattern``, so a match keeps ``regex``'s per-call ``timeout``.

Java's matcher mechanics are kept too: anything but a group is repeated atomically (``\\R*``),
a possessive group repetition is atomic per repetition, look-behind lengths are worked out with
Java's overflowing ``TreeInfo`` arithmetic (which decides both the refusal and where a
look-behind is tried).

Where ``regex`` cannot do what Java does, the construct is refused with the reason (after Java's
own checks), never run differently: ``(?c)`` (CANON_EQ); ``\\b{g}``; a case-insensitive back
reference without ``u`` (Java folds it in ASCII only); possessive quantifiers and atomic groups
inside a look-behind (Java runs a look-behind forwards, ``regex`` backwards); a capturing group
inside a negative look-around, or inside a look-behind of varying length or with alternatives;
a repeated group that can match nothing where Java and ``regex`` keep different captures or
stop at a different repetition.

The package maps onto OpenJDK's java.util.regex: :mod:`.flags` (Pattern's flag constants),
:mod:`.errors` (PatternSyntaxException), :mod:`.char_predicates` (ASCII, CharPredicates and
Pattern's single-character case folding), :mod:`.nodes` (Pattern's Node chain), :mod:`.study`
(Pattern.TreeInfo and the nodes' ``study``), :mod:`.parser` (Pattern's parser, ``compile()``).
"""

from __future__ import annotations

import sys
from functools import cache

import regex

from twilio_connector.java_regex.errors import JavaPatternError
from twilio_connector.java_regex.flags import (
    CANON_EQ,
    CASE_INSENSITIVE,
    COMMENTS,
    DOTALL,
    MAX_CODE_POINT,
    MAX_REPS,
    MAX_TEXT_CHARS,
    MULTILINE,
    UNICODE_CASE,
    UNICODE_CHARACTER_CLASS,
    UNIX_LINES,
)
from twilio_connector.java_regex.parser import _Parser

__all__ = [
    "CANON_EQ",
    "CASE_INSENSITIVE",
    "COMMENTS",
    "DOTALL",
    "MAX_CODE_POINT",
    "MAX_REPS",
    "MAX_TEXT_CHARS",
    "MULTILINE",
    "UNICODE_CASE",
    "UNICODE_CHARACTER_CLASS",
    "UNIX_LINES",
    "JavaPatternError",
    "compile_java",
    "translate",
]


def compile_java(pattern: str, max_text: int = MAX_TEXT_CHARS) -> regex.Pattern:
    """The ``regex`` pattern that behaves as ``java.util.regex.Pattern.compile(pattern)`` on
    texts of at most ``max_text`` code points."""
    return _compile(pattern, max_text)


@cache
def _compile(pattern: str, max_text: int) -> regex.Pattern:
    # The parser recurses per nested group as Java's does; a short pattern can nest deeply.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20 * len(pattern) + 1000))
    try:
        return regex.compile(translate(pattern, max_text), regex.VERSION1)
    except regex.error as exc:  # a construct Java allows that regex cannot hold
        raise JavaPatternError(f"Unsupported pattern ({exc})", -1) from None
    except RecursionError:
        raise JavaPatternError("The pattern nests too deeply", -1) from None
    finally:
        sys.setrecursionlimit(limit)


def translate(pattern: str, max_text: int = MAX_TEXT_CHARS) -> str:
    """The ``regex`` (VERSION1) source equivalent to a Java pattern."""
    # Two passes: a backreference may name a group defined later in the pattern, and one to a
    # group that never exists is legal in Java (it never matches) but an error in regex.
    counted = _Parser(pattern, None, max_text)
    counted.parse()
    return _Parser(pattern, counted.capturing_count - 1, max_text).parse()
