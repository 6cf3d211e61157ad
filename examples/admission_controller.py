"""A Kubernetes validating/mutating admission webhook on a trust policy, served over HTTPS by the standard library.

Run it with ``python examples/admission_controller.py``. It publishes a small repository to a LocalRemote folder
(standing in for the notary server: signer alice released v1, and signed v3 only into her own role, which docker
never releases), pins the repository's root key taken from ``DockerTrust.inspect`` (check it out of band in real
life), writes the policy as TOML, then serves ``POST /validate`` over HTTPS on 127.0.0.1 and sends it three
AdmissionReview requests shaped as the Kubernetes documentation shows: a Pod on v1 (allowed, its image rewritten
to the signed digest by a JSON Patch), a Deployment on v3 (denied: not released) and a CronJob on an image no rule
covers (denied). Reads never need a private key.
"""

from __future__ import annotations

import base64
import datetime
import http.client
import ipaddress
import json
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

import trustkit as tk
from trustkit.policy import admission_response

GUN = "registry.example.com/shop/web"
MAX_BODY = 3 * 1024 * 1024  # the API server sends at most its request size limit


def publish_example(workdir: Path) -> tuple[tk.LocalRemote, str]:
    """Signer alice released v1 (``docker trust sign`` with her key in targets/releases); v3 is only in
    targets/alice."""
    remote = tk.LocalRemote(workdir / "server")
    repo = tk.Repository(GUN, remote=remote, keystore=tk.MemoryKeyStore(), trust_dir=workdir / "publisher")
    repo.initialize(server_managed_snapshot=True)
    alice = tk.generate_private_key()
    repo.keystore.add_key(alice, role="alice")
    for role in ("targets/alice", "targets/releases"):
        repo.add_delegation(role, keys=[alice.public_key], all_paths=True)
    digest = "sha256:" + "5e" * 32
    repo.add_target("v1", tk.TargetFile.from_digest(digest, 528), roles=["targets/releases", "targets/alice"])
    repo.add_target("v3", tk.TargetFile.from_digest("sha256:" + "33" * 32, 528), roles=["targets/alice"])
    repo.publish()
    return remote, digest


def policy_toml(root_key_ids: tuple[str, ...]) -> str:
    """The policy: the shop's repositories need alice's signature on a released tag, from the pinned root; a
    stale cache is accepted for 5 minutes when the server cannot be reached. No other image may run."""
    ids = ", ".join(f'"{key_id}"' for key_id in root_key_ids)
    return f"""
[[rules]]
pattern = "registry.example.com/shop/*"
anchor = {{ root_key_ids = [{ids}] }}
signers = {{ all_of = ["alice"] }}
max_stale_seconds = 300
"""


def self_signed(workdir: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1 (a real webhook uses one the API server's caBundle trusts)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "trustkit-webhook")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = workdir / "webhook.crt", workdir / "webhook.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def make_server(verifier: tk.Verifier, cert_file: Path, key_file: Path, port: int = 0) -> ThreadingHTTPServer:
    """An HTTPS server answering ``POST /validate`` with :func:`trustkit.policy.admission_response`."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if self.path != "/validate" or not 0 < length <= MAX_BODY:
                self.send_error(404 if self.path != "/validate" else 413)
                return
            try:
                answer = admission_response(json.loads(self.rfile.read(length)), verifier.verify)
            except ValueError as exc:  # not JSON, or not an AdmissionReview
                self.send_error(400, str(exc))
                return
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


def review(uid: str, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """An AdmissionReview request as the API server sends it (admission.k8s.io/v1)."""
    group = {"Pod": "", "CronJob": "batch"}.get(kind, "apps")
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": group, "version": "v1", "kind": kind},
            "resource": {"group": group, "version": "v1", "resource": kind.lower() + "s"},
            "requestKind": {"group": group, "version": "v1", "kind": kind},
            "requestResource": {"group": group, "version": "v1", "resource": kind.lower() + "s"},
            "name": obj["metadata"]["name"],
            "namespace": "shop",
            "operation": "CREATE",
            "userInfo": {"username": "admin", "uid": "014fbff9a07c", "groups": ["system:authenticated"]},
            "object": obj,
            "oldObject": None,
            "dryRun": False,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        },
    }


def pod_spec(image: str) -> dict[str, Any]:
    return {"containers": [{"name": "web", "image": image}]}


def post(port: int, ca_file: Path, body: dict[str, Any]) -> dict[str, Any]:
    """POST an AdmissionReview over HTTPS, verifying the webhook's certificate, as the API server does."""
    context = ssl.create_default_context(cafile=str(ca_file))
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    try:
        payload = json.dumps(body)
        connection.request("POST", "/validate", payload, {"Content-Type": "application/json"})
        response = connection.getresponse()
        result: dict[str, Any] = json.loads(response.read())
        return result
    finally:
        connection.close()


def main() -> None:
    """Publish, pin, serve, and answer three admission requests."""
    workdir = Path(tempfile.mkdtemp(prefix="trustkit-admission-"))
    remote, _ = publish_example(workdir)
    # Bootstrapping the pin: the root key IDs docker trust inspect shows as the Root administrative keys.
    with tk.DockerTrust(config_dir=workdir / "docker", remote=remote) as docker:
        root_key_ids = docker.inspect(GUN)[0].root_key_ids
    policy = tk.Policy.from_toml(policy_toml(root_key_ids))
    cache = tk.VerdictCache(ttl=30, max_size=10_000)
    # deadline: every verdict ends within 8 s (the default, said here), under the 10 s the API server gives a
    # webhook by default: a notary server that accepts connections and never answers denies, instead of hanging
    verifier = tk.Verifier(policy, trust_dir=workdir / "controller", remote=remote, verdict_cache=cache, deadline=8)
    cert_file, key_file = self_signed(workdir)
    server = make_server(verifier, cert_file, key_file)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        requests = [
            review("1", "Pod", {"metadata": {"name": "web"}, "spec": pod_spec(f"{GUN}:v1")}),
            review(
                "2",
                "Deployment",
                {"metadata": {"name": "web"}, "spec": {"template": {"spec": pod_spec(f"{GUN}:v3")}}},
            ),
            review(
                "3",
                "CronJob",
                {
                    "metadata": {"name": "report"},
                    "spec": {"jobTemplate": {"spec": {"template": {"spec": pod_spec("busybox:1.36")}}}},
                },
            ),
        ]
        for request in requests:
            answer = post(port, cert_file, request)["response"]
            kind = request["request"]["kind"]["kind"]
            if answer["allowed"]:
                patch = json.loads(base64.b64decode(answer.get("patch", "") or b"[]"))
                print(f"ALLOW {kind}: {json.dumps(patch)}")
            else:
                print(f"DENY  {kind}: {answer['status']['message']}")
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
