"""AdmissionReview in, AdmissionReview out: every workload kind and container list, patches and denials, and the
example webhook over real HTTPS on loopback."""

from __future__ import annotations

import base64
import importlib.util
import json
import ssl
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import trustkit as tk
from tests.support.policy import D1, GUN, Published
from trustkit.policy import POD_SPEC_PATHS, Verdict, admission_response, pod_images

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "admission_controller.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("admission_controller_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_verdicts(image: str) -> Verdict:
    """Images ending in :bad are denied; others allowed with a digest derived from the tag."""
    if image.endswith(":bad"):
        return Verdict(image, False, reasons=("bad is not signed",))
    return Verdict(image, True, digest="sha256:" + "ab" * 32)


def review(kind: str, obj: dict[str, Any], operation: str = "CREATE") -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "", "version": "v1", "kind": kind},
            "resource": {"group": "", "version": "v1", "resource": kind.lower() + "s"},
            "name": "x",
            "namespace": "my-namespace",
            "operation": operation,
            "userInfo": {"username": "admin", "uid": "014fbff9a07c", "groups": ["system:authenticated"]},
            "object": obj,
            "oldObject": None,
            "dryRun": False,
        },
    }


def spec(*images: str) -> dict[str, Any]:
    return {
        "initContainers": [{"name": "init", "image": images[0]}],
        "containers": [{"name": f"c{i}", "image": image} for i, image in enumerate(images)],
        "ephemeralContainers": [{"name": "debug", "image": images[-1]}],
    }


def wrap(kind: str, pod: dict[str, Any]) -> dict[str, Any]:
    path = POD_SPEC_PATHS[kind]
    obj: dict[str, Any] = pod
    for part in reversed(path[1:]):
        obj = {part: obj}
    return {"metadata": {"name": "x"}, path[0]: obj}


@pytest.mark.parametrize("kind", sorted(POD_SPEC_PATHS))
def test_every_workload_kind_is_patched_to_digests(kind: str) -> None:
    answer = admission_response(review(kind, wrap(kind, spec("a.io/x:v1", "a.io/y:v2"))), fake_verdicts)
    response = answer["response"]
    assert answer["apiVersion"] == "admission.k8s.io/v1" and answer["kind"] == "AdmissionReview"
    assert response["uid"] == "705ab4f5-6393-11e8-b7cc-42010a800002" and response["allowed"] is True
    assert response["patchType"] == "JSONPatch"
    patch = json.loads(base64.b64decode(response["patch"]))
    prefix = "/" + "/".join(POD_SPEC_PATHS[kind])
    assert [op["path"] for op in patch] == [
        f"{prefix}/initContainers/0/image",
        f"{prefix}/containers/0/image",
        f"{prefix}/containers/1/image",
        f"{prefix}/ephemeralContainers/0/image",
    ]
    assert {op["op"] for op in patch} == {"replace"}
    assert patch[1]["value"] == "a.io/x@sha256:" + "ab" * 32


def test_denied_images_are_each_named_with_their_reason() -> None:
    calls: list[str] = []

    def counting(image: str) -> Verdict:
        calls.append(image)
        return fake_verdicts(image)

    answer = admission_response(review("Pod", wrap("Pod", spec("a.io/x:bad", "a.io/y:v1", "b.io/z:bad"))), counting)
    response = answer["response"]
    assert response["allowed"] is False and response["status"]["code"] == 403
    assert response["status"]["message"] == (
        "a.io/x:bad: denied: bad is not signed; b.io/z:bad: denied: bad is not signed"
    )
    assert calls == ["a.io/x:bad", "a.io/y:v1", "b.io/z:bad"]  # each image verified once


def test_misuse_errors_deny_the_image_and_bad_reviews_raise() -> None:
    def raising(image: str) -> Verdict:
        raise tk.ConfigurationError("invalid reference format")

    answer = admission_response(review("Pod", wrap("Pod", spec("A.io/X"))), raising)
    assert answer["response"]["status"]["message"] == "A.io/X: denied: invalid reference format"
    with pytest.raises(ValueError, match=r"request\.uid"):
        admission_response({"kind": "AdmissionReview"}, fake_verdicts)
    unknown = admission_response(review("ConfigMap", {"data": {}}), fake_verdicts)["response"]
    assert unknown["allowed"] is False and "ConfigMap has no pod spec" in unknown["status"]["message"]
    deleted = admission_response(review("Pod", {}, operation="DELETE"), fake_verdicts)["response"]
    assert deleted == {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": True}


def test_already_pinned_images_need_no_patch() -> None:
    pinned = "a.io/x@sha256:" + "ab" * 32
    answer = admission_response(review("Pod", {"spec": {"containers": [{"image": pinned}]}}), fake_verdicts)
    assert answer["response"] == {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": True}
    assert list(pod_images("Pod", {"spec": {"containers": [{"name": "no image"}]}})) == []


@pytest.fixture
def webhook(published: Published, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    example = load_example()
    policy = tk.Policy.from_toml(example.policy_toml(published.root_key_ids).replace("shop/*", "team/*"))
    verifier = tk.Verifier(policy, trust_dir=tmp_path / "controller", remote=published.remote)
    cert_file, key_file = example.self_signed(tmp_path)
    server = example.make_server(verifier, cert_file, key_file)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], cert_file
    finally:
        server.shutdown()
        server.server_close()


def post(port: int, ca_file: Path, body: bytes) -> tuple[int, bytes]:
    context = ssl.create_default_context(cafile=str(ca_file))
    request = urllib.request.Request(
        f"https://127.0.0.1:{port}/validate", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_webhook_over_https(webhook: tuple[int, Path]) -> None:
    port, ca_file = webhook
    allowed = review("Pod", {"metadata": {"name": "web"}, "spec": {"containers": [{"image": f"{GUN}:v1"}]}})
    status, body = post(port, ca_file, json.dumps(allowed).encode())
    response = json.loads(body)["response"]
    assert status == 200 and response["allowed"] is True
    assert json.loads(base64.b64decode(response["patch"])) == [
        {"op": "replace", "path": "/spec/containers/0/image", "value": f"{GUN}@{D1}"}
    ]
    denied = review("Pod", {"metadata": {"name": "web"}, "spec": {"containers": [{"image": f"{GUN}:v4"}]}})
    response = json.loads(post(port, ca_file, json.dumps(denied).encode())[1])["response"]
    assert response["allowed"] is False and response["status"]["code"] == 403
    assert response["status"]["message"].startswith(f"{GUN}:v4: denied: v4 is signed only in targets/bob")
    status, _ = post(port, ca_file, b'{"kind": "AdmissionReview"}')
    assert status == 400
