"""Target profiles: the shipped profiles, the reference profile against the manifests, and every error message."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.profile import (
    PROMISES,
    SCHEMA_PATH,
    ApiViaBackend,
    CompletedByList,
    GraphQLAdapterSpec,
    Profile,
    ProfileError,
    RestAdapterSpec,
    load_profile,
    parse_profile,
    resolve_builder,
    schema_text,
)

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "profiles" / "reference.yaml"
WALKTHROUGH = ROOT / "profiles" / "walkthrough.yaml"


def _raw(path: Path) -> dict[str, Any]:
    """A profile file as plain data, to mutate in tests."""
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def _base_docs() -> dict[tuple[str, str], dict[str, Any]]:
    """The reference manifests (kustomize base, plain YAML) by (kind, name)."""
    docs: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted((ROOT / "manifests" / "base").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") not in (None, "Kustomization"):
                docs[(doc["kind"], doc["metadata"]["name"])] = doc
    return docs


# -- the shipped profiles -----------------------------------------------------------------------------------------
def test_both_shipped_profiles_load() -> None:
    """reference.yaml and walkthrough.yaml are valid, with the adapters they describe."""
    reference, walkthrough = load_profile(REFERENCE), load_profile(WALKTHROUGH)
    assert isinstance(reference.adapter, RestAdapterSpec)
    assert isinstance(walkthrough.adapter, GraphQLAdapterSpec)
    assert reference.access.api_base_url == "http://127.0.0.1:30080"
    assert walkthrough.access.api_base_url == "http://127.0.0.1:30081"
    assert isinstance(walkthrough.access.api, ApiViaBackend)


def test_the_reference_profile_says_what_the_manifests_say() -> None:
    """Names, selectors, containers, ports, replicas, volume and env wiring equal manifests/base."""
    profile = load_profile(REFERENCE)
    docs = _base_docs()
    kustomization = yaml.safe_load((ROOT / "manifests" / "base" / "kustomization.yaml").read_text())
    assert profile.namespace == kustomization["namespace"]
    for tier_name, tier in profile.tiers.items():
        deployment = docs[("Deployment", tier.deployment)]
        assert deployment["spec"]["selector"]["matchLabels"] == tier.selector, tier_name
        assert deployment["spec"]["replicas"] == tier.replicas, tier_name
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["name"] == tier.container, tier_name
        service = docs[("Service", tier.service)]
        assert service["spec"]["selector"] == tier.selector, tier_name
        assert [p["port"] for p in service["spec"]["ports"]] == [tier.port], tier_name
        assert [p["containerPort"] for p in container["ports"]] == [tier.target_port], tier_name
        wired = {
            e["name"]: e["valueFrom"]
            for e in container.get("env", [])
            if "configMapKeyRef" in e.get("valueFrom", {}) or "secretKeyRef" in e.get("valueFrom", {})
        }
        expected = {
            name: {f"{src.kind}KeyRef": {"name": src.name, "key": src.key}}
            for name, src in profile.wiring.of(tier_name).items()
        }
        assert wired == expected, tier_name
    database = profile.tiers.database
    spec = docs[("Deployment", database.deployment)]["spec"]["template"]["spec"]
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"] if "persistentVolumeClaim" in v
    }
    mounts = {m["mountPath"]: m["name"] for m in spec["containers"][0]["volumeMounts"]}
    assert claims[mounts[database.data_dir]] == database.pvc
    assert ("PersistentVolumeClaim", database.pvc) in docs
    root = profile.wiring.root_password
    assert root.key in docs[("Secret", root.secret)]["stringData"]
    assert profile.sql is not None
    database_name = profile.sql.database
    assert database_name.config_map is not None and database_name.key is not None
    assert database_name.key in docs[("ConfigMap", database_name.config_map)]["data"]
    credentials = docs[("Secret", profile.sql.credentials.secret)]["stringData"]
    assert {profile.sql.credentials.username_key, profile.sql.credentials.password_key} <= set(credentials)


def test_the_reference_profile_images_and_overlay_exist() -> None:
    """Every image's build folder has a Dockerfile, the overlay is a kustomize directory using those names."""
    profile = load_profile(REFERENCE)
    overlay = ROOT / profile.manifests
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    assert {image["name"] for image in kustomization["images"]} == set(profile.images)
    for spec in profile.images.values():
        assert spec.context is not None and (ROOT / spec.context / "Dockerfile").is_file()
    docs = _base_docs()
    by_tier: dict[str, str] = {spec.tier: name for name, spec in profile.images.items()}
    for tier_name, tier in profile.tiers.items():
        (container,) = docs[("Deployment", tier.deployment)]["spec"]["template"]["spec"]["containers"]
        assert container["image"] == by_tier[tier_name]


def test_tier_of_selects_by_labels() -> None:
    """A pod's labels name its tier; the suite's own probe pods belong to none."""
    profile = load_profile(REFERENCE)
    labels = {"app.kubernetes.io/part-of": "todo", "app.kubernetes.io/component": "backend", "x": "y"}
    assert profile.tier_of(labels) == "backend"
    assert profile.tier_of({"app.kubernetes.io/part-of": "todo-e2e", "app.kubernetes.io/component": "probe"}) is None
    assert (
        profile.tiers.frontend.selector_string()
        == "app.kubernetes.io/component=frontend,app.kubernetes.io/part-of=todo"
    )
    assert profile.expected_replicas == {"database": 1, "backend": 2, "frontend": 2}


def test_sql_query_of_both_profiles() -> None:
    """The reconciliation SELECT uses the profile's table and columns and refuses prefixes unfit for SQL."""
    reference = load_profile(REFERENCE).sql
    walkthrough = load_profile(WALKTHROUGH).sql
    assert reference is not None and walkthrough is not None
    assert reference.titles_query("ledger-r1-") == (
        "SELECT `title` FROM `todos` WHERE `title` LIKE 'ledger-r1-%' ORDER BY `id`"
    )
    assert walkthrough.titles_query("ledger-r1-") == (
        "SELECT `name` FROM `items` WHERE `name` LIKE 'ledger-r1-%' ORDER BY `id`"
    )
    assert reference.rows_query("ledger-r1-") == (
        "SELECT t.`id`, t.`completed`, t.`title` FROM `todos` t WHERE t.`title` LIKE 'ledger-r1-%' ORDER BY t.`id`"
    )
    assert walkthrough.rows_query("ledger-r1-") == (
        "SELECT t.`id`, COALESCE(l.`name` = 'Done', 0), t.`name` FROM `items` t "
        "LEFT JOIN `lists` l ON t.`list_id` = l.`id` WHERE t.`name` LIKE 'ledger-r1-%' ORDER BY t.`id`"
    )
    assert walkthrough.max_key_query() == "SELECT COALESCE(MAX(`id`), 0) FROM `items`"
    assert reference.titles_after_query(41) == "SELECT `title` FROM `todos` WHERE `id` > 41 ORDER BY `id`"
    assert isinstance(walkthrough.completed_column, CompletedByList)
    with pytest.raises(ValueError, match="completion is not stored"):
        walkthrough.model_copy(update={"completed_column": None}).rows_query("p")
    with pytest.raises(ValueError, match="goes into SQL"):
        walkthrough.rows_query("p'")
    with pytest.raises(ValueError, match="goes into SQL"):
        reference.titles_query("x' OR 1=1 --")


def test_wiring_splits_settings_and_secrets() -> None:
    """The back end's shared settings and secrets are told apart by their source."""
    wiring = load_profile(REFERENCE).wiring
    assert sorted(wiring.from_config_maps("backend")) == ["DB_HOST", "DB_NAME"]
    assert sorted(wiring.from_secrets("backend")) == ["DB_PASSWORD", "DB_USERNAME"]
    with pytest.raises(KeyError, match="unknown tier"):
        wiring.of("cache")


def test_promises_made() -> None:
    """made() lists flags that are true and parameter promises that are given."""
    assert load_profile(WALKTHROUGH).promises.made() == {"completed_flag", "sql_reconciliation"}
    assert load_profile(REFERENCE).promises.made() == set(PROMISES)


def test_defaults_give_the_reference_contract() -> None:
    """A REST adapter with no paths or fields configured speaks docs/contract.md; the front end defaults to :30080."""
    data = _raw(REFERENCE)
    data["adapter"] = {"kind": "rest"}
    data.pop("access")
    data["promises"] = {}
    profile = parse_profile(data)
    assert isinstance(profile.adapter, RestAdapterSpec)
    assert profile.adapter.paths.get == "/api/todos/{id}"
    assert profile.adapter.fields.title == "title"
    assert profile.access.frontend_url == "http://127.0.0.1:30080"


# -- errors name the file and the field ---------------------------------------------------------------------------
def _drop(*path: str) -> Any:
    """A mutation removing the field at path."""

    def mutate(data: dict[str, Any]) -> None:
        """Remove it."""
        for key in path[:-1]:
            data = data[key]
        del data[path[-1]]

    return mutate


def _set(value: Any, *path: str) -> Any:
    """A mutation setting the field at path."""

    def mutate(data: dict[str, Any]) -> None:
        """Set it."""
        for key in path[:-1]:
            data = data[key]
        data[path[-1]] = value

    return mutate


REFERENCE_ERRORS = [
    (_drop("tiers", "backend", "deployment"), "tiers.backend.deployment: field required"),
    (_drop("namespace"), "namespace: field required"),
    (_set("Todo_App", "namespace"), "namespace: string should match pattern"),
    (_set("abc", "tiers", "backend", "port"), "tiers.backend.port: input should be a valid integer"),
    (_set(70000, "tiers", "frontend", "port"), "tiers.frontend.port: input should be less than or equal to 65535"),
    (_set(2, "tiers", "database", "replicas"), "tiers.database.replicas: the database tier runs exactly 1 replica"),
    (_set({}, "tiers", "backend", "selector"), "tiers.backend.selector: dictionary should have at least 1 item"),
    (_set({"bad key!": "x"}, "tiers", "backend", "selector"), "tiers.backend.selector: 'bad key!' is not a valid"),
    (
        _set({"app.kubernetes.io/part-of": "todo"}, "tiers", "frontend", "selector"),
        "tiers: the selectors of database",
    ),
    (_set("/data", "tiers", "frontend", "pvc"), "tiers.frontend.pvc: unknown field"),
    (_set("var/lib/mysql", "tiers", "database", "data_dir"), "tiers.database.data_dir: string should match"),
    (_set({"key": "host"}, "wiring", "backend", "DB_HOST"), "wiring.backend.DB_HOST: give exactly one of"),
    (
        _set({"config_map": "a", "secret": "b", "key": "k"}, "wiring", "backend", "DB_HOST"),
        "wiring.backend.DB_HOST: give exactly one of",
    ),
    (_drop("wiring", "root_password"), "wiring.root_password: field required"),
    (_set("http://example.com", "access", "frontend_url"), "access.frontend_url: URL 'http://example.com': use an IP"),
    (_set("http://8.8.8.8:80", "access", "frontend_url"), "access.frontend_url: URL 'http://8.8.8.8:80': 8.8.8.8 is"),
    (_set({"via": "backend-service"}, "access", "api"), "access.api.url: field required"),
    (_set({"via": "sideways"}, "access", "api"), "access.api.via: 'sideways' is not one of frontend, backend-service"),
    (_set({"base_path": "/api"}, "access", "api"), "access.api.via: field required (frontend, backend-service)"),
    (_set("soap", "adapter", "kind"), "adapter.kind: 'soap' is not one of rest, graphql"),
    (_drop("adapter", "kind"), "adapter.kind: field required (rest, graphql)"),
    (_set("/api/todos", "adapter", "paths", "get"), "adapter.paths: the get path needs '{id}'"),
    (_set("api/todos", "adapter", "paths", "list"), "adapter.paths.list: string should match pattern"),
    (_set("POST", "adapter", "update_method"), "adapter.update_method: input should be 'PATCH' or 'PUT'"),
    (_set({}, "adapter", "pathz"), "adapter.pathz: unknown field (check the spelling; see docs/profiles.md)"),
    (_drop("adapter", "info"), "adapter.info: field required (promises.served_by is made)"),
    (_set(True, "promises", "teleport"), "promises.teleport: unknown field"),
    (_set({"min": 5, "max": 2}, "promises", "title_length"), "promises.title_length: min (5) is greater than max"),
    (_set("yes please", "promises", "rename"), "promises.rename: input should be a valid boolean"),
    (_drop("sql"), "sql: field required (promises.sql_reconciliation is made)"),
    (_set("todo list", "sql", "table"), "sql.table: string should match pattern"),
    (_set({"value": "x", "key": "k"}, "sql", "database"), "sql.database: give either value, or config_map"),
    (_set("base64", "sql", "title_storage"), "sql.title_storage: input should be 'verbatim'"),
    (_set({"tier": "backend"}, "images", "todo-backend"), "images.todo-backend: give exactly one of context"),
    (
        _set({"tier": "backend", "builder": "not a callable"}, "images", "todo-backend"),
        "images.todo-backend.builder: string should match pattern",
    ),
    (_set({"tier": "backend", "context": "x"}, "images", "todo-mysql"), "images: more than one image for tier(s)"),
]


@pytest.mark.parametrize(("mutate", "expected"), REFERENCE_ERRORS, ids=[e for _, e in REFERENCE_ERRORS])
def test_every_error_names_the_file_and_the_field(tmp_path: Path, mutate: Any, expected: str) -> None:
    """One broken field of the reference profile gives one line: '<file>: <field path>: <what is wrong>'."""
    data = _raw(REFERENCE)
    mutate(data)
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    lines = str(caught.value).splitlines()
    assert any(line.startswith(f"{path}: {expected}") for line in lines), lines
    assert all(line.startswith(f"{path}: ") for line in lines), lines
    assert caught.value.path == str(path)


WALKTHROUGH_ERRORS = [
    (_drop("adapter", "operations", "create"), "adapter.operations.create: field required"),
    (
        _set({"name": "$title", "listId": "$done_list_id"}, "adapter", "operations", "create", "variables"),
        "adapter.operations: create: placeholder(s) $done_list_id not available here",
    ),
    (_set("Done", "adapter", "board", "open_list"), "adapter.board: open_list and done_list must name different"),
    (_set(True, "promises", "rename"), "adapter.operations.rename: field required (promises.rename is made)"),
    (_set(True, "promises", "served_by"), "adapter.info: field required (promises.served_by is made)"),
    (_set("http://10.0.0.300:1", "access", "api", "url"), "access.api.url: URL 'http://10.0.0.300:1': use an IP"),
    (_set({"table": "list"}, "sql", "completed_column"), "sql.completed_column"),
    (
        _set({"table": "list", "foreign_key": "list_id", "done_value": "Don't"}, "sql", "completed_column"),
        "sql.completed_column.CompletedByList.done_value: string should match pattern",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), WALKTHROUGH_ERRORS, ids=[e for _, e in WALKTHROUGH_ERRORS])
def test_graphql_errors_name_the_field(mutate: Any, expected: str) -> None:
    """Errors of the GraphQL sections name their field too."""
    data = _raw(WALKTHROUGH)
    mutate(data)
    with pytest.raises(ProfileError) as caught:
        parse_profile(data, "profiles/walkthrough.yaml")
    lines = str(caught.value).splitlines()
    assert any(line.startswith(f"profiles/walkthrough.yaml: {expected}") for line in lines), lines


def test_several_errors_are_all_reported() -> None:
    """Every problem of a file is listed, one per line, not only the first."""
    data = _raw(REFERENCE)
    del data["tiers"]["backend"]["deployment"]
    data["tiers"]["frontend"]["port"] = 0
    with pytest.raises(ProfileError) as caught:
        parse_profile(data, "x.yaml")
    assert caught.value.problems == [
        "tiers.backend.deployment: field required",
        "tiers.frontend.port: input should be greater than or equal to 1",
    ]


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    """A missing file, broken YAML and a non-mapping document are errors naming the file."""
    with pytest.raises(ProfileError, match=r"nothere\.yaml: cannot be read"):
        load_profile(tmp_path / "nothere.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\ntiers: [unclosed\n")
    with pytest.raises(ProfileError, match=r"broken\.yaml: line 3, column 1: not valid YAML"):
        load_profile(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(ProfileError, match=r"list\.yaml: \(top level\): expected a mapping of fields, got list"):
        load_profile(listed)


def test_resolve_builder() -> None:
    """A 'module:function' path imports; a missing function is named."""
    assert resolve_builder("support.profile:load_profile") is load_profile
    with pytest.raises(ValueError, match="has no callable 'nope'"):
        resolve_builder("support.profile:nope")
    with pytest.raises(ValueError, match="not of the form"):
        resolve_builder("support/profile.py")


# -- the schema ---------------------------------------------------------------------------------------------------
def test_committed_schema_is_current() -> None:
    """docs/profile-schema.json is what the model exports (regenerate: python -m support.profile)."""
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), "run: python -m support.profile"


def test_schema_describes_the_profile() -> None:
    """The schema's top level requires what the model requires and closes the promise vocabulary."""
    schema = json.loads(schema_text())
    assert set(schema["required"]) == {"name", "namespace", "tiers", "wiring", "adapter", "manifests"}
    promises = schema["$defs"]["Promises"]
    assert set(promises["properties"]) == set(PROMISES)
    assert promises["additionalProperties"] is False
    assert Profile.model_json_schema()["title"] == "Profile"


def test_profile_is_immutable() -> None:
    """A loaded profile cannot be changed by the code that reads it."""
    profile = load_profile(REFERENCE)
    with pytest.raises(Exception, match="frozen"):
        profile.namespace = "other"
    copy.deepcopy(profile)  # still copyable for tests that derive variants


def test_the_documented_example_and_vocabulary_are_current() -> None:
    """docs/profiles.md: its example profile is valid and its promise table lists exactly the vocabulary."""
    text = (ROOT / "docs" / "profiles.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    assert parse_profile(yaml.safe_load(block), "docs/profiles.md").name == "shop-todos"
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| [^|]+ \| ([^|]+) \|$", text, re.MULTILINE)
    # The last column is the tag of the scenarios that need the promise, or says which scenarios read it instead.
    documented = {name for name, tag in rows if tag == f"`@needs_{name}`" or "scenarios" in tag}
    assert documented == set(PROMISES)
