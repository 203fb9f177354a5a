"""Checking the configuration before a command runs: every problem is one
``ConfigurationError`` naming where it is (the variable, or the file and line) and, for a
misspelt name, the nearest valid one.

- ``syncledger.toml``: a syntax error names the file, line and column; an unknown key
  names the key, its line and the nearest setting; so does an unknown key in an
  ``[entity_ledgers.<name>]`` table (``run --entities``).
- ``SYNCLEDGER_*`` variables: an unknown one names the nearest known variable. Known are
  the settings (``Settings``), the per-platform credentials ``SYNCLEDGER_<LEDGER>_<NAME>``
  and ``SYNCLEDGER_<SOURCE>_<NAME>`` (each platform's ``credential_names``), variables an
  alert channel names in ``url_env``/``secret_env``/``password_env``, and the few read
  outside the settings (:data:`OTHER_VARIABLES`).
- A value that does not validate names the variable, or the file and line, it came from.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import SettingsError

from syncledger.core.errors import ConfigurationError
from syncledger.core.settings import EntityLedger, Settings

PREFIX = "SYNCLEDGER_"
#: read outside the settings: logging (core/logs.py), tracebacks (core/cli.py), tests
OTHER_VARIABLES = frozenset(
    {
        "SYNCLEDGER_DEBUG",
        "SYNCLEDGER_LOG_LEVEL",
        "SYNCLEDGER_LOG_FORMAT",
        "SYNCLEDGER_UPDATE_SCREENSHOTS",
        "SYNCLEDGER_TESTS_NO_DOCKER",
    }
)
_CHANNEL_VARIABLES = ("url_env", "secret_env", "password_env")


def toml_path() -> Path:
    """The settings file the settings read (relative to the working directory)."""
    return Path(str(Settings.model_config.get("toml_file") or "syncledger.toml"))


def check_configuration(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings as configured (no command-line overrides), after checking the file
    and the environment; ``ConfigurationError`` for the first problem."""
    env = os.environ if environ is None else environ
    read_toml(toml_path())
    loaded = load_settings({}, env)
    check_environment(env, extra=channel_variables(loaded))
    return loaded


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed file ({} when absent); its syntax and its keys checked."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from exc
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid TOML: {exc}; fix that line") from exc
    for key in document:
        if key not in Settings.model_fields:
            raise ConfigurationError(
                f"{path}{_line_part(text, key)}: unknown setting {key!r}"
                f"{nearest_hint(key, Settings.model_fields)}"
            )
    _check_entity_tables(path, text, document.get("entity_ledgers"))
    return document


def _check_entity_tables(path: Path, text: str, tables: object) -> None:
    """``[entity_ledgers.<name>]``: a table per entity, with only :class:`EntityLedger`'s
    keys (a misspelt one names the nearest)."""
    if tables is None:
        return
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise ConfigurationError(
            f"{path}{_line_part(text, 'entity_ledgers')}: give each entity its own table, "
            "[entity_ledgers.<name>] with ledger, ledger_url, tenant, home_currency"
        )
    for name, table in tables.items():
        for key in table:
            if key not in EntityLedger.model_fields:
                raise ConfigurationError(
                    f"{path}{_line_part(text, key)}: unknown key {key!r} in "
                    f"[entity_ledgers.{name}]{nearest_hint(key, EntityLedger.model_fields)}"
                )


def load_settings(
    overrides: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> Settings:
    """``Settings(**overrides)``; a value that does not validate is a ConfigurationError
    naming where it came from (command-line option, variable, or file and line)."""
    env = os.environ if environ is None else environ
    try:
        return Settings(**overrides)
    except SettingsError as exc:
        raise ConfigurationError(_settings_error_line(exc, env)) from exc
    except PydanticValidationError as exc:
        raise ConfigurationError(_validation_line(exc, overrides, env)) from exc


def check_environment(environ: Mapping[str, str], *, extra: Iterable[str] = ()) -> None:
    """Every ``SYNCLEDGER_*`` variable is one syncledger reads."""
    allowed = set(extra)
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper in allowed or _known_variable(upper):
            continue
        raise ConfigurationError(
            f"unknown environment variable {name}{nearest_hint(upper, known_variables(upper))}"
            " (unset it or correct its name)"
        )


def channel_variables(settings: Settings) -> set[str]:
    """Variables the configured alert channels name (they hold URLs and secrets)."""
    names = set()
    for channel in settings.alert_channels:
        for attr in _CHANNEL_VARIABLES:
            value = getattr(channel, attr, None)
            if isinstance(value, str):
                names.add(value.upper())
    return names


def nearest_hint(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


# ---------------------------------------------------------------------- variables


def _setting_variables() -> set[str]:
    return {PREFIX + name.upper() for name in Settings.model_fields}


def _platform_prefixes() -> dict[str, tuple[str, str]]:
    """``SYNCLEDGER_<ID>_`` → (kind, id) for every ledger and source (no module imported)."""
    from syncledger.adapters.platforms import platform_ids
    from syncledger.adapters.sources.registry import source_ids

    found = {_prefix_of(i): ("ledger", i) for i in platform_ids()}
    found.update({_prefix_of(i): ("source", i) for i in source_ids()})
    return found


def _prefix_of(platform_id: str) -> str:
    return PREFIX + platform_id.upper().replace("-", "_") + "_"


def _credential_variables(kind: str, platform_id: str) -> set[str]:
    from syncledger.adapters.platforms import platform
    from syncledger.adapters.sources.registry import source

    try:
        names = (platform if kind == "ledger" else source)(platform_id).credential_names
    except ConfigurationError:  # not in this build: it reads nothing
        return set()
    return {_prefix_of(platform_id) + n.upper() for n in names}


def _known_variable(name: str) -> bool:
    if name in OTHER_VARIABLES or name in _setting_variables():
        return True
    for prefix, (kind, platform_id) in _platform_prefixes().items():
        if name.startswith(prefix) and name in _credential_variables(kind, platform_id):
            return True
    return False


def known_variables(name: str) -> set[str]:
    """The candidates for a hint: the settings, and the credentials of the platform the
    name starts with (if it starts with one)."""
    known = _setting_variables() | OTHER_VARIABLES
    for prefix, (kind, platform_id) in _platform_prefixes().items():
        if name.startswith(prefix):
            known |= _credential_variables(kind, platform_id)
    return known


# ---------------------------------------------------------------------- values


def _settings_error_line(exc: SettingsError, env: Mapping[str, str]) -> str:
    """pydantic-settings could not parse a complex value (JSON) of a variable."""
    field = re.search(r'field "([^"]+)"', str(exc))
    name = field.group(1) if field else ""
    variable = PREFIX + name.upper()
    if name == "field_authority":
        example = '{"invoice": "ledger", "customer": "source"}'
    elif name == "customer_field_authority":
        example = '{"email": "ledger", "phone": "ledger"}'
    else:
        example = "a JSON value"
    where = variable if _in_env(variable, env) else f"{toml_path()} key {name!r}"
    return f"{where} is not valid JSON: give {example}"


def _validation_line(
    exc: PydanticValidationError, overrides: Mapping[str, Any], env: Mapping[str, str]
) -> str:
    first = exc.errors()[0]
    loc = [str(p) for p in first["loc"]]
    field = loc[0] if loc else ""
    inner = ".".join(loc[1:])
    message = str(first["msg"]).removeprefix("Value error, ")
    what = message + (f" (at {inner})" if inner else "")
    if field in overrides:
        return f"--{field.replace('_', '-')}: {what}"
    variable = PREFIX + field.upper()
    if _in_env(variable, env):
        return f"{variable}: {what}"
    path = toml_path()
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if re.search(rf"^\s*\[*\s*{re.escape(field)}\b", text, re.MULTILINE):
        return f"{path}{_line_part(text, field)}: setting {field}: {what}"
    return f"setting {field}: {what}"


def _in_env(variable: str, env: Mapping[str, str]) -> bool:
    return any(k.upper() == variable for k in env)


def _line_part(text: str, key: str) -> str:
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"\s*\[*\s*{re.escape(key)}\s*[=\]]", line):
            return f" line {number}"
    return ""
