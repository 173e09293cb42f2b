"""A SHA-256 whose running state is a few bytes that can be stored and taken up again later.

A resumable upload arrives in several requests, possibly on several processes, days apart; the evidence hash
must cover every byte exactly once without reading back what was already hashed. hashlib's objects cannot be
saved, so this drives the same OpenSSL library hashlib uses (libcrypto, its assembly SHA-256) through its
`SHA256_Init/Update/Final` functions on a `SHA256_CTX` held in a Python buffer: the buffer *is* the state
(eight 32-bit words of the chain, the bit count, the unhashed block tail), 112 bytes, the layout of
`openssl/sha.h` that has not changed since OpenSSL 0.9.8. ctypes releases the GIL during each call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Iterable
from functools import cache

CTX_SIZE = 112  # sizeof(SHA256_CTX): h[8], Nl, Nh, data[16] (32-bit words), num, md_len
_MD_LEN_AT = CTX_SIZE - 4


class HashStateError(Exception):
    """A stored state is not a SHA-256 state of this layout."""


@cache
def _libcrypto() -> ctypes.CDLL:
    name = ctypes.util.find_library("crypto")
    if name is None:  # pragma: no cover - every CPython with hashlib links libcrypto
        raise OSError("libcrypto (OpenSSL) is not found; it is needed to resume an upload's SHA-256")
    lib = ctypes.CDLL(name)
    lib.SHA256_Init.argtypes = [ctypes.c_char_p]
    lib.SHA256_Update.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.SHA256_Final.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    return lib


class ResumableSha256:
    """SHA-256 over a stream fed in pieces, whose `state()` can be saved and given to `resume` elsewhere."""

    def __init__(self) -> None:
        self._ctx = ctypes.create_string_buffer(CTX_SIZE)
        if _libcrypto().SHA256_Init(self._ctx) != 1:
            raise OSError("SHA256_Init failed")

    @classmethod
    def resume(cls, state: bytes) -> ResumableSha256:
        if len(state) != CTX_SIZE or int.from_bytes(state[_MD_LEN_AT:], "little") != 32:
            raise HashStateError(f"not a SHA-256 state ({len(state)} bytes)")
        hasher = cls.__new__(cls)
        hasher._ctx = ctypes.create_string_buffer(state, CTX_SIZE)
        return hasher

    def update(self, data: bytes) -> None:
        if data and _libcrypto().SHA256_Update(self._ctx, data, len(data)) != 1:
            raise OSError("SHA256_Update failed")

    def update_all(self, pieces: Iterable[bytes]) -> None:
        for piece in pieces:
            self.update(piece)

    def state(self) -> bytes:
        return self._ctx.raw

    def hexdigest(self) -> str:
        """The digest of everything fed so far (the state itself is left as it is)."""
        copy = ctypes.create_string_buffer(self._ctx.raw, CTX_SIZE)
        out = ctypes.create_string_buffer(32)
        if _libcrypto().SHA256_Final(out, copy) != 1:
            raise OSError("SHA256_Final failed")
        return out.raw.hex()
