"""The rules of outgoing webhooks and slash commands, as pure functions.

Which event a message is for a subscribed account (`event_for`), where the server may
connect (`address_refused`: no private, loopback, link-local, multicast or reserved
address unless the operator allows its network), when a failed delivery is tried again
(`retry_delay_s`), what an endpoint URL may be (`webhook_url_problem`) and what a slash
command looks like (`command_call`). Used by `hubbub.actions.event_subscriptions` and its worker.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from urllib.parse import urlsplit

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


class EventKind(enum.StrEnum):
    """What a subscription may ask for; `ping` is sent by the test endpoint only."""

    NEW_MESSAGE = "new_message"  # any message in a conversation the account is in
    MENTION = "mention"  # a message that mentions the account
    DIRECT = "direct"  # a message in a private (one-to-one) conversation with the account
    COMMAND = "command"  # a slash command the account registered
    PING = "ping"


SUBSCRIBABLE = (EventKind.NEW_MESSAGE, EventKind.MENTION, EventKind.DIRECT, EventKind.COMMAND)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True)
class SeenMessage:
    """What `event_for` looks at."""

    sender_is_account: bool
    mentions_account: bool
    private_conversation: bool
    system: bool


def event_for(message: SeenMessage, wanted: Collection[EventKind]) -> EventKind | None:
    """The event a message is for a subscription wanting `wanted`, the most specific
    first; None: not delivered (its own messages never are: no bot answers itself)."""
    if message.sender_is_account:
        return None
    if message.mentions_account and EventKind.MENTION in wanted:
        return EventKind.MENTION
    if message.private_conversation and not message.system and EventKind.DIRECT in wanted:
        return EventKind.DIRECT
    if EventKind.NEW_MESSAGE in wanted:
        return EventKind.NEW_MESSAGE
    return None


def address_refused(address: Address, allowed: Iterable[Network]) -> bool:
    """True when the server must not connect there: anything but a public address,
    unless the operator allowed a network that holds it."""
    if any(address.version == net.version and address in net for net in allowed):
        return False
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address_refused(address.ipv4_mapped, allowed)
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def retry_delay_s(attempts: int, *, base_s: float, cap_s: float) -> float:
    """Seconds before the next try after `attempts` failed ones: base, 2 base, 4 base, ...
    at most `cap_s`."""
    return float(min(cap_s, base_s * 2 ** min(max(attempts - 1, 0), 30)))


def is_dead(attempts: int, max_attempts: int) -> bool:
    return attempts >= max_attempts


def webhook_url_problem(url: str) -> str | None:
    """Why `url` cannot be an endpoint, or None (the address is checked on its own)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError:
        return "url: is not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "url: must be an http:// or https:// URL with a host"
    if parts.username is not None or parts.password is not None:
        return "url: must not hold a user name or password"
    if parts.fragment:
        return "url: must not have a fragment"
    return None


_CALL = re.compile(r"^/([A-Za-z0-9][A-Za-z0-9_-]{0,31})(?:\s+(.*))?$", re.DOTALL)


@dataclass(frozen=True)
class CommandCall:
    name: str  # lower-cased
    args: str


def command_call(content: str) -> CommandCall | None:
    """`/name args` -> the call; None when the content is not shaped like one."""
    match = _CALL.match(content.strip())
    if match is None:
        return None
    return CommandCall(match.group(1).lower(), (match.group(2) or "").strip())
