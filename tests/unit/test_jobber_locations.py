"""Service-location checks of a Jobber client (adapters/jobber/locations.py): duplicated
properties and map points that contradict their addresses, without a geocoder."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from syncledger.adapters.jobber.locations import (
    FAR_KM,
    Site,
    distance_km,
    location_problems,
    pair_problem,
)

BOISE = {"street1": "1 Elm St", "city": "Boise", "province": "ID", "postalCode": "83702"}
OAK = {"street1": "9 Oak Ave", "city": "Boise", "province": "ID", "postalCode": "83702"}


def _at(lat: float, lon: float) -> dict[str, Any]:
    return {"coordinates": {"latitude": lat, "longitude": lon}}


def client(*props: tuple[str, str | None, dict[str, Any]]) -> dict[str, Any]:
    nodes = [{"id": pid, "name": name, "address": addr} for pid, name, addr in props]
    return {"id": "C1", "clientProperties": {"nodes": nodes}}


def test_different_addresses_at_one_point_are_the_double_booking_case() -> None:
    problems = location_problems(
        client(
            ("P1", "Home", {**BOISE, **_at(43.6150, -116.2023)}),
            ("P2", "Shop", {**OAK, **_at(43.6150, -116.2023)}),
        )
    )
    assert problems == [
        "service locations P1 and P2 have different addresses but the same map point: one of "
        "them is pinned at the wrong place (visits would be booked there); correct the pin or "
        "the address in Jobber"
    ]


def test_units_of_one_building_may_share_a_point_but_not_be_kilometres_apart() -> None:
    unit_a = {**BOISE, "street2": "Unit A"}
    unit_b = {**BOISE, "street2": "Unit B"}
    same = client(("P1", "A", {**unit_a, **_at(43.6150, -116.2023)}), ("P2", "B", unit_b))
    assert location_problems(same) == []
    shared = client(
        ("P1", "A", {**unit_a, **_at(43.6150, -116.2023)}),
        ("P2", "B", {**unit_b, **_at(43.6150, -116.2023)}),
    )
    assert location_problems(shared) == []
    apart = client(
        ("P1", "A", {**unit_a, **_at(43.6150, -116.2023)}),
        ("P2", "B", {**unit_b, **_at(43.7, -116.2023)}),  # ~9.5 km north
    )
    [problem] = location_problems(apart)
    assert problem.startswith("service locations P1 and P2 share a street address")
    assert "9 km apart" in problem


def test_a_point_off_the_globe_or_at_zero_zero_is_refused_and_missing_ones_are_not() -> None:
    problems = location_problems(
        client(
            ("P1", "Off", {**BOISE, **_at(123.0, -116.2)}),
            ("P2", "Sea", {**OAK, **_at(0, 0)}),
            ("P3", "Unknown", {"street1": "3 Pine Rd", "city": "Boise", "coordinates": None}),
        )
    )
    assert len(problems) == 2
    assert problems[0].startswith("service location P1 is pinned off the globe")
    assert problems[1].startswith("service location P2 is pinned at 0°, 0°")


def test_messages_never_carry_an_address_or_a_point() -> None:
    problems = location_problems(
        client(
            ("P1", "Home", {**BOISE, **_at(43.6150, -116.2023)}),
            ("P2", "Home", {**OAK, **_at(43.6150, -116.2023)}),
            ("P3", "Boat", {**BOISE, "street2": "Dock", **_at(0, 0)}),
        )
    )
    assert len(problems) == 3  # same name; same point; 0, 0
    text = " ".join(problems)
    for secret in ("Elm", "Oak", "Boise", "83702", "43.6", "116.2", "Home", "Dock"):
        assert secret not in text


def test_duplicates_are_still_refused_by_name_and_by_address() -> None:
    problems = location_problems(client(("P1", "Main", BOISE), ("P2", "main ", dict(BOISE))))
    assert problems == [
        "service location P2 has the same name as service location P1 of this client: merge "
        "or remove the duplicate property in Jobber",
        "service location P2 has the same address as service location P1 of this client: "
        "merge or remove the duplicate property in Jobber",
    ]


def test_distance_matches_a_known_figure() -> None:
    # one degree of latitude on the mean-radius sphere: 111.19 km
    zero, one = Decimal(0), Decimal(1)
    assert abs(distance_km((zero, zero), (one, zero)) - 111.195) < 0.01


_lat = st.decimals(min_value=-90, max_value=90, places=6)
_lon = st.decimals(min_value=-180, max_value=180, places=6)
_street = st.sampled_from(["1 Elm St", "9 Oak Ave"])
_unit = st.sampled_from(["", "Unit A", "Unit B"])
_sites = st.builds(
    lambda i, street, unit, point: Site(i, "", f"{street}|{unit}", street, point),
    st.sampled_from(["P1", "P2"]),
    _street,
    _unit,
    st.none() | st.tuples(_lat, _lon),
)


@given(_sites, _sites)
def test_a_pair_is_judged_the_same_whichever_comes_first(a: Site, b: Site) -> None:
    assert (pair_problem(a, b) is None) == (pair_problem(b, a) is None)


@given(st.tuples(_lat, _lon), st.tuples(_lat, _lon))
def test_distance_is_symmetric_and_bounded(a: tuple[Any, Any], b: tuple[Any, Any]) -> None:
    there, back = distance_km(a, b), distance_km(b, a)
    assert abs(there - back) < 1e-6
    assert 0 <= there <= 20_016  # half the mean circumference
    assert distance_km(a, a) < 1e-9
    assert FAR_KM > 0
