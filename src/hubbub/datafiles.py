"""The data directory's private files, and the error a setting that cannot work raises.

Below the settings (`hubbub.config`), which re-exports all of it: the signing key and the
Web Push (VAPID) key are kept the same way (`hubbub.security.vapid`).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path


class SettingError(Exception):
    """A setting that cannot work; `setting` names the variable so start-up can say which."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


log = logging.getLogger("hubbub.config")

# What the data dir holds (password hashes, every message, the signing key) is the
# owner's alone: folders 0700, files 0600; the process runs under umask 077 (`cli`).
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077


def keep_private(path: Path, mode: int) -> None:
    """Narrow `path` to `mode` when group or others have any access; a warning says so."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise SettingError("HUBBUB_DATA_DIR", f"cannot read {path}: {exc.strerror}") from exc
    if current & 0o077 == 0:
        return
    try:
        os.chmod(path, mode)
    except OSError as exc:
        raise SettingError(
            "HUBBUB_DATA_DIR",
            f"{path} is readable by others and cannot be narrowed: {exc.strerror}",
        ) from exc
    log.warning("%s was mode %o, readable by others: narrowed to %o", path, current, mode)
