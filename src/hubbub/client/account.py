"""The HTTP endpoints of a user's session, account, profile, users and spaces, as typed
methods (docs/http-api.md: Auth, Users and the own account, Spaces)."""

from __future__ import annotations

import uuid
from typing import Any

from hubbub.client.session import HttpSession, HubbubError, body
from hubbub.wire.account import (
    ChangeEmailRequest,
    ChangePasswordRequest,
    DeleteAccountRequest,
    ExportState,
    PasswordResetAccepted,
    PasswordResetConfirm,
    PasswordResetRequest,
    SessionList,
    SessionsEnded,
    SessionView,
)
from hubbub.wire.models import (
    AddSpaceMembers,
    AuthResult,
    ConversationPublic,
    CreateSpace,
    LoginRequest,
    Me,
    MeEnvelope,
    RegisterRequest,
    SpaceConversations,
    SpaceEnvelope,
    SpaceList,
    SpacePublic,
    Success,
    TokenPair,
    UpdateMe,
    UserEnvelope,
    UserList,
    UserPublic,
)
from hubbub.wire.notifications import (
    NotificationPreferencesView,
    UpdateNotificationPreferences,
)
from hubbub.wire.push import (
    PushSubscriptionEnvelope,
    PushSubscriptionList,
    PushSubscriptionRequest,
    PushSubscriptionView,
    VapidPublicKey,
)


class AccountApi:
    """Mixed into `AsyncClient`; `_http` is its HTTP session."""

    _http: HttpSession

    # Auth -------------------------------------------------------------------------------

    async def register(
        self, username: str, email: str, password: str, *, display_name: str | None = None
    ) -> Me:
        """Create an account and sign in with it."""
        sent = body(
            RegisterRequest,
            username=username,
            email=email,
            password=password,
            display_name=display_name,
        )
        result = await self._http.call("POST", "/auth/register", AuthResult, json=sent, auth=False)
        return self._http.signed_in(result)

    async def login(self, name_or_email: str, password: str) -> Me:
        sent = body(LoginRequest, email=name_or_email, password=password)
        result = await self._http.call("POST", "/auth/login", AuthResult, json=sent, auth=False)
        return self._http.signed_in(result)

    async def login_with_token(self, token: str) -> Me:
        """Sign in with an API token (a bot's, or a personal one made in the settings):
        no password and no refresh; the token's scopes bound what it may do."""
        self._http.use_api_token(token)
        try:
            user = await self.me()
        except HubbubError:
            self._http.signed_out()
            raise
        self._http.user = user
        return user

    async def login_or_register(self, username: str, password: str) -> Me:
        """Sign in; the first time, sign up with that name (and `<name>@example.com`):
        for bots and scripts that bring their own account."""
        try:
            return await self.login(username, password)
        except HubbubError as exc:
            if exc.code != "invalid_credentials":
                raise
        return await self.register(username, f"{username}@example.com", password)

    async def refresh(self) -> TokenPair:
        """A new token pair now (the client also refreshes by itself, ahead of expiry and
        on a 401)."""
        return await self._http.refresh()

    async def logout(self) -> None:
        """End this session on the server (its sockets are cut) and forget the tokens."""
        tokens = self._http.tokens
        if tokens is not None:
            await self._http.call(
                "POST", "/auth/logout", Success, json={"refreshToken": tokens.refresh}
            )
        self._http.signed_out()

    async def request_password_reset(self, email: str) -> PasswordResetAccepted:
        sent = body(PasswordResetRequest, email=email)
        return await self._http.call(
            "POST", "/auth/password-reset", PasswordResetAccepted, json=sent, auth=False
        )

    async def confirm_password_reset(self, token: str, new_password: str) -> Success:
        sent = body(PasswordResetConfirm, token=token, new_password=new_password)
        return await self._http.call(
            "POST", "/auth/password-reset/confirm", Success, json=sent, auth=False
        )

    # Users and the own account ---------------------------------------------------------

    async def me(self) -> Me:
        return (await self._http.call("GET", "/users/me", MeEnvelope)).user

    async def update_me(
        self, *, display_name: str | None = None, avatar: str | None = None, bio: str | None = None
    ) -> Me:
        """Change the profile; `avatar` is an upload's id or URL (`""` removes it)."""
        sent = body(UpdateMe, display_name=display_name, avatar=avatar, bio=bio)
        return (await self._http.call("PUT", "/users/me", MeEnvelope, json=sent)).user

    async def get_user(self, user_id: uuid.UUID | str) -> UserPublic:
        return (await self._http.call("GET", f"/users/{user_id}", UserEnvelope)).user

    async def search_users(self, q: str, *, limit: int = 20) -> UserList:
        params = {"q": q, "limit": limit}
        return await self._http.call("GET", "/users/search", UserList, params=params)

    async def change_password(self, current_password: str, new_password: str) -> SessionsEnded:
        """Every other session of the account ends; this one goes on."""
        sent = body(
            ChangePasswordRequest, current_password=current_password, new_password=new_password
        )
        return await self._http.call("POST", "/users/me/password", SessionsEnded, json=sent)

    async def change_email(self, password: str, email: str) -> Me:
        sent = body(ChangeEmailRequest, password=password, email=email)
        return (await self._http.call("POST", "/users/me/email", MeEnvelope, json=sent)).user

    async def delete_account(self, password: str) -> Success:
        """The account becomes a tombstone; the client is signed out."""
        sent = body(DeleteAccountRequest, password=password)
        done = await self._http.call("DELETE", "/users/me", Success, json=sent)
        self._http.signed_out()
        return done

    async def sessions(self) -> list[SessionView]:
        return (await self._http.call("GET", "/users/me/sessions", SessionList)).sessions

    async def logout_others(self) -> SessionsEnded:
        return await self._http.call("POST", "/users/me/sessions/logout-others", SessionsEnded)

    async def notification_preferences(self) -> NotificationPreferencesView:
        """The caller's notification defaults by conversation type, pause, quiet hours,
        time zone and digests (a conversation's own: `conversation_settings`)."""
        path = "/users/me/notifications"
        return await self._http.call("GET", path, NotificationPreferencesView)

    async def update_notification_preferences(self, **fields: Any) -> NotificationPreferencesView:
        """Change some of them (`private`, `group`, `space`: `all`, `mentions` or
        `nothing`; `paused_until`, `quiet_hours_start`, `quiet_hours_end` as "HH:MM",
        `timezone`, `digests`); the others stay."""
        sent = body(UpdateNotificationPreferences, **fields)
        path = "/users/me/notifications"
        return await self._http.call("PATCH", path, NotificationPreferencesView, json=sent)

    async def vapid_public_key(self) -> str:
        """The key a Web Push subscription is made with (404 `push_disabled` when off)."""
        return (await self._http.call("GET", "/push/vapid-public-key", VapidPublicKey)).public_key

    async def push_subscribe(self, endpoint: str, p256dh: str, auth: str) -> PushSubscriptionView:
        """Keep a Web Push subscription (an https:// endpoint and its keys)."""
        sent = body(
            PushSubscriptionRequest, endpoint=endpoint, keys={"p256dh": p256dh, "auth": auth}
        )
        path = "/users/me/push-subscriptions"
        return (
            await self._http.call("POST", path, PushSubscriptionEnvelope, json=sent)
        ).subscription

    async def push_subscriptions(self) -> list[PushSubscriptionView]:
        path = "/users/me/push-subscriptions"
        return (await self._http.call("GET", path, PushSubscriptionList)).subscriptions

    async def push_unsubscribe(self, subscription_id: uuid.UUID | str) -> Success:
        path = f"/users/me/push-subscriptions/{subscription_id}"
        return await self._http.call("DELETE", path, Success)

    async def end_session(self, session_id: uuid.UUID | str) -> Success:
        return await self._http.call("DELETE", f"/users/me/sessions/{session_id}", Success)

    async def start_export(self) -> ExportState:
        return await self._http.call("POST", "/users/me/export", ExportState)

    async def export_state(self) -> ExportState:
        return await self._http.call("GET", "/users/me/export", ExportState)

    async def download_export(self, export_id: uuid.UUID | str) -> dict[str, Any]:
        """The export, a JSON document of the user's data."""
        response = await self._http.request("GET", f"/users/me/export/{export_id}")
        document: dict[str, Any] = response.json()
        return document

    # Spaces -----------------------------------------------------------------------------

    async def create_space(self, name: str, *, description: str | None = None) -> SpacePublic:
        sent = body(CreateSpace, name=name, description=description)
        return (await self._http.call("POST", "/spaces", SpaceEnvelope, json=sent)).space

    async def spaces(self) -> list[SpacePublic]:
        return (await self._http.call("GET", "/spaces", SpaceList)).spaces

    async def space(self, space_id: uuid.UUID | str) -> SpacePublic:
        return (await self._http.call("GET", f"/spaces/{space_id}", SpaceEnvelope)).space

    async def add_space_members(
        self, space_id: uuid.UUID | str, user_ids: list[uuid.UUID]
    ) -> SpacePublic:
        sent = body(AddSpaceMembers, user_ids=user_ids)
        path = f"/spaces/{space_id}/members"
        return (await self._http.call("POST", path, SpaceEnvelope, json=sent)).space

    async def remove_space_member(
        self, space_id: uuid.UUID | str, user_id: uuid.UUID | str
    ) -> Success:
        return await self._http.call("DELETE", f"/spaces/{space_id}/members/{user_id}", Success)

    async def space_conversations(self, space_id: uuid.UUID | str) -> list[ConversationPublic]:
        path = f"/spaces/{space_id}/conversations"
        return (await self._http.call("GET", path, SpaceConversations)).conversations
