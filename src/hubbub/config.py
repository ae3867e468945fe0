"""Settings: every knob hubbub reads, from environment variables, a `.env` file and CLI flags.

Read once by the CLI (or a test) and handed to the composition root (`hubbub.app`);
nothing else in the package looks at the environment.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingError(Exception):
    """A setting that cannot work; `setting` names the variable so start-up can say which."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


class Settings(BaseSettings):
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
    # Prefix of every Redis key and channel: deployments (or test runs) can share a Redis.
    redis_prefix: str = "hubbub:"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # SQLite durability: NORMAL survives a process crash (the ack guarantee), FULL also a
    # power cut (an fsync per commit).
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"

    access_token_ttl_s: int = Field(default=15 * 60, ge=10)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, ge=60)
    # Argon2id cost; the defaults are argon2-cffi's RFC 9106 low-memory profile.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)

    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_failure_window_s: int = Field(default=15 * 60, ge=1)

    send_rate_per_s: float = Field(default=10.0, gt=0)
    send_burst: int = Field(default=30, ge=1)
    # Every Socket.IO event a socket sends (sends, typing, receipts...), on top of the
    # per-user send limit: one noisy socket must not take the loop from the others.
    socket_event_rate_per_s: float = Field(default=50.0, gt=0)
    socket_event_burst: int = Field(default=100, ge=1)

    # Typing: a `typing` not refreshed within this time ends by itself (`stop_typing`).
    typing_ttl_s: float = Field(default=6.0, gt=0)
    # A user whose last socket closed is announced offline after this grace period, so
    # a page reload or a quick reconnect does not flicker their presence.
    presence_grace_s: float = Field(default=5.0, ge=0)
    # How often each socket's presence entry is refreshed (entries expire after 3x).
    presence_refresh_s: float = Field(default=20.0, gt=0)

    max_socket_message_bytes: int = Field(default=64 * 1024, ge=1024)
    # An Engine.IO session that has not connected to /messaging within this time is
    # closed (Socket.IO's own default is 45 s; a client sends its CONNECT at once).
    socket_connect_timeout_s: float = Field(default=10.0, gt=0)
    max_socket_backlog: int = Field(default=1000, ge=10)

    max_json_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    max_avatar_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    # Uploaded images with more pixels are refused (422) before they are decoded: a small
    # file can declare a huge canvas (a decompression bomb). 8192 x 8192 by default.
    max_image_pixels: int = Field(default=8192 * 8192, ge=1)

    @field_validator("database_url", "redis_url", "jwt_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    # Derived values -----------------------------------------------------------------

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hubbub.db').resolve()}"

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
        if self.jwt_secret is not None and len(self.jwt_secret) < 32:
            raise SettingError("HUBBUB_JWT_SECRET", "must be at least 32 characters")
        for origin in self.origins:
            if urlsplit(origin).scheme not in ("http", "https"):
                raise SettingError("HUBBUB_ALLOWED_ORIGINS", f"{origin!r} is not an http(s) origin")

    def ensure_data_dir(self) -> Path:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            (self.data_dir / "uploads").mkdir(exist_ok=True)
        except OSError as exc:
            raise SettingError(
                "HUBBUB_DATA_DIR", f"cannot create {self.data_dir}: {exc.strerror}"
            ) from exc
        return self.data_dir

    def signing_key(self) -> str:
        """The JWT secret: the configured one, or one generated on first start and kept."""
        if self.jwt_secret is not None:
            return self.jwt_secret
        key_file = self.ensure_data_dir() / "signing.key"
        try:
            if key_file.exists():
                return key_file.read_text().strip()
            key = secrets.token_urlsafe(48)
            key_file.touch(mode=0o600)
            key_file.write_text(key)
        except OSError as exc:
            raise SettingError(
                "HUBBUB_DATA_DIR", f"cannot keep the signing key: {exc.strerror}"
            ) from exc
        return key
