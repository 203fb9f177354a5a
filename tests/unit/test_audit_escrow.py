"""KEK escrow (issue 18): any K of N custodians' shares rebuild the KEK, K-1 do not; shares
of another KEK or environment are refused; recovery writes the KEK where it is read from,
never over another; the log records escrow and recovery, never a share."""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import stat
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from syncledger.audit import cli
from syncledger.audit.context import AuditContext
from syncledger.audit.escrow import EscrowError, EscrowShare, combine_shares, split_kek
from syncledger.audit.escrow_kek import escrow_kek, recover_kek, write_shares
from syncledger.audit.index import LogIndex
from syncledger.core.exit_codes import exit_code_of
from syncledger.core.key_environment import EnvironmentMismatch
from syncledger.core.keystore import SqliteKeyStore, kek_id_of, load_or_create_kek
from syncledger.core.store_memory import MemoryEventStore

NAMES = ["alice", "bob", "carol", "dave", "erin"]
runner = CliRunner()


def kek() -> bytes:
    return os.urandom(32)


def test_any_k_of_n_shares_rebuild_the_kek_and_k_minus_1_do_not() -> None:
    secret = kek()
    shares = split_kek(secret, "prod", NAMES, 3)
    assert [s.custodian for s in shares] == NAMES
    assert {(s.kek_id, s.environment, s.threshold, s.count) for s in shares} == {
        (kek_id_of(secret), "prod", 3, 5)
    }
    for chosen in itertools.combinations(shares, 3):
        assert combine_shares(list(chosen), "prod") == secret
    assert combine_shares(shares, "prod") == secret  # more than K: K of them are used
    for chosen in itertools.combinations(shares, 2):
        with pytest.raises(EscrowError, match="2 distinct share"):
            combine_shares(list(chosen), "prod")


@st.composite
def escrows(draw: st.DrawFn) -> tuple[bytes, int, int, list[int]]:
    """A KEK, N custodians, a threshold K and some of the shares, in any order."""
    count = draw(st.integers(2, 8))
    threshold = draw(st.integers(2, count))
    order = draw(st.permutations(range(count)))
    given_shares = draw(st.integers(1, count))
    secret = draw(st.binary(min_size=32, max_size=32))
    return secret, count, threshold, list(order[:given_shares])


@settings(max_examples=25, deadline=None)
@given(escrows())
def test_property_some_shares_rebuild_the_kek_exactly_when_they_reach_the_threshold(
    drawn: tuple[bytes, int, int, list[int]],
) -> None:
    secret, count, threshold, chosen = drawn
    shares = split_kek(secret, "dev", [f"c{i}" for i in range(count)], threshold)
    subset = [shares[i] for i in chosen]
    if len(subset) >= threshold:
        assert combine_shares(subset, "dev") == secret
    else:
        with pytest.raises(EscrowError, match=f"{threshold} needed"):
            combine_shares(subset, "dev")


def test_the_same_share_twice_counts_once() -> None:
    shares = split_kek(kek(), "dev", NAMES[:3], 2)
    with pytest.raises(EscrowError, match=r"1 distinct share\(s\) given, 2 needed"):
        combine_shares([shares[0], shares[0]], "dev")


def test_a_share_of_another_kek_is_refused_by_name() -> None:
    ours = split_kek(kek(), "prod", NAMES[:3], 2)
    theirs = split_kek(kek(), "prod", NAMES[:3], 2)
    with pytest.raises(EscrowError, match=r"bob's share is of kek-.*alice's share of kek-"):
        combine_shares([ours[0], theirs[1]], "prod")


def test_a_relabelled_share_of_another_kek_does_not_rebuild_a_key() -> None:
    ours = split_kek(kek(), "prod", NAMES[:3], 2)
    other = split_kek(kek(), "prod", NAMES[:3], 2)[1]
    forged = EscrowShare(**{**other.__dict__, "kek_id": ours[0].kek_id})
    with pytest.raises(EscrowError, match="do not rebuild a key together") as caught:
        combine_shares([ours[0], forged], "prod")
    assert other.words.split()[0] not in str(caught.value)  # never the share's words


def test_a_share_of_another_environment_is_refused() -> None:
    shares = split_kek(kek(), "staging", NAMES[:3], 2)
    with pytest.raises(EnvironmentMismatch, match=r"made for the staging environment.* as prod"):
        combine_shares(shares[:2], "prod")


def test_a_share_relabelled_with_another_environment_rebuilds_no_kek() -> None:
    secret = kek()
    staged = split_kek(secret, "staging", NAMES[:3], 2)
    relabelled = [EscrowShare(**{**s.__dict__, "environment": "prod"}) for s in staged[:2]]
    with pytest.raises(EscrowError, match="not kek-"):
        combine_shares(relabelled, "prod")


@pytest.mark.parametrize(("count", "threshold"), [(1, 1), (3, 1), (3, 4), (17, 2)])
def test_thresholds_outside_two_to_n_and_more_than_16_shares_are_refused(
    count: int, threshold: int
) -> None:
    with pytest.raises(EscrowError):
        split_kek(kek(), "dev", [f"c{i}" for i in range(count)], threshold)


def test_share_files_are_private_name_their_custodian_kek_and_environment(
    tmp_path: Path,
) -> None:
    secret = kek()
    shares = split_kek(secret, "prod", ["Ann Lee", "bob"], 2)
    paths = write_shares(shares, tmp_path / "out")
    assert [p.name for p in paths] == ["kek-share-1-of-2-Ann-Lee.txt", "kek-share-2-of-2-bob.txt"]
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = paths[0].read_text()
    assert "custodian: Ann Lee" in text and f"kek-id: {kek_id_of(secret)}" in text
    assert "environment: prod" in text and "share: 1 of 2 (2 needed)" in text
    assert EscrowShare.from_text(text).words == shares[0].words
    with pytest.raises(Exception, match="already exists"):
        write_shares(shares, tmp_path / "out")


def shares_in(tmp_path: Path, secret: bytes, environment: str = "dev") -> list[Path]:
    return write_shares(split_kek(secret, environment, NAMES[:3], 2), tmp_path / "shares")


def test_recovery_writes_the_kek_where_it_is_read_and_tags_it(tmp_path: Path) -> None:
    secret = kek()
    files = shares_in(tmp_path, secret)
    target = tmp_path / "cfg" / "kek.key"
    done = recover_kek(files[1:], target, "dev", tmp_path / "no-keys.db")
    assert done.written and done.kek_id == kek_id_of(secret)
    assert done.custodians == ("bob", "carol")
    assert load_or_create_kek(target) == secret
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert (tmp_path / "cfg" / "kek.key.environment").read_text().strip() == "dev"
    again = recover_kek(files[:2], target, "dev", tmp_path / "no-keys.db")
    assert not again.written


def test_recovery_never_overwrites_another_kek(tmp_path: Path) -> None:
    files = shares_in(tmp_path, kek())
    target = tmp_path / "kek.key"
    target.write_text(base64.b64encode(kek()).decode())
    before = target.read_bytes()
    with pytest.raises(Exception, match="refusing to overwrite") as caught:
        recover_kek(files[:2], target, "dev", tmp_path / "no-keys.db")
    assert exit_code_of(caught.value) == 2  # type: ignore[arg-type]
    assert target.read_bytes() == before


def test_recovery_refuses_shares_of_a_kek_keys_db_is_not_wrapped_by(tmp_path: Path) -> None:
    old, current = kek(), kek()
    keys = SqliteKeyStore(tmp_path / "keys.db", current, kek_id_of(current), "dev")
    keys.data_key("dsk-1", create=True)
    keys.close()
    files = shares_in(tmp_path, old)
    with pytest.raises(EscrowError, match=r"wrapped by kek-.*escrowed before a rotation"):
        recover_kek(files[:2], tmp_path / "kek.key", "dev", tmp_path / "keys.db")
    assert not (tmp_path / "kek.key").exists()


def test_recovery_refuses_a_keys_db_of_another_environment(tmp_path: Path) -> None:
    secret = kek()
    SqliteKeyStore(tmp_path / "keys.db", secret, kek_id_of(secret), "prod").close()
    files = shares_in(tmp_path, secret, "dev")
    with pytest.raises(EnvironmentMismatch, match=r"keys\.db was made for the prod"):
        recover_kek(files[:2], tmp_path / "kek.key", "dev", tmp_path / "keys.db")


def sqlite_context(tmp_path: Path, environment: str = "dev") -> AuditContext:
    kek_file = tmp_path / "kek.key"
    secret = load_or_create_kek(kek_file)
    keys = SqliteKeyStore(tmp_path / "keys.db", secret, kek_id_of(secret), environment)
    keys.data_key("dsk-1", create=True)
    return AuditContext(MemoryEventStore(), keys, tmp_path, "acme", "ops", kek_file=kek_file)


def test_escrow_is_recorded_with_custodians_and_threshold_never_a_share(tmp_path: Path) -> None:
    ctx = sqlite_context(tmp_path, "staging")
    delivered: list[EscrowShare] = []
    shares = asyncio.run(escrow_kek(ctx, NAMES[:4], 3, delivered.extend))
    assert delivered == shares
    index = asyncio.run(LogIndex.build(ctx.store))
    (event,) = list(index.of_type("KeyEncryptionKeyEscrowed"))
    assert event.data["custodians"] == NAMES[:4] and event.data["threshold"] == 3
    assert event.data["environment"] == "staging"
    assert event.data["kek_id"] == kek_id_of(load_or_create_kek(tmp_path / "kek.key"))
    raw = event.raw.decode()
    assert all(s.words.split()[4] not in raw for s in shares)  # no share words logged


# ---------------------------------------------------------------- the commands, in-process


@pytest.fixture
def wired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AuditContext:
    """The audit CLI on a real keys.db and KEK file (the log in memory)."""
    ctx = sqlite_context(tmp_path)
    monkeypatch.setenv("SYNCLEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SYNCLEDGER_KEK_FILE", str(tmp_path / "kek.key"))
    monkeypatch.delenv("SYNCLEDGER_ENVIRONMENT", raising=False)

    @asynccontextmanager
    async def factory() -> AsyncIterator[AuditContext]:
        yield ctx

    cli.set_context_factory(factory)
    return ctx


def test_escrow_then_recover_through_the_commands(wired: AuditContext, tmp_path: Path) -> None:
    secret = (tmp_path / "kek.key").read_bytes()
    made = runner.invoke(
        cli.audit_app,
        [
            *("keys", "escrow", "--custodians", "3", "--threshold", "2", "--out-dir", "sh"),
            *("--name", "alice", "--name", "bob", "--name", "carol"),
        ],
        catch_exceptions=False,
    )
    assert made.exit_code == 0, made.output
    files = sorted(Path("sh").glob("kek-share-*"))
    assert len(files) == 3
    (tmp_path / "kek.key").unlink()
    one = runner.invoke(cli.audit_app, ["keys", "recover", "--share", str(files[0])])
    assert one.exit_code == 2
    assert one.stderr.strip().splitlines() == [
        f"error: 1 distinct share(s) given, 2 needed to rebuild {wired.keystore.kek_id} "  # type: ignore[attr-defined]
        "(escrow: 2 of 3)"
    ]
    two = runner.invoke(
        cli.audit_app, ["keys", "recover", "--share", str(files[0]), "--share", str(files[2])]
    )
    assert two.exit_code == 0, two.output
    assert (tmp_path / "kek.key").read_bytes().strip() == secret.strip()
    index = asyncio.run(LogIndex.build(wired.store))
    (recovered,) = list(index.of_type("KeyEncryptionKeyRecovered"))
    assert recovered.data["custodians"] == ["alice", "carol"]


def test_print_shows_the_shares_once_and_writes_no_file(wired: AuditContext) -> None:
    shown = runner.invoke(
        cli.audit_app, ["keys", "escrow", "--custodians", "2", "--threshold", "2", "--print"]
    )
    assert shown.exit_code == 0, shown.output
    printed = [
        EscrowShare.from_text(block)
        for block in shown.stdout.split("# syncledger KEK escrow share")[1:]
    ]
    assert [s.custodian for s in printed] == ["custodian-1", "custodian-2"]
    assert combine_shares(printed, "dev") == load_or_create_kek(Path("kek.key"))
    assert not list(Path().rglob("kek-share-*"))


def test_a_share_never_shows_its_words_in_its_repr() -> None:
    share = split_kek(kek(), "dev", NAMES[:2], 2)[0]
    shown = repr(share).replace("(", " ").replace(",", " ").split()
    assert shown[:2] == ["EscrowShare", "'alice'"]
    assert not set(share.words.split()) & set(shown)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--custodians", "3", "--threshold", "2", "--name", "a"], "but 1 --name given"),
        (["--custodians", "2", "--threshold", "2"], "exactly one of --out-dir DIR or --print"),
        (["--custodians", "3", "--threshold", "1", "--print"], "threshold must be 2 to 3"),
    ],
)
def test_escrow_refuses_bad_arguments_in_one_line(
    wired: AuditContext, args: list[str], says: str
) -> None:
    result = runner.invoke(cli.audit_app, ["keys", "escrow", *args])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert says in line
    assert not list(asyncio.run(LogIndex.build(wired.store)).of_type("KeyEncryptionKeyEscrowed"))


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    yield
    cli._factory = None
