"""Every case of the FreeMarker corpus (tests/goldens/freemarker.json, written by `make goldens`
from Apache FreeMarker itself) renders as FreeMarker renders it: the same output, or the same
error class. A construct the engine deliberately does not run is refused with
TEMPLATE_SYNTAX_ERROR naming it ("... is not supported"), never rendered differently."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

from twilio_connector.errors import (
    TEMPLATE_METADATA_ERROR,
    TEMPLATE_READ_ERROR,
    TEMPLATE_SYNTAX_ERROR,
)
from twilio_connector.rendering import render_template

GOLDENS = Path(__file__).resolve().parent.parent / "goldens" / "freemarker.json"
CASES = json.loads(GOLDENS.read_text())["cases"]

#: Cases where the engine still differs from FreeMarker, listed so that none is hidden (none
#: today: the last ones were CLDR data Java 17 has from CLDR 39 where Babel has CLDR 41, now
#: corrected from Java itself by `make locale-data`). The test fails when any other case
#: differs, and when one of these starts agreeing (then remove it here).
KNOWN_DIFFERENCES: set[str] = set()


def outcome(case: dict) -> tuple[str, str]:
    try:
        output = render_template(
            case["template"],
            case["metadata"],
            locale=case["locale"],
            time_zone=case["timeZone"],
            now_millis=case["nowMillis"],
        )
    except TEMPLATE_SYNTAX_ERROR as exc:
        return ("refused" if "is not supported" in exc.message else "parse"), exc.message
    except TEMPLATE_METADATA_ERROR as exc:
        return ("missing" if exc.message.startswith("missing") else "error"), exc.message
    except TEMPLATE_READ_ERROR as exc:
        return "error", exc.message
    return "ok", output


def verdict(case: dict) -> str:
    kind, text = outcome(case)
    expected = case["result"]
    if kind == "refused":  # a syntax error where FreeMarker has one too is the same result
        return "same" if expected["kind"] == "parse" else "refused"
    if kind == expected["kind"] and (kind != "ok" or text == expected["output"]):
        return "same"
    return "differs"


def test_the_corpus_holds_what_the_issue_asks():
    assert len(CASES) >= 1000
    assert len({c["template"] for c in CASES if c["category"] == "sms"}) >= 50
    assert {c["locale"] for c in CASES} >= {"en_US", "en_GB", "de_DE", "fr_FR", "pt_BR", "es_MX"}
    assert {c["result"]["kind"] for c in CASES} == {"ok", "missing", "parse", "error"}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_renders_as_freemarker(case):
    result = verdict(case)
    if case["id"] in KNOWN_DIFFERENCES:
        assert result == "differs", f"{case['id']} now agrees: remove it from KNOWN_DIFFERENCES"
        return
    expected = case["result"]
    assert result in ("same", "refused"), (
        f"{case['template']!r} ({case['locale']}): FreeMarker gives {expected}, "
        f"the engine {outcome(case)}"
    )


def agreement() -> dict[str, collections.Counter]:
    """Per category: same, refused, differs.

    Printed by ``python -m tests.unit.test_freemarker_goldens``."""
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for case in CASES:
        table[case["category"]][verdict(case)] += 1
    return table


if __name__ == "__main__":
    total: collections.Counter = collections.Counter()
    for category, counts in sorted(agreement().items()):
        total.update(counts)
        print(f"{category:12} {dict(counts)}")
    print(f"{'total':12} {dict(total)}")
