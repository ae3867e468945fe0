"""Parts of the settings kept apart so each module stays small, below `hubbub.config`,
which uses them: lists of networks, and the settings of outgoing webhooks
(docs/integrations.md), which `Settings` inherits.

HUBBUB_WEBHOOK_ALLOW_NETWORKS: comma-separated addresses or CIDRs the server may call
although they are private, loopback, link-local or reserved (none by default: no
endpoint reaches into the operator's network unless the operator says so).
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings


def parse_networks(listed: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """Comma-separated addresses or CIDRs; an address is a network of one."""
    networks = []
    for item in (part.strip() for part in listed.split(",")):
        if not item:
            continue
        try:
            networks.append(ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR") from None
    return tuple(networks)


class WebhookSettings(BaseSettings):
    webhook_allow_networks: str = ""
    # How often the worker looks for due deliveries when nothing wakes it; how long one
    # request may take; tries before a delivery is dead; the first retry's delay, doubled
    # each time up to the cap; deliveries sent at once by one node.
    webhook_poll_s: float = Field(default=1.0, gt=0, le=60)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120)
    webhook_max_attempts: int = Field(default=8, ge=1, le=100)
    webhook_backoff_s: float = Field(default=1.0, gt=0, le=3600)
    webhook_backoff_max_s: float = Field(default=600.0, gt=0, le=86400)
    webhook_batch: int = Field(default=32, ge=1, le=1000)

    @field_validator("webhook_allow_networks")
    @classmethod
    def _allowed(cls, value: str) -> str:
        parse_networks(value)
        return value

    @property
    def webhook_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return parse_networks(self.webhook_allow_networks)
