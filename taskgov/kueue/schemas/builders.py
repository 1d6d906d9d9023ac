"""Small builders for OpenAPI v3 (structural) schemas, the dialect of a CRD's schema.

Kept as plain dicts, so the same schema is served by the twin (``/openapi/v3``), shown by
``kubectl explain`` and used to validate manifests.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

# Kubernetes object names: lowercase DNS subdomain (RFC 1123), as Kueue's references require.
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# The name part of a qualified name (label keys, resource names), and a label value.
QUALIFIED_NAME = r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
# ``[prefix/]name``: a DNS subdomain prefix and a name of at most 63 characters.
QUALIFIED_NAME_FORMAT = "qualified-name"
# resource.Quantity as the API server accepts it: a number with an optional SI/binary suffix.
QUANTITY = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
    r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)


def obj(
    description: str,
    properties: dict[str, Schema],
    *,
    required: tuple[str, ...] = (),
    rules: tuple[str, ...] = (),
    default: dict[str, Any] | None = None,
) -> Schema:
    """An object with known fields; ``rules`` name the Kueue validation rules it carries."""
    schema: Schema = {"type": "object", "description": description, "properties": properties}
    return _with_set(
        schema,
        {
            "default": default,
            "required": list(required) or None,
            "x-taskgov-rules": list(rules) or None,
        },
    )


def _with_set(schema: Schema, optional: dict[str, Any]) -> Schema:
    """``schema`` with those of the ``optional`` keys that are set (not None), in order."""
    schema.update({key: value for key, value in optional.items() if value is not None})
    return schema


def free_object(description: str) -> Schema:
    """An object whose fields are not checked here (a Pod template, a topology request)."""
    return {
        "type": "object",
        "description": description,
        "x-kubernetes-preserve-unknown-fields": True,
    }


def string(
    description: str,
    *,
    enum: tuple[str, ...] = (),
    pattern: str = "",
    max_length: int | None = None,
    min_length: int | None = None,
    default: str | None = None,
    fmt: str = "",
) -> Schema:
    optional = {
        "enum": list(enum) or None,
        "pattern": pattern or None,
        "maxLength": max_length,
        "minLength": min_length,
        "default": default,
        "format": fmt or None,
    }
    return _with_set({"type": "string", "description": description}, optional)


def name_ref(description: str) -> Schema:
    """The name of another object (a DNS subdomain, at most 253 characters)."""
    return string(description, pattern=DNS_SUBDOMAIN, max_length=253)


def qualified_name(description: str) -> Schema:
    """A label key or resource name, e.g. ``nvidia.com/gpu`` (checked as a whole, not by one
    pattern: the prefix and the name have their own rules)."""
    return {
        "type": "string",
        "description": description,
        "maxLength": 253 + 1 + 63,
        "x-taskgov-format": QUALIFIED_NAME_FORMAT,
    }


def integer(
    description: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    fmt: str = "int32",
    default: int | None = None,
) -> Schema:
    schema: Schema = {"type": "integer", "format": fmt, "description": description}
    return _with_set(schema, {"minimum": minimum, "maximum": maximum, "default": default})


def boolean(description: str) -> Schema:
    return {"type": "boolean", "description": description}


def quantity(description: str) -> Schema:
    """A resource.Quantity: ``"8"``, ``8``, ``500m``, ``64Gi``."""
    return {
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "pattern": QUANTITY,
        "x-kubernetes-int-or-string": True,
        "description": description,
    }


def array(
    description: str,
    items: Schema,
    *,
    min_items: int | None = None,
    max_items: int | None = None,
    list_type: str = "atomic",
) -> Schema:
    schema: Schema = {
        "type": "array",
        "description": description,
        "items": items,
        "x-kubernetes-list-type": list_type,
    }
    return _with_set(schema, {"minItems": min_items, "maxItems": max_items})


def string_map(description: str, values: Schema | None = None, max_properties: int = 0) -> Schema:
    """A map keyed by label keys or resource names (every map in these schemas is)."""
    schema: Schema = {
        "type": "object",
        "description": description,
        "additionalProperties": values or {"type": "string"},
    }
    return _with_set(schema, {"maxProperties": max_properties or None})


def condition() -> Schema:
    """metav1.Condition, as every Kueue status carries them."""
    return obj(
        "One aspect of the object's current state.",
        {
            "type": string("The condition's type, e.g. Admitted or Active.", max_length=316),
            "status": string("True, False or Unknown.", enum=("True", "False", "Unknown")),
            "reason": string("A CamelCase word saying why.", max_length=1024, min_length=1),
            "message": string("What happened, for people.", max_length=32768),
            "lastTransitionTime": string("When the status last changed.", fmt="date-time"),
            "observedGeneration": integer(
                "The metadata.generation the condition was set for.", minimum=0, fmt="int64"
            ),
        },
        required=("lastTransitionTime", "message", "reason", "status", "type"),
    )


def conditions(description: str) -> Schema:
    schema = array(description, condition(), max_items=16, list_type="map")
    schema["x-kubernetes-list-map-keys"] = ["type"]
    return schema


def label_selector(description: str) -> Schema:
    requirement = obj(
        "A label key, an operator and values.",
        {
            "key": string("The label key."),
            "operator": string("In, NotIn, Exists or DoesNotExist."),
            "values": array("The values for In and NotIn.", {"type": "string"}),
        },
        required=("key", "operator"),
    )
    return obj(
        description,
        {
            "matchLabels": string_map("Labels an object must carry, exactly."),
            "matchExpressions": array(
                "Requirements an object must meet, all of them.", requirement
            ),
        },
    )


def label_value() -> Schema:
    return string("A label value.", pattern=LABEL_VALUE, max_length=63)


def object_meta() -> Schema:
    """The parts of ``metav1.ObjectMeta`` a manifest sets; the API server's own fields pass."""
    schema = obj(
        "Standard object metadata.",
        {
            "name": name_ref("The object's name, unique in its namespace."),
            "namespace": string("The namespace.", pattern=DNS_LABEL, max_length=63),
            "uid": string("The object's unique id.", max_length=128),
            "labels": string_map("Labels.", label_value()),
            "annotations": string_map("Annotations.", string("A value.", max_length=256 * 1024)),
        },
        required=("name",),
    )
    schema["x-kubernetes-preserve-unknown-fields"] = True
    return schema


def pod_template(description: str) -> Schema:
    """The parts of a ``PodTemplateSpec`` Kueue reads: containers' requests and limits, init
    containers and the node selector; the rest is Kubernetes' own and passes unchecked."""
    resources = string_map("Amounts per resource.", quantity("An amount."))
    container = free_object("A container.")
    container["properties"] = {
        "resources": free_object("Requests and limits.")
        | {"properties": {"requests": resources, "limits": resources}}
    }
    spec = free_object("The pod's spec.") | {
        "properties": {
            "containers": array("The containers.", container, min_items=1),
            "initContainers": array("Containers run first, one at a time.", container),
            "nodeSelector": string_map(
                "Labels the pod's node must carry.", string("A value.", pattern=LABEL_VALUE)
            ),
        },
        "required": ["containers"],
    }
    template = free_object(description) | {"properties": {"spec": spec}, "required": ["spec"]}
    return template


def kind_schema(
    kind: str,
    version: str,
    description: str,
    body: dict[str, Schema],
    required: tuple[str, ...] = (),
) -> Schema:
    """The top-level schema of a Kueue kind, tagged with its group, version and kind."""
    schema = obj(
        description,
        {
            "apiVersion": string("The versioned schema of this representation of an object."),
            "kind": string("The REST resource this object represents."),
            "metadata": object_meta(),
            **body,
        },
        required=required,
    )
    schema["x-kubernetes-group-version-kind"] = [
        {"group": "kueue.x-k8s.io", "version": version, "kind": kind}
    ]
    return schema
