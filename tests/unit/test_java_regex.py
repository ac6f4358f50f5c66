"""Trigger patterns behave as java.util.regex: every case of the recorded goldens agrees.

The goldens (tests/goldens/java_regex/goldens.json) come from Java 17 itself, through
``make goldens-regex``; this test needs no Java.
"""

import functools
import json
from pathlib import Path

import pytest

from local.goldens.java_regex_corpus import CASES
from twilio_connector.java_regex import JavaPatternError, compile_java
from twilio_connector.triggers import (
    MAX_MESSAGE_CHARS,
    TriggerConfigError,
    match_all,
    parse_triggers,
)

GOLDENS = json.loads(
    (Path(__file__).parents[1] / "goldens" / "java_regex" / "goldens.json").read_text("utf-8")
)

#: The constructs Java accepts and the connector refuses, by the reason it gives (the only
#: difference allowed: refused at configuration time, never run differently).
UNSUPPORTED = {
    "The flag (?c) (CANON_EQ) is not supported",
    "The grapheme cluster boundary \\b{g} is not supported",
    "A case-insensitive back reference is supported with (?iu) only "
    "(Java's (?i) folds ASCII letters alone)",
    "A possessive quantifier inside a look-behind is not supported",
    "An atomic group inside a look-behind is not supported",
    "A capturing group inside a look-behind of varying length or with alternatives is not "
    "supported",
    "A capturing group inside a negative look-around is not supported",
    "A repeated capturing group that can match nothing is not supported",
    "A group repeated at least twice that can match nothing is not supported",
}


def connector(pattern: str, message: str) -> dict:
    """What the connector does with one case, in the goldens' shape."""
    try:
        compiled = compile_java(pattern, MAX_MESSAGE_CHARS)
    except JavaPatternError as error:
        return {"refused": {"description": error.description, "index": error.index}}
    found = compiled.search(message[:MAX_MESSAGE_CHARS], timeout=5)
    if found is None:
        return {"found": None}
    return {
        "found": {
            "start": found.start(),
            "match": found.group(),
            "groups": list(found.groups()),
            "named": {name: found.group(name) for name in sorted(compiled.groupindex)},
        }
    }


def test_the_goldens_are_the_corpus_recorded_by_java_17():
    assert [(c["pattern"], c["message"]) for c in GOLDENS["cases"]] == CASES, (
        "the corpus changed: run make goldens-regex"
    )
    assert GOLDENS["java"].startswith('openjdk version "17.')
    assert len(CASES) >= 300


@functools.cache
def outcomes() -> list[tuple[dict, dict]]:
    """(case, what the connector does) for every recorded case."""
    return [(case, connector(case["pattern"], case["message"])) for case in GOLDENS["cases"]]


def _refused_as_unsupported(ours: dict) -> bool:
    return ours.get("refused", {}).get("description") in UNSUPPORTED


def test_every_case_agrees_with_java():
    disagreements = [
        (case["pattern"], case["message"], case["java"], ours)
        for case, ours in outcomes()
        if ours != case["java"]
        # the one difference allowed: what Java runs, refused as unsupported (never run otherwise)
        and not ("refused" not in case["java"] and _refused_as_unsupported(ours))
    ]
    assert disagreements == [], "\n".join(map(repr, disagreements))


def test_few_cases_are_refused_as_unsupported():
    refused = [case["pattern"] for case, ours in outcomes() if ours != case["java"]]
    assert len(refused) <= len(GOLDENS["cases"]) // 20, refused


def test_the_corpus_covers_refusals_matches_and_misses():
    outcomes = [next(iter(c["java"])) for c in GOLDENS["cases"]]
    found = [c for c in GOLDENS["cases"] if c["java"].get("found")]
    assert outcomes.count("refused") >= 40
    assert sum(1 for c in GOLDENS["cases"] if c["java"] == {"found": None}) >= 40
    assert sum(1 for c in found if c["java"]["found"]["named"]) >= 60


# --- the same engine behind the triggers ---
def triggers(*items: dict):
    return parse_triggers(json.dumps(list(items)), {})


def groups(pattern: str, message: str) -> dict | None:
    [trigger] = triggers({"name": "t", "pattern": pattern})
    matches = match_all((trigger,), message, timeout=1.0)
    return matches[0].groups if matches else None


def test_triggers_capture_as_java_does():
    assert groups("(?<name>\\w+)", "José") == {"name": "Jos"}  # \w is ASCII in Java
    assert groups("(?U)(?<name>\\w+)", "José") == {"name": "José"}
    assert groups("(?<otp>\\d{6})", "رمز ١٢٣٤٥٦") is None  # Arabic-Indic digits are not \d
    assert groups("(?<text>.+)$", "Order 12\r\n") == {"text": "Order 12"}  # no "\r"
    assert groups("(?i)^\\s*(?<answer>yes|no)\\s*$", "YES\r\n") == {"answer": "YES"}
    assert groups("[a-z&&[^aeiou]]+(?<rest>.*)", "xyz!") == {"rest": "!"}


def test_an_empty_pattern_is_legal_and_matches_every_message():
    assert groups("", "anything") == {}


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(?P<n>\\d+)", "Unknown inline modifier near index 2"),
        ("(?P=n)", "Unknown inline modifier near index 2"),
        ("(?<order_no>\\d+)", "named capturing group is missing trailing '>' near index 8"),
        ("\\d{,3}", "Illegal repetition near index 3"),
        ("(?<=(ab)+)c", "Look-behind group does not have an obvious maximum length"),
    ],
)
def test_a_pattern_java_refuses_names_the_trigger_and_the_reason(pattern, reason):
    with pytest.raises(TriggerConfigError) as raised:
        triggers({"name": "ok", "pattern": "x"}, {"name": "otp", "pattern": pattern})
    assert str(raised.value).startswith("SMS_TRIGGERS[1] (otp): invalid pattern: ")
    assert reason in str(raised.value)


def test_a_huge_repetition_count_compiles_and_never_matches_an_sms():
    # Java accepts counts up to 2**31 - 1; regex would unroll them: no SMS is that long
    assert groups("(?<a>a{2147483647})", "a" * MAX_MESSAGE_CHARS) is None
    assert groups("(?<a>a{1600})", "a" * MAX_MESSAGE_CHARS) == {"a": "a" * MAX_MESSAGE_CHARS}


def test_deeply_nested_patterns_of_the_longest_length_compile():
    # the parser recurses per group as Java's does: 1,000 characters can nest 333 deep
    assert groups("(" * 333 + "a)" + ")" * 332, "a") == {}
    assert groups("(?<x>" + "[a" * 150 + "]" * 150 + ")", "xa") == {"x": "a"}
