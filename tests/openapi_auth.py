"""Authentication for the schemathesis runs of tests/test_openapi_fuzz.py and
scripts/fuzz-api (loaded through SCHEMATHESIS_HOOKS).

Every generated request is sent as a registered user who is also a server
administrator, with a token from a real login. A request may end that session (POST
/auth/logout does, with the token it is sent with): on a 401 the token is fetched
again and the request repeated once, so later requests are not all refused.
"""

from __future__ import annotations

import os

import requests
import schemathesis
from schemathesis import AuthContext, Case


@schemathesis.auth(retry_on=[401])
class LoggedIn:
    def get(self, case: Case, ctx: AuthContext) -> str:
        response = requests.post(
            os.environ["HUBBUB_FUZZ_BASE"] + "/auth/login",
            json={
                "email": os.environ["HUBBUB_FUZZ_EMAIL"],
                "password": os.environ["HUBBUB_FUZZ_PASSWORD"],
            },
            timeout=10,
        )
        response.raise_for_status()
        token: str = response.json()["token"]
        return token

    def set(self, case: Case, data: str, ctx: AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
