"""Settings: every knob hubbub reads, from environment variables, a `.env` file and CLI flags.

Read once by the CLI (or a test) and handed to the composition root (`hubbub.app`);
nothing else in the package looks at the environment.
"""

from __future__ import annotations

import secrets
from enum import Enum
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from hubbub.datafiles import PRIVATE_DIR, PRIVATE_FILE, PRIVATE_UMASK, SettingError, keep_private
from hubbub.settings_parts import WebhookSettings, parse_networks

__all__ = [
    "PRIVATE_DIR",
    "PRIVATE_FILE",
    "PRIVATE_UMASK",
    "Budget",
    "BudgetTable",
    "IPNetwork",
    "SettingError",
    "Settings",
    "keep_private",
    "parse_budgets",
]

IPNetwork = IPv4Network | IPv6Network


class Budget(Enum):
    """Every write and every fanned-out event but sends (which have settings of their
    own) has a budget, a token bucket: (its name in HUBBUB_BUDGETS, tokens per minute,
    burst). Keyed per user but for REGISTER (one bucket for the node, or for every node
    with Redis), REGISTER_ADDRESS and PASSWORD_RESET_ADDRESS (per client address),
    PASSWORD_RESET_ACCOUNT (per account asked about) and ADDED_TO (per user added)."""

    REGISTER = ("register", 300.0, 100)
    REGISTER_ADDRESS = ("register_address", 10.0, 30)
    REACTION = ("reaction", 120.0, 60)
    EDIT = ("edit", 60.0, 30)
    CONVERSATION_CREATE = ("conversation_create", 30.0, 60)
    CONVERSATION_UPDATE = ("conversation_update", 20.0, 10)
    PARTICIPANT = ("participant", 60.0, 30)
    ADDED_TO = ("added_to", 30.0, 60)
    SPACE = ("space", 10.0, 10)
    PROFILE = ("profile", 30.0, 20)
    UPLOAD = ("upload", 30.0, 20)
    TYPING = ("typing", 120.0, 40)
    READ_MARKER = ("read_marker", 1200.0, 300)
    # Each checks a password (an Argon2 hash): changing one's password or email,
    # deleting one's account.
    PASSWORD_CHANGE = ("password_change", 5.0, 5)
    # Password-reset requests and confirmations per client address; reset emails per
    # account (beyond it the request still answers 202, and no email leaves).
    PASSWORD_RESET_ADDRESS = ("password_reset_address", 5.0, 10)
    PASSWORD_RESET_ACCOUNT = ("password_reset_account", 0.2, 3)
    EXPORT = ("export", 1.0, 3)
    # API tokens, bots and incoming webhooks made or changed (rotations).
    INTEGRATION = ("integration", 20.0, 20)

    @property
    def key(self) -> str:
        return str(self.value[0])

    @property
    def default(self) -> tuple[float, int]:
        return float(self.value[1]), int(self.value[2])


BudgetTable = dict[Budget, tuple[float, int]]


def parse_budgets(listed: str) -> BudgetTable:
    """`name=PER_MINUTE/BURST`, comma-separated, over the defaults; the name `*` sets
    every budget (and names after it set theirs)."""
    table = {budget: budget.default for budget in Budget}
    by_key = {budget.key: budget for budget in Budget}
    for item in (part.strip() for part in listed.split(",")):
        if not item:
            continue
        name, _, value = item.partition("=")
        name = name.strip()
        rate, _, burst = value.partition("/")
        try:
            per_minute, size = float(rate), int(burst)
        except ValueError:
            raise ValueError(f"{item!r}: expected name=PER_MINUTE/BURST") from None
        if not per_minute > 0 or size < 1:
            raise ValueError(f"{item!r}: the rate must be above 0 and the burst at least 1")
        if name == "*":
            table = dict.fromkeys(table, (per_minute, size))
        elif name in by_key:
            table[by_key[name]] = (per_minute, size)
        else:
            raise ValueError(f"{name!r} is not a budget (one of {', '.join(by_key)})")
    return table


# The settings whose value is a secret: `hubbub config show` prints them masked.
SECRET_SETTINGS = frozenset({"jwt_secret", "metrics_token", "push_vapid_private_key"})


class Settings(WebhookSettings):
    model_config = SettingsConfigDict(
        env_prefix="HUBBUB_", env_file=".env", extra="ignore", validate_default=True
    )

    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path(".hubbub")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    jwt_secret: str | None = None
    allowed_origins: str = ""
    # Proxies whose X-Forwarded-For names the client (comma-separated addresses or
    # CIDRs); nothing is trusted by default, and then the peer's address is the client's.
    trusted_proxies: str = ""
    # Prefix of every Redis key and channel: deployments (or test runs) can share a Redis.
    redis_prefix: str = "hubbub:"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Observability (README "Logs and metrics").
    log_format: Literal["text", "json"] = "text"
    access_log: bool = False
    metrics_allow: str = "127.0.0.1/32,::1/128"
    metrics_token: str | None = None
    # SQLite durability: NORMAL survives a process crash (the ack guarantee), FULL also a
    # power cut (an fsync per commit).
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"

    access_token_ttl_s: int = Field(default=15 * 60, ge=10)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, ge=60)
    # Argon2id cost; the defaults are argon2-cffi's RFC 9106 low-memory profile.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)

    # Failed logins, counted per window: for one name (as typed) from one address, for
    # one address whatever the name, and for one name from every address. The last is
    # kept above the first, so that no single address can refuse a user their login.
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_max_failures_per_identifier: int = Field(default=100, ge=1)
    login_failure_window_s: int = Field(default=15 * 60, ge=1)

    send_rate_per_s: float = Field(default=10.0, gt=0)
    send_burst: int = Field(default=30, ge=1)
    # Every Socket.IO event a socket sends (sends, typing, receipts...), on top of the
    # per-user send limit: one noisy socket must not take the loop from the others.
    socket_event_rate_per_s: float = Field(default=50.0, gt=0)
    socket_event_burst: int = Field(default=100, ge=1)

    budgets: str = ""
    # Distinct reactions one user may put on one message.
    max_reactions_per_user_per_message: int = Field(default=20, ge=1)
    # Sockets one user may hold at once, on every node (counted by presence).
    max_sockets_per_user: int = Field(default=20, ge=1)

    # Live unread counts: a node sends a user at most one `unread_count` per conversation
    # per this interval, the last value winning (`hubbub.realtime.unread`).
    unread_coalesce_s: float = Field(default=0.25, gt=0, le=10)
    # Presence: a socket's `user_online`s and `user_offline`s are held this long and
    # written together, one write for all (`hubbub.realtime.hub`); 0 writes each at once.
    presence_coalesce_s: float = Field(default=0.2, ge=0, le=5)

    # Typing: a `typing` not refreshed within this time ends by itself (`stop_typing`).
    typing_ttl_s: float = Field(default=6.0, gt=0)
    # A user whose last socket closed is announced offline after this grace period, so
    # a page reload or a quick reconnect does not flicker their presence.
    presence_grace_s: float = Field(default=5.0, ge=0)
    # How often each socket's presence entry is refreshed (entries expire after 3x).
    presence_refresh_s: float = Field(default=20.0, gt=0)
    # How often each node asks the database which of its sockets' sessions have ended
    # (revoked, or a deactivated account): the bus cuts them at once; this catches a
    # missed event, or a deactivation from the terminal without Redis.
    session_sweep_s: float = Field(default=30.0, gt=0)

    max_socket_message_bytes: int = Field(default=64 * 1024, ge=1024)
    # An Engine.IO session that has not connected to /messaging within this time is
    # closed (Socket.IO's own default is 45 s; a client sends its CONNECT at once).
    socket_connect_timeout_s: float = Field(default=10.0, gt=0)
    # Engine.IO's keep-alive, announced to clients in whole milliseconds of whole seconds.
    socket_ping_interval_s: int = Field(default=25, ge=1, le=3600)
    socket_ping_timeout_s: int = Field(default=20, ge=1, le=3600)
    max_socket_backlog: int = Field(default=1000, ge=10)

    # Password reset by email: smtp://[user:pass@]host[:port] (STARTTLS when offered) or
    # smtps://user:pass@host[:465]; the From address; the address of the web client that
    # reset links point to (http://HOST:PORT by default). A reset token lives this long.
    smtp_url: str | None = None
    smtp_from: str | None = None
    public_url: str | None = None
    password_reset_ttl_s: int = Field(default=30 * 60, ge=60)

    # Notifications (`hubbub.realtime.notifier`): messages waiting for their recipients'
    # rules (a full queue drops, counted); Web Push's VAPID key (a PEM, or generated once
    # and kept in the data dir) and contact (`mailto:` or `https:`); pushes sent at once,
    # and how long one may take; http:// endpoints on the loopback (tests only).
    notify_queue_size: int = Field(default=10000, ge=1)
    push_vapid_private_key: str | None = None
    push_subject: str | None = None
    push_concurrency: int = Field(default=8, ge=1, le=256)
    push_timeout_s: float = Field(default=10.0, gt=0, le=120)
    push_allow_insecure_loopback: bool = False
    # Email digests (`hubbub.actions.digests`, with SMTP): unread this long, at most one
    # per user per period (either 0: off); how often a round runs, and its users at most.
    digest_after_s: int = Field(default=3600, ge=0)
    digest_every_s: int = Field(default=86400, ge=0)
    digest_check_s: float = Field(default=60.0, gt=0)
    digest_batch: int = Field(default=100, ge=1, le=10000)

    max_json_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    max_avatar_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    # Uploaded images with more pixels are refused (422) before they are decoded: a small
    # file can declare a huge canvas (a decompression bomb). 8192 x 8192 by default.
    max_image_pixels: int = Field(default=8192 * 8192, ge=1)
    # Signed file URLs (attachments, thumbnails, avatars) are made on every read and stay
    # valid this long (at most a fifth more): a holder who loses access loses the file.
    file_url_ttl_s: int = Field(default=10 * 60, ge=1, le=7 * 24 * 3600)

    @field_validator(
        "database_url",
        "redis_url",
        "jwt_secret",
        "smtp_url",
        "smtp_from",
        "public_url",
        "metrics_token",
        "push_vapid_private_key",
        "push_subject",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("trusted_proxies", "metrics_allow")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    @field_validator("budgets")
    @classmethod
    def _budgets(cls, value: str) -> str:
        parse_budgets(value)
        return value

    # Derived values -----------------------------------------------------------------

    @property
    def budget_table(self) -> BudgetTable:
        return parse_budgets(self.budgets)

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.trusted_proxies)

    @property
    def metrics_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.metrics_allow)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hubbub.db').resolve()}"

    @property
    def effective_public_url(self) -> str:
        """Where the web client is reached: the base of the links sent by email."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    @property
    def origins(self) -> list[str]:
        listed = [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]
        own = [f"http://{self.host}:{self.port}"]
        if self.host in ("127.0.0.1", "localhost", "0.0.0.0", "::"):  # noqa: S104
            own += [f"http://localhost:{self.port}", f"http://127.0.0.1:{self.port}"]
        return list(dict.fromkeys(own + listed))

    def check(self) -> None:
        """Reject settings that cannot work, naming the variable; no I/O beyond the data dir."""
        url = self.effective_database_url
        scheme = urlsplit(url).scheme.split("+", 1)[0]
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise SettingError(
                "HUBBUB_DATABASE_URL",
                f"unsupported scheme {scheme!r} (use sqlite:///path or postgresql://user@host/db)",
            )
        if scheme in ("postgresql", "postgres") and not urlsplit(url).hostname:
            raise SettingError("HUBBUB_DATABASE_URL", "a PostgreSQL URL needs a host")
        if self.redis_url is not None:
            parts = urlsplit(self.redis_url)
            if parts.scheme not in ("redis", "rediss", "unix") or not (
                parts.hostname or parts.path
            ):
                raise SettingError(
                    "HUBBUB_REDIS_URL", "malformed URL (expected redis://host:port/db)"
                )
            if self.jwt_secret is None:
                raise SettingError(
                    "HUBBUB_JWT_SECRET",
                    "required (and the same on every node) when HUBBUB_REDIS_URL is set",
                )
        if self.login_max_failures_per_identifier <= self.login_max_failures:
            raise SettingError(
                "HUBBUB_LOGIN_MAX_FAILURES_PER_IDENTIFIER",
                "must be above HUBBUB_LOGIN_MAX_FAILURES (or one address could lock a user out)",
            )
        if self.jwt_secret is not None and len(self.jwt_secret) < 32:
            raise SettingError("HUBBUB_JWT_SECRET", "must be at least 32 characters")
        self._check_mail()
        if self.push_subject is not None and not self.push_subject.startswith(
            ("mailto:", "https://")
        ):
            raise SettingError("HUBBUB_PUSH_SUBJECT", "must be a mailto: or https:// address")
        for origin in self.origins:
            if urlsplit(origin).scheme not in ("http", "https"):
                raise SettingError("HUBBUB_ALLOWED_ORIGINS", f"{origin!r} is not an http(s) origin")

    def _check_mail(self) -> None:
        if self.public_url is not None and urlsplit(self.public_url).scheme not in (
            "http",
            "https",
        ):
            raise SettingError("HUBBUB_PUBLIC_URL", "must be an http(s) address")
        if self.smtp_url is None:
            return
        parts = urlsplit(self.smtp_url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise SettingError(
                "HUBBUB_SMTP_URL", "malformed URL (expected smtp://host:port or smtps://...)"
            )
        if self.smtp_from is None:
            raise SettingError("HUBBUB_SMTP_FROM", "required when HUBBUB_SMTP_URL is set")

    def ensure_data_dir(self) -> Path:
        """Make the data dir and its uploads folder owner-only, tightening what is wider.

        The folders are 0700 and the files hubbub keeps there (the SQLite database and its
        -wal/-shm, the signing key) 0600; a wider mode left by an earlier version or by
        hand is narrowed, with a warning naming the path.
        """
        try:
            self.data_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
            (self.data_dir / "uploads").mkdir(mode=PRIVATE_DIR, exist_ok=True)
        except OSError as exc:
            raise SettingError(
                "HUBBUB_DATA_DIR", f"cannot create {self.data_dir}: {exc.strerror}"
            ) from exc
        keep_private(self.data_dir, PRIVATE_DIR)
        keep_private(self.data_dir / "uploads", PRIVATE_DIR)
        keep_private(self.data_dir / "signing.key", PRIVATE_FILE)
        database = self.sqlite_path
        if database is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                keep_private(database.with_name(database.name + suffix), PRIVATE_FILE)
        return self.data_dir

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file, when the database is SQLite on a file."""
        parts = urlsplit(self.effective_database_url)
        if not parts.scheme.startswith("sqlite") or parts.path in ("", "/", "/:memory:"):
            return None
        return Path(parts.path[1:])

    def signing_key(self) -> str:
        """The JWT secret: the configured one, or one generated on first start and kept."""
        if self.jwt_secret is not None:
            return self.jwt_secret
        key_file = self.ensure_data_dir() / "signing.key"
        try:
            if key_file.exists():
                return key_file.read_text().strip()
            key = secrets.token_urlsafe(48)
            key_file.touch(mode=PRIVATE_FILE)
            key_file.write_text(key)
        except OSError as exc:
            raise SettingError(
                "HUBBUB_DATA_DIR", f"cannot keep the signing key: {exc.strerror}"
            ) from exc
        return key
