"""The server-wide account rules of `hubbub.domain.account_rules`, as a matrix: who may
stop being an active administrator (deactivated, demoted or deleted)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from hubbub.domain.account_rules import last_admin_refusal, require_not_last_admin
from hubbub.domain.errors import Conflict


@dataclass(frozen=True)
class Who:
    id: uuid.UUID
    is_admin: bool
    is_active: bool


@pytest.mark.parametrize("others", [0, 1, 5])
@pytest.mark.parametrize("active", [True, False])
@pytest.mark.parametrize("admin", [True, False])
def test_only_the_last_active_administrator_is_kept(admin: bool, active: bool, others: int) -> None:
    target = Who(uuid.UUID(int=1), is_admin=admin, is_active=active)
    refusal = last_admin_refusal(target, others)
    if admin and active and others == 0:
        assert isinstance(refusal, Conflict)
        assert refusal.code == "last_admin"
        with pytest.raises(Conflict):
            require_not_last_admin(target, others)
    else:
        assert refusal is None
        require_not_last_admin(target, others)
