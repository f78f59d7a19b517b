"""Checks that the JSON Schemas of GET /v1/workflows accept exactly what the API
accepts: each document below is validated with jsonschema (draft 2020-12, formats
checked) and sent to the running `cosmosc serve` of the test project in
cli/tests/openapi_client.rs (workflow `Kinds`); the schema's verdict and the API's
must be the same. COSMOS_BASE names the server."""

import json
import os
import sys
import urllib.error
import urllib.request

from jsonschema import Draft202012Validator

BASE = os.environ["COSMOS_BASE"]


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def validator(schema):
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


status, described = call("GET", "/v1/workflows")
assert status == 200, described
kinds = next(w for w in described["workflows"] if w["name"] == "Kinds")
for schema in [kinds["input"], *kinds["signals"].values(), kinds["output"]]:
    Draft202012Validator.check_schema(schema)

PERSON = {"name": "bo", "age": 40, "tier": "Gold", "address": {"city": "Oslo"}, "tags": ["a"]}
INPUTS = [
    ({"count": 1}, True),
    ({"count": -5, "ratio": 2, "flag": None, "label": "x", "wait": 1500, "due": "2026-12-04T10:00:00Z"}, True),
    ({"count": 1, "due": "2026-12-04T10:00:00.250+02:00", "scores": {"a": 1}, "ids": {"12": "x", "-3": "y"}, "tiers": {"Gold": 2}}, True),
    ({"count": 1, "people": [{"name": "ann", "tier": "Bronze"}], "owner": PERSON}, True),
    ({"count": 1, "owner": None, "flag": True, "people": []}, True),
    ({}, False),
    ({"count": "1"}, False),
    ({"count": 1.5}, False),
    ({"count": None}, False),
    ({"count": 1, "ratio": "0.5"}, False),
    ({"count": 1, "label": None}, False),
    ({"count": 1, "wait": "2s"}, False),
    ({"count": 1, "wait": 1.5}, False),
    ({"count": 1, "due": "yesterday"}, False),
    ({"count": 1, "due": 5}, False),
    ({"count": 1, "extra": True}, False),
    ({"count": 1, "scores": {"a": "1"}}, False),
    ({"count": 1, "ids": {"x": "y"}}, False),
    ({"count": 1, "tiers": {"Silver": 1}}, False),
    ({"count": 1, "people": {}}, False),
    ({"count": 1, "people": [{"name": "ann"}]}, False),
    ({"count": 1, "owner": dict(PERSON, nick="b")}, False),
    ({"count": 1, "owner": dict(PERSON, tier="Platinum")}, False),
    ({"count": 1, "owner": dict(PERSON, address={"zip": "0150"})}, False),
    ([1], False),
]
SIGNALS = [
    ("note", {"text": "hi"}, True),
    ("note", {"text": "hi", "urgent": None, "at": "2026-01-01T00:00:00Z"}, True),
    ("note", {"text": "hi", "urgent": True}, True),
    ("note", {}, False),
    ("note", {"text": 1}, False),
    ("note", {"text": "x", "urgent": "yes"}, False),
    ("note", {"text": "x", "at": "soon"}, False),
    ("note", {"text": "x", "other": 1}, False),
    ("bump", {"by": 2}, True),
    ("bump", {"by": 2.5}, False),
    ("bump", {"by": 2, "reason": "x"}, False),
]

failures = []
check = validator(kinds["input"])
for document, expected in INPUTS:
    by_schema = check.is_valid(document)
    status, answer = call("POST", "/v1/workflows/Kinds/instances", document)
    by_api = status == 201
    if by_api != by_schema or by_schema != expected:
        failures.append(f"input {document}: schema {by_schema}, API {status} {answer}, expected {expected}")
    elif not by_api:
        assert answer["error"]["code"] in ("bad_input", "bad_json"), answer

for name, document, expected in SIGNALS:
    by_schema = validator(kinds["signals"][name]).is_valid(document)
    status, instance = call("POST", "/v1/workflows/Kinds/instances", {"count": 1})
    assert status == 201, instance
    status, answer = call("POST", f"/v1/instances/{instance['id']}/signals/{name}", document)
    by_api = status == 200
    if by_api != by_schema or by_schema != expected:
        failures.append(f"signal {name} {document}: schema {by_schema}, API {status} {answer}, expected {expected}")

if failures:
    print("the schemas and the API disagree:\n" + "\n".join(failures), file=sys.stderr)
    sys.exit(1)
print(f"schemas agree with the API on {len(INPUTS)} inputs and {len(SIGNALS)} signal payloads")
