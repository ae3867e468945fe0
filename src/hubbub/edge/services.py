"""What the edges may call: the actions, queries and realtime parts of one node.

Built by the composition root (`hubbub.compose.build_services`) in the app's lifespan;
the HTTP routes and the socket handlers receive it and call one action or query each.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis

from hubbub.actions.account import AccountService
from hubbub.actions.account_deletion import AccountDeletion
from hubbub.actions.admin import AccountAdmin
from hubbub.actions.api_tokens import ApiTokens
from hubbub.actions.auth import AuthService
from hubbub.actions.bot_subscriptions import BotEventSubscriptions
from hubbub.actions.bots import BotService
from hubbub.actions.budgets import Budgets
from hubbub.actions.commands import SlashCommands
from hubbub.actions.conversations import ConversationService
from hubbub.actions.digests import Digests
from hubbub.actions.event_subscriptions import EventSubscriptions
from hubbub.actions.export import DataExports
from hubbub.actions.files import FileService
from hubbub.actions.markers import MarkerService
from hubbub.actions.message_changes import MessageChangeService
from hubbub.actions.notifications import NotificationSettings
from hubbub.actions.participants import ParticipantService
from hubbub.actions.password_reset import PasswordResets
from hubbub.actions.push import PushSubscriptions
from hubbub.actions.send import SendService
from hubbub.actions.spaces import SpaceService
from hubbub.actions.users import UserService
from hubbub.actions.webhook_worker import WebhookWorker
from hubbub.actions.webhooks import IncomingWebhooks
from hubbub.config import Settings
from hubbub.metrics import Metrics
from hubbub.queries.admin import AdminQueries
from hubbub.queries.conversations import ConversationQueries
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
from hubbub.queries.webhooks import WebhookQueries
from hubbub.realtime.bus import EventBus
from hubbub.realtime.limits import RateLimiter
from hubbub.realtime.notifier import Notifier
from hubbub.realtime.presence import Presence
from hubbub.realtime.typing import TypingState
from hubbub.security.passwords import Passwords
from hubbub.security.tokens import TokenSigner
from hubbub.security.urls import FileUrlSigner
from hubbub.store.database import Database
from hubbub.store.migrate import head_revision, revision_of
from hubbub.tracing import Tracing

log = logging.getLogger("hubbub")


@dataclass(frozen=True)
class Readiness:
    """What /readyz reports: each check's state, and the node's status from them.

    Not ready: the database does not answer, or its schema is not this release's.
    Degraded: Redis is configured but does not answer (the node stores messages and
    serves its own sockets, but events do not reach the other nodes).
    """

    database: str  # "reachable" | "unreachable"
    migrations: str  # "current" | "behind" | "unknown" (the database did not answer)
    redis: str  # "connected" | "degraded" | "absent" (not configured)

    @property
    def status(self) -> str:
        if self.database != "reachable" or self.migrations != "current":
            return "not_ready"
        return "degraded" if self.redis == "degraded" else "ready"

    def checks(self) -> dict[str, str]:
        return {"database": self.database, "migrations": self.migrations, "redis": self.redis}

    def problems(self) -> list[str]:
        failed = {"database": "unreachable", "migrations": "behind", "redis": "degraded"}
        return [name for name, state in self.checks().items() if failed[name] == state]


@dataclass
class Services:
    settings: Settings
    tracing: Tracing
    db: Database
    redis: Redis | None
    bus: EventBus
    presence: Presence
    typing: TypingState
    metrics: Metrics
    node_id: str
    limiter: RateLimiter
    budgets: Budgets
    passwords: Passwords
    signer: TokenSigner
    file_urls: FileUrlSigner
    auth: AuthService
    admin: AccountAdmin
    admin_queries: AdminQueries
    account: AccountService
    api_tokens: ApiTokens
    bots: BotService
    webhooks: IncomingWebhooks
    deletion: AccountDeletion
    resets: PasswordResets
    digests: Digests
    exports: DataExports
    users: UserService
    conversations: ConversationService
    participants: ParticipantService
    spaces: SpaceService
    send: SendService
    message_changes: MessageChangeService
    markers: MarkerService
    message_queries: MessageQueries
    search: SearchQueries
    files: FileService
    user_queries: UserQueries
    session_queries: SessionQueries
    conversation_queries: ConversationQueries
    space_queries: SpaceQueries
    file_queries: FileQueries
    unread_queries: UnreadQueries
    mention_queries: MentionQueries
    notification_settings: NotificationSettings
    notification_queries: NotificationQueries
    push: PushSubscriptions
    push_queries: PushQueries
    notifier: Notifier
    webhook_worker: WebhookWorker
    event_subscriptions: EventSubscriptions
    bot_subscriptions: BotEventSubscriptions
    commands: SlashCommands
    webhook_queries: WebhookQueries

    async def readiness(self) -> Readiness:
        # Any failure means "not ready"; the reason is logged, never shown.
        database, migrations = "reachable", "unknown"
        try:
            await self.db.ping()
        except Exception:
            log.warning("readiness: database check failed", exc_info=True)
            database = "unreachable"
        if database == "reachable":
            try:
                current = await revision_of(self.db.read_engine)
                migrations = "current" if current == head_revision() else "behind"
            except Exception:
                log.warning("readiness: migration check failed", exc_info=True)
        redis = "absent"
        if self.redis is not None:
            redis = "connected"
            try:
                await self.redis.ping()
            except Exception:
                log.warning("readiness: redis check failed", exc_info=True)
                redis = "degraded"
        return Readiness(database, migrations, redis)

    async def close(self) -> None:
        await self.webhook_worker.close()
        await self.send.close()
        await self.notifier.close()
        await self.digests.close()
        await self.resets.close()
        await self.exports.close()
        await self.bus.stop()
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()
