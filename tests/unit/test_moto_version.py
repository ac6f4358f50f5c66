"""local.moto_version: the moto extensions refuse a moto other than the one they patch."""

from __future__ import annotations

import re

import moto
import pytest

from local import moto_dynamodb, moto_sfn
from local.lambda_loader import ROOT
from local.moto_version import SUPPORTED, UnsupportedMotoVersion, check_moto_version


def test_requirements_pin_the_supported_moto():
    pins = re.findall(
        r"^moto(?:\[[\w,]+\])?==(\S+)", (ROOT / "requirements-dev.txt").read_text(), re.M
    )
    assert pins == [SUPPORTED]


def test_the_installed_moto_is_the_supported_one():
    assert moto.__version__ == SUPPORTED
    check_moto_version("local.moto_sfn")  # (raises otherwise)


def test_another_moto_is_refused_with_the_supported_version_named():
    with pytest.raises(UnsupportedMotoVersion) as refused:
        check_moto_version("local.moto_sfn", installed="5.3.0")
    message = str(refused.value)
    assert "local.moto_sfn" in message and "moto 5.3.0 is installed" in message
    assert f"written for moto {SUPPORTED}, the supported version" in message


@pytest.mark.parametrize("install", [moto_sfn.install_patches, moto_dynamodb.install])
def test_the_extensions_check_before_patching(monkeypatch, install):
    from moto.awslambda.models import LambdaFunction
    from moto.dynamodb.models import DynamoDBBackend

    before = (LambdaFunction._invoke_lambda, DynamoDBBackend.transact_write_items)
    monkeypatch.setattr(moto, "__version__", "4.0.0")
    with pytest.raises(UnsupportedMotoVersion, match=re.escape(f"moto {SUPPORTED}")):
        install()
    assert (LambdaFunction._invoke_lambda, DynamoDBBackend.transact_write_items) == before
