"""External signers cannot break trustkit's TLS connections: publishing after signatures that leave errors on
OpenSSL's per-thread error queue, against the real notary-server over TLS with kept-alive connections.

A PKCS#11 module (SoftHSM2 behind securesystemslib's HSMSigner, in the reported setup) left
``error:12800067:DSO support routines::could not load the shared library`` on the queue of the thread that
signed; Python's ``ssl`` then reported it on the next read of a kept-alive connection of that thread
(``NO_SUCH_ENGINE``), and 22 HSM-signed publishes in 36 failed although the server had accepted them. The signer
here leaves exactly that error, through libcrypto's own ``ENGINE_by_id``, whatever the machine's HSM setup.
"""

from __future__ import annotations

import _ssl
import ctypes
from pathlib import Path
from typing import Any

import pytest

import trustkit as tk
from tests.interop.harness import NotaryServer
from trustkit.keystore import MemoryKeyStore

pytestmark = pytest.mark.interop

_LIBCRYPTO = ctypes.CDLL(_ssl.__file__)  # its symbols include those of the libcrypto Python's ssl uses
_LIBCRYPTO.ENGINE_by_id.restype = ctypes.c_void_p
_LIBCRYPTO.ENGINE_by_id.argtypes = [ctypes.c_char_p]
_LIBCRYPTO.ERR_peek_error.restype = ctypes.c_ulong
DSO_LOAD_FAILURE = 0x12800067
PUBLISHES = 36


def leave_an_openssl_error() -> None:
    """What the PKCS#11 module did: ask OpenSSL for an engine it cannot load, and leave the error queued."""
    _LIBCRYPTO.ENGINE_by_id(b"trustkit-no-such-engine")


class MessySigner:
    """A securesystemslib-style signer whose native library leaves an OpenSSL error behind each signature."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.public_key = inner.public_key

    def sign(self, payload: bytes) -> Any:
        leave_an_openssl_error()
        return self.inner.sign(payload)


class MessyKeyStore(MemoryKeyStore):
    """Keys whose signers (but the root's, which signs certificates with the key itself) are messy."""

    def get_signer(self, key_id: str) -> Any:
        signer = super().get_signer(key_id)
        return signer if self.get_key_info(key_id).role == "root" else MessySigner(signer)


def test_the_signer_simulates_the_reported_error() -> None:
    _LIBCRYPTO.ERR_clear_error()
    leave_an_openssl_error()
    try:
        assert _LIBCRYPTO.ERR_peek_error() == DSO_LOAD_FAILURE
    finally:
        _LIBCRYPTO.ERR_clear_error()


def test_a_signature_leaves_nothing_on_the_callers_openssl_queue() -> None:
    key = tk.generate_private_key()
    _LIBCRYPTO.ERR_clear_error()
    tk.Metadata(tk.Targets(version=1, expires=tk.default_expiry("targets"))).sign(MessySigner(key.signer()))
    assert _LIBCRYPTO.ERR_peek_error() == 0


def test_dozens_of_publishes_signed_by_a_messy_signer_over_tls(
    notary_server: NotaryServer, gun: str, tmp_path: Path
) -> None:
    with tk.NotaryServer(notary_server.url, ca=notary_server.ca_path) as remote:
        repository = tk.Repository(gun, remote=remote, keystore=MessyKeyStore(), trust_dir=tmp_path / "trust")
        repository.initialize()
        for number in range(PUBLISHES):
            repository.add_target(f"v{number}", tk.TargetFile.from_data(b"release %d" % number), publish=True)
        names = {row.name for row in repository.reader().list_target_rows()}
    assert names == {f"v{number}" for number in range(PUBLISHES)}
