"""A year in which every Kommune owes its Fragebogen, with one integration manager each; complete answers."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import select

from kim_workflow.core.domain import ContactRole, KommuneKind
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Contact, Kommune
from kim_workflow.services import registry
from kim_workflow.services.cycles import open_cycle
from tests.support.obligations import all_active_policy

NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)
MAINZ, MAYEN_KOBLENZ = "07315000", "07137000"  # a kreisfreie Stadt and a Landkreis


def open_year(engine: Engine, year: int = 2026, *, contacts: bool = True) -> None:
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
        open_cycle(session, policy=all_active_policy(year), now=NOW, actor="test")
        if contacts and not session.exec(select(Contact)).first():
            for kommune in session.exec(select(Kommune)):
                session.add(Contact(kommune_id=kommune.id, name=f"IM {kommune.ags}", email=f"im{kommune.ags}@k.example",
                                    role=ContactRole.INTEGRATION_MANAGER, created_at=NOW, updated_at=NOW))  # fmt: skip


def complete_answers(kind: KommuneKind) -> dict[str, str | list[str]]:
    """Form text that passes the final check of the shipped default for a Kommune of ``kind``."""
    answers: dict[str, str | list[str]] = {
        "bestandsaufnahme.status": "abgeschlossen", "bestandsaufnahme.abgeschlossen_am": "15.03.2026",
        "konzept.status": "vorhanden", "konzept.beschlossen_jahr": "2024", "konzept.gremienbeschluss": "ja",
        "gremien.steuerungsgremium": "ja", "gremien.steuerungsgremium_sitzungen": "4",
        "gremien.austauschgremien": ["beirat", "sonstige"], "gremien.austauschgremien_sonstige": "Seniorenbeirat",
        "gremien.netzwerkrunden": "6", "gremien.integrationskonferenzen": "1",
        "handlungsfelder.bearbeitet": ["wohnen", "arbeitsmarkt"], "handlungsfelder.vernetzung": "4",
        "handlungsfelder.schwerpunkte": "Wohnraum für Geflüchtete;\nJobcenter-Kooperation",
        "oeffentlichkeit.massnahmen": ["presse", "internet"], "austausch.fachreferat_treffen": "4",
        "austausch.dbki_treffen": "3", "austausch.nutzen": "5", "stelle.besetzung": "zeitweise",
        "stelle.vzae": "0,75", "stelle.vakanz_monate": "3", "sachkosten.verwendet": "ja",
        "sachkosten.betrag": "4.250,50", "sachkosten.zwecke": "Dolmetschkosten",
        "unterstuetzung.bedarf": "Mehr Austausch",
    }  # fmt: skip
    if kind is KommuneKind.LANDKREIS:
        answers |= {"gemeinden.einbindung": "teilweise", "gemeinden.anzahl": "7", "gemeinden.form": "Runde Tische"}
    return answers
