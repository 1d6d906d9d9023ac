"""Read ``taskgov/v1`` Policy and Cluster documents, turning every fault into a named one.

A document looks like a Kubernetes object; inside ``spec`` the API shapes keep the
SageMaker names, and ``schedulerConfig``, ``ComputeQuotaConfig`` and ``ComputeQuotaTarget``
may be given as the AWS CLI shorthand strings the HyperPod docs use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from taskgov.errors import Fault, InputError
from taskgov.policy.model import (
    Cluster,
    ComputeQuota,
    Policy,
    SchedulerConfig,
    check_entity_name,
)
from taskgov.policy.shorthand import ShorthandSyntaxError, parse_shorthand
from taskgov.yamlsafe import load_all

API_VERSION = "taskgov/v1"
_DOCUMENT_FIELDS = {"apiVersion", "kind", "metadata", "spec"}
_METADATA_FIELDS = {"name", "labels", "annotations"}
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document and where it came from, for error messages."""

    source: str
    index: int
    body: Any

    @property
    def kind(self) -> str:
        kind = self.body.get("kind") if isinstance(self.body, Mapping) else None
        return kind if isinstance(kind, str) else ""

    @property
    def name(self) -> str:
        """``metadata.name`` when it is a string, else empty (never ``"None"``)."""
        if not isinstance(self.body, Mapping):
            return ""
        metadata = self.body.get("metadata")
        name = metadata.get("name") if isinstance(metadata, Mapping) else None
        return name if isinstance(name, str) else ""

    @property
    def label(self) -> str:
        described = " ".join(part for part in (self.kind, self.name) if part)
        return f"{self.source}#{self.index}" + (f" ({described})" if described else "")


def read_documents(text: str, source: str) -> list[Document]:
    """Split multi-document YAML, skipping empty documents but keeping their numbering.

    Raises:
        InputError: the text is not YAML, or breaks a bound of :mod:`taskgov.yamlsafe`
            (size, nesting, aliases, duplicate keys).
    """
    bodies = load_all(text, source)
    return [Document(source, index, body) for index, body in enumerate(bodies) if body is not None]


def _field_path(loc: Iterable[int | str]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


# Errors whose message says enough: echoing a 10 MB string or an 11-item list adds nothing.
_NO_INPUT_ECHO = {"missing", "extra_forbidden", "too_long", "too_short", "string_too_long"}


def shown(value: Any, limit: int = 200) -> str:
    """``repr(value)`` cut to ``limit`` characters, so a 10 MB field makes a short fault."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _validation_faults(
    error: ValidationError, document: str, subject: str, prefix: str
) -> list[Fault]:
    faults = []
    for item in error.errors():
        loc = [
            part
            for part in item["loc"]
            if not (isinstance(part, str) and part.startswith("function-"))
        ]
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] not in _NO_INPUT_ECHO and "input" in item:
            message = f"{message} (got {shown(item['input'])})"
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        field = _field_path([prefix, *loc] if prefix else loc)
        faults.append(Fault(document, subject, field, message))
    return faults


def _expand_shorthand(value: Any, document: str, subject: str, field: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return parse_shorthand(value)
    except ShorthandSyntaxError as error:
        raise InputError([Fault(document, subject, field, f"bad CLI shorthand: {error}")]) from None


def _validate(model: type[ModelT], data: Any, document: str, subject: str, prefix: str) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InputError(_validation_faults(error, document, subject, prefix)) from None


def _unknown_fields(
    doc: Document, mapping: Mapping[Any, Any], known: set[str], prefix: str
) -> list[Fault]:
    unknown = sorted(str(key) for key in mapping if key not in known)
    return [Fault(doc.label, "", f"{prefix}{key}", "unknown field") for key in unknown]


def _spec(doc: Document) -> Mapping[str, Any]:
    body = doc.body
    if not isinstance(body, Mapping):
        raise InputError([Fault(doc.label, "", "", "a document must be a mapping")])
    faults = _unknown_fields(doc, body, _DOCUMENT_FIELDS, "")
    if body.get("apiVersion") != API_VERSION:
        faults.append(Fault(doc.label, "", "apiVersion", f"must be {API_VERSION!r}"))
    metadata = body.get("metadata")
    if not isinstance(metadata, Mapping):
        faults.append(Fault(doc.label, "", "metadata", "must be a mapping with a name"))
    else:
        faults += _unknown_fields(doc, metadata, _METADATA_FIELDS, "metadata.")
        name = metadata.get("name")
        if not isinstance(name, str) or not name:
            got = "" if name in (None, "") else f", got {type(name).__name__} {shown(name)}"
            faults.append(
                Fault(doc.label, "", "metadata.name", f"a non-empty string is required{got}")
            )
    spec = body.get("spec")
    if not isinstance(spec, Mapping):
        faults.append(Fault(doc.label, "", "spec", "must be a mapping"))
    if faults:
        raise InputError(faults)
    assert isinstance(spec, Mapping)
    return spec


def load_cluster(doc: Document) -> Cluster:
    """Validate a ``Cluster`` document.

    Raises:
        InputError: naming the document and field of every fault.
    """
    spec = _spec(doc)
    unknown = sorted(set(spec) - {"instanceGroups"})
    if unknown:
        raise InputError([Fault(doc.label, "", f"spec.{unknown[0]}", "unknown field")])
    data = {"Name": doc.name, "InstanceGroups": spec.get("instanceGroups")}
    return _validate(Cluster, data, doc.label, f"Cluster {doc.name}", "")


def load_policy(doc: Document) -> Policy:
    """Validate a ``Policy`` document, collecting the faults of every allocation.

    Raises:
        InputError: naming the document, the allocation or class, and the field.
    """
    spec = _spec(doc)
    faults: list[Fault] = []
    unknown = sorted(set(spec) - {"schedulerConfig", "computeQuotas"})
    faults += [Fault(doc.label, "", f"spec.{key}", "unknown field") for key in unknown]
    scheduler_config = SchedulerConfig()
    try:
        raw = _expand_shorthand(spec.get("schedulerConfig", {}), doc.label, "SchedulerConfig", "")
        scheduler_config = _validate(SchedulerConfig, raw, doc.label, "SchedulerConfig", "")
    except InputError as error:
        faults += error.faults
    raw_quotas = spec.get("computeQuotas", [])
    if not isinstance(raw_quotas, list):
        faults.append(Fault(doc.label, "", "spec.computeQuotas", "must be a list"))
        raw_quotas = []
    quotas = []
    for position, raw_quota in enumerate(raw_quotas):
        subject = f"ComputeQuota #{position}"
        try:
            if not isinstance(raw_quota, Mapping):
                raise InputError([Fault(doc.label, subject, "", "must be a mapping")])
            subject = f"ComputeQuota {raw_quota.get('Name', f'#{position}')}"
            expanded = dict(raw_quota)
            for key in ("ComputeQuotaConfig", "ComputeQuotaTarget"):
                if key in expanded:
                    expanded[key] = _expand_shorthand(expanded[key], doc.label, subject, key)
            quotas.append(_validate(ComputeQuota, expanded, doc.label, subject, ""))
        except InputError as error:
            faults += error.faults
    try:
        check_entity_name(doc.name, "scheduler config name")
    except ValueError as error:
        faults.append(Fault(doc.label, "", "metadata.name", str(error)))
    if faults:
        raise InputError(faults)
    return Policy(name=doc.name, scheduler_config=scheduler_config, compute_quotas=quotas)


def policy_and_cluster(documents: list[Document]) -> tuple[Policy, str, Cluster]:
    """The one Policy and one Cluster among ``documents``, validated.

    Returns:
        The policy, its document label (for later faults) and the cluster.

    Raises:
        InputError: a document is invalid, or there is not exactly one of each.
    """
    faults: list[Fault] = []
    policies = [doc for doc in documents if doc.kind == "Policy"]
    clusters = [doc for doc in documents if doc.kind == "Cluster"]
    sources = ", ".join(sorted({doc.source for doc in documents})) or "input"
    for kind, found in (("Policy", policies), ("Cluster", clusters)):
        if len(found) != 1:
            labels = ", ".join(doc.label for doc in found)
            faults.append(
                Fault(
                    sources,
                    "",
                    "kind",
                    f"need exactly one {kind} document, found "
                    f"{len(found)}" + (f": {labels}" if labels else ""),
                )
            )
    if faults:
        raise InputError(faults)
    results: dict[str, Any] = {}
    for key, loader, doc in (
        ("policy", load_policy, policies[0]),
        ("cluster", load_cluster, clusters[0]),
    ):
        try:
            results[key] = loader(doc)
        except InputError as error:
            faults += error.faults
    if faults:
        raise InputError(faults)
    return results["policy"], policies[0].label, results["cluster"]
