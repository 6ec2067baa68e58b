"""Configuration, read from the environment in one place.

| variable | default | meaning |
| --- | --- | --- |
| ``REDIS_URL`` | unset: start an embedded Redis | ``redis://[:password@]host:port/db`` |
| ``CITYBOT_DATA_DIR`` | ``var/`` | embedded Redis data, logs, generated secrets |
| ``CITYBOT_RASA_PORT`` | 5005 | Rasa HTTP API, bound to 127.0.0.1 only |
| ``CITYBOT_ACTIONS_PORT`` | 5055 | action server, bound to 127.0.0.1 only |
| ``CITYBOT_REDIS_PORT`` | 6389 | port of the embedded Redis |
| ``CITYBOT_RASA_TOKEN`` | generated once into the data dir | token for Rasa's HTTP API |
| ``CITYBOT_GATEWAY_HOST`` | 127.0.0.1 | where the gateway listens (0.0.0.0 behind a proxy) |
| ``CITYBOT_GATEWAY_PORT`` | 8080 | the gateway: web chat, Telegram webhook, agent console, health |
| ``CITYBOT_MAX_MESSAGE_CHARS`` | 2000 | longest citizen message accepted |
| ``CITYBOT_MAX_MESSAGES_PER_MINUTE`` | 30 | per web chat connection; more is refused |
| ``CITYBOT_BOT_TIMEOUT_SECONDS`` | 15 | a bot turn taking longer is reported to the citizen as "try again" |
| ``CITYBOT_RASA_URLS`` | the Rasa on loopback | comma-separated Rasa base URLs: round-robin, a refusing one skipped |
| ``CITYBOT_ACTIONS_URL`` | the one on loopback | the action server's webhook, as Rasa and ``/readyz`` reach it |
| ``CITYBOT_RASA_WORKERS`` | 1 | Rasa's worker processes (Sanic, sharing the Redis lock store); cores in production |
| ``CITYBOT_WEBCHAT_ORIGINS`` | none: same origin only | comma-separated origins of pages embedding the widget |
| ``CITYBOT_TELEGRAM_TOKEN`` | unset: Telegram off | the bot's token from BotFather |
| ``CITYBOT_TELEGRAM_SECRET`` | required with a token | secret Telegram sends in every webhook request |
| ``CITYBOT_TELEGRAM_API_URL`` | https://api.telegram.org | Bot API server (a local fake in tests) |
| ``CITYBOT_WHATSAPP_PHONE_NUMBER_ID`` | unset: WhatsApp off | the business number's id in the Cloud API |
| ``CITYBOT_WHATSAPP_TOKEN`` | required with a number id | the Cloud API access token (a system user's) |
| ``CITYBOT_WHATSAPP_APP_SECRET`` | required with a number id | the Meta app's secret: signs every webhook delivery |
| ``CITYBOT_WHATSAPP_VERIFY_TOKEN`` | required with a number id | our word for Meta's webhook verification |
| ``CITYBOT_WHATSAPP_API_URL`` | https://graph.facebook.com | the Cloud API (a fake in tests) |
| ``CITYBOT_WHATSAPP_API_VERSION`` | v21.0 | the Graph API version called |
| ``CITYBOT_WHATSAPP_TEMPLATES`` | the channel's templates.yml | approved template names (outside the 24-h window) |
| ``CITYBOT_WHATSAPP_NUMBER`` | unset | the business number (international form), for ``wa.me`` links |
| ``CITYBOT_PSEUDONYM_KEY`` | generated into the data dir | conversation ids of phone numbers: same everywhere, fixed |
| ``CITYBOT_AGENT_GRACE_SECONDS`` | 60 | an agent's console gone this long: their conversations go back to the queue |
| ``CITYBOT_TRANSCRIPT_DAYS`` | 30 | a conversation's transcript is kept this long after its last message |
| ``CITYBOT_CONSOLE_SECURE_COOKIE`` | off | ``1``: the console's session cookie is Secure (serve it over HTTPS) |
| ``CITYBOT_BACKOFFICE_FILE`` | ``<data dir>/secrets/backoffice.yml`` | systems allowed to call the back-office API |
| ``CITYBOT_IDENTITY_KEYS`` | ``<data dir>/secrets/identity.yml`` | keys that sign web chat identity tokens |
| ``CITYBOT_IDENTITY_AUDIENCE`` / ``CITYBOT_IDENTITY_ISSUER`` | citybot / unchecked | expected ``aud`` / ``iss`` |
| ``CITYBOT_TELEGRAM_BOT_USERNAME`` | unset | for the ``t.me/<bot>?start=<code>`` link of a link code |
| ``CITYBOT_TRUSTED_PROXIES`` | none | proxies (addresses, networks) whose ``X-Forwarded-For`` names the client |
| ``CITYBOT_HANDOFF_FILE`` | ``knowledge/handoff.yml`` | queues, service hours, handoff texts (also read by actions) |
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from bot.core.paths import PROJECT_ROOT
from bot.core.private_files import generated_secret, private_dir


@dataclass(frozen=True)
class RedisAddress:
    """Where Redis is; ``embedded`` when we start it ourselves."""

    host: str
    port: int
    db: int = 0
    password: str | None = None
    embedded: bool = False

    @classmethod
    def from_url(cls, url: str) -> RedisAddress:
        """Parse ``redis://[:password@]host[:port][/db]``; raise ValueError when malformed."""
        parsed = urlparse(url)
        if parsed.scheme not in ("redis", "rediss") or not parsed.hostname:
            raise ValueError(f"REDIS_URL must look like redis://host:6379/0, got {url!r}")
        db = int(parsed.path.lstrip("/") or 0)
        return cls(parsed.hostname, parsed.port or 6379, db, parsed.password)

    @property
    def url(self) -> str:
        """The address as a redis:// URL (with the password, so never log it)."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/{self.db}"


def _port(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    try:
        port = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a port number, got {value!r}") from None
    if not 0 < port < 65536:
        raise ValueError(f"{name} must be between 1 and 65535, got {port}")
    return port


def _positive(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a positive whole number, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Settings:
    """Everything the processes of the service need to find each other."""

    data_dir: Path
    redis: RedisAddress
    rasa_port: int
    actions_port: int
    rasa_token: str
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    max_message_chars: int = 2000
    max_messages_per_minute: int = 30
    bot_timeout_seconds: int = 15
    rasa_workers: int = 1
    rasa_urls: tuple[str, ...] = ()  # empty: the one Rasa on loopback (rasa_port)
    actions_webhook: str = ""  # empty: the action server on loopback (actions_port)
    webchat_origins: tuple[str, ...] = ()
    telegram_token: str = ""
    telegram_secret: str = ""
    telegram_api_url: str = "https://api.telegram.org"
    whatsapp_phone_number_id: str = ""
    whatsapp_token: str = ""
    whatsapp_app_secret: str = ""
    whatsapp_verify_token: str = ""
    whatsapp_api_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    whatsapp_templates: str = ""  # a file path; empty: the channel's own templates.yml
    whatsapp_number: str = ""
    pseudonym_key: str = ""
    agent_grace_seconds: int = 60
    transcript_days: int = 30  # chat content: transcripts, records, Rasa's trackers, handoff cases
    link_days: int = 365  # a chat's link to a citizen, from when it was made
    offer_days: int = 730  # offers and their history, from their last change (the city's records policy)
    consent_days: int = 1095  # consents and their history, from the last change (proof of consent)
    audit_days: int = 730  # the audit log of accesses to personal data
    vault_days: int = 7  # masked values an agent may reveal
    console_secure_cookie: bool = False
    identity_audience: str = "citybot"
    identity_issuer: str | None = None
    telegram_bot_username: str = ""
    callback_base_delay: float = 1.0  # first retry of a failed callback; doubles each time
    trusted_proxies: tuple[str, ...] = ()  # addresses/networks whose X-Forwarded-For is believed

    @property
    def backoffice_file(self) -> Path:
        """The calling systems of the back-office API (``python -m bot backoffice add``)."""
        return Path(os.environ.get("CITYBOT_BACKOFFICE_FILE") or self.data_dir / "secrets" / "backoffice.yml")

    @property
    def identity_keys_file(self) -> Path:
        """Keys that sign the web chat's identity tokens."""
        return Path(os.environ.get("CITYBOT_IDENTITY_KEYS") or self.data_dir / "secrets" / "identity.yml")

    @property
    def rasa_url(self) -> str:
        """Base URL of Rasa's HTTP API (loopback only)."""
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def bot_urls(self) -> tuple[str, ...]:
        """The Rasa processes the gateway sends messages to."""
        return self.rasa_urls or (self.rasa_url,)

    @property
    def actions_url(self) -> str:
        """The action server's webhook URL."""
        return self.actions_webhook or f"http://127.0.0.1:{self.actions_port}/webhook"


def _token(data_dir: Path) -> str:
    explicit = os.environ.get("CITYBOT_RASA_TOKEN")
    if explicit:
        return explicit
    return generated_secret(data_dir / "secrets" / "rasa_token")


def _pseudonym_key(data_dir: Path) -> str:
    explicit = os.environ.get("CITYBOT_PSEUDONYM_KEY")
    if explicit:
        return explicit
    return generated_secret(data_dir / "secrets" / "pseudonym_key")


def load_settings() -> Settings:
    """Read the settings from the environment (see the module docstring)."""
    data_dir = private_dir(Path(os.environ.get("CITYBOT_DATA_DIR", PROJECT_ROOT / "var")).resolve())
    url = os.environ.get("REDIS_URL")
    if url:
        redis = RedisAddress.from_url(url)
    else:  # the embedded Redis has a password of its own, generated once
        password = generated_secret(data_dir / "secrets" / "redis_password")
        redis = RedisAddress("127.0.0.1", _port("CITYBOT_REDIS_PORT", 6389), password=password, embedded=True)
    return Settings(
        data_dir=data_dir,
        redis=redis,
        rasa_port=_port("CITYBOT_RASA_PORT", 5005),
        actions_port=_port("CITYBOT_ACTIONS_PORT", 5055),
        rasa_token=_token(data_dir),
        gateway_host=os.environ.get("CITYBOT_GATEWAY_HOST", "127.0.0.1"),
        gateway_port=_port("CITYBOT_GATEWAY_PORT", 8080),
        max_message_chars=_positive("CITYBOT_MAX_MESSAGE_CHARS", 2000),
        max_messages_per_minute=_positive("CITYBOT_MAX_MESSAGES_PER_MINUTE", 30),
        bot_timeout_seconds=_positive("CITYBOT_BOT_TIMEOUT_SECONDS", 15),
        rasa_workers=_positive("CITYBOT_RASA_WORKERS", 1),
        rasa_urls=tuple(u.strip().rstrip("/") for u in os.environ.get("CITYBOT_RASA_URLS", "").split(",") if u.strip()),
        actions_webhook=os.environ.get("CITYBOT_ACTIONS_URL", "").strip(),
        telegram_token=os.environ.get("CITYBOT_TELEGRAM_TOKEN", ""),
        telegram_secret=os.environ.get("CITYBOT_TELEGRAM_SECRET", ""),
        telegram_api_url=os.environ.get("CITYBOT_TELEGRAM_API_URL", "https://api.telegram.org").rstrip("/"),
        whatsapp_phone_number_id=os.environ.get("CITYBOT_WHATSAPP_PHONE_NUMBER_ID", "").strip(),
        whatsapp_token=os.environ.get("CITYBOT_WHATSAPP_TOKEN", "").strip(),
        whatsapp_app_secret=os.environ.get("CITYBOT_WHATSAPP_APP_SECRET", "").strip(),
        whatsapp_verify_token=os.environ.get("CITYBOT_WHATSAPP_VERIFY_TOKEN", "").strip(),
        whatsapp_api_url=os.environ.get("CITYBOT_WHATSAPP_API_URL", "https://graph.facebook.com").rstrip("/"),
        whatsapp_api_version=os.environ.get("CITYBOT_WHATSAPP_API_VERSION", "v21.0").strip(),
        whatsapp_templates=os.environ.get("CITYBOT_WHATSAPP_TEMPLATES", "").strip(),
        whatsapp_number=os.environ.get("CITYBOT_WHATSAPP_NUMBER", "").strip().lstrip("+"),
        pseudonym_key=_pseudonym_key(data_dir),
        webchat_origins=tuple(o.strip() for o in os.environ.get("CITYBOT_WEBCHAT_ORIGINS", "").split(",") if o.strip()),
        agent_grace_seconds=_positive("CITYBOT_AGENT_GRACE_SECONDS", 60),
        transcript_days=_positive("CITYBOT_TRANSCRIPT_DAYS", 30),
        link_days=_positive("CITYBOT_LINK_DAYS", 365),
        offer_days=_positive("CITYBOT_OFFER_DAYS", 730),
        consent_days=_positive("CITYBOT_CONSENT_DAYS", 1095),
        audit_days=_positive("CITYBOT_AUDIT_DAYS", 730),
        vault_days=_positive("CITYBOT_VAULT_DAYS", 7),
        console_secure_cookie=os.environ.get("CITYBOT_CONSOLE_SECURE_COOKIE", "") in ("1", "true", "yes"),
        identity_audience=os.environ.get("CITYBOT_IDENTITY_AUDIENCE", "citybot"),
        identity_issuer=os.environ.get("CITYBOT_IDENTITY_ISSUER") or None,
        telegram_bot_username=os.environ.get("CITYBOT_TELEGRAM_BOT_USERNAME", ""),
        trusted_proxies=_networks("CITYBOT_TRUSTED_PROXIES"),
    )


def _networks(name: str) -> tuple[str, ...]:
    """Comma-separated addresses or networks (``10.0.0.0/8``); ValueError names a wrong one."""
    values = tuple(v.strip() for v in os.environ.get(name, "").split(",") if v.strip())
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"{name}: {value!r} is not an address or network") from None
    return values
