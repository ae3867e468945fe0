"""The composition root: every part of one node, built in one place.

`build_services(settings)` makes the store, the realtime seams (bus, presence, typing,
rate limits: in-process, or over Redis when `HUBBUB_REDIS_URL` is set), and the actions
and queries on them; `hubbub.compose_gateway.build_gateway` makes the hub, its
transport and the Socket.IO namespace. `hubbub.app` calls both in the ASGI app's
lifespan: importing any module builds nothing. The commands (`hubbub user …`, the
demo) build the services alone, so they do not import the Socket.IO side (python-socketio
and its client's dependencies were ~0.3 s of a 2 s command).
"""

from __future__ import annotations

import secrets

from redis.asyncio import Redis

from hubbub.actions.account import AccountService
from hubbub.actions.account_deletion import AccountDeletion
from hubbub.actions.admin import AccountAdmin
from hubbub.actions.api_tokens import ApiTokens
from hubbub.actions.auth import AuthService, LoginLimits
from hubbub.actions.bot_subscriptions import BotEventSubscriptions
from hubbub.actions.bots import BotService
from hubbub.actions.budgets import Budgets
from hubbub.actions.commands import SlashCommands
from hubbub.actions.conversations import ConversationService
from hubbub.actions.digests import Digests
from hubbub.actions.event_subscriptions import EventSubscriptions
from hubbub.actions.export import DataExports
from hubbub.actions.files import FileService, UploadLimits
from hubbub.actions.mail import SmtpMailer
from hubbub.actions.markers import MarkerService
from hubbub.actions.message_changes import MessageChangeService
from hubbub.actions.notifications import NotificationSettings
from hubbub.actions.participants import ParticipantService
from hubbub.actions.password_reset import PasswordResets
from hubbub.actions.push import PushSubscriptions
from hubbub.actions.send import SendLimits, SendService
from hubbub.actions.spaces import SpaceService
from hubbub.actions.users import UserService
from hubbub.actions.webhook_worker import WebhookLimits, WebhookWorker
from hubbub.actions.webhooks import IncomingWebhooks
from hubbub.config import Settings
from hubbub.edge.services import Services
from hubbub.metrics import Metrics
from hubbub.queries.admin import AdminQueries
from hubbub.queries.conversations import ConversationQueries
from hubbub.queries.export import ExportQueries
from hubbub.queries.files import FileQueries
from hubbub.queries.mentions import MentionQueries
from hubbub.queries.messages import MessageQueries
from hubbub.queries.notifications import NotificationQueries
from hubbub.queries.push import PushQueries
from hubbub.queries.search import SearchQueries
from hubbub.queries.sessions import SessionQueries
from hubbub.queries.spaces import SpaceQueries
from hubbub.queries.unread import UnreadQueries
from hubbub.queries.users import UserQueries
from hubbub.queries.views import Views
from hubbub.queries.webhooks import WebhookQueries
from hubbub.realtime.bus import EventBus, InProcessEventBus, RedisEventBus
from hubbub.realtime.limits import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from hubbub.realtime.notifier import Notifier, PushDelivery
from hubbub.realtime.presence import MemoryPresence, Presence, RedisPresence
from hubbub.realtime.typing import MemoryTypingState, RedisTypingState, TypingState
from hubbub.realtime.webpush import WebPushSender
from hubbub.security.passwords import Passwords
from hubbub.security.tokens import TokenSigner
from hubbub.security.unsubscribe import UnsubscribeTokens
from hubbub.security.urls import FileUrlSigner
from hubbub.security.vapid import VapidKey, vapid_key
from hubbub.store.blobs import LocalBlobStore
from hubbub.store.database import open_database
from hubbub.store.timing import time_statements
from hubbub.tracing import NoTracing, Tracing


def build_services(settings: Settings, tracing: Tracing | None = None) -> Services:
    traces: Tracing = tracing if tracing is not None else NoTracing()
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
        limiter = RedisRateLimiter(
            redis, prefix, observe=metrics.redis_seconds.labels("rate_limit").observe
        )
        bus = RedisEventBus(redis, prefix, node_id=node_id, metrics=metrics)
        presence = RedisPresence(redis, prefix, node_id=node_id)
        typing = RedisTypingState(redis, prefix)
    else:
        limiter = MemoryRateLimiter()
        bus = InProcessEventBus()
        presence = MemoryPresence()
        typing = MemoryTypingState()
    # Committed events go to the bus (`hubbub.store.unit`).
    db = open_database(
        settings.effective_database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        events=bus,
    )
    time_statements([db.read_engine, db.write_engine, db.batch_engine], metrics)
    passwords = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    signing_key = settings.signing_key()
    signer = TokenSigner(signing_key, access_ttl_s=settings.access_token_ttl_s)
    file_urls = FileUrlSigner(signing_key, ttl_s=settings.file_url_ttl_s)
    budgets = Budgets(limiter, settings.budget_table)
    auth = AuthService(
        db,
        passwords,
        signer,
        limiter,
        budgets,
        refresh_ttl_s=settings.refresh_token_ttl_s,
        login_limits=LoginLimits(
            per_name=settings.login_max_failures,
            per_address=settings.login_max_failures_per_address,
            per_name_anywhere=settings.login_max_failures_per_identifier,
            window_s=settings.login_failure_window_s,
        ),
        urls=file_urls,
    )
    views = Views(urls=file_urls, presence=presence)
    user_queries = UserQueries(db, presence, file_urls)
    conversation_queries = ConversationQueries(db, views)
    space_queries = SpaceQueries(db, views)
    users = UserService(db, user_queries, budgets)
    conversations = ConversationService(db, conversation_queries, budgets)
    participants = ParticipantService(db, conversation_queries, budgets)
    spaces = SpaceService(db, conversation_queries, space_queries, budgets)
    key = _push_key(settings)
    push = PushSubscriptions(
        db,
        budgets,
        enabled=key is not None,
        allow_insecure_loopback=settings.push_allow_insecure_loopback,
    )
    push_queries = PushQueries(db, None if key is None else key.public_key)
    notifier = Notifier(
        push_queries.recipients,
        bus,
        presence,
        metrics,
        push=None
        if key is None
        else PushDelivery(
            targets=push_queries.targets,
            sender=WebPushSender(
                key, concurrency=settings.push_concurrency, timeout_s=settings.push_timeout_s
            ),
            forget=push.forget,
        ),
        queue_size=settings.notify_queue_size,
    )
    send = SendService(
        db,
        views,
        limiter,
        SendLimits(rate_per_s=settings.send_rate_per_s, burst=settings.send_burst),
        metrics=metrics,
        tracing=traces,
        notifier=notifier,
    )
    webhooks = WebhookWorker(db, send, _webhook_limits(settings), traces)
    # A committed new message wakes the worker at once (else it looks every poll_s).
    bus.subscribe(webhooks)
    blobs = LocalBlobStore(settings.data_dir)
    blobs.sweep_temp()
    file_queries = FileQueries(db, blobs, url_lifetime_s=file_urls.lifetime_s)
    files = FileService(
        db,
        blobs,
        file_urls,
        limits=UploadLimits(
            max_upload_bytes=settings.max_upload_bytes,
            max_avatar_bytes=settings.max_avatar_bytes,
        ),
        max_image_pixels=settings.max_image_pixels,
        budgets=budgets,
    )
    account = AccountService(db, auth, passwords, budgets, urls=file_urls)
    api_tokens = ApiTokens(db, auth, budgets)
    bots = BotService(db, api_tokens, budgets, urls=file_urls)
    event_subscriptions = EventSubscriptions(
        db, budgets, webhooks, allowed=settings.webhook_networks
    )
    webhook_queries = WebhookQueries(db)
    session_queries = SessionQueries(db)
    mailer = (
        SmtpMailer(settings.smtp_url, settings.smtp_from or "")
        if settings.smtp_url is not None
        else None
    )
    resets = PasswordResets(
        db,
        auth,
        passwords,
        budgets,
        ttl_s=settings.password_reset_ttl_s,
        public_url=settings.effective_public_url,
        mailer=mailer,
    )
    return Services(
        settings=settings,
        tracing=traces,
        db=db,
        redis=redis,
        bus=bus,
        presence=presence,
        typing=typing,
        metrics=metrics,
        node_id=node_id,
        limiter=limiter,
        budgets=budgets,
        passwords=passwords,
        signer=signer,
        file_urls=file_urls,
        auth=auth,
        admin=AccountAdmin(db, auth),
        admin_queries=AdminQueries(db, session_queries),
        account=account,
        api_tokens=api_tokens,
        bots=bots,
        webhooks=IncomingWebhooks(
            db, bots, send, budgets, public_url=settings.effective_public_url
        ),
        deletion=AccountDeletion(
            db,
            account,
            auth,
            conversation_queries,
            urls=file_urls,
        ),
        resets=resets,
        digests=Digests(
            db,
            mailer,
            UnsubscribeTokens(signing_key),
            public_url=settings.effective_public_url,
            after_s=settings.digest_after_s,
            every_s=settings.digest_every_s,
            check_s=settings.digest_check_s,
            batch=settings.digest_batch,
            tracing=traces,
        ),
        exports=DataExports(ExportQueries(db, file_urls), settings.data_dir, budgets),
        users=users,
        conversations=conversations,
        participants=participants,
        spaces=spaces,
        send=send,
        message_changes=MessageChangeService(
            db,
            views,
            budgets,
            max_reactions_per_user=settings.max_reactions_per_user_per_message,
        ),
        markers=MarkerService(db, budgets),
        message_queries=MessageQueries(db, views, traces),
        search=SearchQueries(db, views),
        files=files,
        user_queries=user_queries,
        session_queries=session_queries,
        conversation_queries=conversation_queries,
        space_queries=space_queries,
        file_queries=file_queries,
        unread_queries=UnreadQueries(db),
        mention_queries=MentionQueries(db, views),
        notification_settings=NotificationSettings(db, budgets),
        notification_queries=NotificationQueries(db),
        push=push,
        push_queries=push_queries,
        notifier=notifier,
        webhook_worker=webhooks,
        event_subscriptions=event_subscriptions,
        bot_subscriptions=BotEventSubscriptions(bots, event_subscriptions, webhook_queries),
        webhook_queries=webhook_queries,
        commands=SlashCommands(db, send, budgets, wake=webhooks.wake),
    )


def _webhook_limits(settings: Settings) -> WebhookLimits:
    return WebhookLimits(
        allowed=settings.webhook_networks,
        poll_s=settings.webhook_poll_s,
        timeout_s=settings.webhook_timeout_s,
        max_attempts=settings.webhook_max_attempts,
        backoff_s=settings.webhook_backoff_s,
        backoff_max_s=settings.webhook_backoff_max_s,
        batch=settings.webhook_batch,
    )


def _push_key(settings: Settings) -> VapidKey | None:
    """The VAPID key, or None: Web Push is off on several nodes (Redis) without one
    given, since a key generated by each node would differ from the one browsers
    subscribed with."""
    if settings.push_vapid_private_key is None and settings.redis_url is not None:
        return None
    return vapid_key(settings)
