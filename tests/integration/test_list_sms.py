"""LIST_SMS through the real handler: filters, paging, and the 256 KiB result budget."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from local.twilio_emulator import MAGIC_FROM, TEST_ACCOUNT_SID
from tests.conftest import load_event, load_function
from tests.integration.helpers import expect_error
from tests.spec import message_schema, validate

BUDGET = 256 * 1024
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def handler():
    return load_function("list_sms").lambda_handler


def seed(emulator, count, body="x", to="+14155550100", start=START, step=timedelta(minutes=1)):
    return [
        emulator.store(
            TEST_ACCOUNT_SID,
            to=to,
            from_=MAGIC_FROM,
            body=body if isinstance(body, str) else body(n),
            status="delivered",
            date_created=start + n * step,
            date_sent=start + n * step,
        )["sid"]
        for n in range(count)
    ]


def walk(handler, context, event, max_calls=10_000):
    """Call LIST_SMS as a Step Functions loop would, passing nextPageToken back."""
    seen, sizes, calls = [], [], 0
    while True:
        result = handler(dict(event), context)
        calls += 1
        sizes.append(len(json.dumps(result)))
        seen += [m["sid"] for m in result["messages"]]
        if result["nextPageToken"] is None:
            return seen, sizes, calls
        event = {**event, "nextPageToken": result["nextPageToken"]}
        assert calls < max_calls


def test_sample_event(aws, emulator, handler, lambda_context, twilio_spec):
    sids = seed(emulator, 3)
    result = handler(load_event("list_sms"), lambda_context)
    assert [m["sid"] for m in result["messages"]] == list(reversed(sids))
    assert result["nextPageToken"] is None
    for message in result["messages"]:
        assert validate(twilio_spec, message_schema(twilio_spec), message) == []


def test_walks_2600_large_messages_each_exactly_once_within_the_budget(
    aws, emulator, handler, lambda_context
):
    # Given 2,600 messages of ~1,600 characters: a 1,000-message page would be ~4 MB of JSON
    sids = seed(emulator, 2600, body=lambda n: f"{n:05d} " + "é" * 400 + "x" * 1194)
    # When a state machine walks them with the largest page size
    seen, sizes, calls = walk(handler, lambda_context, {"pageSize": 1000})
    # Then every message comes exactly once, newest first, and no result passes 256 KiB
    assert len(seen) == len(set(seen)) == 2600
    assert seen == list(reversed(sids))
    assert max(sizes) <= BUDGET and calls > 2600 * 4000 // BUDGET
    print(f"\n2600 messages in {calls} calls; largest result {max(sizes)} bytes")


def test_pages_of_small_messages_are_full_pages(aws, emulator, handler, lambda_context):
    sids = seed(emulator, 2550)
    seen, sizes, calls = walk(handler, lambda_context, {"pageSize": 100})
    assert seen == list(reversed(sids)) and calls == 26  # 25 full pages of 100, then 50
    assert max(sizes) <= BUDGET


def test_a_smaller_budget_is_honoured(aws, emulator, handler, lambda_context, monkeypatch):
    monkeypatch.setenv("LIST_MAX_RESULT_BYTES", "20000")
    sids = seed(emulator, 300, body=lambda n: "y" * (n * 7 % 1500))
    seen, sizes, _ = walk(handler, lambda_context, {"pageSize": 137})
    assert seen == list(reversed(sids)) and max(sizes) <= 20000


def test_new_messages_during_the_walk_skip_and_repeat_nothing(
    aws, emulator, handler, lambda_context, monkeypatch
):
    monkeypatch.setenv("LIST_MAX_RESULT_BYTES", "16384")
    old = seed(emulator, 120, body="z" * 500)
    event, seen = {"pageSize": 40}, []
    later = START + timedelta(days=1)
    for call in range(200):
        result = handler(dict(event), lambda_context)
        seen += [m["sid"] for m in result["messages"]]
        # messages keep arriving (newest first: they land on the first page)
        seed(emulator, 3, body="new", start=later + timedelta(hours=call))
        if result["nextPageToken"] is None:
            break
        event = {**event, "nextPageToken": result["nextPageToken"]}
    olds = [sid for sid in seen if sid in set(old)]
    assert olds == list(reversed(old))  # each old message once, in order


def test_limit_caps_the_whole_walk(aws, emulator, handler, lambda_context):
    sids = seed(emulator, 50)
    seen, _, calls = walk(handler, lambda_context, {"pageSize": 7, "limit": 20})
    assert seen == list(reversed(sids))[:20] and calls == 3


def test_filters(aws, emulator, handler, lambda_context):
    seed(emulator, 3, to="+14155550100", start=datetime(2026, 3, 1, 12, tzinfo=UTC))
    other = seed(emulator, 2, to="+14155550199", start=datetime(2026, 3, 5, 12, tzinfo=UTC))

    def listed(**event):
        return [
            m["to"] + "@" + m["date_sent"][5:16] for m in handler(event, lambda_context)["messages"]
        ]

    assert len(listed()) == 5
    assert len(listed(to="+14155550199")) == 2
    assert len(listed(**{"from": MAGIC_FROM})) == 5
    assert len(listed(dateSent="2026-03-05")) == 2
    assert len(listed(dateSentAfter="2026-03-02")) == 2
    assert len(listed(dateSentBefore="2026-03-02")) == 3
    assert len(listed(dateSentAfter="2026-03-05T12:00:30Z")) == 1
    assert len(listed(dateSentAfter="2026-03-01", dateSentBefore="2026-03-01")) == 3
    assert handler({"to": "+14155550199"}, lambda_context)["messages"][0]["sid"] in other
    # numbers as people write them filter as their E.164 form
    assert len(listed(to="+1 (415) 555-0199")) == 2
    assert len(listed(to="(415) 555-0199", defaultPhoneRegion="US")) == 2
    assert len(listed(**{"from": "+1 500-555-0006", "to": "001 415 555 0100"})) == 3


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"pageSize": 0}, "INVALID_INPUT"),
        ({"pageSize": 1001}, "INVALID_INPUT"),
        ({"pageSize": "many"}, "INVALID_INPUT"),
        ({"limit": -1}, "INVALID_INPUT"),
        ({"dateSent": "yesterday"}, "INVALID_INPUT"),
        ({"dateSent": "2026-02-30"}, "INVALID_INPUT"),
        ({"dateSent": "2026-03-01T10:00:00Z"}, "INVALID_INPUT"),
        ({"dateSentAfter": "2026-13-01"}, "INVALID_INPUT"),
        ({"dateSentBefore": 20260301}, "INVALID_INPUT"),
        ({"dateSentAfter": "2026-03-02", "dateSentBefore": "2026-03-01"}, "INVALID_INPUT"),
        ({"to": "not a number"}, "INVALID_INPUT"),
        ({"to": 14155550100}, "INVALID_INPUT"),
        ({"from": "bad sender!"}, "INVALID_INPUT"),
        ({"pageToken": "not-a-token"}, "INVALID_INPUT"),
        ({"nextPageToken": "eyJ1cmkiOiAiaHR0cHM6Ly9ldmlsIn0"}, "INVALID_INPUT"),
        ("list", "INVALID_INPUT"),
    ],
)
def test_input_errors(aws, emulator, handler, lambda_context, event, code):
    expect_error(handler, lambda_context, event, code)
    assert emulator.requests == []


def test_a_token_for_another_account_is_refused(aws, emulator, handler, lambda_context):
    from twilio_connector.messages import Cursor

    foreign = Cursor(uri="/2010-04-01/Accounts/AC" + "9" * 32 + "/Messages.json?PageSize=5")
    expect_error(handler, lambda_context, {"pageToken": foreign.encode()}, "INVALID_INPUT")


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ({"fail_statuses": [503]}, "SERVICE_UNAVAILABLE"),
        ({"fail_statuses": [429]}, "TOO_MANY_REQUESTS"),
        ({"fail_errors": [{"status": 401, "code": 20003}]}, "AUTHENTICATION_CONNECTION_ERROR"),
        ({"drop_next": 1}, "TWILIO_CONNECTION_ERROR"),
    ],
)
def test_twilio_failures_while_listing(aws, emulator, handler, lambda_context, fault, code):
    seed(emulator, 3)
    for name, value in fault.items():
        setattr(emulator.faults, name, value)
    expect_error(handler, lambda_context, {}, code)


def test_failure_on_the_second_page_keeps_the_walk_resumable(
    aws, emulator, handler, lambda_context
):
    sids = seed(emulator, 30)
    first = handler({"pageSize": 10}, lambda_context)
    emulator.faults.fail_statuses = [503]
    event = {"pageSize": 10, "nextPageToken": first["nextPageToken"]}
    expect_error(handler, lambda_context, event, "SERVICE_UNAVAILABLE")
    rest, _, _ = walk(handler, lambda_context, event)  # the retry with the same input
    assert [m["sid"] for m in first["messages"]] + rest == list(reversed(sids))


# --- input that cannot be mistaken ---------------------------------------------------------------
def test_a_status_filter_is_not_applied_and_says_so(aws, emulator, handler, lambda_context):
    """Twilio's list has no status filter: every message is listed, and ``status`` is named
    in ``ignoredFields`` rather than silently dropped."""
    seed(emulator, 2)
    result = handler({"status": "delivered", "pageSize": 5}, lambda_context)
    assert len(result["messages"]) == 2 and result["ignoredFields"] == ["status"]


def test_a_near_miss_of_a_filter_is_refused(aws, emulator, handler, lambda_context):
    body = expect_error(handler, lambda_context, {"To": "+14155550100"}, "INVALID_INPUT")
    assert body["didYouMean"] == "to"
    body = expect_error(handler, lambda_context, {"page_size": 5}, "INVALID_INPUT")
    assert body["didYouMean"] == "pageSize"
    assert emulator.requests == []


def test_a_national_number_filter_gets_the_country_code_hint(
    aws, emulator, handler, lambda_context
):
    body = expect_error(handler, lambda_context, {"to": "(415) 555-0100"}, "INVALID_INPUT")
    assert body["field"] == "to" and "defaultPhoneRegion" in body["message"]
    assert "+ and its country code" in body["message"]
    seed(emulator, 1)
    event = {"to": "(415) 555-0100", "defaultPhoneRegion": "US"}
    assert len(handler(event, lambda_context)["messages"]) == 1


def test_a_filter_with_an_extension_is_told_to_drop_it(aws, emulator, handler, lambda_context):
    event = {"from": "+1 415 555 0100 ext. 12"}
    body = expect_error(handler, lambda_context, event, "INVALID_INPUT")
    assert body["field"] == "from" and "without its extension" in body["message"]
    assert "country code" not in body["message"]
