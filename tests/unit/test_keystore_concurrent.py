"""Two processes (here: two key stores on one keys.db, in two threads) asked for the
same new data key at once get the same key: ingest hashes and seals with it, so two
imports at once must agree on it (issue 19 §1)."""

from __future__ import annotations

import threading
from pathlib import Path

from syncledger.core.keystore import SqliteKeyStore

KEK = b"k" * 32
IDS = [f"acme/csv/customer/C{i}" for i in range(300)]


def test_racing_stores_agree_on_every_new_key(tmp_path: Path) -> None:
    stores = [SqliteKeyStore(tmp_path / "keys.db", KEK) for _ in range(2)]
    found: list[dict[str, bytes]] = [{}, {}]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def take(n: int) -> None:
        start.wait()
        try:
            for key_id in IDS:
                found[n][key_id] = stores[n].data_key(key_id, create=True)
        except BaseException as exc:  # reported below, with the other thread's result
            errors.append(exc)

    threads = [threading.Thread(target=take, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert errors == []
    assert found[0] == found[1] and len(found[0]) == len(IDS)
