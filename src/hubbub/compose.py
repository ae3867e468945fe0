"""The composed services of one running node, built by the composition root (`hubbub.app`).

Holds the storage handles and the state seams (bus, presence, rate limits) and the
services built on them. Built in the app's lifespan, never at import time.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from redis.asyncio import Redis

from hubbub.actions.auth import AuthService, LoginLimits
from hubbub.actions.conversations import ConversationService
from hubbub.actions.files import FileService, UploadLimits
from hubbub.actions.messages import MessageService, SendLimits
from hubbub.actions.spaces import SpaceService
from hubbub.actions.users import UserService
from hubbub.config import Settings
from hubbub.metrics import Metrics
from hubbub.queries.views import Views
from hubbub.realtime.bus import EventBus, InProcessEventBus, RedisEventBus
from hubbub.realtime.limits import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from hubbub.realtime.presence import MemoryPresence, Presence, RedisPresence
from hubbub.realtime.typing import MemoryTypingState, RedisTypingState, TypingState
from hubbub.security.passwords import Passwords
from hubbub.security.tokens import TokenSigner
from hubbub.security.urls import FileUrlSigner
from hubbub.store.blobs import LocalBlobStore
from hubbub.store.database import Database, open_database

log = logging.getLogger("hubbub")


@dataclass
class Services:
    settings: Settings
    db: Database
    redis: Redis | None
    bus: EventBus
    presence: Presence
    typing: TypingState
    metrics: Metrics
    node_id: str
    limiter: RateLimiter
    passwords: Passwords
    signer: TokenSigner
    file_urls: FileUrlSigner
    auth: AuthService
    users: UserService
    conversations: ConversationService
    spaces: SpaceService
    messages: MessageService
    files: FileService

    async def readiness_problems(self) -> list[str]:
        problems: list[str] = []
        try:
            await self.db.ping()
        except Exception:  # any failure means "not ready"; the reason is logged, not shown
            log.warning("readiness: database check failed", exc_info=True)
            problems.append("database")
        if self.redis is not None:
            try:
                await self.redis.ping()
            except Exception:
                log.warning("readiness: redis check failed", exc_info=True)
                problems.append("redis")
        return problems

    async def close(self) -> None:
        await self.messages.close()
        await self.bus.stop()
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()


def build_services(settings: Settings) -> Services:
    db = open_database(
        settings.effective_database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
    )
    redis: Redis | None = None
    limiter: RateLimiter
    bus: EventBus
    presence: Presence
    typing: TypingState
    metrics = Metrics()
    node_id = secrets.token_hex(6)
    if settings.redis_url is not None:
        redis = Redis.from_url(settings.redis_url, health_check_interval=10)
        prefix = settings.redis_prefix
        limiter = RedisRateLimiter(redis, prefix)
        bus = RedisEventBus(
            redis,
            prefix,
            node_id=node_id,
            on_failure=lambda kind: (
                metrics.redis_reconnects.inc()
                if kind == "reconnect"
                else metrics.redis_failures.labels(kind).inc()
            ),
        )
        presence = RedisPresence(redis, prefix, node_id=node_id)
        typing = RedisTypingState(redis, prefix)
    else:
        limiter = MemoryRateLimiter()
        bus = InProcessEventBus()
        presence = MemoryPresence()
        typing = MemoryTypingState()
    passwords = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    signing_key = settings.signing_key()
    signer = TokenSigner(signing_key, access_ttl_s=settings.access_token_ttl_s)
    file_urls = FileUrlSigner(signing_key)
    auth = AuthService(
        db,
        passwords,
        signer,
        limiter,
        bus,
        refresh_ttl_s=settings.refresh_token_ttl_s,
        login_limits=LoginLimits(
            per_account=settings.login_max_failures_per_account,
            per_address=settings.login_max_failures_per_address,
            window_s=settings.login_failure_window_s,
        ),
    )
    users = UserService(db, presence, bus)
    views = Views(urls=file_urls, presence=presence)
    conversations = ConversationService(db, bus, views)
    spaces = SpaceService(db, bus, views, conversations)
    messages = MessageService(
        db,
        bus,
        views,
        limiter,
        SendLimits(rate_per_s=settings.send_rate_per_s, burst=settings.send_burst),
        metrics=metrics,
    )
    blobs = LocalBlobStore(settings.data_dir)
    blobs.sweep_temp()
    files = FileService(
        db,
        blobs,
        file_urls,
        limits=UploadLimits(
            max_upload_bytes=settings.max_upload_bytes,
            max_avatar_bytes=settings.max_avatar_bytes,
        ),
        max_image_pixels=settings.max_image_pixels,
    )
    return Services(
        settings=settings,
        db=db,
        redis=redis,
        bus=bus,
        presence=presence,
        typing=typing,
        metrics=metrics,
        node_id=node_id,
        limiter=limiter,
        passwords=passwords,
        signer=signer,
        file_urls=file_urls,
        auth=auth,
        users=users,
        conversations=conversations,
        spaces=spaces,
        messages=messages,
        files=files,
    )
