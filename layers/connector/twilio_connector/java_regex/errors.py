"""OpenJDK's java/util/regex/PatternSyntaxException.java: a refused pattern, with Java's
description and index."""

from __future__ import annotations


class JavaPatternError(ValueError):
    """A pattern java.util.regex refuses (``PatternSyntaxException``), or one this module cannot
    run faithfully; ``description`` and ``index`` are Java's."""

    def __init__(self, description: str, index: int) -> None:
        self.description = description
        self.index = index
        super().__init__(f"{description} near index {index}" if index >= 0 else description)
