"""avatars kept by file id

Revision ID: 0005
Revises: 0004

Users, conversations and spaces kept their avatar as a URL string, signed once and
stored, so it stopped working for everyone when its signature expired, and any string
was accepted. From here each keeps `avatar_file_id`, the id of an image uploaded as an
avatar, and its URL is signed on every read. A stored avatar that names such a file (a
`/files/<id>/…` URL, with or without host, or a bare id) keeps it, a user's only when it
is their own upload; any other value (an outside URL, a file that is not an avatar
upload, another user's) is dropped.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("users", "conversations", "spaces")
_INDEXED = ("conversations", "spaces")
_FILE_REF = re.compile(
    r"(?:https?://[^/?#]+)?/files/([0-9a-fA-F-]{32,36})(?:[/?#].*)?|([0-9a-fA-F-]{32,36})",
    re.DOTALL,
)


def _file_id(avatar: str) -> uuid.UUID | None:
    found = _FILE_REF.fullmatch(avatar.strip())
    if found is None:
        return None
    try:
        return uuid.UUID(found.group(1) or found.group(2))
    except ValueError:
        return None


def _table(name: str, *columns: str) -> sa.TableClause:
    types = {"avatar": sa.String(500), "kind": sa.String(20)}
    return sa.table(name, *(sa.column(c, types.get(c, sa.Uuid())) for c in columns))


def _keep_avatar_files(connection: sa.Connection, name: str) -> None:
    old = _table(name, "id", "avatar", "avatar_file_id")
    rows = connection.execute(sa.select(old.c.id, old.c.avatar).where(old.c.avatar.isnot(None)))
    wanted = {row_id: _file_id(avatar) for row_id, avatar in rows}
    candidates = {file_id for file_id in wanted.values() if file_id is not None}
    if not candidates:
        return
    files = _table("files", "id", "owner_id", "kind")
    owners = dict(
        connection.execute(
            sa.select(files.c.id, files.c.owner_id)
            .where(files.c.id.in_(candidates))
            .where(files.c.kind == "avatar")
        ).all()
    )
    for row_id, file_id in wanted.items():
        # A user's avatar must be their own upload (as the API requires from now on).
        if file_id in owners and (name != "users" or owners[file_id] == row_id):
            connection.execute(
                sa.update(old).where(old.c.id == row_id).values(avatar_file_id=file_id)
            )


def upgrade() -> None:
    for name in _TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("avatar_file_id", sa.Uuid(), nullable=True))
        _keep_avatar_files(op.get_bind(), name)
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_column("avatar")
            if name in _INDEXED:
                batch_op.create_index(
                    batch_op.f(f"ix_{name}_avatar_file_id"), ["avatar_file_id"], unique=False
                )


def downgrade() -> None:
    for name in _TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("avatar", sa.String(length=500), nullable=True))
        table = _table(name, "id", "avatar", "avatar_file_id")
        connection = op.get_bind()
        for row_id, file_id in connection.execute(
            sa.select(table.c.id, table.c.avatar_file_id).where(table.c.avatar_file_id.isnot(None))
        ):
            connection.execute(
                sa.update(table)
                .where(table.c.id == row_id)
                .values(avatar=f"/files/{file_id}/avatar")
            )
        with op.batch_alter_table(name, schema=None) as batch_op:
            if name in _INDEXED:
                batch_op.drop_index(batch_op.f(f"ix_{name}_avatar_file_id"))
            batch_op.drop_column("avatar_file_id")
