"""How many SMS segments a body takes, and in which encoding, as Twilio counts them.

The rules are those of Twilio's open-source Message Segment Calculator
(github.com/TwilioDevEd/message-segment-calculator):

- GSM-7 when every character is in the GSM 03.38 basic or extension table, else UCS-2.
- A segment is 140 octets (1,120 bits). A message that does not fit in one is split into parts
  that each carry a 6-octet User Data Header, leaving 1,072 bits: GSM-7 160 septets alone, 153
  per part; UCS-2 70 code units alone, 67 per part.
- In GSM-7 an extension-table character (``€ [ ] { } \\ ^ ~ |`` and form feed) is two septets;
  in UCS-2 a character outside the Basic Multilingual Plane (an emoji) is two code units.
- A character is never split across parts: an escape sequence, a surrogate pair or a whole
  grapheme (a flag, an emoji with modifiers, a letter with combining accents) that does not fit
  in what is left of a part starts the next one. CR LF counts as two characters.
- With ``SmartEncoded`` Twilio first replaces the characters of its smart-encoding map (curly
  quotes, dashes, ellipsis, special spaces, full-width forms...) by GSM-7 ones; the count
  follows the replaced text.

:func:`count` is cached: a request's body is counted once, however many recipients it has.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

GSM_7 = "GSM-7"
UCS_2 = "UCS-2"

#: Bits of one SMS, and of a part of a concatenated one (less its User Data Header).
SINGLE_BITS = 140 * 8
PART_BITS = SINGLE_BITS - 6 * 8

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: Characters written with the escape code (two septets each).
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
GSM7 = _GSM7_BASIC | GSM7_EXTENSION

#: Twilio's smart-encoding replacements (the calculator's ``SmartEncodingMap``).
_SMART: dict[str, str] = {
    **dict.fromkeys(
        "\u00ab\u00bb\u201c\u201d\u02ba\u02ee\u201f\u275d\u275e\u301d\u301e\uff02", '"'
    ),
    **dict.fromkeys(
        "\u2018\u2019\u02bb\u02c8\u02bc\u02bd\u02b9\u201b\uff07\u00b4\u02ca\u0060\u02cb\u275b"
        "\u275c\u0313\u0314\ufe10\ufe11\u2017",
        "'",
    ),
    **dict.fromkeys("\u00f7\u29f8\u0337\u0338\u2044\u2215\uff0f", "/"),
    "\u00bc": "1/4",
    "\u00bd": "1/2",
    "\u00be": "3/4",
    **dict.fromkeys("\u29f9\u29f5\u20e5\ufe68\uff3c", "\\"),
    **dict.fromkeys("\u0332\uff3f", "_"),
    **dict.fromkeys("\u20d2\u20d3\u2223\uff5c\u23b8\u23b9\u23d0\u239c\u239f", "|"),
    **dict.fromkeys("\u23bc\u23bd\u2015\ufe63\uff0d\u2010\u2043\u2014\u2013\u2022", "-"),
    **dict.fromkeys("\ufe6b\uff20", "@"),
    **dict.fromkeys("\ufe69\uff04", "$"),
    **dict.fromkeys("\u01c3\ufe15\ufe57\uff01", "!"),
    **dict.fromkeys("\ufe5f\uff03", "#"),
    **dict.fromkeys("\ufe6a\uff05", "%"),
    **dict.fromkeys("\ufe60\uff06", "&"),
    **dict.fromkeys("\u201a\u0326\ufe50\ufe51\uff0c\uff64\u3001", ","),
    **dict.fromkeys("\u2768\u276a\ufe59\uff08\u27ee\u2985", "("),
    **dict.fromkeys("\u2769\u276b\ufe5a\uff09\u27ef\u2986", ")"),
    **dict.fromkeys(
        "\u204e\u2217\u229b\u2722\u2723\u2724\u2725\u2731\u2732\u2733\u273a\u273b\u273c\u273d"
        "\u2743\u2749\u274a\u274b\u29c6\ufe61\uff0a",
        "*",
    ),
    **dict.fromkeys("\u02d6\ufe62\uff0b", "+"),
    **dict.fromkeys("\u3002\ufe52\uff0e\uff61", "."),
    **{chr(0xFF10 + digit): str(digit) for digit in range(10)},  # full-width digits
    **dict.fromkeys("\u02d0\u02f8\u2982\ua789\ufe13\uff1a", ":"),
    **dict.fromkeys("\u204f\ufe14\ufe54\uff1b", ";"),
    **dict.fromkeys("\ufe64\uff1c\u203a", "<"),
    **dict.fromkeys("\u0347\ua78a\ufe66\uff1d", "="),
    **dict.fromkeys("\ufe65\uff1e\u2039", ">"),
    **dict.fromkeys("\ufe16\ufe56\uff1f", "?"),
    **{chr(0xFF21 + i): chr(ord("A") + i) for i in range(26)},  # full-width capitals
    **dict(
        zip(
            "\u1d00\u0299\u1d04\u1d05\u1d07\ua730\u0262\u029c\u026a\u1d0a\u1d0b\u029f\u1d0d"
            "\u0274\u1d0f\u1d18\u0280\ua731\u1d1b\u1d1c\u1d20\u1d21\u028f\u1d22",
            "ABCDEFGHIJKLMNOPRSTUVWYZ",  # small capitals (none for Q and X)
            strict=True,
        )
    ),
    **dict.fromkeys("\u02c6\u0302\uff3e\u1dcd", "^"),
    **dict.fromkeys("\u2774\ufe5b\uff5b", "{"),
    **dict.fromkeys("\u2775\ufe5c\uff5d", "}"),
    "\uff3b": "[",
    "\uff3d": "]",
    **dict.fromkeys("\u02dc\u02f7\u0303\u0330\u0334\u223c\uff5e", "~"),
    # the calculator's map gives these spaces and C1 controls two spaces each
    **dict.fromkeys(
        "\u00a0\u2000\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
        "\u008d\u009f\u0080\u0090\u009b",
        "  ",
    ),
    **dict.fromkeys("\u2028\u2029\u2001", " "),
    "\t": " " * 7,
    **dict.fromkeys("\u0010\u0000\u0003\u0004\u0017\u0019\u0011\u0012\u0013\u0014", ""),
    **dict.fromkeys("\u2060\u200b\ufeff", ""),
    "\u203c": "!!",
    "\u201e": '"',
    "\u2026": "...",
}
SMART_ENCODING = _SMART
_SMART_TABLE = str.maketrans(_SMART)


class Segments(NamedTuple):
    segments: int
    encoding: str  # GSM_7 or UCS_2


def smart_encoded(body: str) -> str:
    """``body`` as Twilio sends it with ``SmartEncoded=True``."""
    return body.translate(_SMART_TABLE)


@functools.lru_cache(maxsize=256)
def count(body: str, smart_encoding: bool = False) -> Segments:
    """The segments and encoding of ``body`` (after Twilio's smart encoding, if asked)."""
    if smart_encoding:
        body = smart_encoded(body)
    if GSM7.issuperset(body):
        extended = sum(body.count(ch) for ch in GSM7_EXTENSION if ch in body)
        septets = len(body) + extended
        if septets * 7 <= SINGLE_BITS:
            return Segments(1, GSM_7)
        if not extended:
            return Segments(-(-septets // (PART_BITS // 7)), GSM_7)
        sizes = [2 if ch in GSM7_EXTENSION else 1 for ch in body]
        return Segments(_parts(sizes, PART_BITS // 7), GSM_7)
    units = len(body) + sum(1 for ch in body if ch > "\uffff")
    if units * 16 <= SINGLE_BITS:
        return Segments(1, UCS_2)
    return Segments(_parts(_grapheme_units(body), PART_BITS // 16), UCS_2)


def _parts(sizes: list[int], room: int) -> int:
    """How many parts of ``room`` units hold characters of ``sizes`` units, none split."""
    parts, left = 1, room
    for size in sizes:
        if size > left:
            parts, left = parts + 1, room
        left -= size
    return parts


def _grapheme_units(body: str) -> list[int]:
    """The UTF-16 length of each grapheme of ``body`` (CR LF as two)."""
    import regex  # the layer's; only for a UCS-2 body over one segment

    sizes = []
    for grapheme in regex.findall(r"\X", body):
        if grapheme == "\r\n":
            sizes += (1, 1)
        else:
            sizes.append(len(grapheme) + sum(1 for ch in grapheme if ch > "\uffff"))
    return sizes
