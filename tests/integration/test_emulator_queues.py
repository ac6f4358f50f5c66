"""The emulator's per-sender throughput and queues (opt-in) and its fast clock: Twilio's rates,
21611 / 30001 on a full queue, 30036 past a ValidityPeriod, and the tally a simulation reads."""

import threading
import time
from datetime import timedelta

import pytest
import requests

from local.twilio_emulator import DEMO_CONTENT_SID, MAGIC_FROM, TEST_ACCOUNT_SID, TwilioEmulator
from local.twilio_emulator.queues import default_mps
from tests.integration.test_emulator import AUTH, LIST, ONE, create, url
from tests.spec import check_request, check_response

MG = "MG" + "a" * 32
TOLL_FREE, SHORT_CODE, WHATSAPP, UK = (
    "+18005550100",
    "12345",
    "whatsapp:+15005550006",
    "+447700900123",
)
DEAD_WEBHOOK = "http://127.0.0.1:9/status"  # nobody listens: the deliveries are recorded anyway


@pytest.fixture
def queues(emulator, monkeypatch):
    """The model on, the clock standing still (only ``advance`` moves it): exact times."""
    monkeypatch.setattr(emulator, "numbers", {MAGIC_FROM, TOLL_FREE, SHORT_CODE, UK})
    emulator.set_clock_speed(0)
    emulator.configure_senders(True)
    return emulator


def waits(emulator, sids):
    """How long each message waited in its sender's queue (simulated seconds)."""
    times = [emulator.queue_times[s][1] - emulator.queue_times[s][0] for s in sids]
    return pytest.approx(times, abs=1e-5)  # seconds since the epoch: doubles to ~1e-7


def status(emulator, sid):
    answer = requests.get(url(emulator, ONE, sid), auth=AUTH, timeout=5).json()
    return answer["status"], answer["error_code"]


def callbacks(emulator, sid):
    emulator.drain_callbacks()
    return [
        (d["params"]["MessageStatus"], d["params"].get("ErrorCode"))
        for d in emulator.webhook_deliveries
        if d["params"]["MessageSid"] == sid
    ]


def test_default_rates_by_sender_type():
    assert default_mps("+14155550100") == 1  # US long code
    assert default_mps("+16135550100") == 1  # Canadian long code
    for prefix in ("800", "833", "844", "855", "866", "877", "888"):
        assert default_mps(f"+1{prefix}5550100") == 3  # toll-free
    assert default_mps("12345") == default_mps("123456") == 100  # short code
    assert default_mps("whatsapp:+14155550100") == 80
    assert default_mps(UK) == default_mps("ACME") == 10


def test_each_sender_sends_at_its_rate_in_segments(queues):
    def burst(sender, n=3, body="hi", **form):
        return [
            create(queues, To=f"+1415555010{i}", From=sender, Body=body, **form).json()["sid"]
            for i in range(n)
        ]

    assert waits(queues, burst(MAGIC_FROM)) == [0, 1, 2]
    assert waits(queues, burst(TOLL_FREE)) == [0, 1 / 3, 2 / 3]
    assert waits(queues, burst(SHORT_CODE)) == [0, 0.01, 0.02]
    assert waits(queues, burst(UK)) == [0, 0.1, 0.2]
    whatsapp = [
        create(queues, To=f"whatsapp:+1415555010{i}", From=WHATSAPP, ContentSid=DEMO_CONTENT_SID)
        for i in range(3)
    ]
    assert waits(queues, [w.json()["sid"] for w in whatsapp]) == [0, 1 / 80, 2 / 80]
    # a 2-segment GSM-7 body (161 characters) holds a long code for 2 s; UCS-2 splits at 67
    queues.advance(timedelta(minutes=1))
    assert waits(queues, burst(MAGIC_FROM, body="x" * 161)) == [0, 2, 4]
    queues.advance(timedelta(minutes=1))
    assert waits(queues, burst(MAGIC_FROM, body="ж" * 71)) == [0, 2, 4]  # 71 UCS-2 units


def test_a_service_sends_at_the_sum_of_its_senders_or_the_rate_it_is_given(queues):
    sids = [
        create(queues, To=f"+1415555010{i}", MessagingServiceSid=MG, Body="x") for i in range(3)
    ]
    # its pool: the account's numbers, 1 + 3 + 100 + 10 segments per second
    assert waits(queues, [s.json()["sid"] for s in sids]) == [0, 1 / 114, 2 / 114]
    queues.advance(timedelta(minutes=1))
    queues.configure_senders(True, {MG: {"mps": 10}, MAGIC_FROM: {"mps": 4}})
    sids = [
        create(queues, To=f"+1415555010{i}", MessagingServiceSid=MG, Body="x") for i in range(3)
    ]
    assert waits(queues, [s.json()["sid"] for s in sids]) == [0, 0.1, 0.2]
    assert queues.senders_view()["mps"][MAGIC_FROM] == 4


def test_status_moves_at_the_send_time_with_its_callbacks(queues, twilio_spec):
    first, second = (
        create(queues, To=to, From=MAGIC_FROM, Body="x", StatusCallback=DEAD_WEBHOOK).json()
        for to in ("+14155550100", "+14155550101")
    )
    assert first["status"] == second["status"] == "queued"  # the answer to the create
    assert status(queues, first["sid"]) == ("delivered", None)  # its send time is now
    assert status(queues, second["sid"]) == ("queued", None)  # 1 s behind it
    queues.advance(timedelta(seconds=1))
    fetched = requests.get(url(queues, ONE, second["sid"]), auth=AUTH, timeout=5).json()
    check_response(twilio_spec, ONE, "get", 200, fetched)
    assert fetched["status"] == "delivered" and fetched["date_sent"]
    assert callbacks(queues, second["sid"]) == [("sent", None), ("delivered", None)]


def test_a_full_queue_refuses_a_from_number_21611(queues):
    queues.configure_senders(True, {MAGIC_FROM: {"mps": 0.0001}})  # 10,000 s a message
    answers = [create(queues, To=f"+1415555010{i}", From=MAGIC_FROM, Body="x") for i in range(5)]
    assert [a.status_code for a in answers] == [201, 201, 201, 201, 400]  # 40,000 s > 10 h
    assert answers[4].json()["code"] == 21611
    assert "exceeded the maximum number of queued messages" in answers[4].json()["message"]
    assert len(queues.messages) == 4


def test_a_full_queue_fails_a_service_message_30001(queues, twilio_spec):
    queues.configure_senders(True, {MG: {"mps": 0.0001}})
    answers = [
        create(queues, To=f"+1415555010{i}", MessagingServiceSid=MG, Body="x",
               StatusCallback=DEAD_WEBHOOK)
        for i in range(5)
    ]  # fmt: skip
    assert [a.status_code for a in answers] == [201] * 5
    check_response(twilio_spec, LIST, "post", 201, answers[4].json())
    assert answers[4].json()["status"] == "accepted"
    overflow = answers[4].json()["sid"]
    assert status(queues, overflow) == ("failed", 30001)
    assert callbacks(queues, overflow) == [("failed", "30001")]  # never sent
    assert queues.messages[overflow]["date_sent"] is None


def test_a_message_waiting_past_its_validity_period_expires_30036(queues, twilio_spec):
    queues.configure_senders(True, {MAGIC_FROM: {"mps": 0.1}})  # 10 s a message
    form = {"From": MAGIC_FROM, "Body": "x", "StatusCallback": DEAD_WEBHOOK, "ValidityPeriod": "5"}
    check_request(twilio_spec, LIST, "post", {k: [v] for k, v in {"To": "+1", **form}.items()})
    first = create(queues, To="+14155550100", **form).json()
    late = create(queues, To="+14155550101", **form).json()  # would wait 10 s > 5 s
    assert status(queues, late["sid"]) == ("queued", None)
    queues.advance(timedelta(seconds=5))
    assert status(queues, late["sid"]) == ("failed", 30036)
    assert callbacks(queues, late["sid"]) == [("failed", "30036")]
    assert status(queues, first["sid"]) == ("delivered", None)
    # the expired message took none of the sender's time: the next one goes 5 s later
    third = create(queues, To="+14155550102", From=MAGIC_FROM, Body="x").json()
    assert waits(queues, [third["sid"]]) == [5]


@pytest.mark.parametrize("value", ["0", "36001", "soon", "-5", "1.5"])
def test_a_validity_period_out_of_range_is_21624(emulator, value):
    answer = create(emulator, To="+14155550100", From=MAGIC_FROM, Body="x", ValidityPeriod=value)
    assert answer.status_code == 400 and answer.json()["code"] == 21624
    assert emulator.summary()["refused"] == {"21624": 1}


def test_a_scheduled_message_joins_its_services_queue_at_send_at(queues):
    queues.configure_senders(True, {MG: {"mps": 1}})
    send_at = (queues.now() + timedelta(hours=1)).isoformat()
    form = {"MessagingServiceSid": MG, "Body": "x", "ScheduleType": "fixed", "SendAt": send_at}
    sids = [create(queues, To=f"+1415555010{i}", **form).json()["sid"] for i in range(2)]
    assert [status(queues, s)[0] for s in sids] == ["scheduled"] * 2
    queues.advance(timedelta(hours=1))
    assert status(queues, sids[0]) == ("delivered", None)
    assert status(queues, sids[1]) == ("queued", None)
    queues.advance(timedelta(seconds=1))
    assert status(queues, sids[1]) == ("delivered", None)
    assert waits(queues, sids) == [0, 1]


def test_the_summary_tallies_what_became_of_each_message(queues):
    queues.configure_senders(True, {MAGIC_FROM: {"mps": 0.0001}, MG: {"mps": 0.0001}})
    for to in ("+14155550100", "+14155550100", "+14155550101", "+14155550102", "+14155550103"):
        create(queues, To=to, From=MAGIC_FROM, Body="x")  # the fifth: 21611
    for i in range(5):
        create(queues, To=f"+1415555020{i}", MessagingServiceSid=MG, Body="x")  # fifth: 30001
    queues.configure_senders(True, {TOLL_FREE: {"mps": 0.1}})
    create(queues, To="+14155550300", From=TOLL_FREE, Body="x")
    create(queues, To="+14155550301", From=TOLL_FREE, Body="x", ValidityPeriod="1")  # 30036
    queues.advance(timedelta(hours=10))
    summary = requests.get(queues.url + "/__emulator/summary", timeout=5).json()
    assert summary["created"] == 11 and summary["refused"] == {"21611": 1}
    assert summary["failed"] == {"30001": 1, "30036": 1}
    assert summary["sent"] == summary["delivered"] == 9
    assert summary["max_queue_seconds"] == 30_000
    assert summary["to_counts"]["+14155550100"] == 2 and summary["to_counts"]["+14155550101"] == 1
    assert "+14155550301" not in summary["to_counts"] and "+14155550204" not in summary["to_counts"]
    assert "+14155550103" not in summary["to_counts"]  # refused
    assert summary["first_created"] < summary["last_sent"] < summary["now"]


def test_the_model_is_off_by_default(emulator):
    sids = [
        create(emulator, To="+14155550100", From=MAGIC_FROM, Body="x").json()["sid"]
        for _ in range(3)
    ]
    assert [emulator.messages[s]["status"] for s in sids] == ["queued"] * 3
    assert emulator.queue_times == {} and emulator.throughput.pending() == 0


def test_the_model_is_switched_on_over_http(emulator):
    answer = requests.post(
        emulator.url + "/__emulator/senders",
        json={"enabled": True, "senders": {MAGIC_FROM: {"mps": 10}}},
        timeout=5,
    )
    assert answer.status_code == 200 and answer.json()["mps"][MAGIC_FROM] == 10
    assert emulator.throughput.enabled
    bad = requests.post(
        emulator.url + "/__emulator/senders", json={"senders": {MG: {"mps": 0}}}, timeout=5
    )
    assert bad.status_code == 400


def test_the_clock_runs_faster_and_advance_still_works(emulator):
    answer = requests.post(emulator.url + "/__emulator/clock", json={"speed": 1000}, timeout=5)
    assert answer.json()["speed"] == 1000
    started, before = time.time(), emulator.clock()
    time.sleep(0.1)
    after, ended = emulator.clock(), time.time()
    assert 100 <= after - before <= 1000 * (ended - started) + 1  # 1000 s a real second
    emulator.advance(timedelta(hours=1))
    assert emulator.clock() - after >= 3600
    assert emulator.now().timestamp() > ended + 3600
    for speed in (-1, "fast", None):
        refused = requests.post(
            emulator.url + "/__emulator/clock", json={"speed": speed or "nan"}, timeout=5
        )
        assert refused.status_code == 400


def test_a_fast_clock_sends_a_queue_without_a_thread_per_message():
    with TwilioEmulator(throughput=True, clock_speed=0) as emulator:
        threads = set(threading.enumerate())
        account, form = TEST_ACCOUNT_SID, {"From": [MAGIC_FROM], "Body": ["x"]}
        emulator.configure_senders(True, {MAGIC_FROM: {"mps": 10}})
        for i in range(2000):  # 200 s of sending at 10 MPS: 0.2 s at 1000x
            emulator.create_message(account, {**form, "To": [f"+1415{i:07d}"]})
        assert set(threading.enumerate()) - threads == set()  # no thread, no timer started
        emulator.set_clock_speed(1000)
        deadline = time.monotonic() + 30
        while emulator.summary()["delivered"] < 2000 and time.monotonic() < deadline:
            time.sleep(0.05)
        summary = emulator.summary()
        assert summary["delivered"] == 2000 and len(summary["to_counts"]) == 2000
        assert summary["max_queue_seconds"] == pytest.approx(199.9)
