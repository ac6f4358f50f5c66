"""A Twilio REST API emulator: see :mod:`local.twilio_emulator.server`."""

from local.twilio_emulator.server import (
    DEMO_CONTENT_SID,
    MAGIC_FROM,
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    CallbackReport,
    Faults,
    TwilioEmulator,
)

__all__ = [
    "DEMO_CONTENT_SID",
    "MAGIC_FROM",
    "TEST_ACCOUNT_SID",
    "TEST_AUTH_TOKEN",
    "CallbackReport",
    "Faults",
    "TwilioEmulator",
]
