"""The dispatcher's hardening settings: read from the environment, defaults, and bounds."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kim_workflow.settings import Settings


def make() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_defaults_keep_the_fifteen_minutes_and_forbid_plaintext_logins() -> None:
    settings = make()
    assert settings.outbox_stale_after_seconds == 900 and settings.dispatch_db_retry_seconds == 60
    assert settings.smtp_allow_plaintext_auth_on_loopback is False


def test_the_environment_sets_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIM_OUTBOX_STALE_AFTER_SECONDS", "120")
    monkeypatch.setenv("KIM_DISPATCH_DB_RETRY_SECONDS", "5")
    monkeypatch.setenv("KIM_SMTP_ALLOW_PLAINTEXT_AUTH_ON_LOOPBACK", "true")
    settings = make()
    assert (settings.outbox_stale_after_seconds, settings.dispatch_db_retry_seconds) == (120, 5)
    assert settings.smtp_allow_plaintext_auth_on_loopback is True


@pytest.mark.parametrize(("name", "value"), [("KIM_OUTBOX_STALE_AFTER_SECONDS", "0"),
                                             ("KIM_DISPATCH_DB_RETRY_SECONDS", "-1")])  # fmt: skip
def test_nonsense_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        make()
