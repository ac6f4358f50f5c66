"""A Twilio REST API emulator: see :mod:`local.twilio_emulator.server`."""

from local.twilio_emulator.server import (
    MAGIC_FROM,
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    CallbackReport,
    Faults,
    TwilioEmulator,
)

__all__ = [
    "MAGIC_FROM",
    "TEST_ACCOUNT_SID",
    "TEST_AUTH_TOKEN",
    "CallbackReport",
    "Faults",
    "TwilioEmulator",
]
