"""HTTP edge for /users/me/...: a user's own password, email, sessions, data export and
notification defaults.

Parse, one service call, serialise.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response

from hubbub.edge.http.deps import PrincipalDep, ServicesDep, client_address
from hubbub.edge.http.openapi import raises
from hubbub.edge.http.responses import json_response
from hubbub.wire.account import (
    ChangeEmailRequest,
    ChangePasswordRequest,
    DeleteAccountRequest,
    ExportState,
    SessionList,
    SessionsEnded,
)
from hubbub.wire.models import MeEnvelope, Success
from hubbub.wire.notifications import NotificationPreferencesView, UpdateNotificationPreferences

router = APIRouter(prefix="/users/me", tags=["account"])


@router.post("/password", response_model=SessionsEnded, responses=raises(403, 429))
async def change_password(
    body: ChangePasswordRequest, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Change the password (the current one required); every other session ends."""
    ended = await services.account.change_password(principal, body, client_address(request))
    return json_response(ended)


@router.post("/email", response_model=MeEnvelope, responses=raises(403, 409, 429))
async def change_email(
    body: ChangeEmailRequest, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    user = await services.account.change_email(principal, body, client_address(request))
    return json_response(MeEnvelope(user=user))


@router.delete("", response_model=Success, responses=raises(403, 409, 429))
async def delete_account(
    body: DeleteAccountRequest, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Delete the account (the password required): a tombstone, see the README."""
    await services.deletion.delete(principal, body.password, client_address(request))
    return json_response(Success())


@router.get("/sessions", response_model=SessionList)
async def list_sessions(principal: PrincipalDep, services: ServicesDep) -> Response:
    sessions = await services.session_queries.of_user(principal.user_id, principal.session_id)
    return json_response(sessions)


@router.post("/sessions/logout-others", response_model=SessionsEnded)
async def logout_others(principal: PrincipalDep, services: ServicesDep) -> Response:
    return json_response(await services.account.end_other_sessions(principal))


# `:uuid`: DELETE …/sessions/logout-others is a method the path does not have (405).
@router.delete("/sessions/{session_id:uuid}", response_model=Success)
async def end_session(
    session_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    await services.account.end_session(principal, session_id)
    return json_response(Success())


@router.post("/export", status_code=202, response_model=ExportState, responses=raises(429))
async def start_export(principal: PrincipalDep, services: ServicesDep) -> Response:
    """Start making a JSON export of my data in the background (or see the running one)."""
    return json_response(await services.exports.start(principal.user_id), 202)


@router.get("/export", response_model=ExportState)
async def export_state(principal: PrincipalDep, services: ServicesDep) -> Response:
    return json_response(services.exports.state(principal.user_id))


@router.get(
    "/export/{export_id}",
    response_class=FileResponse,
    responses={200: {"content": {"application/json": {}}, "description": "the export"}},
)
async def download_export(
    export_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> Response:
    path = services.exports.file_of(principal.user_id, export_id)
    return FileResponse(
        path, media_type="application/json", filename=f"hubbub-export-{export_id}.json"
    )


@router.get("/notifications", response_model=NotificationPreferencesView)
async def notification_preferences(principal: PrincipalDep, services: ServicesDep) -> Response:
    """My notification defaults by conversation type, pause and do-not-disturb hours."""
    return json_response(await services.notification_queries.preferences(principal.user_id))


@router.patch("/notifications", response_model=NotificationPreferencesView, responses=raises(429))
async def update_notification_preferences(
    body: UpdateNotificationPreferences, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Change some of my notification defaults; fields not given stay as they are."""
    view = await services.notification_settings.update(principal.user_id, body)
    return json_response(view)
