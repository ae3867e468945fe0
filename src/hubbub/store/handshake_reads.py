"""The two reads of every handshake, on the driver: whose token it is, and which
conversations the socket hears.

`hubbub.actions.auth` (every HTTP call and handshake) and
`hubbub.queries.conversations` (every handshake) -> here -> the database driver. Each
is one indexed lookup, and through an ORM session it cost more in SQLAlchemy (the
session, a greenlet hop per call, the result object) than in the database: a reconnect
storm is thousands of both at once. Here they are statements compiled once
(`hubbub.store.prepared`) run on a read connection, without a transaction, as history
pages are (`hubbub.store.page_reads.driver_reads`).
"""

from __future__ import annotations

import uuid
from typing import NamedTuple, cast

from sqlalchemy import Table, bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hubbub.domain.enums import ParticipantStatus
from hubbub.store.models import Participant, RevokedToken, User
from hubbub.store.page_reads import driver_reads
from hubbub.store.prepared import Prepared
from hubbub.store.sessions import session_key

_U = cast(Table, User.__table__)
_P = cast(Table, Participant.__table__)
_REVOKED = cast(Table, RevokedToken.__table__)

# The token's own id and its session's mark are the two revocations.
_PRINCIPAL = Prepared(
    select(
        _U.c.id,
        _U.c.username,
        _U.c.is_active,
        exists().where(_REVOKED.c.jti.in_([bindparam("jti"), bindparam("sid")])).label("revoked"),
    ).where(_U.c.id == bindparam("user_id", type_=_U.c.id.type))
)
_CONVERSATION_IDS_OF = Prepared(
    select(_P.c.conversation_id)
    .where(_P.c.user_id == bindparam("user_id", type_=_P.c.user_id.type))
    .where(_P.c.status == ParticipantStatus.ACTIVE)
)


class PrincipalRow(NamedTuple):
    id: uuid.UUID
    username: str
    is_active: bool
    revoked: bool


async def principal_row(
    engine: AsyncEngine, user_id: uuid.UUID, jti: str, family_id: uuid.UUID
) -> PrincipalRow | None:
    """(id, username, is_active, revoked) of the token's user, or None."""
    values = {"user_id": user_id, "jti": jti, "sid": session_key(family_id)}
    async with driver_reads(engine) as reads:
        rows = await reads.rows(_PRINCIPAL, values)
    if not rows:
        return None
    found_id, username, is_active, revoked = rows[0]
    return PrincipalRow(found_id, username, bool(is_active), bool(revoked))


async def conversation_ids_of(engine: AsyncEngine, user_id: uuid.UUID) -> list[uuid.UUID]:
    """The conversations the user is ACTIVE in."""
    async with driver_reads(engine) as reads:
        rows = await reads.rows(_CONVERSATION_IDS_OF, {"user_id": user_id})
    return [conversation_id for (conversation_id,) in rows]
