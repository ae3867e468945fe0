"""Web Push on the wire: the server's VAPID public key, and a browser's subscription
(`/users/me/push-subscriptions`), shaped as the Push API's `PushSubscription.toJSON()`."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from hubbub.wire.fields import InputModel, Timestamp, WireModel


def _decoded(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("is not base64url") from None


def _p256_point(value: str) -> str:
    raw = _decoded(value)
    if len(raw) != 65 or raw[0] != 4:
        raise ValueError("is not an uncompressed P-256 public key (65 bytes, base64url)")
    return value


def _auth_secret(value: str) -> str:
    if len(_decoded(value)) != 16:
        raise ValueError("is not a 16-byte authentication secret (base64url)")
    return value


Base64Url = StringConstraints(min_length=16, max_length=100, pattern=r"^[A-Za-z0-9_-]+={0,2}$")


class SubscriptionKeys(InputModel):
    # The Push API's own name (not camel-cased).
    p256dh: Annotated[str, Base64Url, AfterValidator(_p256_point)] = Field(alias="p256dh")
    auth: Annotated[str, Base64Url, AfterValidator(_auth_secret)]


class PushSubscriptionRequest(InputModel):
    """`endpoint` is an https:// URL of the browser's push service."""

    endpoint: Annotated[str, StringConstraints(min_length=8, max_length=2048)]
    keys: SubscriptionKeys
    # Sent by `toJSON()` in some browsers; not used.
    expiration_time: int | None = None


class PushSubscriptionView(WireModel):
    id: uuid.UUID
    endpoint: str
    created_at: Timestamp


class PushSubscriptionEnvelope(WireModel):
    subscription: PushSubscriptionView


class PushSubscriptionList(WireModel):
    subscriptions: list[PushSubscriptionView]


class VapidPublicKey(WireModel):
    """The `applicationServerKey` a browser subscribes with (base64url, uncompressed)."""

    public_key: str
