"""Reading the personal fields of an event: present, erased (key shredded) or unavailable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from syncledger.audit.index import LoggedEvent
from syncledger.core.errors import KeyStoreError, SubjectErased
from syncledger.core.events import SealedPii
from syncledger.core.keystore import KeyStore, PiiSealer

ERASED = "[erased]"


@dataclass(frozen=True)
class PersonalData:
    status: Literal["none", "present", "erased", "unavailable"]
    fields: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "fields": self.fields}


def open_personal(keys: KeyStore, ev: LoggedEvent) -> PersonalData:
    sealed = ev.doc.get("pii")
    if not sealed:
        return PersonalData("none")
    try:
        fields = PiiSealer(keys).open(SealedPii.model_validate(sealed), ev.id)
    except SubjectErased:
        return PersonalData("erased")
    except KeyStoreError:
        return PersonalData("unavailable")
    return PersonalData("present", fields)
