"""java.util.regex.Pattern's flags (``Pattern.UNIX_LINES`` ... ``Pattern.UNICODE_CHARACTER_CLASS``,
same values as OpenJDK's Pattern.java), the letters of the inline ``(?imsduxU)`` flags, and the
limits the translation works within."""

from __future__ import annotations

# Java's flags (java.util.regex.Pattern)
UNIX_LINES = 0x01
CASE_INSENSITIVE = 0x02
COMMENTS = 0x04
MULTILINE = 0x08
DOTALL = 0x20
UNICODE_CASE = 0x40
CANON_EQ = 0x80
UNICODE_CHARACTER_CLASS = 0x100

MAX_REPS = 0x7FFFFFFF
#: The longest text a compiled pattern is meant for (an SMS body holds at most 1,600).
MAX_TEXT_CHARS = 1600
MAX_CODE_POINT = 0x10FFFF

_FLAG_LETTERS = {
    "i": CASE_INSENSITIVE,
    "m": MULTILINE,
    "s": DOTALL,
    "d": UNIX_LINES,
    "u": UNICODE_CASE,
    "c": CANON_EQ,
    "x": COMMENTS,
    "U": UNICODE_CHARACTER_CLASS | UNICODE_CASE,
}
