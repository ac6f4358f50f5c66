"""Code points and character classes, as items of a ``regex`` VERSION1 set.

The counterparts in OpenJDK: java/util/regex/ASCII.java (``isAlpha``, ``isDigit``, ``isSpace``,
``toLower``/``toUpper`` ...); Pattern.java's case folding of single characters (``SingleI``,
``SingleU``); java/util/regex/CharPredicates.java (``\\p{...}`` families: POSIX classes,
``java.lang.Character`` classes, Unicode properties, scripts and blocks).
"""

from __future__ import annotations

from functools import cache

import regex


# --- code point helpers --------------------------------------------------------------------------
def _is_ascii_alpha(c: int) -> bool:
    return 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A


def _is_ascii_digit(c: int) -> bool:
    return 0x30 <= c <= 0x39


def _is_ascii_alnum(c: int) -> bool:
    return _is_ascii_alpha(c) or _is_ascii_digit(c)


def _is_ascii_space(c: int) -> bool:
    return c in (0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D)


def _is_hex(c: int) -> bool:
    return _is_ascii_digit(c) or 0x41 <= c <= 0x46 or 0x61 <= c <= 0x66


def _ascii_lower(c: int) -> int:
    return c + 0x20 if 0x41 <= c <= 0x5A else c


def _ascii_upper(c: int) -> int:
    return c - 0x20 if 0x61 <= c <= 0x7A else c


def _lit(c: int) -> str:
    """A code point as a ``regex`` literal, valid inside and outside a set."""
    if _is_ascii_alnum(c):
        return chr(c)
    return f"\\u{c:04x}" if c <= 0xFFFF else f"\\U{c:08x}"


# Java's Character.toUpperCase / toLowerCase are Unicode's simple case mappings; Python's
# str.upper / str.lower are the full ones. They differ only where the full mapping is longer.
_SIMPLE_UPPER = {
    **{c: c + 8 for r in (0x1F80, 0x1F90, 0x1FA0) for c in range(r, r + 8)},
    0x1FB3: 0x1FBC,
    0x1FC3: 0x1FCC,
    0x1FF3: 0x1FFC,
}


def _jupper(c: int) -> int:
    up = chr(c).upper()
    return ord(up) if len(up) == 1 else _SIMPLE_UPPER.get(c, c)


def _jlower(c: int) -> int:
    low = chr(c).lower()
    return ord(low) if len(low) == 1 else (0x69 if c == 0x130 else c)


def _jfold(c: int) -> int:
    return _jlower(_jupper(c))


@cache
def _case_table() -> tuple[tuple[int, int, int], ...]:
    """Every cased code point as ``(c, toUpperCase(c), toLowerCase(toUpperCase(c)))``."""
    table = []
    for c in range(0x1F000):
        s = chr(c)
        if s.upper() == s and s.lower() == s:
            continue
        up = _jupper(c)
        fold = _jlower(up)
        if up != c or fold != c:
            table.append((c, up, fold))
    return tuple(table)


@cache
def _fold_class(lower: int) -> frozenset[int]:
    """Java's ``SingleU(lower)``: ``lower`` and every ``c`` with lower(upper(c)) == lower."""
    return frozenset({lower, *(c for c, _, fold in _case_table() if fold == lower)})


# --- character predicates as regex set items ----------------------------------------------------
# A predicate is a string that can stand inside a regex VERSION1 set: "a-z", "\p{Lu}", "[^...]".
def _chars(codes: set[int] | frozenset[int]) -> str:
    return "".join(_lit(c) for c in sorted(codes))


def _rng(lo: int, hi: int) -> str:
    return f"{_lit(lo)}-{_lit(hi)}" if lo != hi else _lit(lo)


def _neg(p: str) -> str:
    return f"[^{p}]"


def _and(a: str, b: str) -> str:
    return f"[[{a}]&&[{b}]]"


def _set(p: str) -> str:
    """A predicate as a pattern atom matching one code point."""
    return f"[{p}]"


NOTHING = "[^\\u0000-\\U0010ffff]"
ALL = "\\u0000-\\U0010ffff"
ASCII_DIGIT = "0-9"
ASCII_WORD = "a-zA-Z0-9_"
ASCII_SPACE = "\\u0009-\\u000d\\u0020"
HORIZ_WS = "\\u0009\\u0020\\u00a0\\u1680\\u180e\\u2000-\\u200a\\u202f\\u205f\\u3000"
VERT_WS = "\\u000a-\\u000d\\u0085\\u2028\\u2029"
LINE_TERMINATORS = "\\u000a\\u000d\\u0085\\u2028\\u2029"
#: ``\\R``, and ``\\R`` as Java repeats it (each time "\\r\\n" if it can): the same spans in
#: either direction, so also right inside a look-behind, which regex runs backwards.
LINEBREAK = "(?:\\u000d\\u000a|[\\u000a-\\u000d\\u0085\\u2028\\u2029])"
LINEBREAK_ONCE = "(?:\\u000d\\u000a|\\u000d(?!\\u000a)|[\\u000a-\\u000c\\u0085\\u2028\\u2029])"

DIGIT = "\\p{Nd}"
ALPHABETIC = "\\p{Alphabetic}"
LOWERCASE = "\\p{Lowercase}"
UPPERCASE = "\\p{Uppercase}"
TITLECASE = "\\p{Lt}"
CASED = LOWERCASE + UPPERCASE + TITLECASE
WHITE_SPACE = "\\p{Zs}\\p{Zl}\\p{Zp}\\u0009-\\u000d\\u0085"
CONTROL = "\\p{Cc}"
PUNCTUATION = "\\p{P}"
HEX_DIGIT = DIGIT + "0-9A-Fa-f\\uff10-\\uff19\\uff21-\\uff26\\uff41-\\uff46"
JOIN_CONTROL = "\\u200c\\u200d"
WORD = ALPHABETIC + "\\p{Mn}\\p{Me}\\p{Mc}" + DIGIT + "\\p{Pc}" + JOIN_CONTROL
BLANK = "\\p{Zs}\\u0009"
GRAPH = _neg("\\p{Zs}\\p{Zl}\\p{Zp}\\p{Cc}\\p{Cs}\\p{Cn}")
PRINT = f"[[{GRAPH}{BLANK}]--[{CONTROL}]]"
NONCHARACTER = "\\ufdd0-\\ufdef" + "".join(
    _lit((plane << 16) | 0xFFFE) + _lit((plane << 16) | 0xFFFF) for plane in range(17)
)
IDENTIFIER_IGNORABLE = "\\u0000-\\u0008\\u000e-\\u001b\\u007f-\\u009f\\p{Cf}"
LETTER_OR_DIGIT = "\\p{L}\\p{Nd}"


def _ascii_ctype(name: str) -> str | None:
    return {
        "Alnum": "0-9A-Za-z",
        "Alpha": "A-Za-z",
        "Blank": "\\u0020\\u0009",
        "Cntrl": "\\u0000-\\u001f\\u007f",
        "Graph": "\\u0021-\\u007e",
        "Punct": "\\u0021-\\u002f\\u003a-\\u0040\\u005b-\\u0060\\u007b-\\u007e",
        "Space": ASCII_SPACE,
        "XDigit": "0-9A-Fa-f",
    }.get(name)


_CATEGORIES = {
    "Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Me", "Mc", "Nd", "Nl", "No", "Zs", "Zl", "Zp",
    "Cc", "Cf", "Co", "Cs", "Pd", "Ps", "Pe", "Pc", "Po", "Sm", "Sc", "Sk", "So", "Pi", "Pf",
    "L", "M", "N", "Z", "C", "P", "S",
}  # fmt: skip


def _for_property(name: str, case_ins: bool) -> str | None:
    """CharPredicates.forProperty: categories, POSIX (ASCII) and java.lang.Character classes."""
    if name in ("Lu", "Ll", "Lt") and case_ins:
        return "\\p{Lu}\\p{Ll}\\p{Lt}"
    if name in _CATEGORIES:
        return f"\\p{{{name}}}"
    ctype = _ascii_ctype(name)
    if ctype is not None:
        return ctype
    java = {
        "LC": "\\p{Lu}\\p{Ll}\\p{Lt}",
        "LD": LETTER_OR_DIGIT,
        "L1": "\\u0000-\\u00ff",
        "all": ALL,
        "ASCII": "\\u0000-\\u007f",
        "Digit": "0-9",
        "Lower": "A-Za-z" if case_ins else "a-z",
        "Upper": "A-Za-z" if case_ins else "A-Z",
        "Print": "\\u0020-\\u007e",
        "javaLowerCase": CASED if case_ins else LOWERCASE,
        "javaUpperCase": CASED if case_ins else UPPERCASE,
        "javaTitleCase": CASED if case_ins else TITLECASE,
        "javaAlphabetic": ALPHABETIC,
        "javaIdeographic": "\\p{Ideographic}",
        "javaDigit": DIGIT,
        "javaDefined": "\\P{Cn}",
        "javaLetter": "\\p{L}",
        "javaLetterOrDigit": LETTER_OR_DIGIT,
        "javaJavaIdentifierStart": "\\p{L}\\p{Nl}\\p{Sc}\\p{Pc}",
        "javaJavaIdentifierPart": "\\p{L}\\p{Nl}\\p{Sc}\\p{Pc}\\p{Nd}\\p{Mc}\\p{Mn}"
        + IDENTIFIER_IGNORABLE,
        "javaUnicodeIdentifierStart": "\\p{ID_Start}",
        "javaUnicodeIdentifierPart": "\\p{ID_Continue}" + IDENTIFIER_IGNORABLE,
        "javaIdentifierIgnorable": IDENTIFIER_IGNORABLE,
        "javaSpaceChar": "\\p{Z}",
        "javaWhitespace": "[[\\p{Z}]--[\\u00a0\\u2007\\u202f]]\\u0009-\\u000d\\u001c-\\u001f",
        "javaISOControl": "\\u0000-\\u001f\\u007f-\\u009f",
        "javaMirrored": "\\p{Bidi_Mirrored}",
    }
    return java.get(name)


def _posix(name: str, case_ins: bool) -> str | None:
    """CharPredicates' POSIX names in their Unicode meaning (``(?U)``, ``\\p{IsPunct}``)."""
    return {
        "ALPHA": ALPHABETIC,
        "LOWER": CASED if case_ins else LOWERCASE,
        "UPPER": CASED if case_ins else UPPERCASE,
        "SPACE": WHITE_SPACE,
        "PUNCT": PUNCTUATION,
        "XDIGIT": HEX_DIGIT,
        "ALNUM": ALPHABETIC + DIGIT,
        "CNTRL": CONTROL,
        "DIGIT": DIGIT,
        "BLANK": BLANK,
        "GRAPH": GRAPH,
        "PRINT": PRINT,
    }.get(name)


def _for_unicode_property(name: str, case_ins: bool) -> str | None:
    name = name.upper()
    found = {
        "ALPHABETIC": ALPHABETIC,
        "ASSIGNED": "\\P{Cn}",
        "CONTROL": CONTROL,
        "HEXDIGIT": HEX_DIGIT,
        "HEX_DIGIT": HEX_DIGIT,
        "IDEOGRAPHIC": "\\p{Ideographic}",
        "JOINCONTROL": JOIN_CONTROL,
        "JOIN_CONTROL": JOIN_CONTROL,
        "LETTER": "\\p{L}",
        "LOWERCASE": CASED if case_ins else LOWERCASE,
        "NONCHARACTERCODEPOINT": NONCHARACTER,
        "NONCHARACTER_CODE_POINT": NONCHARACTER,
        "TITLECASE": CASED if case_ins else TITLECASE,
        "PUNCTUATION": PUNCTUATION,
        "UPPERCASE": CASED if case_ins else UPPERCASE,
        "WHITESPACE": WHITE_SPACE,
        "WHITE_SPACE": WHITE_SPACE,
        "WORD": WORD,
    }.get(name)
    return found if found is not None else _posix(name, case_ins)


def _regex_knows(item: str) -> bool:
    try:
        regex.compile(f"[{item}]", regex.VERSION1)
    except regex.error:
        return False
    return True


def _for_script(name: str) -> str | None:
    """Character.UnicodeScript.forName: the script's name or alias, in any case."""
    upper = name.upper()
    if not upper or not all(c.isascii() and (c.isalnum() or c == "_") for c in upper):
        return None
    item = f"\\p{{Script={upper}}}"
    return item if _regex_knows(item) else None


def _for_block(name: str) -> str | None:
    """Character.UnicodeBlock.forName: a block's name, with spaces, underscores or neither."""
    if not name or not all(c.isascii() and (c.isalnum() or c in " _-") for c in name):
        return None
    item = f"\\p{{Block={name.replace(' ', '_')}}}"
    return item if _regex_knows(item) else None
