"""KIM funding rules as yearly data, and the pure checks of an application and of a grant against them.

Amounts are ``Decimal`` euros with at most two places, FTE (VZÄ) values ``Decimal`` with at most two places. The
checks report every problem at once as ``Violation`` values (German messages) and never raise for Decimal input:
NaN and Infinity become ``not_a_number`` violations. Arithmetic uses a private context that traps nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import ROUND_DOWN, Context, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from kim_workflow.core.funded_period import FundedPeriod, period_problems
from kim_workflow.core.money import CENT, amount_text, decimal_places, exact_text, format_eur, format_fte
from kim_workflow.core.policy import PolicyError
from kim_workflow.core.validation import AGS_PATTERN

_CTX = Context(prec=60, traps=[])
_MAX_RULE_EUR = Decimal("1000000000")
_DECIMAL_RULES = ("max_fte", "min_share_fte", "max_personnel_eur", "max_material_eur")
_BOOL_RULES = ("personnel_pro_rata", "overhead_fundable")
_BUDGET = "budget_total_eur"  # optional: no ceiling unless set


@dataclass(frozen=True, slots=True)
class FundingRules:
    """One programme year's limits (the ``[funding]`` table of the policy); validated on construction.

    Bad values raise :class:`~kim_workflow.core.policy.PolicyError` naming ``funding.<key>``.
    """

    max_fte: Decimal = Decimal("1.0")
    min_share_fte: Decimal = Decimal("0.5")
    max_personnel_eur: Decimal = Decimal("60000")
    personnel_pro_rata: bool = True
    max_material_eur: Decimal = Decimal("20000")
    overhead_fundable: bool = False
    budget_total_eur: Decimal | None = None
    """The year's total budget for all grants (``None``: no ceiling)."""

    def __post_init__(self) -> None:
        for name in _DECIMAL_RULES:
            _check_rule_value(name, getattr(self, name))
        if self.budget_total_eur is not None:
            _check_rule_value("budget_total_eur", self.budget_total_eur)
        for name in _BOOL_RULES:
            if not isinstance(getattr(self, name), bool):
                raise PolicyError(f"funding.{name}: erwartet true oder false")
        if self.max_fte <= 0:
            raise PolicyError("funding.max_fte: muss größer als 0 sein")
        if self.min_share_fte > self.max_fte:
            raise PolicyError("funding.min_share_fte: darf nicht größer als max_fte sein")


def _check_rule_value(name: str, value: object) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise PolicyError(f"funding.{name}: erwartet eine Zahl ≥ 0, nicht {value!r}")
    if decimal_places(value) > 2:
        raise PolicyError(f"funding.{name}: höchstens zwei Nachkommastellen, nicht {value}")
    if name.endswith("_eur") and value > _MAX_RULE_EUR:
        raise PolicyError(f"funding.{name}: unplausibel hoher Betrag {value}")


def parse_funding_rules(data: Mapping[str, Any]) -> FundingRules:
    """Build rules from a plain (TOML-loaded) mapping; missing keys keep their defaults."""
    unknown = sorted(str(key) for key in data if key not in (*_DECIMAL_RULES, *_BOOL_RULES, _BUDGET))
    if unknown:
        raise PolicyError(f"funding: unbekannte Schlüssel {', '.join(unknown)}")
    values: dict[str, Any] = {key: _parse_decimal(key, data[key]) for key in (*_DECIMAL_RULES, _BUDGET) if key in data}
    return FundingRules(**values, **{key: data[key] for key in _BOOL_RULES if key in data})


def _parse_decimal(key: str, raw: object) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        raise PolicyError(f"funding.{key}: erwartet eine Zahl, nicht {raw!r}")
    try:
        return Decimal(str(raw).strip())
    except InvalidOperation:
        raise PolicyError(f"funding.{key}: keine Zahl: {raw!r}") from None


def funding_rules_to_dict(rules: FundingRules) -> dict[str, str | bool]:
    """The rules as TOML-friendly plain values (Decimals as exact strings); ``parse_funding_rules`` inverts it."""
    return {f.name: _plain(getattr(rules, f.name)) for f in fields(rules) if getattr(rules, f.name) is not None}


def _plain(value: Decimal | bool) -> str | bool:
    return value if isinstance(value, bool) else format(value, "f")


@dataclass(frozen=True, slots=True)
class StaffShare:
    name: str
    fte: Decimal


@dataclass(frozen=True, slots=True)
class ApplicationData:
    """What a Kommune applies for; deliberately unvalidated so that ``check_application`` can report everything."""

    ags: str
    year: int
    staff: tuple[StaffShare, ...]
    personnel_costs_eur: Decimal
    material_costs_eur: Decimal
    overhead_costs_eur: Decimal
    position_in_administration: bool
    notes: str | None = None
    period: FundedPeriod | None = None
    """The funded period of the position within the year (``None``: the whole year, no vacancy)."""


class ViolationCode(StrEnum):
    INVALID_AGS = "invalid_ags"
    NOT_IN_ADMINISTRATION = "not_in_administration"
    NO_STAFF = "no_staff"
    FTE_SHARE_NOT_POSITIVE = "fte_share_not_positive"
    FTE_SHARE_BELOW_MINIMUM = "fte_share_below_minimum"
    FTE_TOTAL_ABOVE_MAXIMUM = "fte_total_above_maximum"
    PERSONNEL_COSTS_ABOVE_CAP = "personnel_costs_above_cap"
    MATERIAL_COSTS_ABOVE_CAP = "material_costs_above_cap"
    OVERHEAD_NOT_FUNDABLE = "overhead_not_fundable"
    NEGATIVE_AMOUNT = "negative_amount"
    TOO_MANY_DECIMALS = "too_many_decimals"
    NOT_A_NUMBER = "not_a_number"
    GRANT_ABOVE_CAP = "grant_above_cap"
    GRANT_ABOVE_REQUEST = "grant_above_request"
    INVALID_PERIOD = "invalid_period"


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule; ``code`` is a ``ViolationCode`` value, ``field`` a path such as ``staff[1].fte``."""

    code: str
    field: str
    message: str


# German message templates, one per code; {label} is a plural noun such as "Personalkosten".
_MESSAGES = {
    ViolationCode.INVALID_AGS: "Der Amtliche Gemeindeschlüssel (AGS) muss aus genau 8 Ziffern bestehen.",
    ViolationCode.NOT_IN_ADMINISTRATION: "Die geförderte Stelle muss in der Kommunalverwaltung angesiedelt sein.",
    ViolationCode.NO_STAFF: "Es ist kein gefördertes Personal angegeben; bitte mindestens eine Person eintragen.",
    ViolationCode.FTE_SHARE_NOT_POSITIVE: "Der Stellenanteil von {fte} VZÄ muss größer als 0 sein.",
    ViolationCode.FTE_SHARE_BELOW_MINIMUM: "Der Stellenanteil von {fte} VZÄ liegt unter dem förderfähigen "
    "Mindestanteil von {minimum} VZÄ.",
    ViolationCode.FTE_TOTAL_ABOVE_MAXIMUM: "Die Stellenanteile ergeben zusammen {fte} VZÄ; gefördert werden "
    "höchstens {maximum} VZÄ.",
    ViolationCode.PERSONNEL_COSTS_ABOVE_CAP: "Die beantragten Personalkosten von {amount} übersteigen den "
    "Höchstbetrag von {cap}{suffix}.",
    ViolationCode.MATERIAL_COSTS_ABOVE_CAP: "Die beantragten Sachkosten von {amount} übersteigen den Höchstbetrag "
    "von {cap} je Kommune und Jahr.",
    ViolationCode.OVERHEAD_NOT_FUNDABLE: "Gemeinkosten (Overhead) sind nicht förderfähig; bitte 0,00 € angeben "
    "(angegeben: {amount}).",
    ViolationCode.NEGATIVE_AMOUNT: "Die {label} dürfen nicht negativ sein (angegeben: {amount}).",
    ViolationCode.TOO_MANY_DECIMALS: "Die {label} dürfen höchstens zwei Nachkommastellen haben (angegeben: {amount}).",
    ViolationCode.NOT_A_NUMBER: "Die Angabe der {label} ist keine gültige Zahl.",
    ViolationCode.GRANT_ABOVE_CAP: "Die {label} von {amount} übersteigen den förderfähigen Höchstbetrag von {cap}.",
    ViolationCode.GRANT_ABOVE_REQUEST: "Die {label} von {amount} übersteigen die beantragten {requested_label} "
    "von {requested}.",
    ViolationCode.INVALID_PERIOD: "{problem}",
}
_LABELS = {
    "staff": "Stellenanteile",
    "personnel_costs_eur": "Personalkosten",
    "material_costs_eur": "Sachkosten",
    "overhead_costs_eur": "Gemeinkosten",
    "granted_personnel_eur": "bewilligten Personalkosten",
    "granted_material_eur": "bewilligten Sachkosten",
}


def _v(code: ViolationCode, field: str, **values: str) -> Violation:
    label = _LABELS.get(field.split("[")[0], field)
    return Violation(code, field, _MESSAGES[code].format(label=label, **values))


def total_fte(staff: Sequence[StaffShare]) -> Decimal:
    """Sum of the finite, positive shares (invalid shares are reported separately and do not count)."""
    total = Decimal(0)
    for share in staff:
        if share.fte.is_finite() and share.fte > 0:
            total = _CTX.add(total, share.fte)
    return total


def personnel_cap(total_fte: Decimal, rules: FundingRules) -> Decimal:
    """Maximum personnel grant for ``total_fte`` VZÄ: pro rata (rounded down to cents) or the full cap."""
    if total_fte.is_nan():
        raise ValueError("total_fte must be a number")
    if not rules.personnel_pro_rata:
        return rules.max_personnel_eur
    fte = min(max(total_fte, Decimal(0)), rules.max_fte)
    share = _CTX.divide(_CTX.multiply(rules.max_personnel_eur, fte), rules.max_fte)
    return share.quantize(CENT, rounding=ROUND_DOWN, context=_CTX)


def check_application(application: ApplicationData, rules: FundingRules) -> list[Violation]:
    """Every rule the application breaks, in a fixed order (Kommune, staff, personnel, material, overhead, period)."""
    found: list[Violation] = []
    if not isinstance(application.ags, str) or not AGS_PATTERN.fullmatch(application.ags):
        found.append(_v(ViolationCode.INVALID_AGS, "ags"))
    if application.position_in_administration is not True:
        found.append(_v(ViolationCode.NOT_IN_ADMINISTRATION, "position_in_administration"))
    found += _check_staff(application.staff, rules)
    found += _check_personnel(application, rules)
    material, code = application.material_costs_eur, ViolationCode.MATERIAL_COSTS_ABOVE_CAP
    found += _check_amount("material_costs_eur", material, rules.max_material_eur, code)
    found += _check_overhead(application.overhead_costs_eur, rules)
    if application.period is not None:
        problems = period_problems(application.period, application.year)
        found += [_v(ViolationCode.INVALID_PERIOD, "funded_period", problem=problem) for problem in problems]
    return found


def _check_staff(staff: Sequence[StaffShare], rules: FundingRules) -> list[Violation]:
    if not staff:
        return [_v(ViolationCode.NO_STAFF, "staff")]
    found = [violation for index, share in enumerate(staff) for violation in _check_share(index, share.fte, rules)]
    total = total_fte(staff)
    if total > rules.max_fte:
        maximum = format_fte(rules.max_fte)
        found.append(_v(ViolationCode.FTE_TOTAL_ABOVE_MAXIMUM, "staff", fte=format_fte(total), maximum=maximum))
    return found


def _check_share(index: int, fte: Decimal, rules: FundingRules) -> list[Violation]:
    field = f"staff[{index}].fte"
    if not fte.is_finite():
        return [_v(ViolationCode.NOT_A_NUMBER, field)]
    found = []
    if decimal_places(fte) > 2:
        found.append(_v(ViolationCode.TOO_MANY_DECIMALS, field, amount=f"{exact_text(fte)} VZÄ"))
    if fte <= 0:
        found.append(_v(ViolationCode.FTE_SHARE_NOT_POSITIVE, field, fte=exact_text(fte)))
    elif fte < rules.min_share_fte:
        minimum = format_fte(rules.min_share_fte)
        found.append(_v(ViolationCode.FTE_SHARE_BELOW_MINIMUM, field, fte=format_fte(fte), minimum=minimum))
    return found


def _check_personnel(application: ApplicationData, rules: FundingRules) -> list[Violation]:
    """The cap is only checked when every share is a number; otherwise the staff violations say why."""
    staff, field = application.staff, "personnel_costs_eur"
    if not staff or not all(share.fte.is_finite() for share in staff):
        return _amount_format(field, application.personnel_costs_eur)
    fte = total_fte(staff)
    suffix = f" für {format_fte(min(fte, rules.max_fte))} VZÄ" if rules.personnel_pro_rata else ""
    code, cap = ViolationCode.PERSONNEL_COSTS_ABOVE_CAP, personnel_cap(fte, rules)
    return _check_amount(field, application.personnel_costs_eur, cap, code, suffix)


def _check_amount(field: str, value: Decimal, cap: Decimal, code: ViolationCode, suffix: str = "") -> list[Violation]:
    found = _amount_format(field, value)
    if value.is_finite() and value > cap:
        found.append(_v(code, field, amount=format_eur(value), cap=format_eur(cap), suffix=suffix))
    return found


def _check_overhead(value: Decimal, rules: FundingRules) -> list[Violation]:
    found = _amount_format("overhead_costs_eur", value)
    if not rules.overhead_fundable and value.is_finite() and value > 0:
        found.append(_v(ViolationCode.OVERHEAD_NOT_FUNDABLE, "overhead_costs_eur", amount=amount_text(value)))
    return found


def _amount_format(field: str, value: Decimal) -> list[Violation]:
    """Not-a-number, negative and sub-cent amounts; an empty list means a plain euro amount."""
    if not value.is_finite():
        return [_v(ViolationCode.NOT_A_NUMBER, field)]
    found = []
    if value < 0:
        found.append(_v(ViolationCode.NEGATIVE_AMOUNT, field, amount=amount_text(value)))
    if decimal_places(value) > 2:
        found.append(_v(ViolationCode.TOO_MANY_DECIMALS, field, amount=amount_text(value)))
    return found


def check_grant(
    application: ApplicationData, rules: FundingRules, granted_personnel_eur: Decimal, granted_material_eur: Decimal
) -> list[Violation]:
    """Problems of a grant: above the rules' cap for this application, above the request, negative or sub-cent.

    Shares that are not numbers count as 0 VZÄ here, so a pro-rata personnel grant needs valid staff data.
    """
    personnel, material = application.personnel_costs_eur, application.material_costs_eur
    cap = personnel_cap(total_fte(application.staff), rules)
    return [
        *_check_granted("granted_personnel_eur", granted_personnel_eur, cap, personnel),
        *_check_granted("granted_material_eur", granted_material_eur, rules.max_material_eur, material),
    ]


def _check_granted(field: str, granted: Decimal, cap: Decimal, requested: Decimal) -> list[Violation]:
    found = _amount_format(field, granted)
    if not granted.is_finite():
        return found
    amount = format_eur(granted)
    if granted > cap:
        found.append(_v(ViolationCode.GRANT_ABOVE_CAP, field, amount=amount, cap=format_eur(cap)))
    if requested.is_finite() and granted > requested:
        requested_label = _LABELS[field.replace("granted_", "").replace("_eur", "_costs_eur")]
        values = {"amount": amount, "requested_label": requested_label, "requested": format_eur(requested)}
        found.append(_v(ViolationCode.GRANT_ABOVE_REQUEST, field, **values))
    return found
