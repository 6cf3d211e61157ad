"""The signed envelope ``{"signed": …, "signatures": […]}`` and its signatures.

Parsing keeps the canonical bytes notary verifies (docker/go ``MarshalCanonical`` of the decoded ``signed``
object), computed once; writing emits exactly what notary's Go code writes, so the server's re-serialisation of
an upload hashes to the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar

import attrs

from trustkit._encoding import (
    TextSpan,
    canonical,
    count_sorted_keys,
    decode_envelope,
    go_html_escape,
    is_canonical_text,
    paused_gc,
)
from trustkit.errors import KeyFormatError, MalformedMetadataError, SigningError
from trustkit.keys.public import PublicKey
from trustkit.metadata.names import ROOT, SNAPSHOT, TARGETS, TIMESTAMP, is_delegation
from trustkit.metadata.parsed_targets import ParsedTargets
from trustkit.metadata.roles import Root, Signed, Snapshot, Targets, Timestamp
from trustkit.metadata.verification import Signature

__all__ = ["Metadata"]

T = TypeVar("T", bound=Signed)

_TYPES: dict[str, type[Signed]] = {
    "Root": Root,
    "Targets": Targets,
    "Snapshot": Snapshot,
    "Timestamp": Timestamp,
}
_ROLE_TYPES = {ROOT: "Root", TARGETS: "Targets", SNAPSHOT: "Snapshot", TIMESTAMP: "Timestamp"}

MAX_SIGNATURES = 1024
"""The most signatures a metadata file may carry (notary sets no limit, and writes one per signing key): a flood
of signatures is refused before any is decoded or checked."""


def _signature_tuple(value: Iterable[Signature]) -> tuple[Signature, ...]:
    return tuple(value)


class _Bytes:
    """What one :class:`Metadata` knows of its bytes: learnt from the file it was parsed from, or computed once.

    The frozen model holds it in a field that is not an init field, so every new instance -- a constructor
    call, :func:`attrs.evolve`'s copy -- starts with an empty one: a changed copy can never verify against, nor
    be written as, the bytes of the file its original was parsed from. The parser and the lazy computations
    write here (plain attribute writes: nothing bypasses the model's frozenness). A plain slotted class: one
    attrs class less to build at import, and made for every instance.
    """

    __slots__ = ("model_bytes", "signed_obj", "verify_bytes", "verify_span")

    def __init__(self) -> None:
        # the bytes the signatures are over, once known (canonical JSON of the parsed ``signed`` object)
        self.verify_bytes: bytes | None = None
        # the proven-canonical ``signed`` text inside the parsed file: the bytes to verify, sliced out when needed
        self.verify_span: TextSpan | None = None
        # canonical JSON of the model's own ``signed.to_dict()`` (what is written and signed)
        self.model_bytes: bytes | None = None
        # the decoded ``signed`` object of a parsed file, until its canonical bytes are first needed
        self.signed_obj: dict[str, Any] | None = None


@attrs.frozen(unsafe_hash=False)
class Metadata(Generic[T]):
    """A role's payload (``signed``) and the signatures over its canonical bytes."""

    signed: T
    signatures: tuple[Signature, ...] = attrs.field(default=(), converter=_signature_tuple)
    # not an init field: attrs.evolve and every constructor start with nothing known (see _Bytes)
    _bytes: _Bytes = attrs.field(init=False, factory=_Bytes, eq=False, repr=False)

    # --- reading -----------------------------------------------------------------------------------------

    @classmethod
    def from_bytes(cls, data: bytes, *, role: str | None = None) -> Metadata[Any]:
        """Parse a metadata file.

        ``role`` (``root``, ``targets``, ``targets/releases``, …), when given, must match the ``_type``, and a
        targets file may then only delegate to its direct children, as notary requires. Raises
        :class:`MalformedMetadataError` for anything notary would not load.
        """
        where = role or "metadata"
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MalformedMetadataError(f"{where}: expected bytes, not {type(data).__name__}")
        data = bytes(data)
        with paused_gc():
            try:
                return cls._from_bytes(data, role, where)
            except RecursionError:
                raise MalformedMetadataError(f"{where}: JSON nested too deeply") from None

    @classmethod
    def _from_bytes(cls, data: bytes, role: str | None, where: str) -> Metadata[Any]:
        obj, plain, signed_text, provisional = decode_envelope(data, what=where)
        if provisional:  # parsed by the accelerator: kept only if the text is proven canonical (hence plain)
            try:
                metadata = cls._build(obj, role, where)
            except MalformedMetadataError:
                metadata = None  # the standard parser below decides, with its own message
            if (
                metadata is not None
                and signed_text is not None
                and _is_canonical(signed_text, obj["signed"], metadata.signed)
            ):
                metadata._bytes.verify_span = signed_text
                return metadata
            obj = None  # not kept alive while the file is parsed again
            obj, plain, signed_text, provisional = decode_envelope(data, what=where, accelerate=False)
        metadata = cls._build(obj, role, where)
        signed_obj = obj["signed"]
        if plain and signed_text is not None and _is_canonical(signed_text, signed_obj, metadata.signed):
            metadata._bytes.verify_span = signed_text  # proven canonical(signed_obj)
        elif plain:
            # json.dumps of a plain value cannot fail: canonicalise when the bytes are first needed (a verified
            # cache may never need them), from the decoded object -- never from the models
            metadata._bytes.signed_obj = signed_obj
        else:  # the exact encoder may refuse a number: refuse the file now, as before
            metadata._bytes.verify_bytes = canonical(signed_obj)
        return metadata

    @classmethod
    def _build(cls, obj: Any, role: str | None, where: str) -> Metadata[Any]:
        if not isinstance(obj, dict):
            raise MalformedMetadataError(f"{where}: the envelope must be a JSON object")
        signed_obj = obj.get("signed")
        if not isinstance(signed_obj, dict):
            raise MalformedMetadataError(f"{where}: 'signed' must be a JSON object")
        raw_signatures = obj.get("signatures")
        if raw_signatures is None:
            raw_signatures = []
        if not isinstance(raw_signatures, list):
            raise MalformedMetadataError(f"{where}: 'signatures' must be a list")
        if len(raw_signatures) > MAX_SIGNATURES:
            raise MalformedMetadataError(
                f"{where}: {len(raw_signatures)} signatures, more than the {MAX_SIGNATURES} a file may carry"
            )
        signatures = tuple(Signature.from_dict(s, where=f"{where} signature") for s in raw_signatures)
        signed = _signed_from_dict(signed_obj, role)
        return Metadata(signed, signatures)

    def parsed_from(self, data: bytes) -> bool:
        """Whether this metadata was parsed from the very object ``data`` and its signatures are checked over
        that object's own ``signed`` text (what makes an earlier parse of the same bytes safe to reuse)."""
        span = self._bytes.verify_span
        return span is not None and span.data is data

    # --- bytes -------------------------------------------------------------------------------------------

    @property
    def signed_bytes(self) -> bytes:
        """The bytes the signatures are over: docker/go canonical JSON of ``signed``.

        For parsed metadata these are computed from the decoded input, exactly as notary verifies (once, on
        first use).
        """
        known = self._bytes
        if known.verify_bytes is not None:
            return known.verify_bytes
        if known.verify_span is not None:  # a copy each time: the file is kept, not a second copy of it
            return known.verify_span.tobytes()
        signed_obj = known.signed_obj
        if signed_obj is None:  # built, not parsed (or another thread has just computed the bytes)
            return known.verify_bytes if known.verify_bytes is not None else self._canonical_model()
        with paused_gc():
            data = canonical(signed_obj, plain=True)
        known.verify_bytes = data
        known.signed_obj = None
        return data

    def _canonical_model(self) -> bytes:
        known = self._bytes
        data = known.model_bytes
        if data is None:
            with paused_gc():
                data = canonical(self.signed.to_dict(), plain=True)
            known.model_bytes = data
        return data

    def to_bytes(self) -> bytes:
        """The file as notary writes it: no whitespace, ``signed`` first, HTML-escaped, no trailing newline."""
        signed = go_html_escape(self._canonical_model(), what=self.signed.role or "metadata")
        signatures = ",".join(signature.to_json() for signature in self.signatures)
        return b'{"signed":' + signed + b',"signatures":[' + signatures.encode() + b"]}"

    # --- signing -----------------------------------------------------------------------------------------

    def sign(self, signer: Any, *, key: PublicKey | None = None, append: bool = True) -> Metadata[T]:
        """A copy signed by a securesystemslib ``Signer`` (any: file key, HSM, KMS).

        ``key`` is the metadata key the signature is made as, when it differs from the signer's bare public key
        (a root certificate wrapping it). With ``append`` the existing signatures are kept, except an older one
        by the same key, which is replaced.
        """
        message = self._canonical_model()
        from trustkit.keys.signing import sign_message  # the write path only: reading never loads it

        method, raw, public = sign_message(signer, message)
        keyid = public.key_id
        if key is not None:
            try:
                matches = key.canonical_id == public.key_id
            except KeyFormatError:
                matches = False
            if not matches:
                raise SigningError(f"the signer's key {public.key_id} is not the key {key.key_id}")
            keyid = key.key_id
        kept = tuple(s for s in self.signatures if s.keyid != keyid) if append else ()
        signed: Metadata[T] = Metadata(self.signed, (*kept, Signature(keyid, method, raw)))
        signed._bytes.model_bytes = message
        return signed


_DOCKER_ENTRY_UNSORTED = b'{"length":'


def _is_canonical(text: TextSpan, signed_obj: dict[str, Any], signed: Signed) -> bool:
    """Whether ``text``, the JSON text ``signed_obj`` was parsed from, is its canonical form already (the
    proof is :func:`~trustkit._encoding.is_canonical_text`'s).

    Counting and order-checking the keys of 100k docker-shaped target entries one by one would cost as much as
    canonicalising them, so they are settled in bulk: each is exactly ``{"hashes": {"sha256": …}, "length": n}``
    (three keys, checked at load), and such an entry is out of order only if it starts with ``{"length":`` --
    which then appears in ``text``; the entries' names must be in order too.
    """
    try:
        return _check_canonical(text, signed_obj, signed)
    except RecursionError:  # deeply nested custom data: let the encoder decide
        return False


def _check_canonical(text: TextSpan, signed_obj: dict[str, Any], signed: Signed) -> bool:
    targets = signed.targets if isinstance(signed, Targets) else None
    raw = signed_obj.get("targets")
    if not isinstance(targets, ParsedTargets) or not isinstance(raw, dict) or targets.changed or len(raw) < 64:
        return is_canonical_text(text, signed_obj, sorted_keys=count_sorted_keys(signed_obj))
    if text.find(_DOCKER_ENTRY_UNSORTED) >= 0:
        return False
    names = list(raw)
    if names != targets.parsed_names or names != sorted(names):
        return False
    full = targets.full_entries
    total = len(names) + 3 * (len(names) - len(full))
    for entry in full.values():
        count = count_sorted_keys(entry)
        if count < 0:
            return False
        total += count
    rest = count_sorted_keys({key: (None if key == "targets" else value) for key, value in signed_obj.items()})
    if rest < 0:
        return False
    return is_canonical_text(text, signed_obj, sorted_keys=total + rest)


def _signed_from_dict(obj: Mapping[str, Any], role: str | None) -> Signed:
    type_name = obj.get("_type")
    if role is not None:
        expected = _ROLE_TYPES.get(role) or ("Targets" if is_delegation(role) else None)
        if expected is None:
            raise MalformedMetadataError(f"{role!r} is not a valid role name")
        if type_name != expected:
            raise MalformedMetadataError(f"{role} type metadata invalid: expected type {expected}, not {type_name}")
    signed_type = _TYPES.get(type_name) if isinstance(type_name, str) else None
    if signed_type is None:
        raise MalformedMetadataError(f"{role or 'metadata'}: unknown _type {type_name!r}")
    if signed_type is Targets:
        return Targets.from_dict(obj, role=role)
    return signed_type.from_dict(obj)  # type: ignore[attr-defined,no-any-return]
