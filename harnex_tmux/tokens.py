"""Random tokens, SHA-256 and a constant-time compare, without loading OpenSSL.

``hashlib``, ``hmac`` and ``secrets`` load the OpenSSL library when imported (``secrets``
through ``hmac``): some 3.7 MB of resident memory in every sidecar, which needs none of its
speed for the few short strings it hashes. The interpreter's built-in SHA-256 gives the same
digests, and the constant-time compare is the one ``hmac`` itself falls back to.
"""

from __future__ import annotations

import importlib
import os
from _operator import _compare_digest
from collections.abc import Callable
from typing import Any


def _builtin_sha256() -> Callable[[bytes], Any]:
    # Built into CPython: 3.11 calls the module _sha256, 3.12 and later _sha2.
    for name in ("_sha256", "_sha2"):
        try:
            found: Callable[[bytes], Any] = importlib.import_module(name).sha256
            return found
        except (ImportError, AttributeError):
            continue
    from hashlib import sha256

    return sha256


_SHA256 = _builtin_sha256()


def sha256(data: bytes = b"") -> Any:
    """A SHA-256 object to ``update`` and read (``hexdigest``), as hashlib's."""
    return _SHA256(data)


def sha256_digest(data: bytes) -> bytes:
    digest: bytes = _SHA256(data).digest()
    return digest


def sha256_hex(data: bytes) -> str:
    return sha256_digest(data).hex()


def token_hex(nbytes: int) -> str:
    """``nbytes`` random bytes from the OS as hex, as ``secrets.token_hex`` makes them."""
    return os.urandom(nbytes).hex()


def same_secret(supplied: bytes, expected: bytes) -> bool:
    """Whether two secrets are equal, in time that does not depend on where they differ."""
    return bool(_compare_digest(supplied, expected))
