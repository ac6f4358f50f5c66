"""Fixtures of the integration tests that execute the shipped workflows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.twilio_emulator import TwilioEmulator

#: The Messaging Service the appointment reminder example schedules through.
REMINDER_SERVICE = "MG" + "a" * 32


@pytest.fixture(scope="session")
def deployed_workflows(emulator_server: TwilioEmulator) -> Iterator[object]:
    """What template.yaml deploys, and examples/template.yaml with its outputs, deployed once for
    every module that executes the examples (local.workflows)."""
    from local.workflows import LocalWorkflows

    with LocalWorkflows(
        emulator_server,
        # the Twilio client's own backoff in milliseconds, as in the other tests
        environment={"BACKOFF_BASE_SECONDS": "0.02", "BACKOFF_CAP_SECONDS": "0.2"},
        parameters={"ExampleReminderMessagingServiceSid": REMINDER_SERVICE},
    ) as deployed:
        yield deployed
