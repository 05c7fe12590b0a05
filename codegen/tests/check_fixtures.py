#!/usr/bin/env python3
"""Checks the fixture specs in `fixtures/`: each must be valid OpenAPI, and the `example` of every
component schema must be valid against that schema (the generator's tests round-trip these
examples through the generated types, so an example that contradicts its schema is a fixture bug).

Needs `openapi-spec-validator` (it brings `openapi-schema-validator` and `referencing`):

    python3 -m venv /tmp/oasv && /tmp/oasv/bin/pip install openapi-spec-validator==0.9.0
    /tmp/oasv/bin/python codegen/tests/check_fixtures.py            # every fixture
    /tmp/oasv/bin/python codegen/tests/check_fixtures.py my.yaml    # some files

Exits non-zero when any file is invalid or any example disagrees with its schema.
"""

import glob
import json
import os
import sys

import yaml
from openapi_schema_validator import OAS30Validator, OAS31Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012


def load(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return json.loads(text) if path.endswith(".json") else yaml.safe_load(text)


def check(path):
    spec = load(path)
    try:
        validate(spec)
    except Exception as e:  # the validator raises several exception types
        print(f"{path}: INVALID: {str(e).splitlines()[0]}")
        return False
    v30 = str(spec["openapi"]).startswith("3.0")
    validator = OAS30Validator if v30 else OAS31Validator
    resource = Resource.from_contents(spec, default_specification=DRAFT4 if v30 else DRAFT202012)
    registry = Registry().with_resource("urn:spec", resource)
    checked = bad = 0
    for name, schema in (spec.get("components", {}).get("schemas") or {}).items():
        if not isinstance(schema, dict) or "example" not in schema:
            continue
        checked += 1
        pointer = name.replace("~", "~0").replace("/", "~1")
        errors = list(validator({"$ref": f"urn:spec#/components/schemas/{pointer}"}, registry=registry)
                      .iter_errors(schema["example"]))
        if errors:
            bad += 1
            where = "/".join(str(p) for p in errors[0].absolute_path)
            print(f"{path}: example of {name} at /{where}: {errors[0].message[:300]}")
    print(f"{path}: valid OpenAPI {spec['openapi']}; {checked} examples checked, {bad} wrong")
    return bad == 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    paths = sys.argv[1:] or sorted(glob.glob(os.path.join(here, "fixtures", "*.yaml")))
    ok = all([check(p) for p in paths])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
