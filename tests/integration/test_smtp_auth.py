"""Credentials never in clear: a real aiosmtpd on loopback that offers AUTH (and one that offers STARTTLS)."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from kim_workflow.core.domain import OutboxStatus
from kim_workflow.email.dispatcher import dispatch_sync
from kim_workflow.email.sink import free_port
from kim_workflow.email.smtp_auth import is_loopback_host, plaintext_auth_problem
from kim_workflow.settings import Settings, SmtpTls
from tests.integration.test_dispatcher import NOW, queue, rows
from tests.support.smtp import RecordingHandler


class AuthServer:
    """aiosmtpd offering AUTH PLAIN/LOGIN (also without TLS, so a plaintext login would succeed) and, with a
    certificate, STARTTLS; it records every login attempt and every connection."""

    def __init__(self, tls_context: ssl.SSLContext | None = None) -> None:
        self.handler, self.logins, self.port = RecordingHandler(), list[str](), free_port()
        self.connections = 0
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, authenticator=self._auth,
                                     auth_require_tls=False, tls_context=tls_context)  # fmt: skip
        original = self.handler.__class__

        class Counting(original):  # type: ignore[misc, valid-type]
            async def handle_EHLO(inner: Any, server: Any, session: Any, envelope: Any, hostname: str,
                                  responses: list[str]) -> list[str]:  # fmt: skip
                self.connections += 1
                session.host_name = hostname
                return responses

        self.handler.__class__ = Counting

    def _auth(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append(data.login.decode())
        return AuthResult(success=data.login == b"kim" and data.password == b"geheim")

    def __enter__(self) -> AuthServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@pytest.fixture
def auth_server() -> Iterator[AuthServer]:
    with AuthServer() as server:
        yield server


@pytest.fixture
def starttls_server(tmp_path: Path) -> Iterator[AuthServer]:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=kim-test"], check=True, capture_output=True)  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with AuthServer(tls_context=context) as server:
        yield server


def with_login(settings: Settings, server: AuthServer, **changes: Any) -> Settings:
    update = {"smtp_host": "127.0.0.1", "smtp_port": server.port, "smtp_user": "kim",
              "smtp_password": SecretStr("geheim"), **changes}  # fmt: skip
    return settings.model_copy(update=update)


def test_a_plaintext_login_is_refused_before_anything_is_claimed(
    engine: Engine, settings: Settings, auth_server: AuthServer
) -> None:
    queue(engine, 3)
    report = dispatch_sync(engine, with_login(settings, auth_server), now=NOW)
    assert (report.claimed, report.sent, report.failed) == (0, 0, 0)
    (error,) = report.errors
    assert "unverschlüsselt" in error and "KIM_SMTP_TLS=starttls" in error
    assert "KIM_SMTP_ALLOW_PLAINTEXT_AUTH_ON_LOOPBACK=true" in error and "geheim" not in report.summary()
    assert all(r.status is OutboxStatus.PENDING and r.attempts == 0 for r in rows(engine))
    assert auth_server.logins == [] and auth_server.connections == 0


def test_loopback_with_the_explicit_opt_in_logs_in_and_sends(
    engine: Engine, settings: Settings, auth_server: AuthServer
) -> None:
    queue(engine, 3)
    opted_in = with_login(settings, auth_server, smtp_allow_plaintext_auth_on_loopback=True)
    assert plaintext_auth_problem(opted_in) is None
    report = dispatch_sync(engine, opted_in, now=NOW)
    assert report.sent == 3 and report.errors == []
    assert auth_server.logins and set(auth_server.logins) == {"kim"}
    assert len(auth_server.handler.received) == 3


def test_a_server_offering_starttls_gets_no_plaintext_login_and_starttls_comes_before_auth(
    engine: Engine, settings: Settings, starttls_server: AuthServer
) -> None:
    queue(engine, 2)
    refused = dispatch_sync(engine, with_login(settings, starttls_server), now=NOW)
    assert refused.claimed == 0 and "unverschlüsselt" in refused.errors[0]
    assert starttls_server.logins == [] and starttls_server.connections == 0
    # with STARTTLS the password would be sent only inside TLS; this self-signed certificate is not trusted, so
    # the connection stops at the TLS handshake, before any AUTH, and nothing changes
    tls = with_login(settings, starttls_server, smtp_tls=SmtpTls.STARTTLS)
    assert plaintext_auth_problem(tls) is None
    report = dispatch_sync(engine, tls, now=NOW)
    assert report.claimed == 0 and "SMTP-Verbindung fehlgeschlagen" in report.errors[0]
    assert starttls_server.logins == [] and starttls_server.connections >= 1
    assert all(r.status is OutboxStatus.PENDING and r.attempts == 0 for r in rows(engine))


def test_plaintext_auth_problem_is_the_text_for_kim_up_and_outbox_dispatch(settings: Settings) -> None:
    remote = settings.model_copy(update={"smtp_host": "mail.example.org", "smtp_user": "kim",
                                         "smtp_password": SecretStr("geheim")})  # fmt: skip
    text = plaintext_auth_problem(remote)
    assert text is not None and "mail.example.org" in text and "LOOPBACK" not in text
    opted = remote.model_copy(update={"smtp_allow_plaintext_auth_on_loopback": True})
    assert plaintext_auth_problem(opted) == text  # the opt-in is for loopback only
    assert plaintext_auth_problem(remote.model_copy(update={"smtp_tls": SmtpTls.IMPLICIT})) is None
    assert plaintext_auth_problem(remote.model_copy(update={"smtp_password": None})) is None
    assert plaintext_auth_problem(settings) is None  # no login configured


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("LOCALHOST.", True), ("10.0.0.1", False), ("mail.example.org", False), ("localhost.example.org", False)],
)  # fmt: skip
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback
