"""The Twilio emulator answers as Twilio's official OpenAPI description says it should."""

import base64
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from local.twilio_emulator import DEMO_CONTENT_SID, MAGIC_FROM, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.spec import check_request, check_response

LIST = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
ONE = "/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json"
AUTH = (TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)


def url(emulator, path, sid=""):
    return emulator.url + path.format(AccountSid=TEST_ACCOUNT_SID, Sid=sid)


def create(emulator, **form):
    return requests.post(url(emulator, LIST), data=form, auth=AUTH, timeout=5)


def test_create_answers_201_as_the_spec_says(emulator, twilio_spec):
    answer = create(emulator, To="+14155550100", From=MAGIC_FROM, Body="Hello 👍")
    assert answer.status_code == 201
    check_response(twilio_spec, LIST, "post", 201, answer.json())
    body = answer.json()
    assert body["sid"].startswith("SM") and len(body["sid"]) == 34
    assert body["status"] == "queued" and body["num_segments"] == "1"
    assert body["uri"] == f"/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Messages/{body['sid']}.json"


def test_fetch_answers_200_as_the_spec_says(emulator, twilio_spec):
    sid = create(emulator, To="+14155550100", From=MAGIC_FROM, Body="x").json()["sid"]
    answer = requests.get(url(emulator, ONE, sid), auth=AUTH, timeout=5)
    assert answer.status_code == 200
    check_response(twilio_spec, ONE, "get", 200, answer.json())
    assert answer.json()["sid"] == sid


def test_list_pages_with_next_page_uri(emulator, twilio_spec):
    sids = [
        create(emulator, To="+14155550100", From=MAGIC_FROM, Body=str(n)).json()["sid"]
        for n in range(7)
    ]
    seen, page_url = [], url(emulator, LIST) + "?PageSize=3"
    while page_url:
        answer = requests.get(page_url, auth=AUTH, timeout=5)
        assert answer.status_code == 200
        page = answer.json()
        check_response(twilio_spec, LIST, "get", 200, page)
        assert page["page_size"] == 3
        seen += [m["sid"] for m in page["messages"]]
        page_url = emulator.url + page["next_page_uri"] if page["next_page_uri"] else None
    assert seen == list(reversed(sids))  # newest first, each once


def test_list_filters(emulator):
    day = datetime(2026, 3, 1, 12, tzinfo=UTC)
    for n in range(3):
        emulator.store(
            TEST_ACCOUNT_SID,
            to=f"+1415555010{n}",
            from_=MAGIC_FROM,
            body="x",
            status="delivered",
            date_sent=day + timedelta(days=n),
        )

    def listed(**query):
        answer = requests.get(url(emulator, LIST), params=query, auth=AUTH, timeout=5)
        return [m["to"] for m in answer.json()["messages"]]

    assert listed(To="+14155550101") == ["+14155550101"]
    assert listed(From=MAGIC_FROM) == ["+14155550102", "+14155550101", "+14155550100"]
    assert listed(DateSent="2026-03-02") == ["+14155550101"]
    assert listed(**{"DateSent>": "2026-03-02"}) == ["+14155550102", "+14155550101"]
    assert listed(**{"DateSent<": "2026-03-02"}) == ["+14155550101", "+14155550100"]


@pytest.mark.parametrize(
    ("form", "status", "code"),
    [
        ({"To": "+15005550001", "From": MAGIC_FROM, "Body": "x"}, 400, 21211),
        ({"To": "+15005550002", "From": MAGIC_FROM, "Body": "x"}, 400, 21612),
        ({"To": "+15005550003", "From": MAGIC_FROM, "Body": "x"}, 400, 21408),
        ({"To": "+15005550004", "From": MAGIC_FROM, "Body": "x"}, 400, 21610),
        ({"To": "+15005550009", "From": MAGIC_FROM, "Body": "x"}, 400, 21614),
        ({"To": "+14155550100", "From": "+15005550001", "Body": "x"}, 400, 21212),
        ({"To": "+14155550100", "From": "+14155559999", "Body": "x"}, 400, 21606),
        ({"From": MAGIC_FROM, "Body": "x"}, 400, 21604),
        ({"To": "+14155550100", "Body": "x"}, 400, 21603),
        ({"To": "+14155550100", "From": MAGIC_FROM}, 400, 21602),
        ({"To": "+14155550100", "From": MAGIC_FROM, "Body": "x" * 1601}, 400, 21617),
        ({"To": "banana", "From": MAGIC_FROM, "Body": "x"}, 400, 21211),
    ],
)
def test_magic_numbers_and_validation_answer_twilio_errors(emulator, form, status, code):
    answer = create(emulator, **form)
    assert answer.status_code == status
    body = answer.json()
    assert body["code"] == code and body["status"] == status and body["message"]
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert emulator.messages == {}


@pytest.mark.parametrize(
    ("to", "sender"),
    [("whatsapp:+14155550100", MAGIC_FROM), ("+14155550100", f"whatsapp:{MAGIC_FROM}")],
)
def test_a_whatsapp_address_and_an_sms_number_are_no_pair_21910(emulator, to, sender):
    """Twilio refuses a From and To of different channels, whichever side is whatsapp:."""
    answer = create(emulator, To=to, From=sender, Body="x")
    assert answer.status_code == 400
    assert answer.json() == {
        "code": 21910,
        "message": "Invalid From and To pair. From and To should be of the same channel",
        "more_info": "https://www.twilio.com/docs/errors/21910",
        "status": 400,
    }
    assert emulator.messages == {}
    same_channel = create(
        emulator, To="whatsapp:+14155550100", From=f"whatsapp:{MAGIC_FROM}", Body="x"
    )
    assert same_channel.status_code == 201


def test_wrong_token_is_20003(emulator):
    answer = requests.post(
        url(emulator, LIST), data={"To": "+14155550100"}, auth=(TEST_ACCOUNT_SID, "nope"), timeout=5
    )
    assert answer.status_code == 401 and answer.json()["code"] == 20003


@pytest.mark.parametrize(
    "header", [None, "Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"ACxx:yy").decode()]
)
def test_malformed_auth_is_20003(emulator, header):
    headers = {"Authorization": header} if header else {}
    answer = requests.get(url(emulator, LIST), headers=headers, timeout=5)
    assert answer.status_code == 401 and answer.json()["code"] == 20003


def test_unknown_message_is_20404(emulator):
    answer = requests.get(url(emulator, ONE, "SM" + "0" * 32), auth=AUTH, timeout=5)
    assert answer.status_code == 404 and answer.json()["code"] == 20404


def test_fault_switches(emulator):
    emulator.faults.fail_statuses = [503]
    assert create(emulator, To="+14155550100", From=MAGIC_FROM, Body="x").status_code == 503
    emulator.faults.drop_next = 1
    with pytest.raises(requests.ConnectionError):
        create(emulator, To="+14155550100", From=MAGIC_FROM, Body="x")
    assert create(emulator, To="+14155550100", From=MAGIC_FROM, Body="x").status_code == 201


def test_concurrency_cap_answers_429_20429(emulator):
    emulator.faults.max_concurrency, emulator.faults.latency = 2, 0.3
    answers: list[requests.Response] = []
    threads = [
        threading.Thread(
            target=lambda: answers.append(
                create(emulator, To="+14155550100", From=MAGIC_FROM, Body="x")
            )
        )
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 201, 429, 429, 429]
    assert {a.json()["code"] for a in answers if a.status_code == 429} == {20429}


def test_control_api(emulator):
    answer = requests.post(f"{emulator.url}/__emulator/faults", json={"latency": 0.01}, timeout=5)
    assert answer.json()["faults"]["latency"] == 0.01
    create(emulator, To="+14155550100", From=MAGIC_FROM, Body="x")
    listed = requests.get(f"{emulator.url}/__emulator/messages", timeout=5).json()
    assert len(listed["messages"]) == 1
    requests.post(f"{emulator.url}/__emulator/reset", timeout=5)
    assert emulator.messages == {} and json.loads(json.dumps(vars(emulator.faults)))["latency"] == 0


def test_the_spec_check_catches_departures(emulator, twilio_spec):
    """The check above is not vacuous: a page or a message that departs from the spec fails it."""
    create(emulator, To="+14155550100", From=MAGIC_FROM, Body="x")
    page = requests.get(url(emulator, LIST), auth=AUTH, timeout=5).json()
    broken_page = {**page, "page_size": "fifty"}
    broken_message = {**page, "messages": [{**page["messages"][0], "status": "teleported"}]}
    for broken in (broken_page, broken_message):
        with pytest.raises(AssertionError, match="departs from Twilio's spec"):
            check_response(twilio_spec, LIST, "get", 200, broken)


CALLS = "/2010-04-01/Accounts/{AccountSid}/Calls.json"
CALL = "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json"


def test_calls_create_and_fetch_as_the_spec_says(emulator, twilio_spec):
    answer = requests.post(
        url(emulator, CALLS),
        data={
            "To": "+14155550100",
            "From": MAGIC_FROM,
            "Twiml": "<Response><Say>hi</Say></Response>",
        },
        auth=AUTH,
        timeout=5,
    )
    assert answer.status_code == 201
    check_response(twilio_spec, CALLS, "post", 201, answer.json())
    sid = answer.json()["sid"]
    fetched = requests.get(url(emulator, CALL, sid), auth=AUTH, timeout=5)
    assert fetched.status_code == 200 and fetched.json()["sid"] == sid
    check_response(twilio_spec, CALL, "get", 200, fetched.json())
    missing = requests.get(url(emulator, CALL, "CA" + "0" * 32), auth=AUTH, timeout=5)
    assert missing.status_code == 404 and missing.json()["code"] == 20404


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"To": "+15005550001", "From": MAGIC_FROM, "Url": "https://e.x/v"}, 21217),
        ({"To": "+15005550002", "From": MAGIC_FROM, "Url": "https://e.x/v"}, 21214),
        ({"To": "+15005550003", "From": MAGIC_FROM, "Url": "https://e.x/v"}, 21215),
        ({"To": "+15005550004", "From": MAGIC_FROM, "Url": "https://e.x/v"}, 21216),
        ({"To": "+14155550100", "From": "+15005550001", "Url": "https://e.x/v"}, 21212),
        ({"To": "+14155550100", "From": "+14155559999", "Url": "https://e.x/v"}, 21210),
        ({"To": "+14155550100", "From": MAGIC_FROM}, 21205),
        ({"From": MAGIC_FROM, "Url": "https://e.x/v"}, 21201),
    ],
)
def test_call_magic_numbers(emulator, form, code):
    answer = requests.post(url(emulator, CALLS), data=form, auth=AUTH, timeout=5)
    assert answer.status_code == 400 and answer.json()["code"] == code
    assert emulator.calls == {}


# --- scheduling and cancelling (https://www.twilio.com/docs/messaging/features/message-scheduling)
MG = "MG" + "a" * 32


def schedule(emulator, delay=timedelta(hours=2), **form):
    send_at = (emulator.now() + delay).strftime("%Y-%m-%dT%H:%M:%SZ")
    fields = {"To": "+14155550100", "MessagingServiceSid": MG, "Body": "x"}
    return create(emulator, **{**fields, "ScheduleType": "fixed", "SendAt": send_at, **form})


def cancel(emulator, sid, **form):
    return requests.post(
        url(emulator, ONE, sid), data={"Status": "canceled", **form}, auth=AUTH, timeout=5
    )


def test_a_scheduled_message_waits_for_send_at_then_is_sent(emulator, twilio_spec):
    answer = schedule(emulator, StatusCallback="http://127.0.0.1:9/status")
    assert answer.status_code == 201
    check_response(twilio_spec, LIST, "post", 201, answer.json())
    sid = answer.json()["sid"]
    assert answer.json()["status"] == "scheduled" and answer.json()["date_sent"] is None
    assert emulator.advance(timedelta(hours=1, minutes=59)) == []
    assert emulator.messages[sid]["status"] == "scheduled"
    assert emulator.webhook_deliveries == []  # nothing is said about a message not yet sent
    assert emulator.advance(timedelta(minutes=1)) == [sid]
    emulator.drain_callbacks()
    fetched = requests.get(url(emulator, ONE, sid), auth=AUTH, timeout=5).json()
    assert fetched["status"] == "delivered" and fetched["from"] == MAGIC_FROM
    assert [d["params"]["MessageStatus"] for d in emulator.webhook_deliveries] == [
        "sent",
        "delivered",
    ]


def test_cancel_before_send_at_answers_200_as_the_spec_says(emulator, twilio_spec):
    sid = schedule(emulator).json()["sid"]
    answer = cancel(emulator, sid)
    assert answer.status_code == 200
    check_response(twilio_spec, ONE, "post", 200, answer.json())
    assert answer.json()["status"] == "canceled" and answer.json()["sid"] == sid
    assert emulator.advance(timedelta(days=3)) == []  # never sent
    assert emulator.messages[sid]["status"] == "canceled"


@pytest.mark.parametrize("state", ["sent", "canceled", "immediate"])
def test_a_message_not_scheduled_cannot_be_canceled_30409(emulator, state):
    if state == "immediate":
        sid = create(emulator, To="+14155550100", From=MAGIC_FROM, Body="x").json()["sid"]
    else:
        sid = schedule(emulator).json()["sid"]
        if state == "sent":
            emulator.advance(timedelta(hours=3))
        else:
            cancel(emulator, sid)
    answer = cancel(emulator, sid)
    assert answer.status_code == 400 and answer.json()["code"] == 30409
    assert cancel(emulator, "SM" + "0" * 32).json()["code"] == 20404


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"SendAt": ""}, 35111),  # ScheduleType fixed without SendAt
        ({"SendAt": "tomorrow"}, 35114),
        ({"SendAt": "2020-01-01T00:00:00Z"}, 35114),
        ({"ScheduleType": "later"}, 20001),
    ],
)
def test_scheduling_errors(emulator, form, code):
    answer = schedule(emulator, **form)
    assert answer.status_code == 400 and answer.json()["code"] == code
    assert emulator.messages == {}


@pytest.mark.parametrize(
    ("delay", "accepted"),
    [
        (timedelta(minutes=14), False),
        (timedelta(minutes=16), True),
        (timedelta(days=35) - timedelta(minutes=1), True),
        (timedelta(days=35, minutes=1), False),
    ],
)
def test_the_scheduling_window_is_15_minutes_to_35_days(emulator, delay, accepted):
    assert schedule(emulator, delay).status_code == (201 if accepted else 400)


def test_without_a_messaging_service_the_schedule_is_dropped(emulator):
    """Twilio's guide: without MessagingServiceSid, a message is not scheduled but sent."""
    answer = schedule(emulator, MessagingServiceSid="", From=MAGIC_FROM)
    assert answer.status_code == 201 and answer.json()["status"] == "queued"
    assert emulator.scheduled == {}


def test_the_clock_control_api(emulator):
    sid = schedule(emulator, timedelta(minutes=30)).json()["sid"]
    answer = requests.post(
        f"{emulator.url}/__emulator/clock", json={"advance_seconds": 1800}, timeout=5
    ).json()
    assert answer["released"] == [sid]
    assert emulator.messages[sid]["status"] == "queued"


@contextlib.contextmanager
def webhook(status: Callable[[str], int], delay: float = 0.0) -> Iterator[str]:
    """A webhook on 127.0.0.1 answering each POST with ``status(path)`` after ``delay`` seconds;
    its base URL."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(delay)
            self.send_response(status(self.path))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Webhook) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()


def test_the_callback_drain_says_what_it_waited_for_and_what_arrived(emulator):
    """Each message's two status callbacks ("sent", then its final status) are counted: those
    answered 2xx, those answered otherwise, those whose webhook could not be reached."""
    with webhook(lambda path: 204 if path == "/ok" else 500) as base:
        for callback in (f"{base}/ok", f"{base}/ok", f"{base}/bad"):
            create(emulator, To="+14155550100", From=MAGIC_FROM, Body="x", StatusCallback=callback)
        with socket.socket() as closed:  # a port nobody listens on
            closed.bind(("127.0.0.1", 0))
            nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}/status"
        create(emulator, To="+14155550100", From=MAGIC_FROM, Body="x", StatusCallback=nowhere)
        report = emulator.drain_callbacks()
    assert (report.expected, report.arrived, report.refused, report.unreachable) == (8, 4, 2, 2)
    assert report.outstanding == 0 and not report.gave_up
    assert report.summary() == (
        "waited for 8 status callback(s): 4 arrived, 2 refused (not 2xx), 2 unreachable"
    )
    assert emulator.drain_callbacks().expected == 0  # counted once: since the last drain


def test_the_callback_drain_says_when_it_stopped_waiting(emulator):
    with webhook(lambda path: 204, delay=1.0) as base:
        callback = f"{base}/status"
        create(emulator, To="+14155550100", From=MAGIC_FROM, Body="x", StatusCallback=callback)
        early = emulator.drain_callbacks(timeout=0.3)  # no callback goes out within 0.3 s
        assert early.gave_up and early.expected == 2 and early.outstanding == 2
        assert early.summary().endswith("2 still outstanding when the wait stopped")
        late = emulator.drain_callbacks()
    assert (late.expected, late.arrived, late.gave_up) == (0, 2, False)


# --- Content templates and WhatsApp's 24-hour window ---------------------------------------------
WA_TO, WA_FROM = "whatsapp:+14155550100", f"whatsapp:{MAGIC_FROM}"


def test_a_content_template_is_filled_with_its_variables(emulator, twilio_spec):
    variables = json.dumps({"1": "Monday"})  # "2" not given: its placeholder stays, as Twilio's
    answer = create(
        emulator, To=WA_TO, From=WA_FROM, ContentSid=DEMO_CONTENT_SID, ContentVariables=variables
    )
    assert answer.status_code == 201
    check_response(twilio_spec, LIST, "post", 201, answer.json())
    assert answer.json()["body"] == "Your appointment is on Monday at {{2}}"
    emulator.drain_callbacks()
    assert emulator.messages[answer.json()["sid"]]["status"] == "queued"  # not failed


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"ContentSid": "HX" + "f" * 32}, 21655),  # well formed, unknown
        ({"ContentSid": "HX123"}, 21655),
        ({"ContentSid": DEMO_CONTENT_SID, "ContentVariables": "{not json"}, 21656),
        ({"ContentSid": DEMO_CONTENT_SID, "ContentVariables": '{"1": 5}'}, 21656),
        ({"ContentVariables": '{"1": "a"}', "Body": "x"}, 21656),
    ],
)
def test_content_errors_are_twilios(emulator, form, code):
    answer = create(emulator, To="+14155550100", From=MAGIC_FROM, **form)
    assert answer.status_code == 400
    assert answer.json()["code"] == code and answer.json()["status"] == 400
    assert answer.json()["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert emulator.messages == {}


def test_a_free_form_whatsapp_message_outside_the_window_is_accepted_then_fails_63016(
    emulator, twilio_spec
):
    answer = create(emulator, To=WA_TO, From=WA_FROM, Body="Hello")
    assert answer.status_code == 201 and answer.json()["status"] == "queued"
    fetched = requests.get(url(emulator, ONE, answer.json()["sid"]), auth=AUTH, timeout=5)
    check_response(twilio_spec, ONE, "get", 200, fetched.json())
    assert (fetched.json()["status"], fetched.json()["error_code"]) == ("failed", 63016)
    assert "outside the allowed window" in fetched.json()["error_message"]
    assert fetched.json()["date_sent"] is None
    # an SMS is not subject to the window
    sms = create(emulator, To="+14155550100", From=MAGIC_FROM, Body="Hello").json()
    assert emulator.messages[sms["sid"]]["status"] == "queued"


def test_a_message_in_opens_the_window_for_24_hours(emulator):
    with pytest.raises(OSError):  # nobody listens at the webhook: the message is stored anyway
        emulator.deliver_incoming("http://127.0.0.1:9/sms", "hi", from_=WA_TO, to=WA_FROM)
    inside = create(emulator, To=WA_TO, From=WA_FROM, Body="Hello").json()
    assert emulator.messages[inside["sid"]]["status"] == "queued"
    emulator.advance(timedelta(hours=24, seconds=1))
    outside = create(emulator, To=WA_TO, From=WA_FROM, Body="Hello").json()
    assert emulator.messages[outside["sid"]]["error_code"] == 63016


def test_the_63016_failure_is_reported_by_the_status_callback(emulator):
    callback = "http://127.0.0.1:9/status"
    sid = create(emulator, To=WA_TO, From=WA_FROM, Body="Hi", StatusCallback=callback).json()
    emulator.drain_callbacks()
    reported = [
        (d["params"]["MessageStatus"], d["params"].get("ErrorCode"))
        for d in emulator.webhook_deliveries
        if d["params"]["MessageSid"] == sid["sid"]
    ]
    assert reported == [("failed", "63016")]  # never "sent"


def test_the_connectors_requests_are_checked_against_the_spec(twilio_spec):
    """The request check is not vacuous: a parameter the spec does not know, a boolean that is
    not one, a ContentSid off its pattern all fail it."""
    check_request(twilio_spec, LIST, "post", {"To": ["+1"], "SmartEncoded": ["true"]})
    for form in (
        {"To": ["+1"], "Smart": ["true"]},
        {"To": ["+1"], "SmartEncoded": ["True"]},
        {"To": ["+1"], "ContentSid": ["HX123"]},
        {"To": ["+1"], "ValidityPeriod": ["soon"]},
    ):
        with pytest.raises(AssertionError):
            check_request(twilio_spec, LIST, "post", form)
