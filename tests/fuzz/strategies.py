"""Hypothesis strategies: valid, near-valid and hostile events for every action and webhook."""

from __future__ import annotations

import json
import math
from urllib.parse import urlencode

from hypothesis import strategies as st

from local.twilio_emulator import DEMO_CONTENT_SID, MAGIC_FROM

NUMBERS = ["+14155550100", "+14155550101", "+442071838750", "whatsapp:+14155550102"]
MAGIC = ["+15005550001", "+15005550002", "+15005550003", "+15005550004", "+15005550009"]

# numbers in every odd format
odd_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -0.0, 1e308, 14155550100.0, "1e3", "0x1F", "٣", "+"]),
)
hostile_text = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=20_000),
    st.sampled_from(["", " ", "\x00", "\ud800", "null", "${", "<#if", "}}{{", "%s%s", "../../"]),
)
scalars = st.one_of(st.none(), st.booleans(), odd_numbers, hostile_text)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
deep_nesting = st.integers(min_value=50, max_value=3000).map(
    lambda depth: json.loads("[" * min(depth, 900) + "]" * min(depth, 900))
)
hostile = st.one_of(scalars, json_values, deep_nesting)

templates = st.one_of(
    st.sampled_from(
        [
            "Hello ${name}",
            '${a.b.c!"d"} ${x!}',
            "${name?upper_case?length}",
            "<#list items as i>${i}</#list>",
            "${''.__class__.__mro__[1].__subclasses__()}",
            "${x?left_pad(99999999)}",
            "${" + "(" * 500 + "1" + ")" * 500 + "}",
            "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
            "${name",
            "${1/0}",
        ]
    ),
    st.text(max_size=200),
)
metadata = st.one_of(
    st.none(),
    st.dictionaries(st.text(max_size=8), json_values, max_size=5),
    st.fixed_dictionaries(
        {"name": st.text(max_size=30), "items": st.lists(st.integers(), max_size=5)}
    ),
    st.text(max_size=100),
    st.sampled_from(['{"name": "ok"}', "{not json", "[1]", "9" * 5000, "[" * 5000]),
)
#: Numbers as people write them, and near-numbers built from the same characters.
WRITTEN = ["+1 (415) 555-0100", "0044 20 7183 8750", "011 44 20 7183 8750", "(415) 555-0100"]
written_numbers = st.one_of(
    st.sampled_from(WRITTEN), st.text(alphabet="0123456789 +-().\n,;", min_size=1, max_size=24)
)
recipients = st.one_of(
    st.sampled_from(NUMBERS + MAGIC),
    written_numbers,
    st.lists(written_numbers, min_size=1, max_size=3),
    st.lists(st.sampled_from(NUMBERS + MAGIC), min_size=1, max_size=4),
    st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=3).map(", ".join),
    hostile,
)


def with_extras(base: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    """Some keys missing, some hostile, some extra."""
    return st.tuples(
        base, st.dictionaries(st.text(max_size=12), hostile, max_size=3), st.booleans()
    ).map(lambda t: {**t[0], **t[1]} if t[2] else t[0])


#: Content template SIDs: the emulator's, unknown, malformed.
content_sids = st.one_of(
    st.sampled_from([DEMO_CONTENT_SID, "HX" + "f" * 32, "HX123", "MG" + "0" * 32, "hx" + "0" * 32]),
    hostile,
)
content_variables = st.one_of(
    st.dictionaries(st.sampled_from(["1", "2", "name"]), templates, max_size=3),
    st.dictionaries(st.text(max_size=70), hostile, max_size=3),
    st.dictionaries(st.text(max_size=8), st.text(max_size=30), max_size=3).map(json.dumps),
    hostile,
)
#: Bodies whose segment count is near a limit (GSM-7, escape characters, UCS-2, emoji).
segment_bodies = st.one_of(
    st.tuples(
        st.sampled_from(["x", "€", "Ж", "😀", "\u2019", "…", "\r\n", "🇮🇹"]), st.integers(0, 700)
    ).map(lambda t: t[0] * t[1]),
    st.text(alphabet="a€[Ж😀“”\u2013… ", max_size=400),
)

valid_send = st.fixed_dictionaries(
    {
        "smsTo": st.one_of(
            st.sampled_from(NUMBERS), st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=3)
        ),
        "smsBody": st.sampled_from(
            ["Hello ${name}", "${name?cap_first}, ${items?size} items", "Plain"]
        ),
        "metadata": st.fixed_dictionaries(
            {"name": st.text(min_size=1, max_size=20), "items": st.lists(st.integers(), max_size=4)}
        ),
    },
    optional={
        "failOnError": st.booleans(),
        "idempotencyKey": st.text(min_size=1, max_size=12),
        "smartEncoding": st.booleans(),
        "maxSegments": st.integers(1, 10),
        "dryRun": st.booleans(),
    },
)
#: Content template sends, and bodies counted against maxSegments.
content_send = st.fixed_dictionaries(
    {"smsTo": st.sampled_from(NUMBERS), "contentSid": content_sids},
    optional={
        "contentVariables": content_variables,
        "metadata": metadata,
        "smsBody": st.one_of(st.none(), templates),
        "messagingServiceSid": st.just("MG" + "a" * 32),
        "dryRun": st.one_of(st.booleans(), hostile),
    },
)
segments_send = st.fixed_dictionaries(
    {"smsTo": st.sampled_from(NUMBERS), "smsBody": segment_bodies},
    optional={
        "maxSegments": st.one_of(st.integers(-1, 12), hostile),
        "smartEncoding": st.one_of(st.booleans(), st.sampled_from(["true", "no"]), hostile),
        "dryRun": st.one_of(st.booleans(), hostile),
    },
)
send_sms_events = st.one_of(
    valid_send,
    content_send,
    segments_send,
    with_extras(
        st.fixed_dictionaries(
            {"smsTo": recipients, "smsBody": templates},
            optional={
                "smsFrom": st.one_of(
                    st.just(MAGIC_FROM), st.sampled_from(["ACME", "+15005550001"]), hostile
                ),
                "metadata": metadata,
                "mediaUrl": st.one_of(st.just("https://example.com/a.png"), hostile),
                "validityPeriod": st.one_of(st.integers(-5, 40000), hostile),
                "sendAt": st.one_of(st.just("2031-01-01T00:00:00Z"), hostile),
                "failOnError": st.one_of(
                    st.booleans(), st.sampled_from(["false", "true"]), hostile
                ),
                "idempotencyKey": st.one_of(st.text(max_size=20), hostile),
                "taskToken": st.one_of(st.text(min_size=1, max_size=20), hostile),
                "waitFor": st.one_of(st.sampled_from(["delivery", "reply"]), hostile),
                "defaultPhoneRegion": st.one_of(st.sampled_from(["US", "gb", "ZZ"]), hostile),
                "contentSid": content_sids,
                "contentVariables": content_variables,
                "smartEncoding": st.one_of(st.booleans(), hostile),
                "maxSegments": st.one_of(st.integers(-5, 15), hostile),
                "dryRun": st.one_of(st.booleans(), hostile),
            },
        )
    ),
    with_extras(st.fixed_dictionaries({"to": recipients, "body": templates, "from": hostile})),
    hostile,
)
get_sms_events = st.one_of(
    st.builds(lambda n: {"sid": f"SM{n:032x}"}, st.integers(0, 2**128 - 1)),
    st.fixed_dictionaries(
        {"sid": st.one_of(st.just("SM" + "0" * 32), st.text(max_size=40), hostile)}
    ),
    st.fixed_dictionaries({"messageSid": hostile}),
    hostile,
)
list_sms_events = st.one_of(
    st.fixed_dictionaries(
        {"pageSize": st.integers(1, 50)}, optional={"to": st.sampled_from(NUMBERS)}
    ),
    with_extras(
        st.fixed_dictionaries(
            {},
            optional={
                "to": st.one_of(st.sampled_from(NUMBERS), hostile),
                "from": st.one_of(st.just(MAGIC_FROM), hostile),
                "dateSent": st.one_of(st.just("2026-03-01"), hostile),
                "dateSentAfter": st.one_of(st.just("2026-03-01T00:00:00Z"), hostile),
                "dateSentBefore": hostile,
                "pageSize": st.one_of(st.integers(-2, 2000), hostile),
                "limit": st.one_of(st.integers(-2, 50), hostile),
                "pageToken": st.one_of(st.text(max_size=60), hostile),
            },
        )
    ),
    hostile,
)
make_call_events = st.one_of(
    st.fixed_dictionaries(
        {"callTo": st.sampled_from(NUMBERS[:2]), "say": st.text(min_size=1, max_size=200)}
    ),
    with_extras(
        st.fixed_dictionaries(
            {"callTo": st.one_of(st.sampled_from(NUMBERS[:2] + MAGIC), hostile)},
            optional={
                "callFrom": st.one_of(st.just(MAGIC_FROM), hostile),
                "say": st.one_of(st.text(max_size=100), hostile),
                "twiml": st.one_of(
                    st.just("<Response><Say>hi</Say></Response>"), st.text(max_size=80), hostile
                ),
                "voiceUrl": st.one_of(st.just("https://example.com/v.xml"), hostile),
                "language": hostile,
                "timeout": hostile,
            },
        )
    ),
    hostile,
)
form_values = st.one_of(
    st.text(max_size=300), st.sampled_from(["Order Number 12345", "", "a" * 1600 + "!"])
)
webhook_forms = st.one_of(
    st.fixed_dictionaries(
        {
            "MessageSid": st.one_of(st.just("SM" + "1" * 32), st.text(max_size=40)),
            "Body": form_values,
        },
        optional={
            "From": st.text(max_size=20),
            "To": st.text(max_size=20),
            "AccountSid": st.text(max_size=40),
        },
    ),
    st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=50), max_size=8),
)
status_forms = st.fixed_dictionaries(
    {"MessageSid": st.text(max_size=40), "MessageStatus": st.text(max_size=20)},
    optional={"ErrorCode": st.text(max_size=8), "To": st.text(max_size=20)},
)
raw_bodies = st.one_of(
    st.text(max_size=500),
    st.builds(lambda d: urlencode(d), st.dictionaries(st.text(max_size=10), st.text(max_size=30))),
)


# --- VERIFY_START, VERIFY_CHECK, LOOKUP_PHONE -----------------------------------------------------
codes = st.one_of(
    st.from_regex(r"\A[0-9]{4,10}\Z"), st.text(alphabet="0123456789 a", max_size=12), hostile
)
verify_start_events = st.one_of(
    st.fixed_dictionaries({"to": st.sampled_from(NUMBERS[:2])}),
    with_extras(
        st.fixed_dictionaries(
            {"to": st.one_of(written_numbers, st.just("ada@example.com"), hostile)},
            optional={
                "channel": st.one_of(
                    st.sampled_from(["sms", "call", "whatsapp", "email"]), hostile
                ),
                "locale": st.one_of(st.sampled_from(["en", "pt-BR"]), hostile),
                "customFriendlyName": hostile,
                "defaultPhoneRegion": st.one_of(st.sampled_from(["US", "gb", "ZZ"]), hostile),
            },
        )
    ),
    hostile,
)
verify_check_events = st.one_of(
    st.fixed_dictionaries({"to": st.sampled_from(NUMBERS[:2]), "code": codes}),
    with_extras(
        st.fixed_dictionaries(
            {"to": st.one_of(written_numbers, st.just("ada@example.com"), hostile)},
            optional={"code": codes, "defaultPhoneRegion": hostile},
        )
    ),
    hostile,
)
lookup_phone_events = st.one_of(
    st.fixed_dictionaries({"phone": st.one_of(st.sampled_from(NUMBERS[:3]), written_numbers)}),
    with_extras(
        st.fixed_dictionaries(
            {"phone": st.one_of(written_numbers, hostile)},
            optional={
                "lineType": st.one_of(st.booleans(), st.sampled_from(["true", "no"]), hostile),
                "defaultPhoneRegion": st.one_of(st.sampled_from(["US", "gb", "ZZ"]), hostile),
            },
        )
    ),
    hostile,
)
