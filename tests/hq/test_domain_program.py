"""HQ's programme document: what it accepts, what it refuses and where each error points."""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from hq.domain.errors import HqDomainError, InvalidProgram
from hq.domain.examples import courier_program, supermarket_program
from hq.domain.program import parse_program
from kiosk.ledger.rules import parse_rules


def test_a_programme_parses_into_typed_terms():
    program = parse_program(7, supermarket_program())
    assert program.version == 7
    assert program.earning.points_per_yuan == Decimal("1")
    assert program.earning.lot_validity_days == 365
    assert program.reevaluation is None
    assert program.topup is not None and program.topup.first_day_spend_pct == 60
    assert [(b.min_fen, b.bonus_fen, b.bonus_pct) for b in program.topup.bonuses] == [
        (50_000, 20_000, None),
        (1_000_000, None, 20),
    ]


def test_kiosk_rules_carry_the_programme_version():
    assert parse_program(7, supermarket_program()).rules.version == 7


def test_kiosk_document_is_the_kiosk_part_as_given_and_kiosks_accept_it():
    document = courier_program()
    program = parse_program(3, document)
    assert program.kiosk_document == document["kiosk"]
    assert parse_rules(3, program.kiosk_document) == program.rules


def test_kiosk_document_is_a_fresh_copy_each_time():
    program = parse_program(1, supermarket_program())
    program.kiosk_document["tiers"].clear()
    assert len(program.kiosk_document["tiers"]) == 4


def test_changing_the_source_document_afterwards_changes_nothing():
    document = supermarket_program()
    program = parse_program(1, document)
    document["kiosk"]["tiers"][1]["threshold"] = 1
    assert program.kiosk_document["tiers"][1]["threshold"] == 100_000


def test_reevaluation_and_topup_may_be_left_out():
    document = supermarket_program()
    del document["reevaluation"], document["topup"]
    program = parse_program(1, document)
    assert program.reevaluation is None and program.topup is None


def test_a_topup_section_may_have_no_bonuses_and_no_first_day_limit():
    document = supermarket_program()
    document["topup"] = {"bonuses": []}
    program = parse_program(1, document)
    assert program.topup is not None and program.topup.bonuses == () and program.topup.first_day_spend_pct is None


def test_invalid_program_is_a_domain_error_and_a_value_error():
    with pytest.raises(InvalidProgram) as caught:
        parse_program(1, {})
    assert isinstance(caught.value, HqDomainError) and isinstance(caught.value, ValueError)


@pytest.mark.parametrize("version", [0, -1, True, "1", 1.0, None])
def test_version_must_be_a_positive_integer(version):
    with pytest.raises(InvalidProgram, match="version must be a positive integer"):
        parse_program(version, supermarket_program())


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation setting `path` ("a.b.0.c") to value."""

    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = document
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value

    return mutate


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = document
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        del target[last]

    return mutate


# (mutation of the supermarket programme, what the error must say)
SUPERMARKET_FAULTS = [
    (_set("colour", "red"), "programme document: colour: unknown key"),
    (_delete("earning"), "programme document: earning: is required"),
    (_set("kiosk", []), "programme document: kiosk: must be an object"),
    (_set("kiosk.colour", "red"), "programme document: kiosk.colour: unknown key"),
    (_set("kiosk.tiers.2.threshold", 1), "programme document: kiosk.tiers[2].threshold: must be greater than"),
    (_set("kiosk.measure", "visits"), "programme document: kiosk.measure: must be one of"),
    (
        _set("kiosk.tiers.1.points_multiplier", 1.5),
        'kiosk.tiers[1].points_multiplier: must be a decimal string like "1.5"',
    ),
    (_set("kiosk.tiers.1.points_multiplier", "1e0"), "kiosk.tiers[1].points_multiplier: must be a decimal string"),
    (
        _set("kiosk.member_day.points_multiplier", "1.0000001"),
        "kiosk.member_day.points_multiplier: must be a decimal string like",
    ),
    (_set("earning.bonus", 1), "programme document: earning.bonus: unknown key"),
    (_delete("earning.growth_per_yuan"), "programme document: earning.growth_per_yuan: is required"),
    (_set("earning.points_per_yuan", 1.5), "earning.points_per_yuan: must be a decimal string"),
    (_set("earning.points_per_yuan", 1), "earning.points_per_yuan: must be a decimal string"),
    (_set("earning.points_per_yuan", "-1"), "earning.points_per_yuan: must be a decimal string"),
    (_set("earning.points_per_yuan", "NaN"), "earning.points_per_yuan: must be a decimal string"),
    (_set("earning.points_per_yuan", " 1"), "earning.points_per_yuan: must be a decimal string"),
    (_set("earning.points_per_yuan", "0.1234567"), "earning.points_per_yuan: must be a decimal string"),
    (_set("earning.points_per_yuan", "1001"), "earning.points_per_yuan: must be at most 1000"),
    (_set("earning.lot_validity_days", 0), "earning.lot_validity_days: must be between 1 and 3660"),
    (_set("earning.lot_validity_days", "365"), "earning.lot_validity_days: must be an integer"),
    (_set("reevaluation", {"window_days": 365}), "reevaluation: must be null when kiosk.downgrade is false"),
    (_set("topup", []), "programme document: topup: must be an object"),
    (_set("topup.bonuses", {}), "programme document: topup.bonuses: must be a list"),
    (_set("topup.bonuses.0.bonus_pct", 10), "topup.bonuses[0]: needs exactly one of bonus_fen or bonus_pct"),
    (_delete("topup.bonuses.0.bonus_fen"), "topup.bonuses[0]: needs exactly one of bonus_fen or bonus_pct"),
    (_set("topup.bonuses.0.extra", 1), "programme document: topup.bonuses[0].extra: unknown key"),
    (_set("topup.bonuses.0.min_fen", 0), "topup.bonuses[0].min_fen: must be between 1 and"),
    (_set("topup.bonuses.1.min_fen", 50_000), "topup.bonuses[1].min_fen: must be greater than topup.bonuses[0]"),
    (_set("topup.bonuses.1.bonus_pct", 101), "topup.bonuses[1].bonus_pct: must be between 1 and 100"),
    (_set("topup.bonuses.0.bonus_fen", True), "topup.bonuses[0].bonus_fen: must be an integer"),
    (_set("topup.first_day_spend_pct", 101), "topup.first_day_spend_pct: must be between 0 and 100"),
]


@pytest.mark.parametrize("mutate, message", SUPERMARKET_FAULTS)
def test_every_error_names_the_field_path(mutate, message):
    document = supermarket_program()
    mutate(document)
    with pytest.raises(InvalidProgram) as caught:
        parse_program(1, document)
    assert message in str(caught.value)


def test_a_kiosk_fault_keeps_kiosks_own_error_as_its_cause():
    document = supermarket_program()
    document["kiosk"]["tiers"][0]["threshold"] = 5
    with pytest.raises(InvalidProgram) as caught:
        parse_program(1, document)
    assert str(caught.value) == ("programme document: kiosk.tiers[0].threshold: the lowest tier must start at 0, got 5")
    assert caught.value.__cause__ is not None


def test_a_downgrade_programme_must_say_how_it_reevaluates():
    document = courier_program()
    document["reevaluation"] = None
    with pytest.raises(InvalidProgram, match="reevaluation: must be set when kiosk.downgrade is true"):
        parse_program(1, document)


def test_reevaluation_window_is_bounded():
    document = courier_program()
    document["reevaluation"]["window_days"] = 0
    with pytest.raises(InvalidProgram, match=r"reevaluation.window_days: must be between 1 and 3660"):
        parse_program(1, document)


def test_a_growth_ladder_needs_growth_to_be_earned():
    document = courier_program()
    document["earning"]["growth_per_yuan"] = "0"
    with pytest.raises(InvalidProgram, match="earning.growth_per_yuan: must be above 0 when kiosk.measure"):
        parse_program(1, document)


def test_a_spend_ladder_may_earn_no_growth_and_no_points():
    document = supermarket_program()
    document["earning"].update(points_per_yuan="0", growth_per_yuan="0")
    assert parse_program(1, document).earning.points_per_yuan == 0


def test_the_document_is_not_changed_by_parsing():
    document = courier_program()
    before = copy.deepcopy(document)
    parse_program(1, document)
    assert document == before
