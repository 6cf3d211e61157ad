"""Kubernetes admission: an ``AdmissionReview`` (``admission.k8s.io/v1`` or ``v1beta1``) request in, its response
out, in the same version.

:func:`admission_response` is a pure function of the review and a way to get verdicts (usually
:meth:`~trustkit.policy.Verifier.verify`, with a :class:`~trustkit.policy.VerdictCache`): it finds every image of
a Pod, or of the pod template of a Deployment, ReplicaSet, StatefulSet, DaemonSet, Job or CronJob (containers,
initContainers and ephemeralContainers), verifies each once, and either allows the object with a base64 JSON Patch
rewriting each image to ``repo@sha256:…`` (the signed digest: the kubelet then runs exactly what was verified),
or denies it with a status message naming each denied image and why. Serving it over HTTPS is the caller's part
(``examples/admission_controller.py`` does it with the standard library).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from trustkit.errors import InvalidArgumentError, TrustkitError
from trustkit.policy.verdicts import Verdict

__all__ = ["POD_SPEC_PATHS", "admission_response", "pod_images"]

_TEMPLATE = ("spec", "template", "spec")
POD_SPEC_PATHS: Mapping[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": _TEMPLATE,
    "ReplicaSet": _TEMPLATE,
    "StatefulSet": _TEMPLATE,
    "DaemonSet": _TEMPLATE,
    "Job": _TEMPLATE,
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
"""Where each workload kind keeps its pod spec."""
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_API_VERSIONS = ("admission.k8s.io/v1", "admission.k8s.io/v1beta1")


def _pointer(parts: tuple[str | int, ...]) -> str:
    """An RFC 6901 JSON Pointer."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def pod_images(kind: str, obj: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """The (JSON Pointer, image) of every container image of ``obj``, a ``kind`` workload. Raises
    :class:`~trustkit.errors.InvalidArgumentError` (a ``ValueError``) for a kind with no pod spec."""
    path = POD_SPEC_PATHS.get(kind)
    if path is None:
        raise InvalidArgumentError(f"{kind} has no pod spec: send only {', '.join(POD_SPEC_PATHS)} to this webhook")
    spec: Any = obj
    for part in path:
        spec = spec.get(part) if isinstance(spec, Mapping) else None
    if not isinstance(spec, Mapping):
        return
    for name in _CONTAINER_LISTS:
        containers = spec.get(name)
        if not isinstance(containers, list):
            continue
        for index, container in enumerate(containers):
            image = container.get("image") if isinstance(container, Mapping) else None
            if isinstance(image, str):
                yield _pointer((*path, name, index, "image")), image


def _review(api_version: str, uid: str, response: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": "AdmissionReview", "response": {"uid": uid, **response}}


def admission_response(review: Mapping[str, Any], verdict_for: Callable[[str], Verdict]) -> dict[str, Any]:
    """The ``AdmissionReview`` answering ``review`` (a parsed ``admission.k8s.io/v1`` or ``v1beta1`` request),
    in the ``apiVersion`` it was asked in (the API server rejects an answer in another version).

    ``verdict_for`` gives each image's :class:`~trustkit.policy.Verdict` (an error it raises denies that image
    with the error's message). A ``DELETE``, or an object without images, is allowed unchanged; a kind without a
    pod spec is denied (the webhook was sent something it cannot check). Raises
    :class:`~trustkit.errors.InvalidArgumentError` (a ``ValueError``) when ``review`` is not an AdmissionReview
    request.
    """
    api_version = review.get("apiVersion", _API_VERSIONS[0]) if isinstance(review, Mapping) else None
    if api_version not in _API_VERSIONS:
        raise InvalidArgumentError(
            f"not an AdmissionReview: apiVersion is {api_version!r}, not one of {', '.join(_API_VERSIONS)} (pass "
            f"the parsed JSON body the API server sent to the webhook)"
        )
    request = review.get("request")
    if not isinstance(request, Mapping) or not isinstance(request.get("uid"), str):
        raise InvalidArgumentError(
            "not an AdmissionReview request: it needs request.uid (pass the parsed JSON body the API server sent)"
        )
    uid = request["uid"]
    if request.get("operation") == "DELETE":
        return _review(api_version, uid, {"allowed": True})
    kind_info = request.get("kind")
    kind = kind_info.get("kind") if isinstance(kind_info, Mapping) else None
    obj = request.get("object")
    if not isinstance(kind, str) or not isinstance(obj, Mapping):
        raise InvalidArgumentError("not an AdmissionReview request: it needs request.kind.kind and request.object")
    try:
        images = list(pod_images(kind, obj))
    except InvalidArgumentError as exc:
        return _review(api_version, uid, {"allowed": False, "status": {"code": 400, "message": str(exc)}})
    verdicts: dict[str, Verdict] = {}
    denied: dict[str, str] = {}
    for _, image in images:
        if image in verdicts or image in denied:
            continue
        try:
            verdicts[image] = verdict_for(image)
        except TrustkitError as exc:
            denied[image] = f"{image}: denied: {exc}"
        else:
            if not verdicts[image].allowed:
                denied[image] = verdicts[image].message
    if denied:
        return _review(
            api_version, uid, {"allowed": False, "status": {"code": 403, "message": "; ".join(denied.values())}}
        )
    patch = [
        {"op": "replace", "path": pointer, "value": verdicts[image].pinned_image}
        for pointer, image in images
        if verdicts[image].pinned_image not in (None, image)
    ]
    warnings: list[str] = []
    for verdict in verdicts.values():
        warnings.extend(f"{verdict.image}: {warning}" for warning in verdict.warnings)
        if verdict.cache_age is not None:
            warnings.append(f"{verdict.image}: verified from cached trust data, {verdict.cache_age:.0f} s old")
    response: dict[str, Any] = {"allowed": True}
    if patch:
        response["patchType"] = "JSONPatch"
        response["patch"] = base64.b64encode(json.dumps(patch, separators=(",", ":")).encode()).decode()
    if warnings:
        response["warnings"] = warnings
    return _review(api_version, uid, response)
