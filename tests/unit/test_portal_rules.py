"""The pure portal rules: link expiry, the rate limit at its edge, the upload rule at the size limit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kim_workflow.core.portal_access import RateLimit, is_link_usable, link_expiry
from kim_workflow.core.upload_rule import (
    ReportFileType,
    UploadRefused,
    check_upload,
    display_file_name,
    format_size,
    safe_download_name,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_a_link_expires_at_local_midnight_after_the_last_valid_day() -> None:
    assert link_expiry(date(2026, 12, 15), 180, BERLIN) == datetime(2027, 6, 14, tzinfo=BERLIN)
    assert link_expiry(date(2026, 12, 15), 1, BERLIN) == datetime(2026, 12, 17, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("expires_in", "revoked", "active", "usable"),
    [(1, False, True, True), (0, False, True, False), (-1, False, True, False), (1, True, True, False),
     (1, False, False, False)],
)  # fmt: skip
def test_a_link_is_usable_only_before_expiry_unrevoked_and_with_an_active_contact(
    expires_in: int, revoked: bool, active: bool, usable: bool
) -> None:
    expires = NOW + timedelta(seconds=expires_in)
    assert is_link_usable(expires_at=expires, revoked_at=NOW if revoked else None, contact_active=active,
                          now=NOW) is usable  # fmt: skip


@pytest.mark.parametrize(("failures", "allowed"), [(0, True), (4, True), (5, False), (6, False)])
def test_the_rate_limit_allows_below_and_refuses_at_and_above_the_limit(failures: int, allowed: bool) -> None:
    limit = RateLimit(attempts=5, window_seconds=60)
    recent = [NOW - timedelta(seconds=i) for i in range(failures)]
    assert limit.allows(recent, NOW) is allowed
    assert (limit.retry_after(recent, NOW) == 0) is allowed


@pytest.mark.parametrize(("age", "counted"), [(59, True), (60, False), (61, False)])
def test_attempts_leave_the_window_when_it_has_passed(age: int, counted: bool) -> None:
    limit = RateLimit(attempts=1, window_seconds=60)
    assert limit.allows([NOW - timedelta(seconds=age)], NOW) is not counted


def test_retry_after_counts_down_to_when_the_oldest_counted_attempt_leaves() -> None:
    limit = RateLimit(attempts=2, window_seconds=60)
    assert limit.retry_after([NOW - timedelta(seconds=50), NOW - timedelta(seconds=10)], NOW) == 11


LIMIT = 1024


@pytest.mark.parametrize(("size", "ok"), [(1, True), (LIMIT - 1, True), (LIMIT, True), (LIMIT + 1, False), (0, False)])
def test_the_size_limit_at_below_and_above(size: int, ok: bool) -> None:
    if ok:
        assert check_upload("application/pdf", size, LIMIT).size == size
    else:
        with pytest.raises(UploadRefused, match=r"leer|größer als 1 KB"):
            check_upload("application/pdf", size, LIMIT)


@pytest.mark.parametrize(
    ("mime", "accepted"),
    [("application/pdf", ReportFileType.PDF), (ReportFileType.DOCX.value, ReportFileType.DOCX),
     (ReportFileType.ODT.value, ReportFileType.ODT), ("text/html", None), (None, None), ("application/zip", None),
     ("application/msword", None)],
)  # fmt: skip
def test_only_pdf_docx_and_odt_by_content(mime: str | None, accepted: ReportFileType | None) -> None:
    if accepted is None:
        with pytest.raises(UploadRefused, match="kein PDF, DOCX oder ODT"):
            check_upload(mime, 10, LIMIT)
    else:
        assert check_upload(mime, 10, LIMIT).file_type is accepted


def test_download_names_are_ours_and_display_names_are_harmless() -> None:
    assert safe_download_name("07315000", 2026, ReportFileType.ODT) == "jahresbericht-2026-07315000.odt"
    assert display_file_name("C:\\Users\\x\\..\\Bericht\u202e.pdf") == "Bericht.pdf"
    assert display_file_name("../../etc/passwd") == "passwd"
    assert display_file_name("\x00\n") == "Datei"
    assert display_file_name("a" * 300, 200) == "a" * 200


@pytest.mark.parametrize(("size", "text"), [(17, "17 Bytes"), (2048, "2 KB"), (1536 * 1024, "1,5 MB"),
                                            (25 * 1024 * 1024, "25 MB")])  # fmt: skip
def test_sizes_in_german_notation(size: int, text: str) -> None:
    assert format_size(size) == text
