"""The campaign's planning (twilio_connector.campaign): pacing slots, quiet hours, settling."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from twilio_connector import campaign
from twilio_connector.errors import (
    INVALID_INPUT,
    MISSING_INPUT,
    SERVICE_UNAVAILABLE,
)
from twilio_connector.time_zones import zones_of

START = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # a Monday, 7:00 in San Francisco


def test_slots_follow_the_senders_rate_one_batch_ahead():
    numbers = [f"+1415555{i:04d}" for i in range(250)]
    planned = campaign._schedule([((), numbers)], 100, 1 / 10, START, None)
    # batches of 100, 100, 50 drain at 10 a second from START, START + 10 s, START + 20 s;
    # each is handed over as the one before starts draining
    assert [len(batch) for _, batch, _ in planned] == [100, 100, 50]
    assert [slot - START for slot, _, _ in planned] == [timedelta(0), timedelta(0),
                                                        timedelta(seconds=10)]  # fmt: skip
    assert [n for _, batch, _ in planned for n in batch] == numbers


def test_quiet_hours_defer_a_batch_to_its_recipients_window():
    window = (time(21, 0), time(8, 0))  # quiet from 21:00 to 08:00
    sf, ny = ("America/Los_Angeles",), ("America/New_York",)
    groups = [(sf, ["+14155550100"] * 10), (ny, ["+12125550100"] * 10)]
    planned = campaign._schedule(groups, 10, 1.0, START, window)
    # 7:00 in San Francisco (quiet until 8:00), 10:00 in New York: New York goes first
    (first, first_batch, ny_closes), (second, second_batch, sf_closes) = planned
    assert first_batch[0].startswith("+1212") and first == START
    assert ny_closes == datetime(2026, 12, 7, 21, 0, tzinfo=ZoneInfo("America/New_York"))
    assert second_batch[0].startswith("+1415")
    assert second == datetime(2026, 12, 7, 8, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    assert sf_closes == datetime(2026, 12, 7, 21, 0, tzinfo=ZoneInfo("America/Los_Angeles"))


def test_a_number_spanning_zones_takes_the_most_restrictive_window():
    window = (time(21, 0), time(8, 0))
    both = ("America/New_York", "America/Los_Angeles")
    moment = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # 7:00 New York, 4:00 San Francisco
    slot, closes = campaign._opening(both, window, moment, timedelta(seconds=60))
    assert slot == datetime(2026, 12, 7, 8, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    assert closes == datetime(2026, 12, 7, 21, 0, tzinfo=ZoneInfo("America/New_York"))


def test_time_zones_come_from_the_numbers_prefix():
    assert zones_of("+14155550100") == ("America/Los_Angeles",)
    assert zones_of("whatsapp:+12125550100") == ("America/New_York",)
    assert "Europe/London" in zones_of("+447700900123")


@pytest.mark.parametrize(
    ("given", "mps"),
    [
        ({"smsFrom": "+14155550100"}, 1.0),
        ({"smsFrom": "+18005550100"}, 3.0),
        ({"smsFrom": "12345"}, 100.0),
        ({"smsFrom": "whatsapp:+14155550100"}, 80.0),
        ({}, 1.0),
        ({"senderMps": 25}, 25.0),
    ],
)
def test_sender_mps_defaults_by_sender_type(given, mps):
    assert campaign.sender_mps(given) == mps


def test_a_messaging_service_needs_its_throughput_given():
    with pytest.raises(MISSING_INPUT):
        campaign.sender_mps({"messagingServiceSid": "MG" + "0" * 32})
    with pytest.raises(INVALID_INPUT):
        campaign.sender_mps({"senderMps": 0})
    with pytest.raises(INVALID_INPUT):
        campaign.quiet_hours({"quietHours": {"start": "9pm", "end": "08:00"}})


def test_settle_retries_what_the_docs_call_transient():
    """settle's transient codes are those docs/workflows.md's Retry block retries (the state
    machine's Retry, checked against the same block): one more there must be raised here too."""
    from tests.unit.test_state_machines import transient_codes

    assert transient_codes() == campaign.TRANSIENT


def test_settle_lists_refusals_and_retries_the_batch_on_a_transient_error():
    refused = {"code": "PERMISSION_DENIED_ERROR", "twilioCode": 21610, "to": "+1", "index": 0}
    outcome = campaign.settle(
        {"index": 3},
        {"twilioResult": {"smsResult": {"SM1": "+2"}, "skipped": {}}, "twilioError": [refused]},
    )
    assert outcome == {
        "index": 3,
        "sent": {"+2": "SM1"},
        "skipped": {},
        "refused": {"+1": {"code": "PERMISSION_DENIED_ERROR", "twilioCode": 21610}},
    }
    transient = {"code": "SERVICE_UNAVAILABLE", "message": "503", "to": "+3", "index": 1}
    with pytest.raises(SERVICE_UNAVAILABLE):
        campaign.settle({"index": 3}, {"twilioResult": {}, "twilioError": [refused, transient]})


def test_the_time_zone_table_is_of_the_installed_phonenumbers():
    """`make time-zone-table` after a phonenumbers upgrade (the table is generated)."""
    import phonenumbers

    from twilio_connector import time_zone_table

    assert phonenumbers.__version__ == time_zone_table.PHONENUMBERS_VERSION
