"""The HTTP endpoints of conversations, messages, threads, reactions, mentions, search
and files, as typed methods (docs/http-api.md: Conversations, Messages, Files)."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from hubbub.client.session import CommandSent, HttpSession, body
from hubbub.wire.models import (
    AddParticipants,
    AttachmentPublic,
    ChangesPage,
    ConversationEnvelope,
    ConversationList,
    ConversationPublic,
    CreateConversation,
    EditMessage,
    MentionPage,
    MessageEnvelope,
    MessagePage,
    MessagePublic,
    ParticipantEnvelope,
    ParticipantPublic,
    ReactionInput,
    ReactionList,
    ReactionPublic,
    ReadResult,
    SearchPage,
    SendMessage,
    Success,
    ThreadPage,
    UpdateConversation,
    UpdateParticipant,
)
from hubbub.wire.notifications import ConversationSettings

# Called with (bytes done, bytes in all or None when the server did not say).
Progress = Callable[[int, int | None], object]
Id = uuid.UUID | str


class ChatApi:
    """Mixed into `AsyncClient`; `_http` is its HTTP session."""

    _http: HttpSession

    # Conversations ------------------------------------------------------------------------

    async def conversations(
        self, *, limit: int = 50, cursor: str | None = None, archived: bool = False
    ) -> ConversationList:
        """One page, latest activity first; give `next_cursor` back for the next."""
        params: dict[str, Any] = {"limit": limit, "archived": str(archived).lower()}
        if cursor is not None:
            params["cursor"] = cursor
        return await self._http.call("GET", "/conversations", ConversationList, params=params)

    async def all_conversations(self, *, archived: bool = False) -> list[ConversationPublic]:
        found: list[ConversationPublic] = []
        cursor: str | None = None
        while True:
            page = await self.conversations(limit=100, cursor=cursor, archived=archived)
            found += page.conversations
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    async def _conversation(self, method: str, path: str, **kwargs: Any) -> ConversationPublic:
        return (await self._http.call(method, path, ConversationEnvelope, **kwargs)).conversation

    async def _create(self, **fields: Any) -> ConversationPublic:
        sent = body(CreateConversation, **fields)
        return await self._conversation("POST", "/conversations", json=sent)

    async def create_group(
        self, name: str, participant_ids: list[uuid.UUID], *, description: str | None = None
    ) -> ConversationPublic:
        return await self._create(
            type="GROUP", name=name, participant_ids=participant_ids, description=description
        )

    async def create_private(self, user_id: uuid.UUID) -> ConversationPublic:
        """The private conversation with that user (the existing one if there is one)."""
        return await self._create(type="PRIVATE", participant_ids=[user_id])

    async def create_channel(self, space_id: uuid.UUID, name: str) -> ConversationPublic:
        """A SPACE conversation: every member of the space takes part."""
        return await self._create(type="SPACE", space_id=space_id, name=name)

    async def conversation(self, conversation_id: Id) -> ConversationPublic:
        path = f"/conversations/{conversation_id}"
        return await self._conversation("GET", path)

    async def update_conversation(
        self,
        conversation_id: Id,
        *,
        name: str | None = None,
        description: str | None = None,
        avatar: str | None = None,
    ) -> ConversationPublic:
        sent = body(UpdateConversation, name=name, description=description, avatar=avatar)
        path = f"/conversations/{conversation_id}"
        return await self._conversation("PATCH", path, json=sent)

    async def conversation_settings(
        self,
        conversation_id: Id,
        *,
        notifications_enabled: bool | None = None,
        notification_level: str | None = None,
        muted_until: datetime | None = None,
        is_archived: bool | None = None,
    ) -> ConversationPublic:
        """The caller's own settings of one conversation: its notification level there
        (`all`, `mentions`, `nothing`), muted until a time, archived; None leaves one."""
        sent = body(
            ConversationSettings,
            notifications_enabled=notifications_enabled,
            notification_level=notification_level,
            muted_until=muted_until,
            is_archived=is_archived,
        )
        path = f"/conversations/{conversation_id}/settings"
        return await self._conversation("PUT", path, json=sent)

    async def add_participants(
        self, conversation_id: Id, user_ids: list[uuid.UUID], *, role: str | None = None
    ) -> ConversationPublic:
        sent = body(AddParticipants, user_ids=user_ids, role=role)
        path = f"/conversations/{conversation_id}/participants"
        return await self._conversation("POST", path, json=sent)

    async def update_participant(
        self, conversation_id: Id, user_id: Id, **changes: Any
    ) -> ParticipantPublic:
        """`role`, `can_send_messages`, `can_upload_files`, `can_add_members`,
        `can_remove_members`."""
        sent = body(UpdateParticipant, **changes)
        path = f"/conversations/{conversation_id}/participants/{user_id}"
        return (await self._http.call("PATCH", path, ParticipantEnvelope, json=sent)).participant

    async def remove_participant(self, conversation_id: Id, user_id: Id) -> Success:
        """Remove someone, or leave (one's own id)."""
        path = f"/conversations/{conversation_id}/participants/{user_id}"
        return await self._http.call("DELETE", path, Success)

    # Messages ---------------------------------------------------------------------------

    async def messages(
        self,
        conversation_id: Id,
        *,
        limit: int = 50,
        before: Id | None = None,
        after: Id | None = None,
        around: Id | None = None,
    ) -> MessagePage:
        """A page of history, oldest first: the newest `limit`, or those before or after
        a message id, or around one."""
        params: dict[str, Any] = {"limit": limit}
        for name, value in (("before", before), ("after", after), ("aroundId", around)):
            if value is not None:
                params[name] = str(value)
        path = f"/conversations/{conversation_id}/messages"
        return await self._http.call("GET", path, MessagePage, params=params)

    async def history(
        self, conversation_id: Id, *, page_size: int = 100
    ) -> AsyncIterator[MessagePublic]:
        """Every message, newest first, a page at a time."""
        before: str | None = None
        while True:
            page = await self.messages(conversation_id, limit=page_size, before=before)
            for message in reversed(page.messages):
                yield message
            if not page.has_more or not page.messages:
                return
            before = str(page.messages[0].id)

    async def post_message(
        self, conversation_id: Id, content: str = "", **fields: Any
    ) -> MessagePublic:
        """A send over HTTP (`AsyncClient.send` uses the live connection when it is up).
        `fields`: `optimistic_id`, `parent_message_id`, `attachments`, `mentions`,
        `metadata`, `type`, `client_timestamp`."""
        fields.setdefault("optimistic_id", uuid.uuid4().hex)
        sent = body(SendMessage, content=content, **fields)
        path = f"/conversations/{conversation_id}/messages"
        answer = await self._http.request("POST", path, json=sent)
        if answer.status_code == 202:  # a slash command: nothing was posted
            raise CommandSent(answer.json()["command"])
        return MessageEnvelope.model_validate(answer.json()).message

    async def _message(
        self, method: str, conversation_id: Id, message_id: Id | None, **kwargs: Any
    ) -> MessagePublic:
        path = f"/conversations/{conversation_id}/messages"
        if message_id is not None:
            path += f"/{message_id}"
        return (await self._http.call(method, path, MessageEnvelope, **kwargs)).message

    async def message(self, conversation_id: Id, message_id: Id) -> MessagePublic:
        return await self._message("GET", conversation_id, message_id)

    async def edit_message(
        self, conversation_id: Id, message_id: Id, content: str
    ) -> MessagePublic:
        sent = body(EditMessage, content=content)
        return await self._message("PATCH", conversation_id, message_id, json=sent)

    async def delete_message(self, conversation_id: Id, message_id: Id) -> MessagePublic:
        return await self._message("DELETE", conversation_id, message_id)

    async def thread(
        self, conversation_id: Id, message_id: Id, *, limit: int = 50, after: Id | None = None
    ) -> ThreadPage:
        """The replies to a message, in order."""
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = str(after)
        path = f"/conversations/{conversation_id}/messages/{message_id}/thread"
        return await self._http.call("GET", path, ThreadPage, params=params)

    async def mark_read(self, conversation_id: Id, message_id: Id) -> ReadResult:
        path = f"/conversations/{conversation_id}/messages/{message_id}/read"
        return await self._http.call("PUT", path, ReadResult)

    async def react(self, conversation_id: Id, message_id: Id, emoji: str) -> list[ReactionPublic]:
        sent = body(ReactionInput, emoji=emoji)
        path = f"/conversations/{conversation_id}/messages/{message_id}/reactions"
        return (await self._http.call("POST", path, ReactionList, json=sent)).reactions

    async def unreact(
        self, conversation_id: Id, message_id: Id, emoji: str
    ) -> list[ReactionPublic]:
        path = f"/conversations/{conversation_id}/messages/{message_id}/reactions/{emoji}"
        return (await self._http.call("DELETE", path, ReactionList)).reactions

    async def changes(self, conversation_id: Id, since: int, *, limit: int = 100) -> ChangesPage:
        """The messages created or changed after number `since` (resume over HTTP)."""
        params = {"since": since, "limit": limit}
        path = f"/conversations/{conversation_id}/changes"
        return await self._http.call("GET", path, ChangesPage, params=params)

    async def mentions(self, *, limit: int = 50, cursor: str | None = None) -> MentionPage:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        return await self._http.call("GET", "/mentions", MentionPage, params=params)

    async def search_messages(
        self,
        q: str,
        *,
        conversation_id: Id | None = None,
        limit: int = 20,
        before: Id | None = None,
    ) -> SearchPage:
        params: dict[str, Any] = {"q": q, "limit": limit}
        if conversation_id is not None:
            params["conversationId"] = str(conversation_id)
        if before is not None:
            params["before"] = str(before)
        return await self._http.call("GET", "/search/messages", SearchPage, params=params)

    # Files ------------------------------------------------------------------------------

    async def upload(
        self,
        source: Path | bytes,
        *,
        filename: str | None = None,
        kind: str = "message_attachment",
        progress: Progress | None = None,
    ) -> AttachmentPublic:
        """Upload a file (a path, or bytes with a `filename`); `kind` is
        `message_attachment` or `avatar`. Attach it to a message by its `id`."""
        if isinstance(source, Path):
            data, name = await asyncio.to_thread(source.read_bytes), filename or source.name
        else:
            data, name = source, filename or "file"
        files = {"file": (name, _Reading(data, progress), "application/octet-stream")}
        return await self._http.call(
            "POST", "/files/upload", AttachmentPublic, files=files, data={"type": kind}
        )

    async def download(
        self, url: str, *, progress: Progress | None = None, to: Path | None = None
    ) -> bytes:
        """The bytes of a file by the URL the server gave (`attachment.url`, an avatar,
        a thumbnail), also written to `to` when given."""
        target = url if url.startswith(("http://", "https://")) else self._http.base + url
        token = await self._http.access_token()
        chunks: list[bytes] = []
        headers = {"Authorization": f"Bearer {token}"}
        async with self._http.http.stream("GET", target, headers=headers) as response:
            if response.status_code >= 400:
                await response.aread()
                response.raise_for_status()
            total = response.headers.get("Content-Length")
            done = 0
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, int(total) if total else None)
        data = b"".join(chunks)
        if to is not None:
            await asyncio.to_thread(to.write_bytes, data)
        return data


class _Reading(io.BytesIO):
    """The upload's bytes, reporting how far the request body has read them."""

    def __init__(self, data: bytes, progress: Progress | None) -> None:
        super().__init__(data)
        self._total = len(data)
        self._progress = progress

    def read(self, size: int | None = -1, /) -> bytes:
        chunk = super().read(size)
        if self._progress is not None and chunk:
            self._progress(self.tell(), self._total)
        return chunk
