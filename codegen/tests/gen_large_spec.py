#!/usr/bin/env python3
"""Writes `fixtures/large.yaml`: a large, deterministic OpenAPI 3.1 spec for the generator.

An imaginary commerce-and-operations platform with 40 resources, each with CRUD operations, a
nested sub-resource and actions (300+ operations) and some 1,000+ schemas mixing the constructs
real specs use: typed ids, enums, `allOf` composition, `oneOf` with a discriminator, untagged
unions, inline objects, maps, nullable fields, arrays, formats, recursive trees and mutually
recursive pairs, webhooks. Every schema that can carry one has an `example` consistent with it.

Only the Python standard library is used, and the output depends on nothing but this file
(a fixed-seed generator of its own, insertion-ordered dicts, a YAML writer of its own), so the
same script always writes the same bytes.

    python3 codegen/tests/gen_large_spec.py            # writes codegen/tests/fixtures/large.yaml
    python3 codegen/tests/gen_large_spec.py -o out.yaml
"""

import argparse
import json
import os
import re

# ---------------------------------------------------------------------------------------------
# Deterministic randomness (splitmix64), independent of the Python version.


class Rng:
    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFFFFFFFFFF

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n

    def chance(self, percent):
        return self.below(100) < percent

    def choice(self, items):
        return items[self.below(len(items))]

    def sample(self, items, k):
        pool = list(items)
        out = []
        for _ in range(min(k, len(pool))):
            out.append(pool.pop(self.below(len(pool))))
        return out


RNG = Rng(20261130)

# ---------------------------------------------------------------------------------------------
# Vocabulary.

RESOURCES = [
    ("account", "accounts"), ("address", "addresses"), ("announcement", "announcements"),
    ("asset", "assets"), ("badge", "badges"), ("budget", "budgets"), ("cart", "carts"),
    ("certificate", "certificates"), ("channel", "channels"), ("checkout", "checkouts"),
    ("collection", "collections"), ("contract", "contracts"), ("coupon", "coupons"),
    ("course", "courses"), ("deal", "deals"), ("device", "devices"), ("discount", "discounts"),
    ("document", "documents"), ("domain", "domains"), ("employee", "employees"),
    ("experiment", "experiments"), ("fulfillment", "fulfillments"), ("gift_card", "gift_cards"),
    ("invoice", "invoices"), ("lead", "leads"), ("location", "locations"),
    ("membership", "memberships"), ("opportunity", "opportunities"), ("order", "orders"),
    ("payout", "payouts"), ("playlist", "playlists"), ("product", "products"), ("quote", "quotes"),
    ("refund", "refunds"), ("review", "reviews"), ("shipment", "shipments"),
    ("subscription", "subscriptions"), ("supplier", "suppliers"), ("survey", "surveys"),
    ("warehouse", "warehouses"),
]

CHILDREN = [("note", "notes"), ("attachment", "attachments"), ("line_item", "line_items"),
            ("comment", "comments"), ("revision", "revisions"), ("contact", "contacts")]

STATUSES = [
    ["draft", "active", "archived"],
    ["pending", "approved", "rejected", "cancelled"],
    ["open", "in_progress", "closed"],
    ["new", "qualified", "won", "lost"],
    ["scheduled", "running", "paused", "completed", "failed"],
    ["enabled", "disabled"],
]

FIELD_WORDS = ["name", "title", "label", "code", "reference", "summary", "notes", "owner_email",
               "external_ref", "region", "currency", "locale", "color", "priority", "score",
               "quantity", "weight_grams", "rating", "position", "capacity", "amount_cents",
               "discount_percent", "website", "starts_on", "ends_on", "expires_at", "opened_at",
               "verified", "public", "featured", "source_url", "checksum", "avatar", "timezone"]

FIELD_TYPES = {
    "name": {"type": "string", "maxLength": 200},
    "title": {"type": "string"},
    "label": {"type": "string"},
    "code": {"type": "string", "pattern": "^[A-Z0-9_]{2,32}$"},
    "reference": {"type": "string"},
    "summary": {"type": "string"},
    "notes": {"type": ["string", "null"]},
    "owner_email": {"type": "string", "format": "email", "x-pii": True},
    "external_ref": {"type": ["string", "null"]},
    "region": {"type": "string", "enum": ["emea", "amer", "apac"]},
    "currency": {"type": "string", "minLength": 3, "maxLength": 3},
    "locale": {"type": "string"},
    "color": {"type": "string", "enum": ["red", "green", "blue", "dark_grey"]},
    "priority": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 5},
    "score": {"type": "number", "format": "double"},
    "quantity": {"type": "integer", "format": "int32", "minimum": 0},
    "weight_grams": {"type": "integer", "format": "int64"},
    "rating": {"type": "number", "format": "float", "minimum": 0, "maximum": 5},
    "position": {"type": "integer", "format": "int32"},
    "capacity": {"type": ["integer", "null"], "format": "int64"},
    "amount_cents": {"type": "integer", "format": "int64"},
    "discount_percent": {"type": "number", "format": "double", "minimum": 0, "maximum": 100},
    "website": {"type": ["string", "null"], "format": "uri"},
    "starts_on": {"type": "string", "format": "date"},
    "ends_on": {"type": ["string", "null"], "format": "date"},
    "expires_at": {"type": ["string", "null"], "format": "date-time"},
    "opened_at": {"type": "string", "format": "date-time"},
    "verified": {"type": "boolean"},
    "public": {"type": "boolean"},
    "featured": {"type": "boolean"},
    "source_url": {"type": "string", "format": "uri"},
    "checksum": {"type": "string", "format": "byte"},
    "avatar": {"type": ["string", "null"], "format": "uri"},
    "timezone": {"type": "string"},
}

VARIANT_KINDS = [
    ("manual", {"entered_by": {"type": "string"}}),
    ("import", {"file_name": {"type": "string"}, "row": {"type": "integer", "format": "int64"}}),
    ("api", {"client_id": {"type": "string"}, "ip": {"type": "string", "format": "ipv4"}}),
    ("integration", {"provider": {"type": "string", "enum": ["shopify", "salesforce", "hubspot"]},
                     "remote_id": {"type": "string"}}),
    ("email", {"message_id": {"type": "string"}, "mailbox": {"type": "string", "format": "email"}}),
]


def camel(snake):
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def ref(name):
    return {"$ref": "#/components/schemas/" + name}


# ---------------------------------------------------------------------------------------------
# Spec construction.

SCHEMAS = {}
PATHS = {}
WEBHOOKS = {}


def schema(name, body):
    assert name not in SCHEMAS, name
    SCHEMAS[name] = body
    return ref(name)


def envelope(data, meta):
    return {"type": "object", "required": ["data", "meta"],
            "properties": {"data": data, "meta": ref(meta)}}


def json_content(s):
    return {"application/json": {"schema": s}}


def errors():
    return {"400": {"$ref": "#/components/responses/BadRequest"},
            "404": {"$ref": "#/components/responses/NotFound"},
            "default": {"$ref": "#/components/responses/Error"}}


def build_resource(index, singular, plural, all_ids):
    r = camel(singular)
    human = singular.replace("_", " ")
    statuses = STATUSES[index % len(STATUSES)]
    schema(f"{r}Id", {"type": "string", "description": f"Identifier of a {human}.",
                      "pattern": f"^{singular[:3]}_[A-Za-z0-9]{{1,32}}$"})
    schema(f"{r}Status", {"type": "string", "description": f"Lifecycle state of a {human}.",
                          "enum": statuses})
    schema(f"{r}Ref", ref(f"{r}Id"))
    schema(f"{r}Labels", {"type": "array", "description": f"Labels of a {human}.",
                          "items": {"type": "string", "minLength": 1}})
    fields = RNG.sample(FIELD_WORDS, 4 + RNG.below(6))
    props = {}
    for f in fields:
        props[f] = dict(FIELD_TYPES[f])
    # an inline object nested two levels, and an inline enum inside array items
    props["settings"] = {"type": "object", "description": f"Settings of the {human}.", "properties": {
        "notify": {"type": "boolean"},
        "channel": {"type": "string", "enum": ["email", "sms", "push"]},
        "schedule": {"type": "object", "properties": {
            "cron": {"type": "string"},
            "timezone": {"type": "string"},
            "window": {"type": "object", "properties": {
                "start": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                "end": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}}}}}}}
    props["labels"] = {"type": "array", "items": {"type": "string", "enum": ["important", "internal", "vip", "test"]}}
    props["tags"] = ref(f"{r}Labels")
    props["duplicate_of"] = {"$ref": f"#/components/schemas/{r}Ref", "description": f"The {human} this one duplicates."}
    props["metadata"] = {"type": "object", "additionalProperties": {"type": "string"},
                         "description": "Free-form key-value pairs."}
    # a discriminated union of sources
    n_variants = 2 + RNG.below(4)
    variants = VARIANT_KINDS[:n_variants] if index % 2 == 0 else VARIANT_KINDS[-n_variants:]
    mapping = {}
    for kind, vprops in variants:
        vname = f"{r}{camel(kind)}Source"
        body = {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string", "const": kind}}}
        body["properties"].update(vprops)
        body["description"] = f"A {human} that came from {kind}."
        schema(vname, body)
        mapping[kind] = "#/components/schemas/" + vname
    schema(f"{r}Source", {"description": f"Where a {human} came from.",
                          "oneOf": [{"$ref": m} for m in mapping.values()],
                          "discriminator": {"propertyName": "kind", "mapping": mapping}})
    props["source"] = ref(f"{r}Source")
    # an untagged union on every third resource
    if index % 3 == 0:
        schema(f"{r}Value", {"description": f"A {human} value: a number, a text or a range.",
                             "oneOf": [{"type": "number", "format": "double"},
                                       {"type": "string"},
                                       {"type": "object", "required": ["min", "max"], "properties": {
                                           "min": {"type": "number"}, "max": {"type": "number"}}}]})
        props["value"] = ref(f"{r}Value")
    # references to other resources' ids, one of them nullable
    others = RNG.sample([i for i in all_ids if i != r], 2)
    props[camel_to_snake(others[0]) + "_id"] = ref(f"{others[0]}Id")
    props[camel_to_snake(others[1]) + "_id"] = {"anyOf": [ref(f"{others[1]}Id"), {"type": "null"}]}
    # stats: a named object with a map of numbers
    schema(f"{r}Stats", {"type": "object", "description": f"Counters of a {human}.",
                         "required": ["views"], "properties": {
                             "views": {"type": "integer", "format": "int64", "minimum": 0},
                             "conversions": {"type": "integer", "format": "int64", "minimum": 0},
                             "by_day": {"type": "object", "additionalProperties": {"type": "integer", "format": "int64"}}}})
    # recursive trees and mutually recursive pairs
    if index % 8 == 0:
        schema(f"{r}Node", {"type": "object", "description": f"A node of a {human} hierarchy.",
                            "required": ["name"], "properties": {
                                "name": {"type": "string"},
                                "children": {"type": "array", "items": ref(f"{r}Node")},
                                "parent": {"anyOf": [ref(f"{r}Node"), {"type": "null"}]}}})
        props["tree"] = ref(f"{r}Node")
    if index % 8 == 4:
        schema(f"{r}Group", {"type": "object", "description": f"A group of {plural.replace('_', ' ')}.",
                             "required": ["title"], "properties": {
                                 "title": {"type": "string"},
                                 "members": {"type": "array", "items": ref(f"{r}Member")}}})
        schema(f"{r}Member", {"type": "object", "description": f"A member of a {human} group.",
                              "required": ["role"], "properties": {
                                  "role": {"type": "string", "enum": ["owner", "member"]},
                                  "group": ref(f"{r}Group")}})
        props["group"] = ref(f"{r}Group")

    required_new = [f for f in fields if "null" not in json.dumps(FIELD_TYPES[f])][:2]
    schema(f"New{r}", {"type": "object", "description": f"A {human} to create.",
                       "required": required_new, "properties": props})
    patch_props = {}
    for k, v in props.items():
        if k in fields and isinstance(v.get("type"), str):
            patch_props[k] = dict(v, type=[v["type"], "null"])
        else:
            patch_props[k] = v
    schema(f"{r}Patch", {"type": "object", "description": f"Changes to a {human}; `null` clears a field.",
                         "properties": patch_props})
    schema(f"{r}Base", {"type": "object", "description": f"Fields every {human} has.",
                        "required": ["id", "status", "created_at"], "properties": {
                            "id": ref(f"{r}Id"),
                            "status": ref(f"{r}Status"),
                            "created_at": {"type": "string", "format": "date-time", "readOnly": True},
                            "updated_at": {"type": ["string", "null"], "format": "date-time", "readOnly": True}}})
    schema(r, {"description": f"A {human}.", "allOf": [ref(f"{r}Base"), ref(f"New{r}"), {
        "type": "object", "properties": {"stats": ref(f"{r}Stats")}}]})
    schema(f"{r}List", {"type": "array", "description": f"Several {plural.replace('_', ' ')}.", "items": ref(r)})
    schema(f"{r}Page", envelope(ref(f"{r}List"), "ListMeta") | {"description": f"A page of {plural.replace('_', ' ')}."})
    schema(f"{r}Response", envelope(ref(r), "ResponseMeta") | {"description": f"One {human}."})
    schema(f"{r}Filter", {"type": "object", "description": f"Search criteria for {plural.replace('_', ' ')}.",
                          "additionalProperties": False, "properties": {
                              "status": {"type": "array", "items": ref(f"{r}Status")},
                              "created": {"type": "object", "properties": {
                                  "from": {"type": "string", "format": "date-time"},
                                  "to": {"type": "string", "format": "date-time"}}},
                              "text": {"type": "string"}}})
    schema(f"{r}SearchRequest", {"type": "object", "description": f"A search over {plural.replace('_', ' ')}.",
                                 "required": ["filter"], "properties": {
                                     "filter": ref(f"{r}Filter"),
                                     "sort": {"type": "array", "items": {"type": "object", "required": ["field"], "properties": {
                                         "field": {"type": "string"},
                                         "direction": {"type": "string", "enum": ["asc", "desc"]}}}},
                                     "limit": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 1000}}})
    schema(f"{r}Summary", {"type": "object", "description": f"A short view of a {human}.",
                           "required": ["id"], "properties": {
                               "id": ref(f"{r}Id"),
                               "display": {"type": "string"},
                               "status": ref(f"{r}Status")}})
    schema(f"{r}Export", {"type": "object", "description": f"An export of {plural.replace('_', ' ')}.",
                          "required": ["format"], "properties": {
                              "format": {"type": "string", "enum": ["csv", "jsonl", "xlsx"]},
                              "columns": {"type": ["array", "null"], "items": {"type": "string"}},
                              "compress": {"type": "boolean"}}})
    schema(f"{r}BulkResult", {"type": "object", "description": f"Outcome of a bulk change to {plural.replace('_', ' ')}.",
                              "required": ["succeeded", "failed"], "properties": {
                                  "succeeded": {"type": "array", "items": ref(f"{r}Id")},
                                  "failed": {"type": "object", "additionalProperties": ref("ApiErrorBody")}}})
    schema(f"{r}CreatedEvent", {"type": "object", "description": f"Sent when a {human} is created.",
                                "required": ["id", "type", "created_at", "data"], "properties": {
                                    "id": {"type": "string"},
                                    "type": {"type": "string", "const": f"{singular}.created"},
                                    "created_at": {"type": "string", "format": "date-time"},
                                    "data": ref(r)}})
    WEBHOOKS[f"{singular}.created"] = {"post": {
        "operationId": f"{singular}CreatedWebhook", "summary": f"A {human} was created.",
        "requestBody": {"required": True, "content": json_content(ref(f"{r}CreatedEvent"))},
        "responses": {"200": {"description": "Accepted."}}}}

    # child resource
    child, child_plural = CHILDREN[index % len(CHILDREN)]
    c = r + camel(child)
    schema(f"{c}", {"type": "object", "description": f"A {child.replace('_', ' ')} of a {human}.",
                    "required": ["id", "body"], "properties": {
                        "id": {"type": "string"},
                        "body": {"type": "string"},
                        "author": {"type": ["string", "null"]},
                        "kind": {"type": "string", "enum": ["internal", "external"]},
                        "created_at": {"type": "string", "format": "date-time"}}})
    schema(f"New{c}", {"type": "object", "description": f"A {child.replace('_', ' ')} to add.",
                       "required": ["body"], "properties": {
                           "body": {"type": "string"}, "kind": {"type": "string", "enum": ["internal", "external"]}}})
    schema(f"{c}Page", envelope({"type": "array", "items": ref(c)}, "ListMeta") | {
        "description": f"A page of {child_plural.replace('_', ' ')}."})

    # operations
    tag = plural
    id_param = {"name": f"{singular}_id", "in": "path", "required": True,
                "description": f"Identifier of the {human}.", "schema": ref(f"{r}Id")}
    base = f"/{plural.replace('_', '-')}"
    item = f"{base}/{{{singular}_id}}"
    PATHS[base] = {
        "get": {"operationId": f"list{camel(plural)}", "summary": f"List {plural.replace('_', ' ')}",
                "tags": [tag], "parameters": [
                    {"name": "status", "in": "query", "schema": ref(f"{r}Status")},
                    {"name": "created_after", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                    {"name": "label", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
                    {"$ref": "#/components/parameters/Cursor"}, {"$ref": "#/components/parameters/Limit"}],
                "responses": {"200": {"description": "A page.", "content": json_content(ref(f"{r}Page"))}} | errors()},
        "post": {"operationId": f"create{r}", "summary": f"Create a {human}", "tags": [tag],
                 "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
                 "requestBody": {"required": True, "content": json_content(ref(f"New{r}"))},
                 "responses": {"201": {"description": "Created.", "content": json_content(ref(f"{r}Response"))}} | errors()},
    }
    PATHS[item] = {
        "parameters": [id_param],
        "get": {"operationId": f"get{r}", "summary": f"Get a {human}", "tags": [tag],
                "responses": {"200": {"description": f"The {human}.", "content": json_content(ref(f"{r}Response"))}} | errors()},
        "put": {"operationId": f"replace{r}", "summary": f"Replace a {human}", "tags": [tag],
                "requestBody": {"required": True, "content": json_content(ref(f"New{r}"))},
                "responses": {"200": {"description": "Replaced.", "content": json_content(ref(f"{r}Response"))}} | errors()},
        "patch": {"operationId": f"update{r}", "summary": f"Update a {human}", "tags": [tag],
                  "requestBody": {"required": True, "content": json_content(ref(f"{r}Patch"))},
                  "responses": {"200": {"description": "Updated.", "content": json_content(ref(f"{r}Response"))}} | errors()},
        "delete": {"operationId": f"delete{r}", "summary": f"Delete a {human}", "tags": [tag],
                   "deprecated": index % 10 == 9,
                   "responses": {"204": {"description": "Deleted."}} | errors()},
    }
    PATHS[f"{base}/search"] = {
        "post": {"operationId": f"search{camel(plural)}", "summary": f"Search {plural.replace('_', ' ')}", "tags": [tag],
                 "requestBody": {"required": True, "content": json_content(ref(f"{r}SearchRequest"))},
                 "responses": {"200": {"description": "Matches.", "content": json_content(ref(f"{r}Page"))}} | errors()}}
    if index % 2 == 0:
        PATHS[f"{item}/archive"] = {
            "post": {"operationId": f"archive{r}", "summary": f"Archive a {human}", "tags": [tag],
                     "parameters": [id_param, {"$ref": "#/components/parameters/IdempotencyKey"}],
                     "responses": {"200": {"description": "Archived.", "content": json_content(ref(f"{r}Response"))}} | errors()}}
    else:
        PATHS[f"{base}/bulk-delete"] = {
            "post": {"operationId": f"bulkDelete{camel(plural)}", "summary": f"Delete many {plural.replace('_', ' ')}", "tags": [tag],
                     "requestBody": {"required": True, "content": json_content(
                         {"type": "object", "required": ["ids"], "properties": {"ids": {"type": "array", "items": ref(f"{r}Id"), "maxItems": 100}}})},
                     "responses": {"200": {"description": "Outcome.", "content": json_content(ref(f"{r}BulkResult"))}} | errors()}}
    if index % 3 == 1:
        PATHS[f"{base}/export"] = {
            "post": {"operationId": f"export{camel(plural)}", "summary": f"Export {plural.replace('_', ' ')}", "tags": [tag],
                     "requestBody": {"required": True, "content": json_content(ref(f"{r}Export"))},
                     "responses": {"200": {"description": "The export.", "content": {"text/csv": {"schema": {"type": "string"}}}}} | errors()}}
    PATHS[f"{item}/stats"] = {
        "get": {"operationId": f"get{r}Stats", "summary": f"Counters of a {human}", "tags": [tag],
                "parameters": [id_param], "responses": {"200": {"description": "Counters.", "content": json_content(ref(f"{r}Stats"))}} | errors()}}
    cbase = f"{item}/{child_plural.replace('_', '-')}"
    PATHS[cbase] = {
        "parameters": [id_param],
        "get": {"operationId": f"list{r}{camel(child_plural)}", "summary": f"List the {child_plural.replace('_', ' ')} of a {human}",
                "tags": [tag], "parameters": [{"$ref": "#/components/parameters/Cursor"}, {"$ref": "#/components/parameters/Limit"}],
                "responses": {"200": {"description": "A page.", "content": json_content(ref(f"{c}Page"))}} | errors()},
        "post": {"operationId": f"create{c}", "summary": f"Add a {child.replace('_', ' ')} to a {human}", "tags": [tag],
                 "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
                 "requestBody": {"required": True, "content": json_content(ref(f"New{c}"))},
                 "responses": {"201": {"description": "Added.", "content": json_content(envelope(ref(c), "ResponseMeta"))}} | errors()},
    }
    PATHS[f"{cbase}/{{{child}_id}}"] = {
        "delete": {"operationId": f"delete{c}", "summary": f"Remove a {child.replace('_', ' ')} from a {human}", "tags": [tag],
                   "parameters": [id_param, {"name": f"{child}_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                   "responses": {"204": {"description": "Removed."}} | errors()}}


def camel_to_snake(name):
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def build():
    ids = [camel(s) for s, _ in RESOURCES]
    for i, (singular, plural) in enumerate(RESOURCES):
        build_resource(i, singular, plural, ids)
    schema("ResponseMeta", {"type": "object", "description": "Metadata of a single-object response.",
                            "required": ["request_id"], "properties": {"request_id": {"type": "string"}}})
    schema("ListMeta", {"type": "object", "description": "Metadata of a list response.",
                        "required": ["request_id", "next_cursor", "has_more"], "properties": {
                            "request_id": {"type": "string"},
                            "next_cursor": {"type": ["string", "null"]},
                            "has_more": {"type": "boolean"},
                            "total_count": {"type": "integer", "format": "int64"}}})
    schema("ApiErrorBody", {"type": "object", "description": "What went wrong.",
                            "required": ["type", "code", "message"], "properties": {
                                "type": {"type": "string", "enum": ["invalid_request_error", "not_found_error", "api_error"]},
                                "code": {"type": "string"}, "message": {"type": "string"},
                                "param": {"type": "string"}, "request_id": {"type": "string"}}})
    schema("ErrorResponse", {"type": "object", "description": "Body of every error.",
                             "required": ["error"], "properties": {"error": ref("ApiErrorBody")}})
    for name in list(SCHEMAS):
        ex = example(SCHEMAS[name], set([name]), 0)
        if ex is not NOEX:
            SCHEMAS[name]["example"] = ex
    error = {"description": "{}", "content": json_content(ref("ErrorResponse"))}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Operations Platform", "version": "5.0.0",
                 "description": "A large generated API: 40 resources with CRUD, search, nested resources and actions."},
        "servers": [{"url": "https://api.ops.example.com/v5"}],
        "security": [{"bearer": []}],
        "tags": [{"name": p, "description": f"{p.replace('_', ' ').capitalize()}."} for _, p in RESOURCES],
        "paths": PATHS,
        "webhooks": WEBHOOKS,
        "components": {
            "schemas": SCHEMAS,
            "parameters": {
                "Cursor": {"name": "cursor", "in": "query", "description": "Cursor from `meta.next_cursor`.",
                           "schema": {"type": "string"}},
                "Limit": {"name": "limit", "in": "query", "description": "Page size.",
                          "schema": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 100, "default": 20}},
                "IdempotencyKey": {"name": "Idempotency-Key", "in": "header", "description": "Makes a POST safe to retry.",
                                   "schema": {"type": "string", "maxLength": 255}},
            },
            "responses": {
                "BadRequest": dict(error, description="The request is invalid."),
                "NotFound": dict(error, description="No such object."),
                "Error": dict(error, description="Unexpected error."),
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


# ---------------------------------------------------------------------------------------------
# Examples consistent with their schemas.

NOEX = object()
SAMPLE = {"date-time": "2026-05-04T03:02:01Z", "date": "2026-05-04", "email": "someone@example.com",
          "uri": "https://example.com/x", "byte": "aGVsbG8=", "ipv4": "192.0.2.1", "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}


def resolve(s):
    name = s["$ref"].rsplit("/", 1)[1]
    return name, SCHEMAS[name]


def example(s, seen, depth):
    if "$ref" in s:
        name, target = resolve(s)
        if name in seen or depth > 6:
            return NOEX
        return example(target, seen | {name}, depth + 1)
    if "const" in s:
        return s["const"]
    if "enum" in s:
        return s["enum"][0]
    if "allOf" in s:
        out = {}
        for part in s["allOf"]:
            v = example(part, seen, depth + 1)
            if v is NOEX:
                return NOEX
            out.update(v)
        return out
    for key in ("oneOf", "anyOf"):
        if key in s:
            for part in s[key]:
                v = example(part, seen, depth + 1)
                if v is not NOEX:
                    return v
            return NOEX
    t = s.get("type")
    if isinstance(t, list):
        t = [x for x in t if x != "null"][0]
    if t == "object":
        out = {}
        required = s.get("required", [])
        for k, v in s.get("properties", {}).items():
            if v.get("writeOnly"):
                continue
            if k in required or (depth < 2 and len(out) < 6):
                e = example(v, seen, depth + 1)
                if e is NOEX:
                    if k in required:
                        return NOEX
                    continue
                out[k] = e
        return out
    if t == "array":
        e = example(s["items"], seen, depth + 1)
        return [] if e is NOEX else [e]
    if t == "string":
        if "pattern" in s:
            m = re.match(r"\^([a-z_]+)_\[", s["pattern"])
            if m:
                return m.group(1) + "_Ab12"
            if "A-Z0-9_" in s["pattern"]:
                return "CODE_1"
            return "09:30"
        if "format" in s and s["format"] in SAMPLE:
            return SAMPLE[s["format"]]
        return "EUR" if s.get("minLength") == 3 else "sample"
    if t == "integer":
        return s.get("minimum", 1) if s.get("minimum", 0) > 0 else 3
    if t == "number":
        return 2.5
    if t == "boolean":
        return True
    return NOEX


# ---------------------------------------------------------------------------------------------
# A small YAML writer: block style, with short collections in flow (JSON) style.

PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./ -]*$")
RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def scalar(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    if PLAIN.match(v) and v.lower() not in RESERVED and not v.endswith(" ") and ": " not in v and " #" not in v:
        return v
    return json.dumps(v, ensure_ascii=False)


def key(k):
    return scalar(k) if not isinstance(k, str) or PLAIN.match(k) and k.lower() not in RESERVED else json.dumps(k)


def flow(v):
    if isinstance(v, dict):
        return "{" + ", ".join(f"{key(k)}: {flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(flow(x) for x in v) + "]"
    return scalar(v)


def emit(v, indent, out):
    pad = "  " * indent
    if isinstance(v, dict):
        for k, x in v.items():
            if isinstance(x, (dict, list)) and x:
                f = flow(x)
                if len(f) + len(pad) + len(str(k)) < 100:
                    out.append(f"{pad}{key(k)}: {f}")
                else:
                    out.append(f"{pad}{key(k)}:")
                    emit(x, indent + 1, out)
            else:
                out.append(f"{pad}{key(k)}: {flow(x)}")
    else:
        for x in v:
            if isinstance(x, dict) and x:
                f = flow(x)
                if len(f) + len(pad) < 100:
                    out.append(f"{pad}- {f}")
                else:
                    lines = []
                    emit(x, indent + 1, lines)
                    lines[0] = pad + "- " + lines[0].lstrip()
                    out.extend(lines)
            else:
                out.append(f"{pad}- {flow(x)}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=os.path.join(here, "fixtures", "large.yaml"))
    args = parser.parse_args()
    doc = build()
    operations = sum(1 for p in PATHS.values() for m in p if m != "parameters")
    out = [
        "# Generated by codegen/tests/gen_large_spec.py; do not edit by hand.",
        f"# {operations} operations, {len(SCHEMAS)} schemas, {len(WEBHOOKS)} webhooks.",
    ]
    emit(doc, 0, out)
    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(out) + "\n")
    print(f"{args.output}: {operations} operations, {len(SCHEMAS)} schemas, {len(WEBHOOKS)} webhooks")


if __name__ == "__main__":
    main()
