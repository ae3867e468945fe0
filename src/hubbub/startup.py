"""Start-up checks: turn a setting that cannot work into one clear line naming it.

Run by the CLI before serving (and by `migrate`): settings are checked, the data
directory made, the database reached and migrated (the embedded default) or checked to
be at the current revision, and Redis pinged (a node starts without it, degraded).
Failures raise `SettingError`.
"""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis

from hubbub.config import SettingError, Settings
from hubbub.store.database import open_database
from hubbub.store.engines import capabilities_of
from hubbub.store.migrate import current_revision, head_revision, upgrade_to_head

CONNECT_TIMEOUT_S = 10.0

log = logging.getLogger("hubbub")


async def check_database(settings: Settings) -> None:
    db = open_database(settings.effective_database_url, pool_size=1)
    try:
        await asyncio.wait_for(db.ping(), CONNECT_TIMEOUT_S)
    except Exception as exc:  # whatever the driver raises, the user needs the setting's name
        raise SettingError(
            "HUBBUB_DATABASE_URL", f"cannot reach the database ({_reason(exc)})"
        ) from exc
    finally:
        await db.dispose()


async def check_redis(settings: Settings) -> bool:
    """Whether Redis answers. A node starts without it, degraded, as a running node
    goes on through an outage: it stores and delivers to its own sockets, and the bus
    subscribes (then resyncs) once Redis answers. A URL that cannot work stops it."""
    if settings.redis_url is None:
        return True
    try:
        redis = Redis.from_url(settings.redis_url, socket_connect_timeout=CONNECT_TIMEOUT_S)
    except ValueError as exc:
        raise SettingError("HUBBUB_REDIS_URL", str(exc)) from exc
    try:
        await asyncio.wait_for(redis.ping(), CONNECT_TIMEOUT_S)
    except Exception as exc:
        log.warning(
            "cannot reach Redis (%s): starting degraded; events reach this node's sockets "
            "only, until Redis answers",
            _reason(exc),
        )
        return False
    finally:
        await redis.aclose()
    return True


async def migrate(settings: Settings) -> None:
    settings.check()
    if capabilities_of(settings.effective_database_url).embedded:
        settings.ensure_data_dir()
    await check_database(settings)
    await upgrade_to_head(settings.effective_database_url)


async def prepare_to_serve(settings: Settings) -> None:
    settings.check()
    settings.ensure_data_dir()
    settings.signing_key()
    await check_database(settings)
    await check_redis(settings)
    if capabilities_of(settings.effective_database_url).embedded:
        await upgrade_to_head(settings.effective_database_url)
    else:
        current = await current_revision(settings.effective_database_url)
        if current != head_revision():
            raise SettingError(
                "HUBBUB_DATABASE_URL",
                f"the database schema is at {current or 'nothing'}, not {head_revision()}; "
                "run `hubbub migrate` first",
            )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
