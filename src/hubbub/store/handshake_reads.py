"""The reads of every handshake, on the driver: whose token it is, which conversations
the socket hears, and whom its user's coming online reaches.

`hubbub.actions.auth` (every HTTP call and handshake), `hubbub.queries.conversations`
(every handshake) and `hubbub.queries.users` (a user's first socket and last: presence)
-> here -> the database driver. Each is an indexed lookup, and through an ORM session
it cost more in SQLAlchemy (the session, a greenlet hop per call, the result object)
than in the database: a reconnect storm is thousands of each at once. Here they are
statements compiled once (`hubbub.store.prepared`) run on a read connection, without a
transaction, as history pages are (`hubbub.store.read_connections`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import NamedTuple, cast

from sqlalchemy import Table, bindparam, exists, select

from hubbub.domain.enums import ParticipantStatus
from hubbub.store.models import Participant, RevokedToken, SpaceMember, User
from hubbub.store.prepared import Prepared
from hubbub.store.read_connections import DriverReads
from hubbub.store.sessions import session_key

_U = cast(Table, User.__table__)
_P = cast(Table, Participant.__table__)
_REVOKED = cast(Table, RevokedToken.__table__)
_MINE = cast(Table, SpaceMember.__table__).alias("mine")
_THEIRS = cast(Table, SpaceMember.__table__).alias("theirs")

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

# Who shares a space with the user (the user too, if in any space).
_SPACE_CONTACTS_OF = Prepared(
    select(_THEIRS.c.user_id)
    .distinct()
    .join(_MINE, _MINE.c.space_id == _THEIRS.c.space_id)
    .where(_MINE.c.user_id == bindparam("user_id", type_=_MINE.c.user_id.type))
)


class PrincipalRow(NamedTuple):
    id: uuid.UUID
    username: str
    is_active: bool
    revoked: bool


async def principal_row(
    driver_reads: DriverReads, user_id: uuid.UUID, jti: str, family_id: uuid.UUID
) -> PrincipalRow | None:
    """(id, username, is_active, revoked) of the token's user, or None."""
    values = {"user_id": user_id, "jti": jti, "sid": session_key(family_id)}
    async with driver_reads() as reads:
        rows = await reads.rows(_PRINCIPAL, values)
    if not rows:
        return None
    found_id, username, is_active, revoked = rows[0]
    return PrincipalRow(found_id, username, bool(is_active), bool(revoked))


async def conversation_ids_of(driver_reads: DriverReads, user_id: uuid.UUID) -> list[uuid.UUID]:
    """The conversations the user is ACTIVE in."""
    async with driver_reads() as reads:
        rows = await reads.rows(_CONVERSATION_IDS_OF, {"user_id": user_id})
    return [conversation_id for (conversation_id,) in rows]


async def circles_of(
    driver_reads: DriverReads, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, tuple[frozenset[uuid.UUID], frozenset[uuid.UUID]]]:
    """Per user: their ACTIVE conversations, and who shares a space with them. Together
    they say who their contacts are (`hubbub.store.users.contact_ids_txn`) without
    reading every member of every conversation: a room of 5,000 is one row here, not
    5,000. Two statements per user on one connection: on the driver that is cheaper than
    the two statements for a whole batch were through a session, for the 16 users a
    storm announces together (`hubbub.edge.socket.welcome`) as for one."""
    found: dict[uuid.UUID, tuple[frozenset[uuid.UUID], frozenset[uuid.UUID]]] = {}
    async with driver_reads() as reads:
        for user_id in user_ids:
            values = {"user_id": user_id}
            conversations = await reads.rows(_CONVERSATION_IDS_OF, values)
            contacts = await reads.rows(_SPACE_CONTACTS_OF, values)
            found[user_id] = (
                frozenset(conversation_id for (conversation_id,) in conversations),
                frozenset(contact for (contact,) in contacts),
            )
    return found
