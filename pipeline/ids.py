"""Deterministic identifiers: the same inputs always give the same id."""

from __future__ import annotations

import base64
import hashlib

from pipeline.text import squash_space

# Crockford-style alphabet without look-alikes (no I, L, O, U).
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def short_hash(*parts: object, length: int = 16) -> str:
    """Hash the parts (joined unambiguously) into ``length`` base-32 characters."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    raw = base64.b32encode(digest).decode("ascii").lower()
    table = str.maketrans("abcdefghijklmnopqrstuvwxyz234567", _ALPHABET)
    return raw.translate(table)[:length]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def text_key(text: str) -> str:
    """Whitespace-insensitive identity of a passage's text."""
    return short_hash(squash_space(text), length=20)


def vector_key(model_id: str, text: str) -> str:
    """The embedding cache key: the same text under the same model is embedded once."""
    return short_hash(model_id, squash_space(text), length=24)
