# ruff: noqa: RUF001 (look-alike characters are what smart encoding is about)
"""Segments and encoding as Twilio counts them: golden cases following the rules (and the test
cases) of Twilio's open-source Message Segment Calculator (TwilioDevEd/message-segment-calculator:
SegmentedMessage, Segment, UnicodeToGSM, SmartEncodingMap, tests/index.test.js)."""

from __future__ import annotations

import pytest

from twilio_connector.segments import GSM_7, SMART_ENCODING, UCS_2, count, smart_encoded

DIGITS = "1234567890" * 40
FLAG_IT = "\U0001f1ee\U0001f1f9"  # 🇮🇹: two regional indicators, one grapheme, 4 UTF-16 units
RAINBOW_FLAG = "\U0001f3f3\ufe0f\u200d\U0001f308"  # 🏳️‍🌈: one grapheme of 6 units
WINK = "\U0001f61c"  # 😜: outside the BMP, 2 units
ACCENTS = "e\u0301\u0301\u0301"  # one grapheme of 4 units

GOLDEN = [
    # (description, body, segments, encoding)
    ("empty", "", 1, GSM_7),
    ("GSM-7, 160 characters: one segment", DIGITS[:160], 1, GSM_7),
    ("GSM-7, 161 characters: two", DIGITS[:161], 2, GSM_7),
    ("GSM-7, 306 characters: two parts of 153", DIGITS[:306], 2, GSM_7),
    ("GSM-7, 307 characters: three", DIGITS[:307], 3, GSM_7),
    ("GSM-7 with an escape character: 2 + 158 = 160 septets", "{" + DIGITS[:158], 1, GSM_7),
    ("GSM-7 with an escape character over 160 septets", "{" + DIGITS[:159], 2, GSM_7),
    ("80 euro signs are 160 septets", "€" * 80, 1, GSM_7),
    ("81 euro signs are 162 septets", "€" * 81, 2, GSM_7),
    ("every extension character counts two", "|^€{}[]~\\" + DIGITS[:142], 1, GSM_7),
    ("... one more is over", "|^€{}[]~\\" + DIGITS[:143], 2, GSM_7),
    ("form feed is an extension character", "\f" * 80, 1, GSM_7),
    # an escape sequence is not split: 152 digits + € would straddle the first part's end
    ("an escape sequence starts the next part", DIGITS[:152] + "€" + DIGITS[:152], 3, GSM_7),
    ("... when it fits it stays", DIGITS[:151] + "€" + DIGITS[:153], 2, GSM_7),
    ("GSM-7's own accents", "èéùìòÇØøÅåÆæßÉÄÖÑÜäöñüà¡¿§£¥¤ΔΦΓΛΩΠΨΣΘΞ@$_", 1, GSM_7),
    ("CR LF is two GSM-7 characters", "\rabcde\r\n123", 1, GSM_7),
    ("80 CR LF pairs are 160 characters", "\r\n" * 80, 1, GSM_7),
    ("81 pairs are 162", "\r\n" * 81, 2, GSM_7),
    # UCS-2
    ("UCS-2, 70 units: one segment", "ç" * 70, 1, UCS_2),
    ("UCS-2, 71 units: two", "ç" * 71, 2, UCS_2),
    ("UCS-2, 134 units: two parts of 67", "Ж" * 134, 2, UCS_2),
    ("UCS-2, 135 units: three", "Ж" * 135, 3, UCS_2),
    ("an emoji is two units: 2 + 68 = 70", WINK + DIGITS[:68], 1, UCS_2),
    ("... 2 + 69 = 71", WINK + DIGITS[:69], 2, UCS_2),
    ("the calculator's three-segment UCS-2 case (135 units)", WINK + DIGITS[:133], 3, UCS_2),
    ("a flag is one grapheme of 4 units: 4 + 66", FLAG_IT + DIGITS[:66], 1, UCS_2),
    ("... 4 + 67", FLAG_IT + DIGITS[:67], 2, UCS_2),
    ("a ZWJ sequence: 6 + 64", RAINBOW_FLAG + DIGITS[:64], 1, UCS_2),
    ("... 6 + 65", RAINBOW_FLAG + DIGITS[:65], 2, UCS_2),
    ("combining accents: 4 + 66", ACCENTS + "a" * 66, 1, UCS_2),
    ("... 4 + 67", ACCENTS + "a" * 67, 2, UCS_2),
    # in UCS-2 a GSM extension character is one unit (issue #18 of the calculator)
    ("extension characters in UCS-2 are one unit: 2 + 68", "😀" + "]" * 68, 1, UCS_2),
    ("... 2 + 69", "😀" + "]" * 69, 2, UCS_2),
    # a grapheme is not split across parts: 66 units, then a 4-unit flag, does not fit in 67
    (
        "a grapheme that would straddle parts starts the next",
        "Ж" * 66 + FLAG_IT + "Ж" * 64,
        3,
        UCS_2,
    ),
    ("... one unit less and it fits", "Ж" * 63 + FLAG_IT + "Ж" * 67, 2, UCS_2),
    ("lower-case ç is not GSM-7 (only Ç is)", "ç", 1, UCS_2),
    ("a curly apostrophe makes the whole body UCS-2", "It’s " + DIGITS[:100], 2, UCS_2),
    ("a tab is not GSM-7", "a\tb", 1, UCS_2),
]


@pytest.mark.parametrize(("description", "body", "segments", "encoding"), GOLDEN)
def test_golden_cases(description, body, segments, encoding):
    assert count(body) == (segments, encoding), description


SMART = [
    # (body, smart-encoded body, segments, encoding)
    ("“Hello” — it’s…", '"Hello" - it\'s...', 1, GSM_7),
    ("‘single’ «guillemets» „low“", '\'single\' "guillemets" "low"', 1, GSM_7),
    ("a–b—c―d‐e•f", "a-b-c-d-e-f", 1, GSM_7),
    ("½ ¼ ¾ ÷", "1/2 1/4 3/4 /", 1, GSM_7),
    ("ＡＢＣ１２３！", "ABC123!", 1, GSM_7),
    ("ᴀʙᴄ", "ABC", 1, GSM_7),
    ("zero\u200bwidth\ufeffgone\u2060", "zerowidthgone", 1, GSM_7),
    ("tab\there", "tab" + " " * 7 + "here", 1, GSM_7),
    ("‼", "!!", 1, GSM_7),
    ("｛［～］｝＼＾｜", "{[~]}\\^|", 1, GSM_7),  # replaced by extension characters: 2 each
    ("…" * 54, "." * 162, 2, GSM_7),  # replaced by more characters than it had
    ("“quoted” 😀", '"quoted" 😀', 1, UCS_2),  # an emoji has no replacement: still UCS-2
    ("‹›", "><", 1, GSM_7),  # as the calculator's map has them
]


@pytest.mark.parametrize(("body", "replaced", "segments", "encoding"), SMART)
def test_smart_encoding_counts_the_replaced_text(body, replaced, segments, encoding):
    assert smart_encoded(body) == replaced
    assert count(body, smart_encoding=True) == (segments, encoding)


def test_smart_encoding_turns_a_long_curly_quoted_body_into_fewer_segments():
    body = "We’re “open” today – see you soon… " * 4  # 140 characters
    assert count(body) == (3, UCS_2)
    assert count(body, smart_encoding=True) == (1, GSM_7)


def test_every_smart_encoding_replacement_is_gsm7():
    """Each replacement is GSM-7 text, so a body of replaced characters alone is GSM-7."""
    for character, replacement in SMART_ENCODING.items():
        assert count(replacement) == (1, GSM_7), (hex(ord(character)), replacement)
        assert count(character, smart_encoding=True).encoding == GSM_7, hex(ord(character))


def test_the_smart_encoding_map_has_the_calculators_entries():
    """A sample across the calculator's groups (quotes, slashes, bars, dashes, punctuation,
    full-width forms, small capitals, spaces, invisible characters)."""
    sample = {
        "\u00ab": '"', "\u301e": '"', "\u2019": "'", "\u0060": "'", "\ufe11": "'",
        "\u00f7": "/", "\u29f9": "\\", "\u0332": "_", "\u239f": "|", "\u2043": "-",
        "\ufe6b": "@", "\uff04": "$", "\u01c3": "!", "\ufe5f": "#", "\ufe6a": "%",
        "\ufe60": "&", "\uff64": ",", "\u2985": "(", "\u2986": ")", "\u29c6": "*",
        "\u02d6": "+", "\uff61": ".", "\uff19": "9", "\ua789": ":", "\u204f": ";",
        "\ufe64": "<", "\u0347": "=", "\ufe65": ">", "\ufe16": "?", "\uff3a": "Z",
        "\u1d22": "Z", "\u028f": "Y", "\u1dcd": "^", "\u2774": "{", "\ufe5c": "}",
        "\u223c": "~", "\u00a0": "  ", "\u3000": "  ", "\u2028": " ", "\u0000": "",
        "\u2017": "'", "\u2026": "...", "\u3001": ",", "\u2022": "-",
    }  # fmt: skip
    for character, replacement in sample.items():
        assert SMART_ENCODING[character] == replacement, hex(ord(character))
    assert "\u00e9" not in SMART_ENCODING  # é is GSM-7 itself; other letters are left alone
    assert "\u00e7" not in SMART_ENCODING


def test_a_body_is_counted_once_however_many_recipients():
    count.cache_clear()
    body = "Your order ships today “on time”"
    for _ in range(1000):
        count(body, True)
    assert count.cache_info().misses == 1
