"""Catastrophic patterns and adversarial messages are bounded by the per-match timeout."""

import json
import time

import pytest

from twilio_connector.triggers import match_all, parse_triggers

# patterns the regex module really backtracks on (it defuses the textbook (a+)+$ by itself)
CATASTROPHIC = [
    ("(a|aa)+$", "a" * 60 + "!"),
    ("(a|aa|aaa)+$", "a" * 60 + "!"),
    ("(x|xx)+y", "x" * 60),
    ("([a-z]|[a-z]{2})+\\d", "ab" * 40),
    ("(.*){1,32000}[bc]", "a" * 200),
]


def trigger_list(*triggers: dict) -> str:
    return json.dumps(list(triggers))


@pytest.mark.parametrize(("pattern", "message"), CATASTROPHIC)
def test_each_catastrophic_match_is_cut_at_the_timeout(pattern, message):
    triggers = parse_triggers(trigger_list({"name": "evil", "pattern": pattern}), {})
    started = time.monotonic()
    assert match_all(triggers, message, timeout=0.05) == []
    assert time.monotonic() - started < 0.5


def test_a_timed_out_trigger_does_not_block_the_others(all_logs, capsys):
    evil = [{"name": f"evil{i}", "pattern": p} for i, (p, _) in enumerate(CATASTROPHIC)]
    triggers = parse_triggers(trigger_list(*evil, {"name": "good", "pattern": "(?<n>\\d+)!$"}), {})
    started = time.monotonic()
    matches = match_all(triggers, "a" * 60 + " 42!", timeout=0.05)
    assert time.monotonic() - started < 1.5
    assert [m.trigger.name for m in matches] == ["good"]
    assert all_logs().count("Trigger pattern timed out") >= 2


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        '{"name": "x"}',
        '[{"pattern": "x"}]',
        '[{"name": "x", "pattern": "(unclosed"}]',
        '[{"name": "x", "pattern": "(?P<n>x)"}]',  # Python syntax Java refuses
        '[{"name": "x", "pattern": "a{,3}"}]',
        '[{"name": "x", "pattern": "(?<order_no>x)"}]',
        json.dumps([{"name": "x", "pattern": "a" * 1001}]),
        '[{"name": "x", "pattern": "x", "echo": 42}]',
        '[{"name": "x", "pattern": "x", "shell": "rm -rf"}]',
        '[{"name": "x", "pattern": "a"}, {"name": "x", "pattern": "b"}]',
        json.dumps([{"name": f"n{i}", "pattern": "a"} for i in range(51)]),
    ],
)
def test_malformed_trigger_lists_fail_with_a_reason(raw):
    from twilio_connector.triggers import TriggerConfigError

    with pytest.raises(TriggerConfigError, match="SMS_TRIGGERS"):
        parse_triggers(raw, {})
