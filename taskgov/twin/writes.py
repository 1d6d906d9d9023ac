"""Writes the twin's API server accepts: the SageMaker and STS calls, and ClusterQueue patches.

Everything else that writes gets a Kubernetes ``Status`` (405 MethodNotAllowed), as a server
that does not allow the verb answers. A ClusterQueue patch (JSON merge patch, or server-side
apply) honours a ``metadata.resourceVersion`` precondition with ``409 Conflict``, is read with
the twin's own manifest reader (a quota it cannot read is ``422 Invalid``), and takes effect in
the running twin at that simulated instant through ``on_cluster_queue``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import parse_qs

import yaml

from taskgov.twin.sagemaker_api import ApiError, SageMakerApi, caller_identity_xml
from taskgov.twin.store import ObjectStore

GROUP = "kueue.x-k8s.io"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
_CQ_PATH = re.compile(
    r"^/apis/kueue\.x-k8s\.io/(?P<version>v1beta[12])/clusterqueues/(?P<name>[^/?]+)/?$"
)
PATCH_TYPES = (
    "application/merge-patch+json",
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/strategic-merge-patch+json",
)

ClusterQueueHook = Callable[[dict[str, Any]], None]
# The object as an API version shows it (``apiserver.convert``).
Render = Callable[[dict[str, Any], str], dict[str, Any]]


class Handler(Protocol):
    """The part of the HTTP handler a write needs."""

    headers: Any
    rfile: Any
    path: str

    def _send_json(self, code: int, body: dict[str, Any]) -> None: ...

    def send_response(self, code: int, message: str | None = None) -> None: ...

    def send_header(self, keyword: str, value: str) -> None: ...

    def end_headers(self) -> None: ...

    @property
    def wfile(self) -> Any: ...


def status_body(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A ``meta/v1 Status`` failure, the body of every error the API server returns."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details or {},
        "code": code,
    }


def _body(handler: Handler) -> bytes:
    length = int(handler.headers.get("Content-Length") or 0)
    return bytes(handler.rfile.read(length)) if length else b""


def _access_key(handler: Handler) -> str:
    found = _CREDENTIAL.search(handler.headers.get("Authorization", ""))
    return found.group(1) if found else ""


def handle_post(handler: Handler, sagemaker: SageMakerApi | None) -> None:
    """A SageMaker JSON call, STS ``GetCallerIdentity``, or 405 for anything else."""
    body = _body(handler)
    target = handler.headers.get("X-Amz-Target", "")
    if sagemaker is not None and target.startswith("SageMaker."):
        _sagemaker(handler, sagemaker, target.split(".", 1)[1], body)
        return
    form = parse_qs(body.decode(errors="replace")) if body else {}
    if sagemaker is not None and form.get("Action") == ["GetCallerIdentity"]:
        if sagemaker.allowed_access_keys and _access_key(handler) not in (
            sagemaker.allowed_access_keys
        ):
            _send_xml(handler, 403, _sts_error(_access_key(handler)))
            return
        _send_xml(handler, 200, caller_identity_xml(_access_key(handler)))
        return
    not_allowed(handler, "POST")


def _sagemaker(handler: Handler, api: SageMakerApi, operation: str, body: bytes) -> None:
    try:
        params = json.loads(body or b"{}")
        if not isinstance(params, dict):
            raise ApiError(400, "SerializationException", "the request body is not an object")
        result = api.handle(operation, params, _access_key(handler))
    except json.JSONDecodeError as error:
        _send_amz(handler, 400, {"__type": "SerializationException", "message": str(error)})
        return
    except ApiError as error:
        _send_amz(handler, error.status, {"__type": error.code, "message": error.message})
        return
    _send_amz(handler, 200, result)


def _send_amz(handler: Handler, code: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    handler.send_response(code)
    handler.send_header("Content-Type", "application/x-amz-json-1.1")
    handler.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _send_xml(handler: Handler, code: int, text: str) -> None:
    data = text.encode()
    handler.send_response(code)
    handler.send_header("Content-Type", "text/xml")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _sts_error(access_key: str) -> str:
    return (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
        "<Type>Sender</Type><Code>AccessDenied</Code>"
        f"<Message>The security token included in the request is invalid ({access_key})"
        "</Message></Error><RequestId>0</RequestId></ErrorResponse>"
    )


def not_allowed(handler: Handler, verb: str) -> None:
    """405 with a Status naming the verb, for every write the twin does not take."""
    _body(handler)
    handler._send_json(
        405,
        status_body(
            405, "MethodNotAllowed", f"the server does not allow this method ({verb}) here"
        ),
    )


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def handle_patch(
    handler: Handler,
    store: ObjectStore,
    on_cluster_queue: ClusterQueueHook | None,
    render: Render,
) -> None:
    """Patch a ClusterQueue with a resourceVersion precondition; 405 for anything else."""
    match = _CQ_PATH.match(handler.path.split("?", 1)[0])
    if match is None or on_cluster_queue is None:
        not_allowed(handler, "PATCH")
        return
    name, version = match["name"], match["version"]
    content_type = handler.headers.get("Content-Type", "").split(";")[0].strip()
    raw = _body(handler)
    if content_type not in PATCH_TYPES[:2]:
        handler._send_json(
            415,
            status_body(
                415,
                "UnsupportedMediaType",
                f"{content_type or 'no'} patch is not supported "
                "for clusterqueues; use --type merge or server-side apply",
            ),
        )
        return
    try:
        patch = yaml.safe_load(raw) if content_type.endswith("yaml") else json.loads(raw)
    except (ValueError, yaml.YAMLError) as error:
        handler._send_json(400, status_body(400, "BadRequest", f"the patch is not valid: {error}"))
        return
    if not isinstance(patch, dict):
        handler._send_json(400, status_body(400, "BadRequest", "the patch must be an object"))
        return
    _patch_cluster_queue(handler, store, (on_cluster_queue, render), name, version, patch)


def _patch_cluster_queue(
    handler: Handler,
    store: ObjectStore,
    hooks: tuple[ClusterQueueHook, Render],
    name: str,
    version: str,
    patch: dict[str, Any],
) -> None:
    with store.write_lock:
        current = store.get("clusterqueues", name)
        if current is None:
            message = f'clusterqueues.{GROUP} "{name}" not found'
            handler._send_json(404, status_body(404, "NotFound", message))
            return
        wanted = str((patch.get("metadata") or {}).get("resourceVersion", ""))
        have = str(current["metadata"].get("resourceVersion", ""))
        if wanted and wanted != have:
            message = (
                f'Operation cannot be fulfilled on clusterqueues.{GROUP} "{name}": the object '
                "has been modified; please apply your changes to the latest version and try again"
            )
            details = {"name": name, "group": GROUP, "kind": "clusterqueues"}
            handler._send_json(409, status_body(409, "Conflict", message, details))
            return
        spec_patch = dict(patch.get("spec") or {})
        if "cohortName" in spec_patch:
            spec_patch["cohort"] = spec_patch.pop("cohortName")
        updated = dict(current)
        updated["spec"] = merge_patch(current.get("spec") or {}, spec_patch)
        labels = (patch.get("metadata") or {}).get("labels")
        if isinstance(labels, dict):
            updated["metadata"] = merge_patch(current["metadata"], {"labels": labels})
        on_cluster_queue, render = hooks
        try:
            on_cluster_queue(updated)
        except ValueError as error:
            message = f'ClusterQueue.{GROUP} "{name}" is invalid: {error}'
            handler._send_json(422, status_body(422, "Invalid", message))
            return
        stored = store.get("clusterqueues", name) or updated
    handler._send_json(200, render(stored, version))
