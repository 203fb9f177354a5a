"""Open the channels ``[[alert_channels]]`` configures: read each secret from its
environment variable now, check its shape, and fail with one line that says what to set.

Facts: Slack and Teams URLs are secrets (SOURCES.md §4.3, §4.4: the webhook URL, or its
``sig=`` query value, is the credential) and HTTPS; a Standard Webhooks secret is
``whsec_`` + base64 of 24-64 random bytes (§4.1). A message never quotes a secret: it
names the variable that holds it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from syncledger.adapters.alerts.email import SmtpChannel, SmtpSettings
from syncledger.adapters.alerts.poster import LOOPBACK_HOSTS, checked_url
from syncledger.adapters.alerts.slack import SlackChannel
from syncledger.adapters.alerts.teams import TeamsChannel
from syncledger.adapters.alerts.webhook import SignedWebhookChannel, signing_key
from syncledger.core.alert_config import AlertChannelConfig
from syncledger.core.alert_ports import AlertChannel
from syncledger.core.errors import ConfigurationError


def _url(config: AlertChannelConfig) -> str:
    return checked_url(config.target_url(), config.name)


def _slack(config: AlertChannelConfig) -> AlertChannel:
    return SlackChannel(config.name, _url(config), config.timeout_s)


def _teams(config: AlertChannelConfig) -> AlertChannel:
    return TeamsChannel(config.name, _url(config), config.timeout_s)


def _signing_key(config: AlertChannelConfig) -> bytes:
    try:
        return signing_key(config.secret(config.secret_env))
    except ValueError as exc:
        where = f"alert channel {config.name}: the secret in {config.secret_env}"
        raise ConfigurationError(f"{where} {exc}") from None


def _webhook(config: AlertChannelConfig) -> AlertChannel:
    key = _signing_key(config)
    return SignedWebhookChannel(config.name, _url(config), key, config.timeout_s)


def _password(config: AlertChannelConfig) -> str | None:
    if config.smtp_user is None:
        return None
    if config.smtp_tls == "none" and config.smtp_host not in LOOPBACK_HOSTS:
        raise ConfigurationError(
            f"alert channel {config.name}: smtp_user is set but smtp_tls is none: the "
            "password would cross the network in clear; use starttls or tls"
        )
    if config.password_env is None:
        raise ConfigurationError(
            f"alert channel {config.name}: smtp_user is set: name the variable holding "
            "the password in password_env"
        )
    return config.secret(config.password_env)


def _email(config: AlertChannelConfig) -> AlertChannel:
    settings = SmtpSettings(
        host=str(config.smtp_host),
        port=config.smtp_port,
        security=config.smtp_tls,
        mail_from=str(config.mail_from),
        mail_to=config.mail_to,
        timeout_s=config.timeout_s,
        user=config.smtp_user,
        password=_password(config),
    )
    return SmtpChannel(config.name, settings)


_OPENERS: dict[str, Callable[[AlertChannelConfig], AlertChannel]] = {
    "slack": _slack,
    "teams": _teams,
    "webhook": _webhook,
    "email": _email,
}


def open_channel(config: AlertChannelConfig) -> AlertChannel:
    """The channel ``config`` describes, its secrets read and checked now."""
    return _OPENERS[config.kind](config)


def open_channels(configs: Iterable[AlertChannelConfig]) -> dict[str, AlertChannel]:
    """Every configured channel by name; a repeated name is refused. If one cannot be
    opened, those opened before it are left to the garbage collector (nothing was sent
    and no connection was made yet)."""
    channels: dict[str, AlertChannel] = {}
    for config in configs:
        if config.name in channels:
            raise ConfigurationError(f"alert channel {config.name} is configured twice")
        channels[config.name] = open_channel(config)
    return channels
