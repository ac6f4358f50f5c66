"""Known template-engine escapes (jinja2's, FreeMarker's ?new / ?api / ?eval / <#include>) and
resource attacks, in smsBody and echo: each ends in a template error (or stays inert text)
within the render caps."""

import time

import pytest

from twilio_connector.errors import (
    TEMPLATE_METADATA_ERROR,
    TEMPLATE_READ_ERROR,
    TEMPLATE_SYNTAX_ERROR,
)
from twilio_connector.rendering import render

TEMPLATE_ERRORS = (TEMPLATE_METADATA_ERROR, TEMPLATE_READ_ERROR, TEMPLATE_SYNTAX_ERROR)
META = {
    "x": "text",
    "n": 3,
    "items": list(range(5000)),
    "d": {"k": "v"},
    "redos": "a" * 40 + "!",
}

ESCAPES = [
    # classic attribute walks to os / subprocess
    "${x.__class__.__mro__[1].__subclasses__()}",
    "${x.__class__.__base__.__subclasses__()[59].__init__.__globals__}",
    "${d.__init__.__globals__['os'].popen('id').read()}",
    "${cycler.__init__.__globals__.os.popen('id').read()}",
    "${self._TemplateReference__context}",
    "${lipsum.__globals__['os'].popen('id')}",
    "${request.application.__globals__}",
    "${config.items()}",
    # CVE-2024-56326: an indirect reference to str.format
    "${x.format}",
    "${'{0.__class__}'.format(x)}",
    "${x.format_map(d)}",
    # CVE-2025-27516: the attr filter reaching format
    "${x|attr('format')}",
    "${x?attr('format')}",
    # CVE-2024-56201: template text that is jinja syntax, compiled as code
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{#- #}{{ 7*7 }}",
    # FreeMarker's own escapes: class instantiation, the Java API, evaluation, file inclusion
    '${"freemarker.template.utility.Execute"?new()("id")}',
    '<#assign ex = "freemarker.template.utility.ObjectConstructor"?new()>${ex("java.io.File")}',
    "${x?api.getClass().getProtectionDomain()}",
    '${"x?upper_case"?eval}',
    '${"${x}"?interpret}',
    '<#include "/etc/passwd">',
    '<#import "/etc/passwd" as p>',
    # names of the renderer itself
    "${S}", "${K}", "${S.var('x')}", "${K[0]}", "${L_x}", "${loop}",
    # dunder and private keys through subscripts
    "${d['__class__']}", "${x['__len__']}", "${items[0].__class__}",
]  # fmt: skip
RESOURCE_ATTACKS = [
    "${x?left_pad(2147483647)}",
    "${'a'?left_pad(20000, 'a')?replace('a', 'aaaaaaaaaa')}",
    "${items?join(',')}${items?join(',')}${items?join(',')}",
    "<#list items as a><#list items as b>${a}${b}</#list></#list>",
    "<#list 1..100000000 as i>${i}</#list>",
    "${" + "(" * 10_000 + "1" + ")" * 10_000 + "}",
    "${" * 3000,
    "${items[items[items[items[items[0]]]]]}" * 200,
    "${n * 1e308 * 1e308}",
    "${9 ** 9 ** 9}",
    "${redos?matches('(a|aa)+$')?c}",  # catastrophic backtracking on metadata
    "${redos?replace('(a|aa)+$', '', 'r')}",
    "${redos?split('(a|aa)+$', 'r')?size}",
    "<#macro m><@m/></#macro><@m/>",  # unbounded recursion
    "x" * 10_001,
]


@pytest.mark.parametrize("payload", ESCAPES + RESOURCE_ATTACKS)
def test_attack_ends_in_a_template_error_or_inert_text_within_the_caps(payload):
    started = time.monotonic()
    try:
        output = render(payload, META)
    except TEMPLATE_ERRORS:
        output = None
    assert time.monotonic() - started < 1.5
    if output is not None:  # rendered: then only as the text it was, nothing evaluated
        assert output == payload
        assert "${" not in payload and "<#" not in payload


def test_attacks_in_echo_leave_the_webhook_answering(inbound, monkeypatch, lambda_context):
    import json

    from tests.conftest import load_event, load_function, reset_layer_caches

    triggers = [
        {"name": f"t{i}", "pattern": "Order", "echo": payload}
        for i, payload in enumerate(ESCAPES[:5] + RESOURCE_ATTACKS[:4])
    ]
    monkeypatch.setenv("SMS_TRIGGERS", json.dumps(triggers))
    reset_layer_caches()
    started = time.monotonic()
    answer = load_function("inbound_sms").lambda_handler(load_event("inbound_sms"), lambda_context)
    assert answer["statusCode"] == 200 and time.monotonic() - started < 5
    assert "<Message>" not in answer["body"]  # no attack rendered into a reply
    assert len(inbound.events()) == len(triggers)  # and every event was still published
