"""Keys derived from the channel secret, and the MAC our postback buttons carry.

The channel secret is LINE's key for signing webhooks; each use of ours (the done buttons, the
confirmations, the bind codes) gets its own key derived from it by purpose, so no two uses
share a key and no new setting is needed. A button's data is `<body>:<mac>`: anyone can press
it, nobody can make one up for another phase, agency or day.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

MAC_BYTES = 12  # 96 bits: far beyond guessing, 16 characters of base64


def derived_key(secret: str, purpose: bytes) -> bytes:
    return hmac.new(secret.encode(), purpose, hashlib.sha256).digest()


def postback_mac(secret: str, purpose: bytes, message: str) -> str:
    digest = hmac.new(derived_key(secret, purpose), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:MAC_BYTES]).decode()


def mac_matches(secret: str, purpose: bytes, message: str, mac: str) -> bool:
    return hmac.compare_digest(mac, postback_mac(secret, purpose, message))
