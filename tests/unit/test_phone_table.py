"""E.164 numbers checked without phonenumbers (``phone._taken_as_written``) are exactly those
phonenumbers would have returned unchanged, and the table they are read from is what
``make phone-table`` writes from the installed phonenumbers."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from local import phone_table
from twilio_connector import phone

LAYER = Path(__file__).resolve().parents[2] / "layers" / "connector"


def through_phonenumbers(number: str, monkeypatch: pytest.MonkeyPatch) -> str | None:
    with monkeypatch.context() as patch:
        patch.setattr(phone, "_taken_as_written", lambda _: False)
        return phone.to_e164(number)


def test_the_committed_table_is_what_make_phone_table_writes():
    assert phone_table.TABLE.read_text() == phone_table.source(), "run make phone-table"


def test_every_number_the_table_takes_phonenumbers_takes_unchanged(monkeypatch):
    """For every calling code and national-number length, numbers starting with each digit
    (national prefixes are leading digits): the table takes a number only where phonenumbers
    gives back the same E.164 string."""
    rng = random.Random(164)
    taken = refused_by_both = 0
    for code in phone_table.calling_codes():
        for size in range(2, 16 - len(str(code))):
            for first in "0123456789":
                national = first + "".join(rng.choice("0123456789") for _ in range(size - 1))
                number = f"+{code}{national}"
                if not phone._E164.match(number):
                    continue
                if phone._taken_as_written(number):
                    taken += 1
                    assert through_phonenumbers(number, monkeypatch) == number, number
                elif through_phonenumbers(number, monkeypatch) is None:
                    refused_by_both += 1
    # most possible numbers are taken from the table, and the test saw numbers of both kinds
    assert taken > 5000
    assert refused_by_both > 5000


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+14155550100", True),  # US
        ("+447911123456", True),  # UK mobile
        ("+4915123456789", True),  # Germany mobile
        ("+5511987654321", True),  # Brazil mobile
        ("+1415555010", False),  # a digit short: phonenumbers decides (and refuses)
        ("+4407911123456", False),  # a national prefix after the code: phonenumbers strips it
        ("+99912345678", False),  # no such calling code
    ],
)
def test_the_table_takes_common_numbers_and_leaves_the_rest_to_phonenumbers(number, expected):
    assert phone._taken_as_written(number) is expected


def test_an_e164_recipient_does_not_load_phonenumbers():
    """What the cold start saves: the layer alone, a fresh interpreter, E.164 numbers."""
    code = (
        "import sys\n"
        "from twilio_connector.phone import parse_recipients, validate_sender\n"
        "assert parse_recipients('+14155550100, +447911123456', 'smsTo', 10) == "
        "['+14155550100', '+447911123456']\n"
        "assert validate_sender('+4915123456789', 'smsFrom') == '+4915123456789'\n"
        "assert 'phonenumbers' not in sys.modules, 'phonenumbers was imported'\n"
        "assert parse_recipients('(415) 555-0100', 'smsTo', 10, 'US') == ['+14155550100']\n"
        "assert 'phonenumbers' in sys.modules\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=LAYER,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
