"""Checkpoints as C2SP signed notes (c2sp.org/tlog-checkpoint, c2sp.org/signed-note, c2sp.org/tlog-cosignature).

A checkpoint note is the note body::

    <origin>\\n<tree size, decimal>\\n<root hash, standard base64>\\n

then an empty line and one signature line per signer: ``— <key name> base64(key id || signature)``. The
service signs as key name = origin with its Ed25519 checkpoint key (signature type 0x01, the key id the first
four bytes of SHA-256(name || 0x0A || 0x01 || public key)); the signature covers the body. Ed25519 signatures
are deterministic, so the note of a given size and root is always the same bytes: notes are made from the
stored checkpoints when served, and every checkpoint ever issued, older ones included, has one.

A witness cosignature (type 0x04) is a line of the same shape whose blob is key id || u64 big-endian POSIX
time || Ed25519 signature over ``cosignature/v1\\ntime <time>\\n`` followed by the note body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

# cryptography (some 6 MB resident with its library) is imported where a key is used: the API process loads
# this module at start, and only the routes that sign or verify a checkpoint need it.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIG_ED25519 = 0x01
SIG_COSIGNATURE = 0x04
DASH = "\u2014"  # the em dash that opens every signature line
COSIGNATURE_HEADER = "cosignature/v1\n"


class NoteError(ValueError):
    """A note, signature line or verifier key that does not parse."""


def key_id(name: str, sig_type: int, public_raw: bytes) -> bytes:
    """The 4-byte key id of the signed-note spec."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_raw).digest()[:4]


def vkey(name: str, sig_type: int, public_raw: bytes) -> str:
    """A verifier key as the signed-note spec writes it: NAME+KEYID(hex)+base64(type || key)."""
    encoded = base64.b64encode(bytes([sig_type]) + public_raw).decode("ascii")
    return f"{name}+{key_id(name, sig_type, public_raw).hex()}+{encoded}"


@dataclass(frozen=True)
class VerifierKey:
    name: str
    sig_type: int
    public_raw: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.sig_type, self.public_raw)

    @property
    def public(self) -> Ed25519PublicKey:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        return Ed25519PublicKey.from_public_bytes(self.public_raw)

    def __str__(self) -> str:
        return vkey(self.name, self.sig_type, self.public_raw)


def parse_vkey(text: str) -> VerifierKey:
    """Parse NAME+KEYID+BASE64; the key id must be the one the name and key give."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3 or not parts[0]:
        raise NoteError("a verifier key is NAME+KEYID+BASE64")
    name, hex_id, encoded = parts
    try:
        raw = base64.b64decode(encoded, validate=True)
        given_id = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError) as exc:
        raise NoteError("the verifier key's id or key is not valid hex/base64") from exc
    if len(raw) != 33 or raw[0] not in (SIG_ED25519, SIG_COSIGNATURE):
        raise NoteError("only Ed25519 verifier keys (type 0x01 or 0x04) are supported")
    key = VerifierKey(name=name, sig_type=raw[0], public_raw=raw[1:])
    if key.key_id != given_id:
        raise NoteError("the verifier key's id does not match its name and key")
    return key


# -- checkpoint bodies -------------------------------------------------------------------------------------------
def checkpoint_body(origin: str, tree_size: int, root_hash: bytes) -> str:
    return f"{origin}\n{tree_size}\n{base64.b64encode(root_hash).decode('ascii')}\n"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    body: str


def parse_body(body: str) -> Checkpoint:
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint body is at least three lines, each ending in a newline")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not origin or not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise NoteError("the checkpoint's origin or tree size is malformed")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error as exc:
        raise NoteError("the checkpoint's root hash is not base64") from exc
    if len(root) != 32:
        raise NoteError("the checkpoint's root hash is not 32 bytes")
    return Checkpoint(origin=origin, tree_size=int(size_text), root_hash=root, body=body)


# -- signed notes ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignatureLine:
    name: str
    blob: bytes  # key id (4 bytes) || signature bytes

    @property
    def key_id(self) -> bytes:
        return self.blob[:4]

    def __str__(self) -> str:
        return f"{DASH} {self.name} {base64.b64encode(self.blob).decode('ascii')}\n"


def split_note(text: str) -> tuple[str, list[SignatureLine]]:
    """(body, signature lines) of a signed note; the body ends with its last newline."""
    at = text.rfind("\n\n")
    if at < 0:
        raise NoteError("a signed note is a body, an empty line and signature lines")
    body, rest = text[: at + 1], text[at + 2 :]
    if not rest.endswith("\n"):
        raise NoteError("the note's last signature line does not end in a newline")
    lines = []
    for line in rest[:-1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH or not parts[1]:
            raise NoteError("a signature line is '— NAME BASE64'")
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except binascii.Error as exc:
            raise NoteError("a signature line's signature is not base64") from exc
        if len(blob) < 5:
            raise NoteError("a signature line is too short")
        lines.append(SignatureLine(name=parts[1], blob=blob))
    return body, lines


def sign_body(body: str, name: str, private: Ed25519PrivateKey) -> SignatureLine:
    """The log's own note signature (type 0x01) over `body`."""
    public_raw = private.public_key().public_bytes_raw()
    return SignatureLine(name=name, blob=key_id(name, SIG_ED25519, public_raw) + private.sign(body.encode("utf-8")))


def verify_body(body: str, line: SignatureLine, key: VerifierKey) -> bool:
    if key.sig_type != SIG_ED25519 or line.name != key.name or line.key_id != key.key_id or len(line.blob) != 68:
        return False
    from cryptography.exceptions import InvalidSignature

    try:
        key.public.verify(line.blob[4:], body.encode("utf-8"))
    except InvalidSignature:
        return False
    return True


def cosignature_message(body: str, timestamp: int) -> bytes:
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{body}".encode()


def cosign(body: str, name: str, private: Ed25519PrivateKey, timestamp: int) -> SignatureLine:
    """A witness's cosignature/v1 line over `body` at POSIX time `timestamp`."""
    public_raw = private.public_key().public_bytes_raw()
    signature = private.sign(cosignature_message(body, timestamp))
    return SignatureLine(
        name=name, blob=key_id(name, SIG_COSIGNATURE, public_raw) + struct.pack(">Q", timestamp) + signature
    )


def verify_cosignature(body: str, line: SignatureLine, key: VerifierKey) -> int | None:
    """The cosignature's time when `line` is `key`'s valid cosignature of `body`, else None."""
    if key.sig_type != SIG_COSIGNATURE or line.name != key.name or line.key_id != key.key_id or len(line.blob) != 76:
        return None
    (timestamp,) = struct.unpack(">Q", line.blob[4:12])
    if timestamp >= 2**63:
        return None
    from cryptography.exceptions import InvalidSignature

    try:
        key.public.verify(line.blob[12:], cosignature_message(body, timestamp))
    except InvalidSignature:
        return None
    return int(timestamp)
