"""Password hashing with scrypt: memory-hard, so a stolen database is slow to attack offline.

Hashes carry their own parameters (``scrypt$n$r$p$salt$hash``), so the cost can be raised later
without invalidating stored passwords.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

_N, _R, _P, _LENGTH = 2**14, 8, 1, 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length,
                          maxmem=128 * r * (n + p + 2) + 1024 * 1024)


def hash_password(password: str) -> str:
    """A new hash with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(_scrypt(password, salt, _N, _R, _P, _LENGTH))}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time comparison against a stored hash; a malformed hash never matches."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest, validate=True)
        if scheme != "scrypt" or int(n) > 2**20:
            return False
        candidate = _scrypt(password, base64.b64decode(salt, validate=True), int(n), int(r), int(p), len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(candidate, expected)


@cache
def dummy_hash() -> str:
    """Checked against when a name is unknown, so a wrong name takes as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))
