"""``/openapi/v2`` and ``/openapi/v3``: the served kinds' schemas, for ``kubectl explain``.

The schemas are ``taskgov.kueue.schemas`` (written from Kueue's API types); this module only
packs them as the API server publishes a CRD's: a definition per kind and version, tagged with
``x-kubernetes-group-version-kind``, and (v3) one document per group-version with its paths.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from taskgov.kueue.schemas import Schema, schema
from taskgov.twin.discovery import GROUP, RESOURCE_TYPES, VERSIONS
from taskgov.twin.openapi_proto import document_message

_INFO = {"title": "taskgov twin (Kueue API)", "version": "v1.30.0"}
_LIST_PARAMETERS = ("labelSelector", "fieldSelector", "limit", "continue", "watch")


def definition_name(kind: str, version: str) -> str:
    """``io.x-k8s.kueue.v1beta2.Workload``: the group reversed, as Kubernetes names them."""
    return f"{'.'.join(reversed(GROUP.split('.')))}.{version}.{kind}"


def _v2(node: Any) -> Any:
    """OpenAPI v2 has no ``anyOf``: an int-or-string keeps only its extension, as Kubernetes."""
    if isinstance(node, dict):
        return {k: _v2(v) for k, v in node.items() if k != "anyOf"}
    if isinstance(node, list):
        return [_v2(v) for v in node]
    return node


def _paths(version: str, v3: bool) -> dict[str, Any]:
    """The read paths of every resource (list and watch, get), in v3's or v2's layout."""
    paths: dict[str, Any] = {}
    for resource in RESOURCE_TYPES.values():
        scope = "/namespaces/{namespace}" if resource.namespaced else ""
        base = f"/apis/{GROUP}/{version}{scope}/{resource.plural}"
        gvk = {"group": GROUP, "version": version, "kind": resource.kind}
        name = definition_name(resource.kind, version)
        if v3:
            parameter = {"in": "query", "schema": {"type": "string"}}
            ok = {
                "description": "OK",
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}
                },
            }
        else:
            parameter = {"in": "query", "type": "string"}
            ok = {"description": "OK", "schema": {"$ref": f"#/definitions/{name}"}}
        listing = {
            "operationId": f"list{resource.kind}",
            "parameters": [{"name": p, **parameter} for p in _LIST_PARAMETERS],
            "responses": {"200": {"description": "OK"}},
            "x-kubernetes-action": "list",
            "x-kubernetes-group-version-kind": gvk,
        }
        read = {
            "operationId": f"read{resource.kind}",
            "responses": {"200": ok},
            "x-kubernetes-action": "get",
            "x-kubernetes-group-version-kind": gvk,
        }
        paths[base] = {"get": listing}
        paths[f"{base}/{{name}}"] = {"get": read}
    return paths


def _schemas(version: str) -> dict[str, Schema]:
    return {
        definition_name(r.kind, version): schema(r.kind, version) for r in RESOURCE_TYPES.values()
    }


@cache
def v3_document(version: str) -> dict[str, Any]:
    """The OpenAPI v3 document of ``kueue.x-k8s.io/<version>``."""
    return {
        "openapi": "3.0.0",
        "info": _INFO,
        "paths": _paths(version, v3=True),
        "components": {"schemas": _schemas(version)},
    }


@cache
def v3_root() -> dict[str, Any]:
    """``/openapi/v3``: where each group-version's document is, with a hash clients cache by."""
    paths = {}
    for version in VERSIONS:
        digest = hashlib.sha512(json.dumps(v3_document(version)).encode()).hexdigest()[:32].upper()
        paths[f"apis/{GROUP}/{version}"] = {
            "serverRelativeURL": f"/openapi/v3/apis/{GROUP}/{version}?hash={digest}"
        }
    return {"paths": paths}


@cache
def swagger_v2() -> dict[str, Any]:
    """``/openapi/v2`` (JSON): every version's definitions in one Swagger 2.0 document."""
    definitions: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for version in VERSIONS:
        definitions.update(_v2(_schemas(version)))
        paths.update(_paths(version, v3=False))
    return {"swagger": "2.0", "info": _INFO, "paths": paths, "definitions": definitions}


@cache
def swagger_v2_protobuf() -> bytes:
    """``/openapi/v2`` as gnostic's protobuf message, for kubectl's client-side validation."""
    return document_message(swagger_v2())
