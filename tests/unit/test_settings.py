from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from kim_workflow.settings import Settings, SmtpTls, mask_url


def make(**kwargs: object) -> Settings:
    return Settings(_env_file=None, **kwargs)  # type: ignore[arg-type]


def test_defaults_put_the_sqlite_database_in_the_data_folder(tmp_path: Path) -> None:
    settings = make(data_dir=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'kim.db'}"
    assert settings.timezone == "Europe/Berlin"
    assert settings.smtp_tls is SmtpTls.NONE
    assert settings.prefect_home == tmp_path / "prefect"


def test_environment_variables_with_the_kim_prefix_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIM_SMTP_HOST", "mail.example.org")
    monkeypatch.setenv("KIM_SMTP_PORT", "587")
    monkeypatch.setenv("KIM_SMTP_TLS", "starttls")
    monkeypatch.setenv("KIM_MINISTRY_ESCALATION_ADDRESS", "Referat@MFFKI.example.org")
    settings = make()
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_tls) == ("mail.example.org", 587, SmtpTls.STARTTLS)
    assert settings.ministry_escalation_address == "Referat@mffki.example.org"


def test_secrets_never_appear_in_repr_or_str() -> None:
    settings = make(database_url="postgresql+psycopg://kim:dbsecret@db/kim", smtp_password="smtpsecret")
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert "dbsecret" not in text
        assert "smtpsecret" not in text
    assert settings.smtp_password is not None and settings.smtp_password.get_secret_value() == "smtpsecret"


def test_mask_url_keeps_urls_without_password() -> None:
    assert mask_url("sqlite:///x.db") == "sqlite:///x.db"
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert mask_url("postgresql://u:p@h/db") == "postgresql://u:***@h/db"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timezone", "Mars/Olympus"),
        ("smtp_port", 0),
        ("ministry_escalation_address", "not-an-address"),
        ("mail_from", "KIM <a@b.de>\r\nBcc: x@y.de"),
        ("smtp_tls", "sometimes"),
        ("portal_public_url", "javascript:alert(1)"),
        ("portal_public_url", "portal.kim.rlp.de"),
        ("portal_public_url", "https://portal.kim.rlp.de/?next=x"),
    ],
)
def test_bad_values_are_refused_with_a_clear_error(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        make(**{field: value})
    assert field in str(info.value)


def test_importing_the_package_reads_nothing_and_creates_nothing(tmp_path: Path) -> None:
    script = "import kim_workflow.settings, kim_workflow.db.models, kim_workflow.cli, kim_workflow.app"
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "KIM_DATA_DIR": str(tmp_path / "data")}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=tmp_path)
    assert not (tmp_path / "data").exists()
    assert not (tmp_path / ".local").exists()


def test_the_portal_address_in_emailed_links_is_a_web_address() -> None:
    assert make(portal_public_url="https://portal.kim.rlp.de/").portal_base_url == "https://portal.kim.rlp.de"
    assert make(portal_public_url="").portal_base_url.startswith("http://")
