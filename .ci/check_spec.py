#!/usr/bin/env python3
"""House rules for openapi.yaml that a generic OpenAPI validator does not check.

The SDK generator and the sandbox read the spec mechanically, so the spec keeps to a small, regular subset of
OpenAPI 3.1 and documents everything. This script fails (exit 1) naming the location of every violation:

- every component schema has `description` and `example`; every property has `description`;
- every example (schemas, parameters, headers, media types) validates against its schema (JSON Schema 2020-12,
  with `$ref`s resolved into `components`, formats checked);
- one way to say each thing: no `nullable` (3.1 `type: [T, "null"]`), no `allOf`, `anyOf` only as
  `[{$ref}, {type: "null"}]` or as an open enum `[{type: string, enum}, {type: string}]`, `oneOf` only of `$ref`s with a `discriminator` whose `mapping` names every member
  (each member's tag property `const`), enums are strings, integers carry int32/int64, numbers carry double;
- every `$ref` resolves;
- every operation has operationId (unique), summary, description, exactly one tag;
- every POST under `paths` takes the `Idempotency-Key` header (except `x-sdk-runtime` OAuth operations);
- action paths (`.../{id}/<verb>`) carry `x-sdk-method`;
- every response declares `X-Request-Id`; 429 and 503 declare `Retry-After`;
- deprecated operations declare `Deprecation` and `Sunset` on their success responses;
- the `webhooks` section and the `WebhookEventType` enum list the same event types, and every event schema's
  `type` is `const` its event type.

Usage: check_spec.py [path/to/openapi.yaml]   (default: openapi.yaml next to this directory)
"""
import re
import sys
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
REQUIRED_FORMATS = ("date-time", "email", "uri")


class Checker:
    def __init__(self, doc):
        self.doc = doc
        self.errors = []
        self.components = doc.get("components", {})
        self.schemas = self.components.get("schemas", {})

    def fail(self, location, message):
        self.errors.append(f"{location}: {message}")

    # ------------------------------------------------------------------ references
    def resolve(self, node):
        """Follows a local `$ref` (repeatedly); returns the target or None when it does not resolve."""
        seen = set()
        while isinstance(node, dict) and "$ref" in node and len(node) <= 2 and set(node) <= {"$ref", "description"}:
            ref = node["$ref"]
            if ref in seen or not ref.startswith("#/"):
                return None
            seen.add(ref)
            target = self.doc
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    return None
                target = target[part]
            node = target
        return node

    def check_refs(self, node, location):
        if isinstance(node, dict):
            if "$ref" in node and isinstance(node["$ref"], str):
                if self.resolve({"$ref": node["$ref"]}) is None:
                    self.fail(location, f"$ref {node['$ref']} does not resolve")
            for key, value in node.items():
                self.check_refs(value, f"{location}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                self.check_refs(value, f"{location}[{index}]")

    # ------------------------------------------------------------------ schemas
    def check_discriminated(self, schema, location):
        """A `oneOf` is a discriminated union of component schemas, each naming its own tag value."""
        members = schema.get("oneOf")
        discriminator = schema.get("discriminator")
        if not isinstance(members, list) or not isinstance(discriminator, dict):
            self.fail(location, "`oneOf` and `discriminator` go together")
            return
        tag = discriminator.get("propertyName")
        mapping = discriminator.get("mapping") or {}
        refs = [m.get("$ref") if isinstance(m, dict) and set(m) == {"$ref"} else None for m in members]
        if None in refs:
            self.fail(location, "`oneOf` members must be `$ref`s to component schemas")
            return
        if sorted(mapping.values()) != sorted(refs):
            self.fail(location, "the discriminator `mapping` must name every `oneOf` member exactly once")
        for value, ref in mapping.items():
            member = self.schemas.get(ref.rsplit("/", 1)[-1], {})
            prop = member.get("properties", {}).get(tag, {})
            if prop.get("const") != value or tag not in member.get("required", []):
                self.fail(location, f"`{ref}` must require `{tag}` with `const: {value}`")

    def check_schema_shape(self, schema, location):
        """Checks the supported subset and property descriptions, recursively."""
        if not isinstance(schema, dict):
            self.fail(location, "schema is not a mapping")
            return
        for banned in ("nullable", "allOf"):
            if banned in schema:
                self.fail(location, f"`{banned}` is not used in this spec (use `type: [T, \"null\"]`, the anyOf-null "
                                    f"pattern or a discriminated oneOf)")
        if "oneOf" in schema or "discriminator" in schema:
            self.check_discriminated(schema, location)
        if "anyOf" in schema:
            branches = schema["anyOf"]
            nullable_ref = (isinstance(branches, list) and len(branches) == 2 and set(branches[0]) == {"$ref"}
                            and branches[1] == {"type": "null"})
            # An open enum: the listed strings, or any other string (`ErrorCode`); the SDK generator reads it as an
            # enum with an `Unknown` fallback.
            open_enum = (isinstance(branches, list) and len(branches) == 2
                         and all(isinstance(b, dict) for b in branches)
                         and branches[0].get("type") == "string" and isinstance(branches[0].get("enum"), list)
                         and set(branches[0]) <= {"type", "enum", "description"}
                         and branches[1].get("type") == "string" and set(branches[1]) <= {"type", "description"})
            if not (nullable_ref or open_enum):
                self.fail(location, "`anyOf` is only allowed as [{$ref: ...}, {type: \"null\"}] or as an open enum "
                                    "[{type: string, enum: [...]}, {type: string}]")
        types = schema.get("type")
        type_set = set(types) if isinstance(types, list) else {types} if types else set()
        if "enum" in schema and ("string" not in type_set or not type_set <= {"string", "null"}):
            self.fail(location, "enums must be `type: string`")
        if "integer" in type_set and schema.get("format") not in ("int32", "int64"):
            self.fail(location, "integers need `format: int32` or `format: int64`")
        if "number" in type_set and schema.get("format") != "double":
            self.fail(location, "numbers need `format: double`")
        if "object" in type_set:
            props = schema.get("properties")
            if props is None:
                if schema.get("additionalProperties") is not True:
                    self.fail(location, "an object without `properties` must be a map "
                                        "(`additionalProperties: true`)")
            else:
                if "required" not in schema:
                    self.fail(location, "object lists no `required` (use `required: []` when nothing is)")
                for name in schema.get("required", []):
                    if name not in props:
                        self.fail(location, f"required property `{name}` is not declared")
                for name, prop in props.items():
                    where = f"{location}.properties.{name}"
                    if not isinstance(prop, dict) or not prop.get("description"):
                        self.fail(where, "property has no description")
                    if isinstance(prop, dict):
                        self.check_schema_shape(prop, where)
        if "items" in schema:
            self.check_schema_shape(schema["items"], f"{location}.items")

    def validate_example(self, schema, example, location):
        root = dict(schema) if isinstance(schema, dict) else {}
        root["$schema"] = JSON_SCHEMA_DIALECT
        root["components"] = self.components
        validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
        for error in sorted(validator.iter_errors(example), key=lambda e: list(e.path)):
            path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
            self.fail(location, f"example{path} does not validate: {error.message}")

    def check_component_schemas(self):
        for name, schema in self.schemas.items():
            location = f"components.schemas.{name}"
            if not isinstance(schema, dict):
                self.fail(location, "schema is not a mapping")
                continue
            if not schema.get("description"):
                self.fail(location, "component schema has no description")
            if "example" not in schema:
                self.fail(location, "component schema has no example")
            else:
                self.validate_example(schema, schema["example"], location)
            self.check_schema_shape(schema, location)

    # ------------------------------------------------------------------ operations
    def operations(self):
        for section in ("paths", "webhooks"):
            for path, item in (self.doc.get(section) or {}).items():
                for method in HTTP_METHODS:
                    if isinstance(item, dict) and method in item:
                        yield section, path, method, item[method]

    def is_action_path(self, path):
        """`.../{id}/word` with no `.../{id}/word/{...}` below it and no list answer: an action, not a collection."""
        if not re.search(r"/\{[a-z_]+\}/[a-z_]+$", path):
            return False
        if any(other.startswith(path + "/") for other in self.doc.get("paths", {})):
            return False
        for operation in self.doc["paths"][path].values():
            if not isinstance(operation, dict):
                continue
            for response in (operation.get("responses") or {}).values():
                schema = ((self.resolve(response) or {}).get("content") or {}).get("application/json", {}).get(
                    "schema") or {}
                data = (schema.get("properties") or {}).get("data") or {}
                if data.get("type") == "array":
                    return False
        return True

    def parameters_of(self, operation, path_item):
        params = []
        for raw in list(path_item.get("parameters", [])) + list(operation.get("parameters", [])):
            params.append(self.resolve(raw) or {})
        return params

    def check_examples_in(self, node, location):
        """Validates `example` of parameters, headers and media types found under node."""
        if isinstance(node, dict):
            if "schema" in node and "example" in node:
                self.validate_example(node["schema"], node["example"], location)
            for key, value in node.items():
                if key in ("schema", "example"):
                    continue
                self.check_examples_in(value, f"{location}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                self.check_examples_in(value, f"{location}[{index}]")

    def check_operations(self):
        seen_ids = {}
        count = 0
        for section, path, method, operation in self.operations():
            count += 1
            location = f"{section}.{path}.{method}"
            for field in ("operationId", "summary", "description"):
                if not operation.get(field):
                    self.fail(location, f"operation has no {field}")
            op_id = operation.get("operationId")
            if op_id in seen_ids:
                self.fail(location, f"operationId {op_id} also used by {seen_ids[op_id]}")
            seen_ids[op_id] = location
            if len(operation.get("tags", [])) != 1:
                self.fail(location, "operation needs exactly one tag")
            path_item = self.doc[section][path]
            params = self.parameters_of(operation, path_item)
            runtime = operation.get("x-sdk-runtime") is True
            if section == "paths":
                if "security" not in operation:
                    self.fail(location, "operation declares no `security`")
                if method == "post" and not runtime:
                    if not any(p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key"
                               for p in params):
                        self.fail(location, "POST does not take the Idempotency-Key header parameter")
                if self.is_action_path(path) and not operation.get("x-sdk-method"):
                    self.fail(location, "action path needs `x-sdk-method` (it becomes a method of the parent)")
                for p in params:
                    if p.get("in") == "path":
                        ref = (p.get("schema") or {}).get("$ref", "")
                        if not ref.endswith("Id"):
                            self.fail(f"{location}.parameters.{p.get('name')}", "path parameter must $ref an Id "
                                                                                  "schema")
            responses = operation.get("responses") or {}
            if not responses:
                self.fail(location, "operation has no responses")
            for code, response in responses.items():
                resolved = self.resolve(response) or {}
                where = f"{location}.responses.{code}"
                headers = {h.lower() for h in (resolved.get("headers") or {})}
                if section == "paths":
                    if "x-request-id" not in headers:
                        self.fail(where, "response does not declare X-Request-Id")
                    if str(code) in ("429", "503") and "retry-after" not in headers:
                        self.fail(where, "response does not declare Retry-After")
                    if operation.get("deprecated") and str(code).startswith("2"):
                        for needed in ("deprecation", "sunset"):
                            if needed not in headers:
                                self.fail(where, f"deprecated operation does not declare the {needed.title()} "
                                                 f"header")
                for media, content in (resolved.get("content") or {}).items():
                    schema = content.get("schema")
                    if schema is not None and "$ref" not in schema:
                        self.check_schema_shape(schema, f"{where}.content.{media}.schema")
            self.check_examples_in(operation, location)
        return count

    # ------------------------------------------------------------------ webhooks
    def check_webhooks(self):
        webhooks = self.doc.get("webhooks") or {}
        enum = set((self.schemas.get("WebhookEventType") or {}).get("enum", []))
        if not enum:
            self.fail("components.schemas.WebhookEventType", "missing or has no enum")
        for event_type in sorted(set(webhooks) - enum):
            self.fail(f"webhooks.{event_type}", "event type is missing from the WebhookEventType enum")
        for event_type in sorted(enum - set(webhooks)):
            self.fail("components.schemas.WebhookEventType", f"enum value {event_type} has no `webhooks` entry")
        for event_type, item in webhooks.items():
            location = f"webhooks.{event_type}.post"
            operation = (item or {}).get("post")
            if not operation:
                self.fail(location, "webhook has no post operation")
                continue
            names = {p.get("name", "").lower() for p in self.parameters_of(operation, item)}
            for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
                if header not in names:
                    self.fail(location, f"webhook does not document the {header} header")
            body = (operation.get("requestBody") or {}).get("content", {}).get("application/json", {})
            schema = self.resolve(body.get("schema") or {}) or {}
            type_prop = (schema.get("properties") or {}).get("type") or {}
            if type_prop.get("const") != event_type or type_prop.get("type") != "string":
                self.fail(location, f"event schema's `type` must be `type: string, const: {event_type}`")
        return len(webhooks)

    # ------------------------------------------------------------------ document
    def check_document(self):
        if self.doc.get("openapi") != "3.1.0":
            self.fail("openapi", "must be 3.1.0")
        for field in ("title", "version", "description"):
            if not (self.doc.get("info") or {}).get(field):
                self.fail("info", f"has no {field}")
        self.check_refs(self.doc, "$")
        for kind in ("parameters", "headers", "responses"):
            for name, node in (self.components.get(kind) or {}).items():
                if not node.get("description"):
                    self.fail(f"components.{kind}.{name}", "has no description")
                self.check_examples_in(node, f"components.{kind}.{name}")


def main():
    default = Path(__file__).resolve().parent.parent / "openapi.yaml"
    spec_path = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    missing = [f for f in REQUIRED_FORMATS if f not in Draft202012Validator.FORMAT_CHECKER.checkers]
    if missing:
        print(f"check_spec: format checkers unavailable for {missing}; install jsonschema[format]",
              file=sys.stderr)
        return 2
    try:
        doc = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        print(f"check_spec: cannot read {spec_path}: {error}", file=sys.stderr)
        return 2
    checker = Checker(doc)
    checker.check_document()
    checker.check_component_schemas()
    operations = checker.check_operations()
    events = checker.check_webhooks()
    path_ops = sum(1 for section, *_ in checker.operations() if section == "paths")
    if checker.errors:
        for error in checker.errors:
            print(f"{spec_path.name}: {error}", file=sys.stderr)
        print(f"check_spec: FAILED with {len(checker.errors)} problem(s)", file=sys.stderr)
        return 1
    print(f"check_spec: OK: {len(checker.schemas)} schemas, {path_ops} operations, {events} webhook events "
          f"({operations} operations including webhooks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
