"""`syncledger witness …` as an operator runs it: one line and a non-zero exit on errors."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519
from typer.testing import CliRunner

from syncledger.audit.note import SIG_COSIGNATURE_V1, NoteVerifier
from syncledger.audit.note_checkpoint import log_verifier
from syncledger.audit.witness_cli import witness_app

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(witness_app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_init_prints_a_cosignature_vkey_and_keeps_its_key_private(tmp_path: Path) -> None:
    state = tmp_path / "w"
    code, out, _ = invoke("init", "--state-dir", str(state), "--name", "witness.example/w1")
    assert code == 0
    verifier = NoteVerifier.from_vkey(out.strip())
    assert verifier.name == "witness.example/w1" and verifier.sig_type == SIG_COSIGNATURE_V1
    assert invoke("vkey", "--state-dir", str(state))[1].strip() == out.strip()
    assert stat.S_IMODE((state / "witness.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE((state / "witness.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    code, _, err = invoke("init", "--state-dir", str(state), "--name", "witness.example/w1")
    assert code != 0 and err.count("\n") == 1 and "holds a witness already" in err


def test_trust_takes_log_vkeys_only(tmp_path: Path) -> None:
    state = str(tmp_path / "w")
    invoke("init", "--state-dir", state, "--name", "witness.example/w1")
    log_key = ed25519.Ed25519PrivateKey.generate().public_key()
    code, out, _ = invoke(
        "trust", "--state-dir", state, log_verifier("log.example/a", log_key).vkey()
    )
    assert code == 0 and out.startswith("following log.example/a")
    code, _, err = invoke("trust", "--state-dir", state, "not-a-vkey")
    assert code == 2 and err.startswith("error:") and err.count("\n") == 1
    own = invoke("vkey", "--state-dir", state)[1].strip()
    code, _, err = invoke("trust", "--state-dir", state, own)
    assert code != 0 and "a log key is an Ed25519 note key" in err


def test_commands_on_a_directory_that_is_no_witness_say_so(tmp_path: Path) -> None:
    code, _, err = invoke("vkey", "--state-dir", str(tmp_path / "nothing"))
    assert code != 0 and err.count("\n") == 1 and "syncledger witness init" in err
    state = str(tmp_path / "w")
    invoke("init", "--state-dir", state, "--name", "witness.example/w1")
    code, _, err = invoke("latest", "--state-dir", state, "--origin", "log.example/a")
    assert code == 1 and "no checkpoint of log.example/a" in err
