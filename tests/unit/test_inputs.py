"""An action's input fields: near misses, ignored fields, conflicting aliases, dryRun."""

import json

import pytest

from twilio_connector import inputs
from twilio_connector.errors import INVALID_INPUT

SEND = inputs.fields(
    "metadata", "sendAt", "idempotencyKey", "failOnError",
    aliases=(("smsTo", "to"), ("smsBody", "body"), ("smsFrom", "from")),
    dry_run=True,
)  # fmt: skip
GET = inputs.fields(aliases=(("sid", "messageSid"),))


def refused(event: dict, spec: inputs.Fields = SEND) -> dict:
    with pytest.raises(INVALID_INPUT) as raised:
        inputs.check_fields(event, spec)
    return json.loads(str(raised.value))


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("smsbody", "smsBody"),  # another case
        ("SMSTO", "smsTo"),
        ("idempotency_key", "idempotencyKey"),  # another separator
        ("idempotency-key", "idempotencyKey"),
        ("dryrun", "dryRun"),
        ("metdata", "metadata"),  # an edit
        ("idempotencyKye", "idempotencyKey"),  # a swap
        ("smsBodyy", "smsBody"),
        ("sendat", "sendAt"),
        ("form", "from"),
        ("To", "to"),
        ("Body", "body"),
        ("failOnErrors", "failOnError"),
    ],
)
def test_a_near_miss_is_invalid_input_naming_the_field_meant(given, meant):
    body = refused({"smsTo": "+14155550100", given: "x"})
    assert body["field"] == given and body["didYouMean"] == meant
    assert f"did you mean {meant}?" in body["message"]


@pytest.mark.parametrize(
    "name",
    # short names are near only by case: id, day or tp are other fields, not typos of to or sid
    ["id", "day", "tp", "orderId", "status", "customer", "appointmentAt", "", "x" * 500],
)
def test_other_unknown_fields_are_ignored_and_listed_sorted(name):
    event = {"smsTo": "+14155550100", "zeta": 1, name: {"deep": "value"}, "alpha": None}
    listed = inputs.check_fields(event, SEND)
    assert listed == sorted(listed) and "zeta" in listed and "alpha" in listed
    assert inputs._shown(name) in listed  # a long name is cut to 64 characters
    assert all(len(item) <= inputs.MAX_NAME_SHOWN for item in listed)


def test_short_names_are_near_only_by_case():
    assert inputs.check_fields({"id": "SM1"}, GET) == ["id"]
    assert refused({"SID": "SM1"}, GET)["didYouMean"] == "sid"


def test_known_fields_and_aliases_alone_are_not_listed():
    event = {"smsTo": "+1", "to": "+1", "body": "x", "metadata": {}, "failOnError": False}
    assert inputs.check_fields(event, SEND) == []


def test_two_aliases_with_different_values_are_refused_naming_both():
    body = refused({"smsTo": "+14155550100", "to": "+14155550101"})
    assert body["field"] == "smsTo" and body["conflictsWith"] == "to"
    assert "smsTo and to" in body["message"]
    assert refused({"sid": "SM1", "messageSid": "SM2"}, GET)["conflictsWith"] == "messageSid"


def test_two_aliases_with_one_value_or_one_empty_are_accepted():
    assert inputs.check_fields({"smsTo": "+1", "to": "+1", "from": "", "smsFrom": "A"}, SEND) == []
    assert inputs.check_fields({"smsBody": "x", "body": None}, SEND) == []


def test_dry_run_is_refused_where_the_action_cannot_do_one():
    assert refused({"sid": "SM1", "dryRun": True}, GET)["field"] == "dryRun"
    assert refused({"sid": "SM1", "dryRun": "true"}, GET)["field"] == "dryRun"
    assert inputs.check_fields({"sid": "SM1", "dryRun": False}, GET) == []
    assert inputs.check_fields({"smsTo": "+1", "dryRun": True}, SEND) == []


def test_not_an_object_is_left_to_the_action():
    assert inputs.check_fields(["smsTo"], SEND) == []


def test_a_zone_less_send_at_is_refused_with_how_to_write_it():
    with pytest.raises(INVALID_INPUT) as raised:
        inputs.timestamp({"sendAt": "2026-03-01T09:00:00"}, "sendAt", zone_required=True)
    assert "add its offset or Z" in raised.value.message
    assert raised.value.details["field"] == "sendAt"
    for written in ("2026-03-01T09:00:00Z", "2026-03-01T09:00:00+01:00"):
        assert inputs.timestamp({"sendAt": written}, "sendAt", zone_required=True) is not None


def _reference_edits(a: str, b: str) -> int:
    """The textbook optimal-string-alignment distance, row by row, without shortcuts."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def test_the_bounded_distance_is_the_distance_up_to_its_bound():
    import random

    rng = random.Random(25)
    for _ in range(5000):
        a = "".join(rng.choices("abc", k=rng.randint(0, 7)))
        b = "".join(rng.choices("abc", k=rng.randint(0, 7)))
        for limit in (0, 1, 2):
            assert inputs._edits(a, b, limit) == min(_reference_edits(a, b), limit + 1), (a, b)


def test_forty_thousand_unknown_fields_are_checked_quickly():
    """A 1 MB payload of 40,000 fields (a direct invoke takes 6 MB): the length and letter
    bounds keep it a fraction of a second of CPU; measuring every field against every name
    took 7 s."""
    import random
    import time

    rng = random.Random(25)
    event = {"".join(rng.choices("qwxzjvhaeo0123", k=rng.randint(5, 12))): 1 for _ in range(40_000)}
    started = time.process_time()
    listed = inputs.check_fields(event, SEND)
    assert len(listed) == len(event)
    assert time.process_time() - started < 2  # about 0.2 s
