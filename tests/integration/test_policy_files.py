"""The ministry's policy files are read again after a change, without a restart (and parsed once otherwise)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kim_workflow.core.policy import PolicyError
from kim_workflow.services.policies import check_policy_files, load_funding_rules, load_policy


def test_an_edited_added_or_removed_override_is_picked_up(tmp_path: Path) -> None:
    assert load_policy(2027, tmp_path).report.reminder_days_before == (42, 14, 3)
    override = tmp_path / "2027.toml"
    override.write_text("[report]\nreminder_days_before = [30, 7]\n", encoding="utf-8")
    assert load_policy(2027, tmp_path).report.reminder_days_before == (30, 7)
    assert load_policy(2027, tmp_path) is load_policy(2027, tmp_path)  # unchanged files: parsed once
    override.write_text("[report]\nreminder_days_before = [21]\n", encoding="utf-8")
    stat = override.stat()
    os.utime(override, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # even within one clock tick
    assert load_policy(2027, tmp_path).report.reminder_days_before == (21,)
    (tmp_path / "default.toml").write_text("[report]\nescalation_days_after = 10\n", encoding="utf-8")
    assert load_policy(2027, tmp_path).report.escalation_days_after == 10
    override.unlink()
    assert load_policy(2027, tmp_path).report.reminder_days_before == (42, 14, 3)


def test_a_broken_override_is_reported_every_time(tmp_path: Path) -> None:
    (tmp_path / "2027.toml").write_text("[report\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(PolicyError, match="kein gültiges TOML"):
            load_policy(2027, tmp_path)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[funding]\nmax_fte = "eins"\n', "Abschnitt [funding], Schlüssel max_fte: keine Zahl: 'eins'"),
        ("[funding]\nmax_fte = 0\n", "Abschnitt [funding], Schlüssel max_fte: muss größer als 0 sein"),
        ('[funding]\nmax_ftee = "1.0"\n', "Abschnitt [funding]: unbekannte Schlüssel max_ftee"),
        ("[report]\ndeadline_day = 32\n", "Abschnitt [report], Schlüssel deadline_day: 32 ist nicht zulässig"),
        ('[report]\nregular_receipt_from = "12-01"\n', "Schlüssel regular_receipt_from: erwartet Monat und Tag"),
        ('[report]\nregular_receipt_from = "--12-24"\n', "Schlüssel regular_receipt_from: 24.12.2027 liegt nach der"),
        ('[application_window]\nlate_applications = "ja"\n', "Schlüssel late_applications: 'ja' ist nicht zulässig"),
        ('[report]\nobligations = "alle"\n', "Abschnitt [report], Schlüssel obligations: 'alle' ist nicht zulässig"),
        ('[report]\nescalation_cc = ["referat"]\n', "Schlüssel escalation_cc[0]: ungültige E-Mail-Adresse"),
        ('[decisions]\nfour_eyes = "ja"\n', "Abschnitt [decisions], Schlüssel four_eyes: erwartet true oder false"),
        ("[decisions]\nfour_ayes = true\n", "Abschnitt [decisions]: unbekannte Schlüssel 'four_ayes'"),
        ("[report]\nportal_link_days_after_deadline = 0\n", "Schlüssel portal_link_days_after_deadline: 0 ist nicht"),
        ("[report]\nportal_link_days_after_deadline = 366\n", "Schlüssel portal_link_days_after_deadline: 366 ist"),
        (
            '[report]\nattach_questionnaire_workbook = "ja"\n',
            "Abschnitt [report], Schlüssel attach_questionnaire_workbook",
        ),
        ("[retention]\ncontacts_months = -1\n", "Abschnitt [retention], Schlüssel contacts_months: -1 ist nicht"),
        ("[retention]\nuploads_months = 601\n", "uploads_months: 601 ist nicht zulässig (erlaubt: 0 bis 600)"),
        ('[retention]\nemail_bodies_months = "12"\n', "Schlüssel email_bodies_months: erwartet eine ganze Zahl"),
        ("[retention]\nbodies_months = 12\n", "Abschnitt [retention]: unbekannte Schlüssel 'bodies_months'"),
    ],
)
def test_a_bad_value_is_refused_at_load_naming_file_section_and_key(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "2027.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(PolicyError) as excinfo:
        load_policy(2027, tmp_path)
    assert str(excinfo.value).startswith(f"Richtlinie {tmp_path / '2027.toml'}, Abschnitt ")
    assert message in str(excinfo.value)


def test_four_eyes_is_on_by_default_and_a_year_may_switch_it_off(tmp_path: Path) -> None:
    assert load_policy(2027, tmp_path).decisions.four_eyes is True
    assert load_policy(2027).decisions.four_eyes is True  # the shipped default.toml
    (tmp_path / "2027.toml").write_text("[decisions]\nfour_eyes = false\n", encoding="utf-8")
    assert load_policy(2027, tmp_path).decisions.four_eyes is False
    assert load_policy(2028, tmp_path).decisions.four_eyes is True


def test_the_portal_link_validity_is_read_at_its_limits(tmp_path: Path) -> None:
    for days in (1, 365):
        (tmp_path / "2027.toml").write_text(f"[report]\nportal_link_days_after_deadline = {days}\n", encoding="utf-8")
        assert load_policy(2027, tmp_path).report.portal_link_days_after_deadline == days
    (tmp_path / "2027.toml").unlink()
    assert load_policy(2027, tmp_path).report.portal_link_days_after_deadline == 180


def test_retention_periods_are_read_at_zero_and_at_the_maximum(tmp_path: Path) -> None:
    assert (load_policy(2027).retention.contacts_months, load_policy(2027).retention.uploads_months) == (12, 60)
    (tmp_path / "2027.toml").write_text("[retention]\ncontacts_months = 0\nuploads_months = 600\n", encoding="utf-8")
    retention = load_policy(2027, tmp_path).retention
    assert (retention.contacts_months, retention.email_bodies_months, retention.uploads_months) == (0, 12, 600)


def test_the_file_named_is_the_one_that_set_the_value(tmp_path: Path) -> None:
    (tmp_path / "default.toml").write_text("[funding]\nmax_fte = 0\n", encoding="utf-8")
    (tmp_path / "2027.toml").write_text('[funding]\nmax_material_eur = "1000"\n', encoding="utf-8")
    with pytest.raises(PolicyError) as excinfo:
        load_policy(2027, tmp_path)
    error = excinfo.value
    assert (error.file, error.section, error.key) == (str(tmp_path / "default.toml"), "funding", "max_fte")
    assert load_funding_rules(load_policy(2026)).max_fte == 1  # the shipped rules are fine


def test_kim_up_checks_this_next_and_every_overridden_year(tmp_path: Path) -> None:
    (tmp_path / "2031.toml").write_text("[report]\nescalation_days_after = 10\n", encoding="utf-8")
    (tmp_path / "notes.toml").write_text("", encoding="utf-8")
    assert check_policy_files(tmp_path, 2026) == [2026, 2027, 2031]
    (tmp_path / "2031.toml").write_text('[funding]\nmax_fte = "2,0"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match=r"2031\.toml, Abschnitt \[funding\], Schlüssel max_fte"):
        check_policy_files(tmp_path, 2026)
