"""Source-field transforms and the item policy of a ledger's mapping file (DESIGN §6 step 3).

A ledger's mapping file ``adapters/<platform>/mapping.toml`` holds, besides the adapter's
own tables, two sections read here (docs/mappings.md):

* ``[transforms.<kind>]`` (customer, invoice, payment, credit_note): one entry per
  canonical target field, applied in file order to a record's raw source fields *before*
  validation::

      name  = { concat = ["first_name", "last_name"], separator = " " }
      lines = { split_total = "deal_amount", description = "deal_name", tax = "deal_tax" }
      email = { rename = "email_address" }
      status = { default = "open" }
      currency = { constant = "USD" }

* ``[items]``: ``unmatched = "create" | "review"`` and ``[items.map]``, source item codes
  to the ledger's item names or ids.

:meth:`Mapping.apply` is pure: it returns new fields and never raises on bad values (bad
input is data: a garbage value is passed on and fails validation with its usual reason).
A malformed section is a ``ConfigurationError`` when the file is loaded.
Money is Decimal throughout; a TOML float is refused.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections import abc as cabc
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal, Protocol

from syncledger.core.errors import ConfigurationError
from syncledger.core.events import RejectionReason
from syncledger.core.model import RECORD_KINDS
from syncledger.core.money import is_currency, minor_unit
from syncledger.core.validation import (
    FIELDS,
    INVALID_RECORD,
    INVALID_SPLIT,
    MALFORMED_FIELD,
    MAX_INTEGER_DIGITS,
    PRICE_PLACES,
    UNMATCHED_ITEM,
    decimal_places,
    parse_decimal,
)

Fields = dict[str, Any]
Problems = list[RejectionReason]
Unmatched = Literal["create", "review"]
DOCUMENT_KINDS: Final = frozenset({"invoice", "credit_note"})
_SHOW_LIMIT: Final = 40


def _blank(value: object) -> bool:
    """None, blank text or an empty collection: what validation treats as missing."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, list | tuple | dict) and not value)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOW_LIMIT else text[: _SHOW_LIMIT - 3] + "..."


def _text(value: object) -> str | None:
    """Text of a scalar source value (str, int, finite Decimal); None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, Decimal) and value.is_finite():
        return format(value, "f")
    return None


def _put(fields: Fields, target: str, value: object, override: bool) -> None:
    """Write ``value`` to ``target`` when it is missing or blank (always with override);
    a blank value is never written."""
    if not _blank(value) and (override or _blank(fields.get(target))):
        fields[target] = value


# --------------------------------------------------------------------------- transforms


class Transform(Protocol):
    """One declared transform: reads ``sources``, writes the canonical field ``target``."""

    @property
    def target(self) -> str: ...

    @property
    def sources(self) -> tuple[str, ...]: ...

    def apply(self, fields: Fields) -> Problems:
        """Rewrite ``fields`` in place (a private copy); reasons for inputs it cannot use."""
        ...


@dataclass(frozen=True, slots=True)
class Rename:
    """``target = { rename = "source" }``: the source field's value, under its canonical name."""

    target: str
    source: str
    override: bool = False

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,)

    def apply(self, fields: Fields) -> Problems:
        _put(fields, self.target, fields.get(self.source), self.override)
        return []


@dataclass(frozen=True, slots=True)
class Default:
    """``target = { default = "value" }``: ``value`` when the field is missing or blank."""

    target: str
    value: str

    @property
    def sources(self) -> tuple[str, ...]:
        return ()

    def apply(self, fields: Fields) -> Problems:
        _put(fields, self.target, self.value, override=False)
        return []


@dataclass(frozen=True, slots=True)
class Constant:
    """``target = { constant = "value" }``: always ``value``, whatever the source said."""

    target: str
    value: str

    @property
    def sources(self) -> tuple[str, ...]:
        return ()

    def apply(self, fields: Fields) -> Problems:
        fields[self.target] = self.value
        return []


def join_parts(values: cabc.Iterable[object], separator: str) -> object:
    """The non-blank parts, each with its whitespace collapsed, joined by ``separator``.

    Missing parts are skipped; a part that is not text (a list, a float, ...) is returned
    as it is, so that validation refuses it instead of this function guessing."""
    texts: list[str] = []
    for value in values:
        if value is None:
            continue
        text = _text(value)
        if text is None:
            return value
        if normalised := " ".join(text.split()):
            texts.append(normalised)
    return separator.join(texts)


@dataclass(frozen=True, slots=True)
class Concat:
    """``target = { concat = ["first_name", "last_name"], separator = " " }``."""

    target: str
    parts: tuple[str, ...]
    separator: str = " "
    override: bool = False

    @property
    def sources(self) -> tuple[str, ...]:
        return self.parts

    def apply(self, fields: Fields) -> Problems:
        joined = join_parts((fields.get(name) for name in self.parts), self.separator)
        _put(fields, self.target, joined, self.override)
        return []


def split_by_shares(amount: Decimal, shares: cabc.Sequence[Decimal], places: int) -> list[Decimal]:
    """``amount`` split in proportion to ``shares`` (at least one, summing above 0).

    Every part but the last is its exact share rounded towards zero to ``places``
    decimals; the last takes the rest, so the parts always add up to ``amount`` exactly
    (and none is negative when the amount and the shares are not). Exact rational
    arithmetic: no float, no context rounding."""
    whole = sum((Fraction(s) for s in shares), Fraction(0))
    scale = 10**places
    head = [
        Decimal(int(Fraction(amount) * Fraction(s) / whole * scale)).scaleb(-places)
        for s in shares[:-1]
    ]
    return [*head, amount - sum(head, Decimal(0))]


def _bounded_decimal(value: object) -> Decimal | None:
    """A plain decimal with at most 12 integer digits and 6 decimals; None otherwise
    (validation then reports the value with its own reason)."""
    amount, _ = parse_decimal("", value)
    if amount is None or decimal_places(amount) > PRICE_PLACES:
        return None
    if not amount.is_zero() and amount.adjusted() >= MAX_INTEGER_DIGITS:
        return None
    return amount


def _money(amount: Decimal) -> str:
    return format(amount, "f")


@dataclass(frozen=True, slots=True)
class DealPart:
    """One entry of a deal's parts: its line's description, share and item code."""

    name: object
    share: Decimal
    item_code: object = None


WHOLE_DEAL: Final = DealPart(None, Decimal(1))


def _split_problem(where: str, message: str) -> Problems:
    return [RejectionReason(code=INVALID_SPLIT, message=f"{where} {message}", field=where)]


def _read_part(where: str, index: int, raw: object) -> tuple[DealPart | None, Problems]:
    path = f"{where}[{index}]"
    if not isinstance(raw, cabc.Mapping):
        return None, _split_problem(path, f"is {_show(raw)}; expected a table of name, share")
    share = _bounded_decimal(raw.get("share"))
    if share is None or share < 0:
        shown = _show(raw.get("share"))
        return None, _split_problem(path, f"share {shown} is not a decimal number of at least 0")
    return DealPart(raw.get("name"), share, raw.get("item_code")), []


def read_parts(where: str, raw: object) -> tuple[list[DealPart], Problems]:
    """The ``{name, share}`` entries of a deal, or the reasons they cannot split it."""
    if not isinstance(raw, list | tuple) or not raw:
        return [], _split_problem(where, f"is {_show(raw)}; expected a list of {{name, share}}")
    read = [_read_part(where, i, entry) for i, entry in enumerate(raw)]
    problems = [reason for _, found in read for reason in found]
    parts = [part for part, _ in read if part is not None]
    if not problems and not any(part.share > 0 for part in parts):
        problems = _split_problem(where, "has no share above 0: nothing to split the amount by")
    return parts, problems


def _places(fields: Fields) -> int:
    currency = fields.get("currency")
    if isinstance(currency, str) and is_currency(currency.strip()):
        return minor_unit(currency.strip())
    return 2


@dataclass(frozen=True, slots=True)
class SplitTotal:
    """``lines = { split_total = "deal_amount", description = "deal_name", tax = "deal_tax",
    parts = "deal_parts", item_code = "deal_product" }``: a CRM deal (one amount, no
    lines) as invoice lines of quantity 1, one per part (one line without parts)."""

    amount: str
    description: str | None = None
    tax: str | None = None
    parts: str | None = None
    item_code: str | None = None
    override: bool = False
    target: str = "lines"

    @property
    def sources(self) -> tuple[str, ...]:
        named = (self.amount, self.description, self.tax, self.parts, self.item_code)
        return tuple(name for name in named if name is not None)

    def _get(self, fields: Fields, name: str | None) -> object:
        return None if name is None else fields.get(name)

    def apply(self, fields: Fields) -> Problems:
        raw_amount = fields.get(self.amount)
        if _blank(raw_amount) or not (self.override or _blank(fields.get("lines"))):
            return []
        parts, problems = self._parts(fields)
        if problems:
            return problems
        amount, tax = _bounded_decimal(raw_amount), self._tax(fields)
        if amount is None or tax is None:
            self._pass_through(fields, raw_amount)
        else:
            self._split(fields, amount, tax, parts)
        return []

    def _parts(self, fields: Fields) -> tuple[list[DealPart], Problems]:
        raw = self._get(fields, self.parts)
        if self.parts is None or _blank(raw):
            return [WHOLE_DEAL], []
        return read_parts(self.parts, raw)

    def _tax(self, fields: Fields) -> Decimal | None:
        raw = self._get(fields, self.tax)
        return Decimal(0) if _blank(raw) else _bounded_decimal(raw)

    def _line(self, fields: Fields, part: DealPart, price: object, tax: object) -> Fields:
        name = part.name if not _blank(part.name) else self._get(fields, self.description)
        code = part.item_code if not _blank(part.item_code) else self._get(fields, self.item_code)
        line: Fields = {"description": name, "quantity": "1", "unit_price": price}
        if not _blank(self._get(fields, self.tax)):
            line["tax_amount"] = tax
        if not _blank(code):
            line["item_code"] = code
        return line

    def _pass_through(self, fields: Fields, raw_amount: object) -> None:
        """An amount or tax that is not a usable decimal goes on as it is, on one line,
        for validation to refuse with its own reason."""
        tax = self._get(fields, self.tax)
        fields["lines"] = [self._line(fields, WHOLE_DEAL, raw_amount, tax)]
        _put(fields, "total", raw_amount, override=False)

    def _split(self, fields: Fields, amount: Decimal, tax: Decimal, parts: list[DealPart]) -> None:
        places, shares = _places(fields), [part.share for part in parts]
        prices = split_by_shares(amount, shares, places)
        taxes = split_by_shares(tax, shares, places)
        fields["lines"] = [
            self._line(fields, part, _money(price), _money(part_tax))
            for part, price, part_tax in zip(parts, prices, taxes, strict=True)
        ]
        discount = _bounded_decimal(fields.get("discount")) or Decimal(0)
        _put(fields, "total", _money(amount + tax - discount), override=False)


# --------------------------------------------------------------------------- item policy


@dataclass(frozen=True, slots=True)
class ItemPolicy:
    """``[items]``: source item codes rewritten to ledger items; what happens to the rest."""

    unmatched: Unmatched = "create"
    items: cabc.Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    def creates(self, code: str) -> bool:
        """Whether the sync creates ledger item ``code`` when the ledger lacks it: only an
        unlisted code under ``unmatched = "create"`` (a code the map sends to a ledger item
        must name one that exists: it is never invented)."""
        return self.unmatched == "create" and code not in self.items.values()

    def apply(self, fields: Fields, source: str) -> Problems:
        """Rewrite mapped item codes on the document's lines; reasons for unmatched ones."""
        lines = fields.get("lines")
        if not isinstance(lines, list | tuple):
            return []
        reasons: Problems = []
        mapped = [self._line(i, line, source, reasons) for i, line in enumerate(lines)]
        if any(new is not old for new, old in zip(mapped, lines, strict=True)):
            fields["lines"] = mapped
        return reasons

    def _line(self, index: int, line: object, source: str, reasons: Problems) -> Any:
        if not isinstance(line, cabc.Mapping):
            return line
        code = line.get("item_code")
        if not isinstance(code, str) or not code.strip():
            return line
        if code.strip() in self.items:
            return {**line, "item_code": self.items[code.strip()]}
        if self.unmatched == "review":
            reasons.append(unmatched_item(index, code.strip(), source))
        return line


def unmatched_item(index: int, code: str, source: str) -> RejectionReason:
    path = f"lines[{index}].item_code"
    return RejectionReason(
        code=UNMATCHED_ITEM,
        message=f"{path} {_show(code)} is not in [items.map] of {source}, whose policy sends "
        f'unmatched items to review: add {_show(code)} = "<ledger item>" to [items.map] '
        'there, or set unmatched = "create", then retry the record',
        field=path,
    )


# --------------------------------------------------------------------------- the mapping


@dataclass(frozen=True, slots=True)
class Mapping:
    """The transforms and item policy of one version of a ledger's mapping file.

    ``version`` is ``"<ledger>@<first 12 hex digits of the file's SHA-256>"``, the same
    string :func:`syncledger.core.bootstrap.publish_mapping` publishes and every push records."""

    ledger: str
    version: str
    sha256: str
    source: str
    transforms: cabc.Mapping[str, tuple[Transform, ...]] = field(hash=False)
    items: ItemPolicy = field(hash=False)

    @classmethod
    def from_text(cls, ledger: str, text: str, *, source: str | None = None) -> Mapping:
        """Parse and check the mapping file ``text``; ``source`` names it in errors."""
        where = source or f"the {ledger} mapping"
        raw = _parse_toml(text, where)
        digest = hashlib.sha256(text.encode()).hexdigest()
        return cls(
            ledger=ledger,
            version=f"{ledger}@{digest[:12]}",
            sha256=digest,
            source=where,
            transforms=MappingProxyType(_parse_transforms(raw, where)),
            items=_parse_items(raw, where),
        )

    def apply(
        self, kind: str, fields: cabc.Mapping[str, Any]
    ) -> tuple[Fields, tuple[RejectionReason, ...]]:
        """``fields`` transformed for a record of ``kind``, and the reasons the mapping
        refuses it for (unmatched items under ``review``, unusable deal parts); empty when
        it passes. Never raises on bad values, never changes ``fields``."""
        try:
            return self._apply(kind, fields)
        except Exception as exc:  # last line of defence: bad input is data, not a crash
            message = f"the mapping {self.version} could not be applied ({type(exc).__name__}): "
            reason = RejectionReason(code=INVALID_RECORD, message=message + "report this bug")
            return dict(fields) if isinstance(fields, cabc.Mapping) else {}, (reason,)

    def _apply(
        self, kind: str, fields: cabc.Mapping[str, Any]
    ) -> tuple[Fields, tuple[RejectionReason, ...]]:
        working = dict(fields)
        reasons: Problems = []
        transforms = self.transforms.get(kind, ())
        for transform in transforms:
            reasons.extend(transform.apply(working))
        for name in _consumed(kind, transforms):
            working.pop(name, None)
        if kind in DOCUMENT_KINDS:
            reasons.extend(self.items.apply(working, self.source))
        return working, tuple(reasons)


def _consumed(kind: str, transforms: tuple[Transform, ...]) -> set[str]:
    """Source fields read by a transform that are not canonical fields of ``kind``: they
    are dropped once read (validation refuses unknown fields)."""
    canonical = FIELDS.get(kind, frozenset())
    return {name for t in transforms for name in t.sources if name not in canonical}


def load_mapping(ledger: str, path: Path) -> Mapping:
    """The mapping of ``ledger`` from ``path``, its platform's ``mapping.toml`` (the file
    :func:`syncledger.core.bootstrap.publish_mapping` hashes, read the same way)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read the mapping file {path}: {exc}") from exc
    return Mapping.from_text(ledger, text, source=str(path))


# --------------------------------------------------------------------------- parsing

OPTIONS: Final[cabc.Mapping[str, frozenset[str]]] = {
    "rename": frozenset({"override"}),
    "default": frozenset(),
    "constant": frozenset(),
    "concat": frozenset({"separator", "override"}),
    "split_total": frozenset({"description", "tax", "parts", "item_code", "override"}),
}
TRANSFORM_NAMES: Final = ", ".join(sorted(OPTIONS))


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a setting is: file, section, key (for error messages)."""

    source: str
    section: str
    key: str

    def error(self, problem: str) -> ConfigurationError:
        return ConfigurationError(f"{self.source} [{self.section}] {self.key}: {problem}")


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{source} is not valid TOML ({exc}): fix the syntax") from exc


def _table(value: object, where: _Where, example: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise where.error(f"is {_show(value)}; expected a table such as {example}")
    return value


def _parse_transforms(raw: dict[str, Any], source: str) -> dict[str, tuple[Transform, ...]]:
    if "transforms" not in raw:
        return {}
    where = _Where(source, "transforms", "transforms")
    tables = _table(raw["transforms"], where, "[transforms.invoice]")
    return {kind: _parse_kind(kind, body, source) for kind, body in tables.items()}


def _parse_kind(kind: str, body: object, source: str) -> tuple[Transform, ...]:
    if kind not in RECORD_KINDS:
        kinds = ", ".join(RECORD_KINDS)
        raise _Where(source, "transforms", kind).error(f"is not a record kind: use one of {kinds}")
    section = f"transforms.{kind}"
    table = _table(body, _Where(source, "transforms", kind), f"[{section}]")
    return tuple(
        _parse_transform(kind, target, spec, _Where(source, section, target))
        for target, spec in table.items()
    )


def _operation(spec: dict[str, Any], where: _Where) -> str:
    named = [key for key in spec if key in OPTIONS]
    if len(named) > 1:
        raise where.error(f"combines {' and '.join(named)}: give one transform per field")
    if named:
        return named[0]
    allowed = {option for options in OPTIONS.values() for option in options}
    unknown = [key for key in spec if key not in allowed]
    what = f"unknown transform {unknown[0]!r}" if unknown else "names no transform"
    raise where.error(f"{what}: use one of {TRANSFORM_NAMES}")


def _check_target(kind: str, target: str, operation: str, where: _Where) -> None:
    canonical = FIELDS[kind]
    if target not in canonical:
        names = ", ".join(sorted(canonical))
        raise where.error(f"is not a field of a {kind}: the target must be one of {names}")
    if operation == "split_total" and (kind not in DOCUMENT_KINDS or target != "lines"):
        raise where.error(
            "split_total builds the lines of an invoice or credit note: write it "
            "as lines = { split_total = ... } under [transforms.invoice]"
        )


def _parse_transform(kind: str, target: str, spec: object, where: _Where) -> Transform:
    example = '{ rename = "source_field" }'
    options = _Options(_table(spec, where, example), where)
    operation = _operation(options.spec, where)
    _check_target(kind, target, operation, where)
    options.check_known(operation, OPTIONS[operation])
    return _BUILDERS[operation](target, operation, options)


@dataclass(frozen=True, slots=True)
class _Options:
    """The inline table of one transform, read with its type checked."""

    spec: dict[str, Any]
    where: _Where

    def check_known(self, operation: str, allowed: frozenset[str]) -> None:
        unknown = sorted(set(self.spec) - allowed - {operation})
        if unknown:
            choices = ", ".join(sorted(allowed)) or "none"
            raise self.where.error(
                f"{operation} takes no option {unknown[0]!r}: its options are {choices}"
            )

    def field_name(self, key: str) -> str | None:
        value = self.spec.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip() or value == MALFORMED_FIELD:
            raise self.where.error(f"{key} = {_show(value)} is not a source field name")
        return value

    def required_name(self, key: str) -> str:
        name = self.field_name(key)
        if name is None:
            raise self.where.error(f"{key} needs a source field name")
        return name

    def names(self, key: str) -> tuple[str, ...]:
        value = self.spec[key]
        if not isinstance(value, list) or not value:
            raise self.where.error(f"{key} = {_show(value)}: expected a list of field names")
        for name in value:
            if not isinstance(name, str) or not name.strip() or name == MALFORMED_FIELD:
                raise self.where.error(f"{key}: {_show(name)} is not a source field name")
        return tuple(value)

    def text(self, key: str, default: str) -> str:
        value = self.spec.get(key, default)
        if not isinstance(value, str):
            raise self.where.error(f"{key} = {_show(value)}: expected text in quotes")
        return value

    def flag(self, key: str) -> bool:
        value = self.spec.get(key, False)
        if not isinstance(value, bool):
            raise self.where.error(f"{key} = {_show(value)}: expected true or false")
        return value

    def value(self, key: str) -> str:
        value = self.spec[key]
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str):
            return value
        raise self.where.error(
            f'{key} = {_show(value)}: write the value as text in quotes, e.g. "12.50" '
            "(a TOML float is binary and inexact; booleans and dates are not field values)"
        )


def _build_rename(target: str, op: str, options: _Options) -> Transform:
    return Rename(target, options.required_name(op), options.flag("override"))


def _build_default(target: str, op: str, options: _Options) -> Transform:
    return Default(target, options.value(op))


def _build_constant(target: str, op: str, options: _Options) -> Transform:
    return Constant(target, options.value(op))


def _build_concat(target: str, op: str, options: _Options) -> Transform:
    separator = options.text("separator", " ")
    return Concat(target, options.names(op), separator, options.flag("override"))


def _build_split_total(target: str, op: str, options: _Options) -> Transform:
    return SplitTotal(
        amount=options.required_name(op),
        description=options.field_name("description"),
        tax=options.field_name("tax"),
        parts=options.field_name("parts"),
        item_code=options.field_name("item_code"),
        override=options.flag("override"),
        target=target,
    )


_BUILDERS: Final[cabc.Mapping[str, cabc.Callable[[str, str, _Options], Transform]]] = {
    "rename": _build_rename,
    "default": _build_default,
    "constant": _build_constant,
    "concat": _build_concat,
    "split_total": _build_split_total,
}


def _parse_items(raw: dict[str, Any], source: str) -> ItemPolicy:
    if "items" not in raw:
        return ItemPolicy()
    body = _table(raw["items"], _Where(source, "items", "items"), '[items] unmatched = "create"')
    unknown = sorted(set(body) - {"unmatched", "map"})
    if unknown:
        raise _Where(source, "items", unknown[0]).error(
            "is not an item setting: use unmatched and [items.map]"
        )
    return ItemPolicy(_unmatched(body, source), MappingProxyType(_item_map(body, source)))


def _unmatched(body: dict[str, Any], source: str) -> Unmatched:
    value = body.get("unmatched", "create")
    if value == "create":
        return "create"
    if value == "review":
        return "review"
    raise _Where(source, "items", "unmatched").error(
        f'= {_show(value)}: use "create" (push unlisted items as they are) or "review" '
        "(reject records with unlisted items)"
    )


def _item_map(body: dict[str, Any], source: str) -> dict[str, str]:
    where = _Where(source, "items.map", "map")
    table = _table(body.get("map", {}), where, '[items.map] "SKU-1" = "Services"')
    for code, item in table.items():
        if not code.strip() or not isinstance(item, str) or not item.strip():
            raise _Where(source, "items.map", code).error(
                f"= {_show(item)}: map a source item code to a ledger item name or id in quotes"
            )
    return {code.strip(): item.strip() for code, item in table.items()}
