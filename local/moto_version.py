"""The moto the local extensions were written for. ``local.moto_sfn`` and ``local.moto_dynamodb``
replace or wrap moto internals (functions and classes that are not moto's API and change between
releases); against another moto they would fail somewhere inside a workflow, or silently change
what is tested. They check the installed version first and refuse another with a message naming
the supported one. requirements-dev.txt pins the same (tests/unit/test_moto_version.py checks
it): upgrading moto means reading each patch against the new release, then changing both.
"""

from __future__ import annotations

#: The moto release whose internals local.moto_sfn and local.moto_dynamodb patch.
SUPPORTED = "5.2.5"


class UnsupportedMotoVersion(RuntimeError):
    """The installed moto is not the one the extension was written for."""


def check_moto_version(extension: str, installed: str | None = None) -> None:
    """Raise ``UnsupportedMotoVersion`` unless moto ``SUPPORTED`` is installed (``installed``:
    the version to check instead of the installed one)."""
    if installed is None:
        import moto

        installed = moto.__version__
    if installed != SUPPORTED:
        raise UnsupportedMotoVersion(
            f"{extension} patches moto internals written for moto {SUPPORTED}, the supported "
            f"version; moto {installed} is installed. Install the supported one "
            f"(`make venv`: requirements-dev.txt pins moto[server]=={SUPPORTED}), or port the "
            f"patches to moto {installed} and change the pin and local/moto_version.py together."
        )
