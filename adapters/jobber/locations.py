"""Service locations (a client's properties) checked before the client is imported.

A client whose properties contradict each other is reported under ``MALFORMED_FIELD``
(validation rejects it with ``malformed_row`` and the message; nothing is adjusted):

* **the same name or the same address** twice for one client (a duplicated property);
* **coordinates that contradict the address**, checked without a geocoder:

  - two properties with *different* street addresses at the *same* map point (to 6
    decimal places, ~0.1 m): one of them is pinned at the other's place, or both at a
    town's centre — the field guides' double-booking case (a visit booked at one place,
    driven to the other);
  - two properties at the same street address (they differ only in ``street2``, the
    unit or suite line) more than :data:`FAR_KM` apart: one building is not that wide;
  - a point off the globe (latitude beyond ±90, longitude beyond ±180) or at 0°, 0°
    (open sea: no street address is there).

  Properties without coordinates are not checked (Jobber fills them only "if it has
  been geo-coded"); a point is never compared with the address's text, which would need
  a geocoder syncledger does not have.

Facts: ``Property.address: PropertyAddress!`` with ``street1, street2, city, province,
postalCode, country`` and ``coordinates: GeoPoint`` ("the point coordinates of the address
if it has been geo-coded"), ``GeoPoint{latitude: Float!, longitude: Float!}``; ``Property``'s
own ``latitude``/``longitude`` are deprecated and not read (GitHub file id 61006938799, an
introspection dump of Jobber's schema, API version 2025-04-16). ``geoStatus`` (``GeoStatus``:
``NOT_STARTED, PROCESSING, FOUND, NOT_FOUND, MANUAL_OVERRIDE, FOUND_ALTERNATE``, GitHub file
id 61308638779) is not read: its values are undocumented beyond their names, so a
present point is checked whatever its status.

Messages name the properties by id only: addresses and points are personal data (a
client's home) and never appear in a reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import combinations
from typing import Any, Final

from syncledger.adapters.jobber.amounts import number

#: units of one street address farther apart than this contradict their address
FAR_KM: Final = 2.0
EARTH_RADIUS_KM: Final = 6371.0088
_SAME_POINT: Final = Decimal("0.000001")
_BUILDING: Final = ("street1", "city", "province", "postalCode", "country")
_FULL: Final = ("street1", "street2", "city", "province", "postalCode", "country")


def _norm(text: Any) -> str:
    return " ".join(str(text or "").lower().split())


def _key(addr: Any, parts: Iterable[str]) -> str:
    if not isinstance(addr, dict):
        return ""
    found = [_norm(addr.get(p)) for p in parts]
    return "|".join(found) if any(found) else ""


Point = tuple[Decimal, Decimal]


def _point(addr: Any) -> Point | None:
    coords = addr.get("coordinates") if isinstance(addr, dict) else None
    if not isinstance(coords, dict):
        return None
    lat, lon = number(coords.get("latitude")), number(coords.get("longitude"))
    return None if lat is None or lon is None else (lat, lon)


@dataclass(frozen=True, slots=True)
class Site:
    """One property as the checks see it."""

    id: str
    name: str
    address: str  # every address line, normalised ("" when none)
    building: str  # the address without its unit line (street2)
    point: Point | None

    @classmethod
    def of(cls, prop: Mapping[str, Any]) -> Site:
        addr = prop.get("address")
        return cls(
            str(prop.get("id")),
            _norm(prop.get("name")),
            _key(addr, _FULL),
            _key(addr, _BUILDING),
            _point(addr),
        )


def sites(node: Mapping[str, Any]) -> list[Site]:
    props = (node.get("clientProperties") or {}).get("nodes") or []
    return [Site.of(p) for p in props if isinstance(p, dict) and p.get("id")]


def duplicate_problems(found: list[Site]) -> list[str]:
    """Properties repeating another's name or address."""
    seen: dict[tuple[str, str], str] = {}
    problems: list[str] = []
    for site in found:
        for what, key in (("name", site.name), ("address", site.address)):
            if not key:
                continue
            first = seen.setdefault((what, key), site.id)
            if first != site.id:
                problems.append(
                    f"service location {site.id} has the same {what} as service location "
                    f"{first} of this client: merge or remove the duplicate property in Jobber"
                )
    return problems


def distance_km(a: Point, b: Point) -> float:
    """Great-circle (haversine) distance on a sphere of the Earth's mean radius."""
    lat1, lon1, lat2, lon2 = (math.radians(float(x)) for x in (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def point_problem(site: Site) -> str | None:
    """A point no street address can have."""
    if site.point is None:
        return None
    lat, lon = site.point
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        where = "off the globe (latitude beyond ±90° or longitude beyond ±180°)"
    elif lat == 0 and lon == 0:
        where = "at 0°, 0° (open sea: no street address is there)"
    else:
        return None
    return (
        f"service location {site.id} is pinned {where}: correct its map pin or its address "
        "in Jobber"
    )


def _same_point(a: Point, b: Point) -> bool:
    return all(abs(x - y) < _SAME_POINT for x, y in zip(a, b, strict=True))


def pair_problem(a: Site, b: Site) -> str | None:
    """Two properties whose points contradict their addresses (see the module docstring)."""
    if a.point is None or b.point is None or not a.building or not b.building:
        return None
    if a.building != b.building and _same_point(a.point, b.point):
        return (
            f"service locations {a.id} and {b.id} have different addresses but the same map "
            "point: one of them is pinned at the wrong place (visits would be booked there); "
            "correct the pin or the address in Jobber"
        )
    if a.building == b.building and a.address != b.address:
        far = distance_km(a.point, b.point)
        if far > FAR_KM:
            return (
                f"service locations {a.id} and {b.id} share a street address but their map "
                f"points are {far:.0f} km apart: correct the pin or the address in Jobber"
            )
    return None


def coordinate_problems(found: list[Site]) -> list[str]:
    checkable = [s for s in found if point_problem(s) is None]
    alone = [p for s in found if (p := point_problem(s))]
    pairs = [p for a, b in combinations(checkable, 2) if (p := pair_problem(a, b))]
    return alone + pairs


def location_problems(node: Mapping[str, Any]) -> list[str]:
    """Everything wrong with a client's service locations (empty: nothing)."""
    found = sites(node)
    return duplicate_problems(found) + coordinate_problems(found)
