"""Target profiles: one YAML file describes the system under test (names, wiring, access, adapter, promises).

The suite reads every object name, label, path, field and SQL fact from a profile instead of hard-wiring them.
`load_profile(path)` validates a file against the `Profile` model; every error names the file and the field path.
The schema users can check their files against is `docs/profile-schema.json` (`python -m support.profile`).
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from common.names import DEFAULT_FRONTEND_URL, TIERS
from support.app import check_address

__all__ = [
    "PLACEHOLDERS",
    "PROMISES",
    "REFERENCE_PROFILE",
    "TIER_NAMES",
    "AccessSpec",
    "ApiViaBackend",
    "ApiViaFrontend",
    "BoardSpec",
    "CompletedByList",
    "DatabaseTier",
    "EnvSource",
    "GraphQLAdapterSpec",
    "GraphQLOperation",
    "GraphQLOperations",
    "HealthPaths",
    "ImageSpec",
    "Profile",
    "ProfileError",
    "Promises",
    "RestAdapterSpec",
    "RestFields",
    "RestInfo",
    "RestPaths",
    "SecretKeyRef",
    "SqlCredentials",
    "SqlReconciliation",
    "SqlValue",
    "Tier",
    "Tiers",
    "TitleLength",
    "Wiring",
    "export_schema",
    "load_profile",
    "parse_profile",
    "reference_profile",
    "resolve_builder",
    "schema_text",
]

TIER_NAMES: tuple[str, ...] = tuple(TIERS)
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "profile-schema.json"
REFERENCE_PROFILE = Path(__file__).resolve().parent.parent / "profiles" / "reference.yaml"

# Kubernetes object names (DNS-1123 subdomain/label), label keys/values, env names and SQL identifiers: checked at
# load time so a typo is reported against its field instead of as a puzzling API error minutes into a run.
_DNS_NAME = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
_LABEL_KEY = r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_SQL_IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"
_CALLABLE = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"

DnsName = Annotated[str, Field(pattern=_DNS_NAME, max_length=253)]
EnvName = Annotated[str, Field(pattern=_ENV_NAME)]
SqlIdent = Annotated[str, Field(pattern=_SQL_IDENT, max_length=64)]
UrlPath = Annotated[str, Field(pattern=r"^/\S*$")]
Port = Annotated[int, Field(ge=1, le=65535)]


class _Strict(BaseModel):
    """Base of every profile section: unknown keys are errors (a misspelt field must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# -- tiers ---------------------------------------------------------------------------------------------------------
class Tier(_Strict):
    """One tier's Deployment, pods, container and Service."""

    deployment: DnsName = Field(description="Name of the tier's Deployment.")
    selector: dict[str, str] = Field(
        min_length=1, description="Labels that select exactly this tier's pods (matchLabels form)."
    )
    container: DnsName = Field(description="Name of the container that runs the tier's server.")
    service: DnsName = Field(description="Name of the tier's Service.")
    port: Port = Field(description="The Service's port.")
    container_port: Port | None = Field(
        default=None, description="The port the container listens on (default: the Service port)."
    )
    replicas: int = Field(ge=1, description="Ready replicas the deployment promises.")

    @field_validator("selector")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        """Every key and value is a valid Kubernetes label."""
        for key, label in value.items():
            if not re.match(_LABEL_KEY, key) or len(key) > 316:
                raise ValueError(f"{key!r} is not a valid label key")
            if not _LABEL_VALUE.match(label) or len(label) > 63:
                raise ValueError(f"{label!r} (label {key}) is not a valid label value")
        return value

    @property
    def target_port(self) -> int:
        """The port the container listens on."""
        return self.container_port or self.port

    def selector_string(self) -> str:
        """The selector as a Kubernetes label selector string ('k1=v1,k2=v2')."""
        return ",".join(f"{k}={v}" for k, v in sorted(self.selector.items()))

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a pod with these labels belongs to the tier."""
        return all(labels.get(k) == v for k, v in self.selector.items())


class DatabaseTier(Tier):
    """The database tier: a Tier plus its volume claim, data directory and server process names."""

    pvc: DnsName = Field(description="The PersistentVolumeClaim holding the data directory.")
    data_dir: Annotated[str, Field(pattern=r"^/")] = Field(description="The data directory inside the container.")
    server_processes: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]] = Field(
        default_factory=lambda: ["mariadbd", "mysqld"],
        min_length=1,
        description="Process names of the database server (the target of the server-kill fault).",
    )

    @field_validator("replicas")
    @classmethod
    def _single(cls, value: int) -> int:
        """Two servers must never share one data directory."""
        if value != 1:
            raise ValueError("the database tier runs exactly 1 replica (one server per data directory)")
        return value


class Tiers(_Strict):
    """The three tiers."""

    database: DatabaseTier
    backend: Tier
    frontend: Tier

    def get(self, tier: str) -> Tier:
        """One tier by name (database, backend, frontend)."""
        if tier not in TIER_NAMES:
            raise KeyError(f"unknown tier {tier!r}; tiers are {', '.join(TIER_NAMES)}")
        found: Tier = getattr(self, tier)
        return found

    def items(self) -> list[tuple[str, Tier]]:
        """(name, tier) in the order database, backend, frontend."""
        return [(name, self.get(name)) for name in TIER_NAMES]

    @model_validator(mode="after")
    def _disjoint(self) -> Tiers:
        """No tier's selector may also select another tier's pods (the pods' labels are the selectors)."""
        pairs = self.items()
        for i, (name, tier) in enumerate(pairs):
            for other_name, other in pairs[i + 1 :]:
                if tier.matches(other.selector) or other.matches(tier.selector):
                    raise ValueError(
                        f"the selectors of {name} ({tier.selector_string()}) and {other_name} "
                        f"({other.selector_string()}) overlap: each tier needs a label the others lack"
                    )
        return self


# -- wiring --------------------------------------------------------------------------------------------------------
class EnvSource(_Strict):
    """Where one environment variable comes from: a ConfigMap key or a Secret key."""

    config_map: DnsName | None = Field(default=None, description="ConfigMap name (exclusive with secret).")
    secret: DnsName | None = Field(default=None, description="Secret name (exclusive with config_map).")
    key: Annotated[str, Field(pattern=r"^[-._A-Za-z0-9]+$")] = Field(description="The key in that object.")

    @model_validator(mode="after")
    def _one_source(self) -> EnvSource:
        """Exactly one of config_map and secret."""
        if (self.config_map is None) == (self.secret is None):
            raise ValueError("give exactly one of config_map and secret")
        return self

    @property
    def kind(self) -> Literal["configMap", "secret"]:
        """'configMap' or 'secret', as Kubernetes names the key reference."""
        return "configMap" if self.config_map is not None else "secret"

    @property
    def name(self) -> str:
        """The ConfigMap or Secret name."""
        return self.config_map or self.secret or ""


class SecretKeyRef(_Strict):
    """One key of one Secret."""

    secret: DnsName
    key: Annotated[str, Field(pattern=r"^[-._A-Za-z0-9]+$")]


class Wiring(_Strict):
    """Which ConfigMap/Secret keys feed which environment variables of each tier's container."""

    database: dict[EnvName, EnvSource] = Field(default_factory=dict, description="Env of the database container.")
    backend: dict[EnvName, EnvSource] = Field(default_factory=dict, description="Env of the back-end container.")
    frontend: dict[EnvName, EnvSource] = Field(default_factory=dict, description="Env of the front-end container.")
    root_password: SecretKeyRef = Field(description="The Secret key holding the database root password.")

    def of(self, tier: str) -> dict[str, EnvSource]:
        """The wired variables of one tier."""
        if tier not in TIER_NAMES:
            raise KeyError(f"unknown tier {tier!r}; tiers are {', '.join(TIER_NAMES)}")
        wired: dict[str, EnvSource] = getattr(self, tier)
        return wired

    def from_config_maps(self, tier: str) -> dict[str, EnvSource]:
        """The tier's variables that come from ConfigMaps (the 'shared settings')."""
        return {k: v for k, v in self.of(tier).items() if v.config_map is not None}

    def from_secrets(self, tier: str) -> dict[str, EnvSource]:
        """The tier's variables that come from Secrets."""
        return {k: v for k, v in self.of(tier).items() if v.secret is not None}


def _address(url: str) -> str:
    """support.app.check_address, worded for any URL of the profile (not only the front end's)."""
    try:
        return check_address(url)
    except ValueError as exc:
        raise ValueError(str(exc).replace("front-end URL ", "URL ", 1)) from None


# -- access --------------------------------------------------------------------------------------------------------
class ApiViaFrontend(_Strict):
    """The API is reached through the front end (it forwards API paths to the back end)."""

    via: Literal["frontend"]
    base_path: Annotated[str, Field(pattern=r"^(/\S*)?$")] = Field(
        default="",
        description="Prefix the front end puts before the back end's own paths ('' when it forwards them unchanged).",
    )


class ApiViaBackend(_Strict):
    """The API is reached at the back-end Service directly (a static page whose browser code calls the back end)."""

    via: Literal["backend-service"]
    url: str = Field(description="The back end's address as the host reaches it (loopback or private address).")

    @field_validator("url")
    @classmethod
    def _address(cls, value: str) -> str:
        """Loopback or private addresses only."""
        return _address(value)


class AccessSpec(_Strict):
    """How users reach the app."""

    frontend_url: str = Field(
        default=DEFAULT_FRONTEND_URL, description="The front end as users reach it (loopback or private)."
    )
    api: Annotated[ApiViaFrontend | ApiViaBackend, Field(discriminator="via")] = Field(
        default_factory=lambda: ApiViaFrontend(via="frontend"), description="Where the API is reached."
    )

    @field_validator("frontend_url")
    @classmethod
    def _address(cls, value: str) -> str:
        """Loopback or private addresses only."""
        return _address(value)

    @property
    def api_base_url(self) -> str:
        """Where the adapter's paths are appended."""
        if isinstance(self.api, ApiViaBackend):
            return self.api.url
        return self.frontend_url + self.api.base_path.rstrip("/")


# -- workload adapters ---------------------------------------------------------------------------------------------
class RestPaths(_Strict):
    """Paths of the REST API as the back end serves them; '{id}' stands for a to-do's id."""

    list: UrlPath = "/api/todos"
    create: UrlPath = "/api/todos"
    get: UrlPath = "/api/todos/{id}"
    update: UrlPath = "/api/todos/{id}"
    delete: UrlPath = "/api/todos/{id}"

    @model_validator(mode="after")
    def _ids(self) -> RestPaths:
        """Paths about one to-do carry '{id}'; the others do not."""
        for name in ("get", "update", "delete"):
            if "{id}" not in getattr(self, name):
                raise ValueError(f"the {name} path needs '{{id}}' where the to-do's id goes")
        for name in ("list", "create"):
            if "{" in getattr(self, name):
                raise ValueError(f"the {name} path takes no placeholder")
        return self


class RestFields(_Strict):
    """JSON field names of a to-do."""

    id: str = "id"
    title: str = "title"
    completed: str = "completed"
    created_at: str | None = "created_at"


class RestInfo(_Strict):
    """The route that tells which back-end replica answered."""

    path: UrlPath = "/api/info"
    served_by: str = Field(default="pod", description="Field naming the replica (pod) that answered.")


class RestAdapterSpec(_Strict):
    """A REST API (the reference contract by default; paths, fields, methods and statuses configurable)."""

    kind: Literal["rest"]
    paths: RestPaths = Field(default_factory=RestPaths)
    fields: RestFields = Field(default_factory=RestFields)
    update_method: Literal["PATCH", "PUT"] = "PATCH"
    create_status: int = Field(default=201, ge=200, le=299, description="The status of a successful create.")
    delete_status: int = Field(default=204, ge=200, le=299, description="The status of a successful delete.")
    info: RestInfo | None = Field(default=None, description="Which replica answered; absent if the app cannot tell.")


# Placeholders a GraphQL operation's variables may use; anything else is sent as written.
PLACEHOLDERS: dict[str, str] = {
    "$title": "the to-do's text",
    "$id": "the to-do's id",
    "$open_list_id": "the id of the board list new to-dos go into",
    "$done_list_id": "the id of the board list completed to-dos move to",
    "$position": "the number of items already in the target list (append at the end)",
}
_ALLOWED_PLACEHOLDERS: dict[str, set[str]] = {
    "lists": set(),
    "create": {"$title", "$open_list_id"},
    "complete": {"$id", "$done_list_id", "$position"},
    "rename": {"$id", "$title"},
    "delete": {"$id"},
}


def _placeholders(value: Any) -> set[str]:
    """Every placeholder used anywhere in a variables value."""
    if isinstance(value, str):
        return {value} if value.startswith("$") else set()
    if isinstance(value, dict):
        return set().union(*(_placeholders(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_placeholders(v) for v in value)) if value else set()
    return set()


class GraphQLOperation(_Strict):
    """One named query or mutation: its document, its variables and the field of `data` holding its result."""

    document: str = Field(min_length=1, description="The GraphQL document (query or mutation).")
    field: str = Field(pattern=r"^[_A-Za-z][_0-9A-Za-z]*$", description="The field of `data` with the result.")
    variables: dict[str, Any] = Field(default_factory=dict, description="Variables; '$...' values are placeholders.")


class GraphQLOperations(_Strict):
    """The operations the adapter uses; rename is optional (the walk-through has none)."""

    lists: GraphQLOperation = Field(description="Query returning the board's lists, each with its items.")
    create: GraphQLOperation = Field(description="Mutation creating an item in the open list.")
    complete: GraphQLOperation = Field(description="Mutation moving an item to the done list.")
    delete: GraphQLOperation = Field(description="Mutation deleting an item.")
    rename: GraphQLOperation | None = Field(default=None, description="Mutation changing an item's text.")

    @model_validator(mode="after")
    def _known_placeholders(self) -> GraphQLOperations:
        """Each operation uses only placeholders it can be given."""
        for name, allowed in _ALLOWED_PLACEHOLDERS.items():
            op: GraphQLOperation | None = getattr(self, name)
            if op is None:
                continue
            used = _placeholders(op.variables)
            unknown = sorted(used - allowed)
            if unknown:
                raise ValueError(
                    f"{name}: placeholder(s) {', '.join(unknown)} not available here; "
                    f"{name} can use {', '.join(sorted(allowed)) or 'none'}"
                )
        return self


class BoardSpec(_Strict):
    """How a board of lists with items maps onto to-dos."""

    items_field: str = Field(default="items", description="Field of a list holding its items.")
    list_name_field: str = "name"
    list_id_field: str = "id"
    item_id_field: str = "id"
    item_title_field: str = Field(default="name", description="Field of an item holding the to-do's text.")
    item_list_field: str = Field(default="listId", description="Field of an item naming its list's id.")
    open_list: str = Field(default="To Do", description="The list new to-dos are added to.")
    done_list: str = Field(default="Done", description="The list completed to-dos are moved to.")
    id_type: Literal["string", "int"] = Field(default="string", description="How ids are sent as variables.")

    @model_validator(mode="after")
    def _distinct(self) -> BoardSpec:
        """Open and done must be different lists, or completing would change nothing."""
        if self.open_list == self.done_list:
            raise ValueError("open_list and done_list must name different lists")
        return self


class GraphQLAdapterSpec(_Strict):
    """A GraphQL API over a board of lists with items: adding creates an item in the open list, completing moves it."""

    kind: Literal["graphql"]
    endpoint: UrlPath = "/graphql"
    board: BoardSpec = Field(default_factory=BoardSpec)
    operations: GraphQLOperations


AdapterSpec = Annotated[RestAdapterSpec | GraphQLAdapterSpec, Field(discriminator="kind")]


# -- promises ------------------------------------------------------------------------------------------------------
class TitleLength(_Strict):
    """Titles of min..max characters are accepted; shorter or longer ones are refused, naming the title."""

    min: int = Field(ge=0)
    max: int = Field(ge=1)

    @model_validator(mode="after")
    def _order(self) -> TitleLength:
        """min <= max."""
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class HealthPaths(_Strict):
    """Cheap health routes: the front end's own and the back end's liveness route (through the API base)."""

    frontend: UrlPath = "/healthz"
    backend: UrlPath = "/api/healthz"


class Promises(_Strict):
    """What the app promises. Scenarios tagged @needs_<name> run only when the profile makes that promise."""

    title_length: TitleLength | None = Field(
        default=None, description="Titles outside min..max are refused with an answer that names the title."
    )
    rename: bool = Field(default=False, description="A to-do's text can be changed in place.")
    completed_flag: bool = Field(default=False, description="A to-do can be completed and reads back as completed.")
    read_one: bool = Field(default=False, description="A single to-do can be read by its id.")
    not_found_errors: bool = Field(
        default=False, description="Reading, changing or deleting an unknown id is answered 'not found', naming it."
    )
    creation_order: bool = Field(default=False, description="The list shows to-dos in the order they were added.")
    served_by: bool = Field(default=False, description="The app reports which back-end replica answered.")
    version_report: bool = Field(
        default=False,
        description="Each back-end replica reports the version it runs (its pod label app.kubernetes.io/version) in "
        "its info answer; without it an upgrade is checked by the Ready pods' version label.",
    )
    health_endpoint: HealthPaths | None = Field(default=None, description="Health routes of front end and back end.")
    sql_reconciliation: bool = Field(
        default=False, description="Stored to-dos can be read back with SQL in the database pod (profile `sql`)."
    )
    fails_without_settings: bool = Field(
        default=False,
        description="A back end started without its wired settings stops and its log names a missing variable.",
    )

    def made(self) -> set[str]:
        """The names of the promises this profile makes."""
        return {name for name in type(self).model_fields if getattr(self, name) not in (None, False)}


PROMISES: dict[str, str] = {name: str(info.description) for name, info in Promises.model_fields.items()}


# -- SQL reconciliation --------------------------------------------------------------------------------------------
class SqlValue(_Strict):
    """A value read from a ConfigMap key, a Secret key, or written literally."""

    config_map: DnsName | None = None
    secret: DnsName | None = None
    key: str | None = None
    value: str | None = None

    @model_validator(mode="after")
    def _one(self) -> SqlValue:
        """Either value, or one of config_map/secret with a key."""
        refs = (self.config_map is not None) + (self.secret is not None)
        if self.value is not None:
            if refs or self.key is not None:
                raise ValueError("give either value, or config_map/secret with key, not both")
        elif refs != 1 or self.key is None:
            raise ValueError("give value, or exactly one of config_map and secret together with key")
        return self


class SqlCredentials(_Strict):
    """The application user's credentials, from one Secret."""

    secret: DnsName
    username_key: str = "username"
    password_key: str = "password"


class CompletedByList(_Strict):
    """Completion stored as membership of a named list (a board): item.<foreign_key> -> <table>.<key>."""

    table: SqlIdent
    key: SqlIdent = "id"
    foreign_key: SqlIdent = Field(description="Column of the to-do table pointing at the list.")
    name_column: SqlIdent = "name"
    done_value: Annotated[str, Field(pattern=r"^[^'\\\x00]+$")] = Field(
        default="Done", description="The name of the list that means 'completed' (no quotes or backslashes)."
    )


class SqlReconciliation(_Strict):
    """Where stored to-dos live in the database, to reconcile the write ledger with SQL."""

    database: SqlValue = Field(description="The database (schema) name.")
    credentials: SqlCredentials
    table: SqlIdent
    key_column: SqlIdent = "id"
    title_column: SqlIdent
    completed_column: SqlIdent | CompletedByList | None = Field(
        default=None, description="A boolean column, or membership of a 'done' list; absent if not stored."
    )
    title_storage: Literal["verbatim"] = Field(
        default="verbatim",
        description="How the to-do's text is stored: 'verbatim' means the column holds exactly the title sent.",
    )

    # Identifiers were validated at load time; backquotes keep reserved words (e.g. `list`) usable.
    def titles_query(self, like_prefix: str) -> str:
        """The SELECT returning stored titles that start with a prefix, oldest first."""
        return (
            f"SELECT `{self.title_column}` FROM `{self.table}` "
            f"WHERE `{self.title_column}` LIKE '{_like(like_prefix)}%' ORDER BY `{self.key_column}`"
        )

    def rows_query(self, like_prefix: str) -> str:
        """The SELECT returning (key, completed as 0/1, title) of rows whose title starts with a prefix."""
        key, title = f"t.`{self.key_column}`", f"t.`{self.title_column}`"
        done = self.completed_column
        if done is None:
            raise ValueError("sql.completed_column is not given: completion is not stored where SQL can read it")
        if isinstance(done, CompletedByList):
            completed = f"COALESCE(l.`{done.name_column}` = '{done.done_value}', 0)"
            join = f" LEFT JOIN `{done.table}` l ON t.`{done.foreign_key}` = l.`{done.key}`"
        else:
            completed, join = f"t.`{done}`", ""
        return (
            f"SELECT {key}, {completed}, {title} FROM `{self.table}` t{join} "
            f"WHERE {title} LIKE '{_like(like_prefix)}%' ORDER BY {key}"
        )

    def check_query(self) -> str:
        """The server's own consistency check of the to-do table (CHECK TABLE: one row per message)."""
        return f"CHECK TABLE `{self.table}`"

    def max_key_query(self) -> str:
        """The SELECT returning the highest key (0 when the table is empty)."""
        return f"SELECT COALESCE(MAX(`{self.key_column}`), 0) FROM `{self.table}`"

    def titles_after_query(self, key: int) -> str:
        """The SELECT returning the titles of every row stored after the given key, oldest first."""
        return (
            f"SELECT `{self.title_column}` FROM `{self.table}` "
            f"WHERE `{self.key_column}` > {int(key)} ORDER BY `{self.key_column}`"
        )


def _like(prefix: str) -> str:
    """A LIKE prefix, refused unless it is letters, digits, '-' and '_' (it goes into SQL)."""
    if not prefix.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"prefix {prefix!r} must be letters, digits, '-' or '_' (it goes into SQL)")
    return prefix


# -- images and manifests ------------------------------------------------------------------------------------------
class ImageSpec(_Strict):
    """How one kustomize image is provided: built from a folder with a Dockerfile, or by a python callable."""

    tier: Literal["database", "backend", "frontend"] = Field(description="The tier whose container runs the image.")
    context: str | None = Field(default=None, description="Folder (relative to the repository) with a Dockerfile.")
    builder: Annotated[str, Field(pattern=_CALLABLE)] | None = Field(
        default=None, description="'package.module:function' that builds the profile's images and returns them."
    )

    @model_validator(mode="after")
    def _one(self) -> ImageSpec:
        """Exactly one of context and builder."""
        if (self.context is None) == (self.builder is None):
            raise ValueError("give exactly one of context (a folder with a Dockerfile) and builder (module:function)")
        return self


# -- the profile ---------------------------------------------------------------------------------------------------
class Profile(_Strict):
    """One system under test, as the suite sees it."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][-a-z0-9_]*$")] = Field(description="Short name (results, report).")
    description: str = ""
    namespace: DnsName
    tiers: Tiers
    wiring: Wiring
    access: AccessSpec = Field(default_factory=AccessSpec)
    adapter: AdapterSpec
    promises: Promises = Field(default_factory=Promises)
    sql: SqlReconciliation | None = Field(default=None, description="Needed when promises.sql_reconciliation.")
    images: dict[Annotated[str, Field(pattern=r"^[a-z0-9][-a-z0-9._/]*$")], ImageSpec] = Field(
        default_factory=dict, description="Kustomize image name -> how it is built."
    )
    manifests: str = Field(description="Default kustomize directory (relative to the repository).")

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        """Promises that need configuration have it; images name each tier at most once."""
        if self.promises.sql_reconciliation and self.sql is None:
            raise ValueError("sql: field required (promises.sql_reconciliation is made)")
        if self.promises.served_by and not (isinstance(self.adapter, RestAdapterSpec) and self.adapter.info):
            raise ValueError("adapter.info: field required (promises.served_by is made)")
        if self.promises.rename and isinstance(self.adapter, GraphQLAdapterSpec) and not self.adapter.operations.rename:
            raise ValueError("adapter.operations.rename: field required (promises.rename is made)")
        tiers = [spec.tier for spec in self.images.values()]
        doubled = sorted({t for t in tiers if tiers.count(t) > 1})
        if doubled:
            raise ValueError(f"images: more than one image for tier(s) {', '.join(doubled)}")
        return self

    def tier_of(self, labels: Mapping[str, str]) -> str | None:
        """The tier whose selector these pod labels match, or None (a pod outside the app)."""
        for name, tier in self.tiers.items():
            if tier.matches(labels):
                return name
        return None

    def with_frontend_url(self, url: str) -> Profile:
        """The same profile with the front end reached at another URL (--frontend-url, another host port)."""
        if url == self.access.frontend_url:
            return self
        access = AccessSpec.model_validate({**self.access.model_dump(), "frontend_url": url})
        return self.model_copy(update={"access": access})

    @property
    def expected_replicas(self) -> dict[str, int]:
        """Ready replicas per tier."""
        return {name: tier.replicas for name, tier in self.tiers.items()}


# -- loading -------------------------------------------------------------------------------------------------------
class ProfileError(Exception):
    """A profile file cannot be read or does not describe a system under test; names the file and the fields."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(f"{self.path}: {problem}" for problem in problems))


def _loc(loc: tuple[int | str, ...]) -> str:
    """('tiers', 'backend', 'deployment') -> 'tiers.backend.deployment'; list indexes as [i]."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


# Discriminated unions: where they sit, their tag field and its values (for readable error locations).
_UNION_TAGS: dict[tuple[int | str, ...], tuple[str, tuple[str, ...]]] = {
    ("adapter",): ("kind", ("rest", "graphql")),
    ("access", "api"): ("via", ("frontend", "backend-service")),
}
# A model-level check names its field at the start of its message ("promises.rename: needs ...").
_NAMED = re.compile(r"^([A-Za-z_][\w.\[\]-]*): (.*)$", re.DOTALL)


def _strip_tags(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Drop the tag pydantic inserts after a discriminated union ('adapter', 'rest', ...) -> ('adapter', ...)."""
    out: list[int | str] = []
    for part in loc:
        if tuple(out) in _UNION_TAGS and part in _UNION_TAGS[tuple(out)][1]:
            continue
        out.append(part)
    return tuple(out)


def _problems(exc: ValidationError) -> list[str]:
    """One line per pydantic error: 'field.path: message'."""
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        message = str(error["msg"])
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        loc = _strip_tags(tuple(error["loc"]))
        ctx = error.get("ctx") or {}
        if error["type"] == "extra_forbidden":
            message = "unknown field (check the spelling; see docs/profiles.md)"
        elif error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            # Name the tag field itself: 'adapter.kind: ...' rather than 'adapter: ... discriminator ...'.
            tag, tags = _UNION_TAGS.get(loc, (str(ctx.get("discriminator", "")).strip("'"), ()))
            loc = (*loc, tag)
            expected = ", ".join(tags) or str(ctx.get("expected_tags", "")).replace("'", "")
            found = ctx.get("tag")
            message = f"{found!r} is not one of {expected}" if found is not None else f"field required ({expected})"
        named = _NAMED.match(message) if not loc else None
        if named:
            loc, message = tuple(named.group(1).split(".")), named.group(2)
        if message[1:2].islower():
            message = message[:1].lower() + message[1:]
        line = f"{_loc(loc)}: {message}"
        if line not in lines:
            lines.append(line)
    return lines


def parse_profile(data: Any, source: Path | str = "<profile>") -> Profile:
    """Validate already-parsed YAML data; errors name `source` and the field path."""
    if not isinstance(data, dict):
        raise ProfileError(source, [f"(top level): expected a mapping of fields, got {type(data).__name__}"])
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(source, _problems(exc)) from None


def load_profile(path: Path | str) -> Profile:
    """Read and validate one profile file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(path, [f"cannot be read: {exc.strerror or exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise ProfileError(path, [f"{where}not valid YAML: {getattr(exc, 'problem', None) or exc}"]) from None
    return parse_profile(data, path)


@functools.cache
def reference_profile() -> Profile:
    """The reference app's profile (the default of --profile, and of tools that take no profile)."""
    return load_profile(REFERENCE_PROFILE)


def resolve_builder(spec: str) -> Callable[..., Any]:
    """Import 'package.module:function' and return the function."""
    if not re.match(_CALLABLE, spec):
        raise ValueError(f"builder {spec!r} is not of the form package.module:function")
    module_name, _, attr = spec.partition(":")
    module = importlib.import_module(module_name)
    found = getattr(module, attr, None)
    if not callable(found):
        raise ValueError(f"builder {spec!r}: module {module_name} has no callable {attr!r}")
    return found  # type: ignore[no-any-return]


def schema_text() -> str:
    """The profile's JSON Schema as committed in docs/profile-schema.json."""
    schema = Profile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "docs/profile-schema.json"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def export_schema(path: Path = SCHEMA_PATH) -> Path:
    """Write the JSON Schema file; return its path."""
    path.write_text(schema_text(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"wrote {export_schema()}")
