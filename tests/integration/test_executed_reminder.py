"""The appointment reminder example executed in moto's Step Functions interpreter, with the built
functions as its Lambda tasks, DynamoDB for its reminders table, the example rule on the bus and
the Twilio emulator behind it (local.workflows). The emulator's clock is moved to the reminder's
sendAt to see it sent, or not.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.conftest import REMINDER_SERVICE

REMINDER = "ExampleAppointmentReminderStateMachine"
MG = REMINDER_SERVICE
TABLE = "local-ExampleAppointmentRemindersTable"  # local.workflows names it
A = "+14155550100"
BODY = "Hi ${name}, see you tomorrow at ${time}."


@pytest.fixture(scope="module")
def workflows(deployed_workflows):
    return deployed_workflows


def book(workflows, appointment_at: datetime, appointment_id: str | None = None) -> tuple:
    appointment_id = appointment_id or f"A-{uuid.uuid4().hex[:8]}"
    arn = workflows.start(
        REMINDER,
        {
            "appointmentId": appointment_id,
            "smsTo": "+1 (415) 555-0100",  # as the booking system holds it
            "appointmentAt": appointment_at.isoformat(),
            "smsBody": BODY,
            "name": "Ada",
            "time": "10:00",
        },
    )
    return appointment_id, workflows.wait(arn)


def cancel_by_event(workflows, appointment_id: str) -> dict:
    """An AppointmentCancelled event on the bus: the example rule starts the cancellation."""
    before = {e["executionArn"] for e in workflows.executions(REMINDER)}
    answer = workflows.client("events").put_events(
        Entries=[
            {
                "Source": "appointments",
                "DetailType": "AppointmentCancelled",
                "Detail": json.dumps({"appointmentId": appointment_id}),
                "EventBusName": "default",
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        started = [
            e["executionArn"]
            for e in workflows.executions(REMINDER)
            if e["executionArn"] not in before
        ]
        if started:
            return workflows.wait(started[0])
        time.sleep(0.05)
    raise TimeoutError("the AppointmentCancelled rule started no execution")


def stored_sid(workflows, appointment_id: str) -> str | None:
    item = workflows.client("dynamodb").get_item(
        TableName=TABLE, Key={"appointmentId": {"S": appointment_id}}
    )
    return item.get("Item", {}).get("messageSid", {}).get("S")


def in_three_days() -> datetime:
    return (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)


def test_booking_schedules_the_reminder_a_day_ahead_and_twilio_sends_it_then(workflows, emulator):
    appointment = in_three_days()
    appointment_id, execution = book(workflows, appointment)
    assert execution["status"] == "SUCCEEDED", execution
    [message] = emulator.messages.values()
    assert message["status"] == "scheduled" and message["to"] == A
    assert message["body"] == "Hi Ada, see you tomorrow at 10:00."
    assert message["messaging_service_sid"] == MG
    [request] = [r for r in emulator.requests if r["method"] == "POST"]
    send_at = datetime.fromisoformat(request["form"]["SendAt"][0].replace("Z", "+00:00"))
    assert send_at == appointment - timedelta(hours=24)
    assert stored_sid(workflows, appointment_id) == message["sid"]
    assert json.loads(execution["output"])["reminder"] == {
        "sid": message["sid"],
        "status": "scheduled",
    }
    # a day later nothing has gone out; at sendAt, Twilio sends it
    assert emulator.advance(timedelta(days=1)) == []
    assert emulator.advance(timedelta(days=1, minutes=1)) == [message["sid"]]
    assert emulator.messages[message["sid"]]["status"] != "scheduled"


def test_the_cancellation_event_cancels_the_reminder_before_it_is_sent(workflows, emulator):
    appointment_id, booked = book(workflows, in_three_days())
    assert booked["status"] == "SUCCEEDED", booked
    sid = stored_sid(workflows, appointment_id)
    execution = cancel_by_event(workflows, appointment_id)
    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["input"]) == {"appointmentId": appointment_id, "cancelled": True}
    assert json.loads(execution["output"])["reminder"] == {"status": "canceled"}
    assert emulator.messages[sid]["status"] == "canceled"
    assert emulator.advance(timedelta(days=3)) == []  # never sent
    # the same event again (EventBridge delivers at least once): still not an error
    again = cancel_by_event(workflows, appointment_id)
    assert again["status"] == "SUCCEEDED", again
    assert json.loads(again["output"])["reminder"] == {"status": "canceled"}


def test_a_reminder_already_sent_ends_in_already_sent(workflows, emulator):
    appointment_id, booked = book(workflows, in_three_days())
    assert booked["status"] == "SUCCEEDED", booked
    sid = stored_sid(workflows, appointment_id)
    emulator.advance(timedelta(days=2, minutes=1))  # Twilio sent it
    execution = workflows.wait(
        workflows.start(REMINDER, {"appointmentId": appointment_id, "cancelled": True})
    )
    assert execution["status"] == "SUCCEEDED", execution
    result = json.loads(execution["output"])
    assert result["canceled"] is False and result["sid"] == sid
    error = json.loads(result["detail"]["errorMessage"])  # the function's catalogued error
    assert result["detail"]["errorType"] == error["code"] == "CONFLICT"
    assert error["twilioCode"] == 30409
    assert error["messageStatus"] in ("queued", "sent", "delivered")  # released at sendAt


def test_a_cancellation_that_overtakes_its_booking_still_stops_the_reminder(workflows, emulator):
    appointment_id = f"A-{uuid.uuid4().hex[:8]}"
    early = workflows.wait(
        workflows.start(REMINDER, {"appointmentId": appointment_id, "cancelled": True})
    )
    assert json.loads(early["output"]) == {"appointmentId": appointment_id, "canceled": False}
    _, booked = book(workflows, in_three_days(), appointment_id)
    assert booked["status"] == "SUCCEEDED", booked
    [message] = emulator.messages.values()
    assert message["status"] == "canceled"
    assert json.loads(booked["output"])["reminder"] == {"status": "canceled"}


def test_an_appointment_too_close_for_a_reminder_gets_none(workflows, emulator):
    _, execution = book(workflows, datetime.now(UTC) + timedelta(hours=20))
    assert execution["status"] == "SUCCEEDED", execution
    result = json.loads(execution["output"])
    assert result["scheduled"] is False and result["error"] == "INVALID_INPUT"
    assert json.loads(result["detail"]["errorMessage"])["field"] == "sendAt"
    assert emulator.messages == {}
