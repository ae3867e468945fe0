"""Where outgoing webhooks may connect (no SSRF into the operator's network), and the
rules of webhooks as pure functions.

Registration refuses an endpoint whose host is, or resolves to, a private, loopback,
link-local, multicast or reserved address (422 `address_refused`, nothing kept) unless
the operator allows its network; every connection checks again and connects to the
address it checked, keeping the URL's host in `Host`. The connection-time check runs
against a real receiver on the loopback, which must see nothing when refused.
"""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import httpx
import pytest

from hubbub.actions.webhook_http import AddressRefused, post_event
from hubbub.app import Node
from hubbub.domain.webhook_rules import (
    EventKind,
    SeenMessage,
    address_refused,
    command_call,
    event_for,
    retry_delay_s,
    webhook_url_problem,
)
from tests.conftest import RegisterFn, assert_error, count_rows
from tests.hooks import Receiver

REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # the clouds' metadata service
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",  # noqa: S104 (the unspecified address, refused)
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "2001:db8::1",  # documentation
]
ALLOWED = ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"]


@pytest.mark.parametrize("address", REFUSED)
def test_private_and_special_addresses_are_refused(address: str) -> None:
    assert address_refused(ip_address(address), ())


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert not address_refused(ip_address(address), ())


def test_the_operator_allows_a_network_and_only_it() -> None:
    allowed = (ip_network("127.0.0.0/8"), ip_network("fd00::/8"))
    assert not address_refused(ip_address("127.0.0.1"), allowed)
    assert not address_refused(ip_address("::ffff:127.0.0.1"), allowed)
    assert not address_refused(ip_address("fd12::1"), allowed)
    assert address_refused(ip_address("10.0.0.1"), allowed)
    assert address_refused(ip_address("169.254.169.254"), allowed)


def _seen(**flags: bool) -> SeenMessage:
    values = dict.fromkeys(
        ("sender_is_account", "mentions_account", "private_conversation", "system"), False
    )
    return SeenMessage(**(values | flags))


@pytest.mark.parametrize(
    ("seen", "wanted", "expected"),
    [
        (_seen(), {EventKind.NEW_MESSAGE}, EventKind.NEW_MESSAGE),
        (_seen(), {EventKind.MENTION, EventKind.DIRECT}, None),
        (_seen(mentions_account=True), {EventKind.NEW_MESSAGE}, EventKind.NEW_MESSAGE),
        (
            _seen(mentions_account=True, private_conversation=True),
            {EventKind.MENTION, EventKind.DIRECT, EventKind.NEW_MESSAGE},
            EventKind.MENTION,
        ),
        (
            _seen(private_conversation=True),
            {EventKind.DIRECT, EventKind.NEW_MESSAGE},
            EventKind.DIRECT,
        ),
        (_seen(private_conversation=True, system=True), {EventKind.DIRECT}, None),
        (_seen(sender_is_account=True), {EventKind.NEW_MESSAGE}, None),
        (_seen(sender_is_account=True, mentions_account=True), {EventKind.MENTION}, None),
        (_seen(), {EventKind.COMMAND}, None),
    ],
)
def test_which_event_a_message_is(
    seen: SeenMessage, wanted: set[EventKind], expected: EventKind | None
) -> None:
    assert event_for(seen, wanted) == expected


def test_retries_back_off_exponentially_to_a_cap() -> None:
    delays = [retry_delay_s(n, base_s=1, cap_s=20) for n in range(1, 8)]
    assert delays == [1, 2, 4, 8, 16, 20, 20]
    assert retry_delay_s(10_000, base_s=1, cap_s=600) == 600


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://bot.example/hook", None),
        ("http://bot.example:8080/a?b=c", None),
        ("ftp://bot.example/", "url: must be an http:// or https:// URL with a host"),
        ("http:///nohost", "url: must be an http:// or https:// URL with a host"),
        ("https://user:pw@bot.example/", "url: must not hold a user name or password"),
        ("https://bot.example/#x", "url: must not have a fragment"),
        ("https://bot.example:99999/", "url: is not a URL"),
    ],
)
def test_what_an_endpoint_url_may_be(url: str, problem: str | None) -> None:
    assert webhook_url_problem(url) == problem


def test_a_slash_command_call() -> None:
    call = command_call("/Weather  Paris tomorrow ")
    assert call is not None
    assert (call.name, call.args) == ("weather", "Paris tomorrow")
    bare = command_call("/roll")
    assert bare is not None
    assert (bare.name, bare.args) == ("roll", "")
    assert command_call("not /a command") is None
    assert command_call("/ space") is None
    assert command_call("//comment") is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",  # a name that resolves to the loopback
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.7/hook",
        "http://[::1]:9/hook",
        "http://[::ffff:192.168.0.1]/hook",
    ],
)
async def test_registration_refuses_private_endpoints(
    node: Node, client: httpx.AsyncClient, register: RegisterFn, url: str
) -> None:
    bot = await register()
    r = await client.post(
        "/users/me/event-subscriptions",
        headers=bot.headers,
        json={"url": url, "events": ["mention"]},
    )
    body = assert_error(r, 422, "address_refused")
    assert "HUBBUB_WEBHOOK_ALLOW_NETWORKS" in body["message"]
    assert await count_rows(node, "event_subscriptions") == 0


async def test_a_connection_checks_again_and_keeps_the_host() -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        endpoint = receiver.endpoint("guard")
        endpoint.secret = "whsec_test"
        url = f"http://localhost:{receiver.port}/hook/guard"
        body = b'{"id":"0193a000-0000-7000-8000-000000000000","type":"ping",' + (
            b'"accountId":"0193a000-0000-7000-8000-000000000001",'
            b'"createdAt":"2026-01-01T00:00:00.000Z"}'
        )
        async with httpx.AsyncClient(trust_env=False) as http:
            with pytest.raises(AddressRefused):
                await post_event(
                    http,
                    url,
                    secret="whsec_test",
                    event_id="e1",
                    event="ping",
                    body=body,
                    allowed=(),
                )
            assert endpoint.received == []
            answer = await post_event(
                http,
                url,
                secret="whsec_test",
                event_id="0193a000-0000-7000-8000-000000000000",
                event="ping",
                body=body,
                allowed=(ip_network("127.0.0.0/8"), ip_network("::1/128")),
            )
        assert answer.status == 200
        assert [e["type"] for e in endpoint.received] == ["ping"]
        # Connected to the address checked, the URL's host kept for the receiver.
        assert endpoint.headers[0]["Host"] == f"localhost:{receiver.port}"
        assert not receiver.problems
    finally:
        await receiver.stop()
