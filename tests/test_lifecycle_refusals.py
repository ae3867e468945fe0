"""The data lifecycle's refusals, called in process against the run's database (both
backends): each is one clear reason, raised before anything is written.
"""

from __future__ import annotations

import os
import uuid
from argparse import Namespace
from pathlib import Path

import pytest

from hubbub.ops.port import port_db
from hubbub.ops.report import Refused
from hubbub.ops.transfer import export, import_
from tests.conftest import Backend, make_settings


async def test_bad_input_is_refused_and_changes_nothing(backend: Backend, tmp_path: Path) -> None:
    settings = make_settings(backend)
    out = tmp_path / "out"
    with pytest.raises(Refused) as refused:
        await export(settings, Namespace(out=str(out), conversation=[str(uuid.uuid4())]))
    assert refused.value.code == "not_found"
    with pytest.raises(Refused) as refused:
        await export(settings, Namespace(out=str(out), conversation=["not-an-id"]))
    assert refused.value.code == "invalid_conversation"
    assert not out.exists()

    (tmp_path / "stray.txt").write_text("someone's file")
    with pytest.raises(Refused) as refused:
        await export(settings, Namespace(out=str(tmp_path), conversation=None))
    assert refused.value.code == "out_not_empty"
    with pytest.raises(Refused) as refused:
        await import_(settings, Namespace(dir=str(tmp_path)))
    assert refused.value.code == "invalid_export"
    assert os.listdir(tmp_path) == ["stray.txt"]

    wrong = Namespace(to="mysql://db/hubbub", batch_size=10, max_batches=None)
    with pytest.raises(Refused) as refused:
        await port_db(settings, wrong)
    # An embedded instance needs a PostgreSQL target; a PostgreSQL one has nothing to port.
    assert refused.value.code == ("not_embedded" if backend.is_postgres else "invalid_target")
