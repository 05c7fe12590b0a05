"""Schemathesis hooks for .ci/property-test: what the tool cannot know from openapi.yaml alone.

Each hook below supplies one piece of knowledge a client of the API has and a generator of
schema-valid data does not. None of them hides a disagreement between the sandbox and the spec:
each is a rule the spec states in prose (and the sandbox enforces), which JSON Schema cannot
express. Schemathesis re-validates every case after these hooks run, so a case they turn from
invalid into valid is judged as valid, and the other way round.
"""

import ast
import base64
import re
import threading
import uuid
from collections.abc import MutableMapping
from datetime import datetime, timedelta, timezone

import schemathesis

# 0. The test runner's own threads. With `--workers 2`, Hypothesis describes filter lambdas by
#    parsing their source with `ast.parse` from both worker threads at once; CPython 3.11 before
#    3.11.8 (and 3.12 before 3.12.2) can then fail one parse with "SystemError: AST constructor
#    recursion depth mismatch" (CPython issue gh-106905), which the runner reports as a runtime
#    error of whatever operation it was generating. Parsing one source at a time avoids the race
#    without giving up the second worker. Nothing about the API is changed by this.
_AST_PARSE = ast.parse
_AST_PARSE_LOCK = threading.Lock()


def _parse_one_at_a_time(*args, **kwargs):
    with _AST_PARSE_LOCK:
        return _AST_PARSE(*args, **kwargs)


ast.parse = _parse_one_at_a_time

# 1. Opaque cursors. `cursor` is opaque: a client only ever sends one the API issued in
#    `meta.next_cursor`, and the sandbox rejects an invented one (400 `invalid_cursor`). Invented
#    cursors are dropped; cursors in the sandbox's own format (such as the spec's example) are
#    kept, so paging with a real cursor is still tested.
_CURSOR = re.compile(r"^v1:-?[0-9]+:.+$")


def _issued_cursor(value):
    if not isinstance(value, str):
        return False
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=") == value and bool(
        _CURSOR.match(text)
    )


# 2. `end_at` after `start_at`. A rule across two fields (and, for PATCH, across the body and
#    the stored campaign); JSON Schema cannot say it, the operation descriptions do. Generated
#    campaign bodies are put in order; a PATCH that sets one end of the flight clears the other.
_RFC3339 = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)$"
)


def _instant(value):
    match = _RFC3339.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = float(match.group(7) or 0)
    offset = match.group(8)
    try:
        moment = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=timezone.utc)
    except ValueError:
        return None
    if offset not in ("Z", "z"):
        sign = 1 if offset[0] == "+" else -1
        moment -= sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
    return moment.timestamp() + fraction


def _order_flight(operation_id, body):
    if not isinstance(body, MutableMapping):
        return body
    start, end = body.get("start_at"), body.get("end_at")
    start_at, end_at = _instant(start), _instant(end)
    if operation_id in ("createCampaign", "replaceCampaign"):
        if start_at is not None and end_at is not None and end_at <= start_at:
            if start_at == end_at:
                del body["end_at"]
            else:
                body["start_at"], body["end_at"] = end, start
    elif operation_id == "updateCampaign":
        both_given = start_at is not None and end_at is not None
        if both_given and end_at <= start_at:
            body["start_at"], body["end_at"] = (None, end) if start_at == end_at else (end, start)
        elif end_at is not None and "start_at" not in body:
            body["start_at"] = None
        elif start_at is not None and "end_at" not in body:
            body["end_at"] = None
    return body


# 4. Creation states. A campaign is created as `draft` or `scheduled` only (400 `invalid_value`
#    otherwise, as `NewCampaign.status` says in prose). The schema reuses `CampaignStatus`, all
#    six states, because the SDK's generator cannot yet give a property an inline enum of its
#    own; generated bodies that pick a state a campaign cannot start in start it as `draft`.
_LATER_STATES = {"active", "paused", "completed", "archived"}


def _creatable_status(operation_id, body):
    if (
        operation_id == "createCampaign"
        and isinstance(body, MutableMapping)
        and isinstance(body.get("status"), str)
        and body["status"] in _LATER_STATES
    ):
        body["status"] = "draft"
    return body


def _operation_id(case):
    return case.operation.definition.raw.get("operationId")


# 3. Idempotency keys. One key names one logical request: a key reused with another body is
#    answered 422 and one reused with the same body replays the stored answer (even of a
#    resource deleted since). The tool sends the spec's example key (and any other key it draws)
#    again and again, so every key the spec allows is replaced by a fresh one just before the
#    request goes out; keys the spec forbids (negative cases) are sent as generated.
_KEY = re.compile(r"^[!-~]([ -~]*[!-~])?$")


# 5. Ciphertexts go back only to whom they were encrypted for. Once an encryption key is
#    registered (the examples phase registers the spec's example key), every `x-sensitive`
#    property in responses is a JWE to the account's own key, and the stateful phase copies
#    such values into request bodies. A client sends a sensitive property in plaintext or as a
#    JWE to the platform's key; one encrypted to its own key is refused with 400
#    `undecryptable_field`, as the spec's "Field-level encryption" section says. Copied
#    ciphertexts are replaced by what a client would send: a fresh e-mail address where one is
#    required, otherwise nothing (an absent property).
def _sensitive_properties():
    import pathlib

    import yaml

    spec_path = pathlib.Path(__file__).resolve().parents[2] / "openapi.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    return {
        name
        for schema in spec["components"]["schemas"].values()
        for name, prop in (schema.get("properties") or {}).items()
        if isinstance(prop, dict) and prop.get("x-sensitive")
    }


_SENSITIVE = _sensitive_properties()


def _is_jwe(value):
    return isinstance(value, str) and value.startswith("eyJ") and value.count(".") == 4


def _no_foreign_ciphertexts(body):
    if not isinstance(body, MutableMapping):
        return body
    for name in [n for n in body if n in _SENSITIVE and _is_jwe(body[n])]:
        if name == "email":
            body[name] = f"{uuid.uuid4().hex}@example.com"
        else:
            del body[name]
    return body


# 6. Query values on the wire. Every query parameter of the spec is a scalar, and a query string
#    carries only text: a negative case that makes one an object or an array is sent in the form
#    style, as the object's own `key=value` pairs or as repeated values, and that can be a valid
#    request (`limit={"limit": 4}` goes out as `limit=4`), which the run then reports as invalid
#    data accepted. Such cases have no wire form of their own and are not generated; wrong text
#    (`limit=abc`) is still generated and must be rejected.
@schemathesis.hook
def filter_query(context, query):
    return not (
        isinstance(query, MutableMapping)
        and any(isinstance(value, (MutableMapping, list, tuple)) for value in query.values())
    )


@schemathesis.hook
def before_call(context, case, kwargs):
    # Every phase (examples, coverage, fuzzing, stateful) passes here just before sending, and
    # Schemathesis re-validates the case afterwards.
    if isinstance(case.query, MutableMapping) and "cursor" in case.query:
        if not _issued_cursor(case.query["cursor"]):
            del case.query["cursor"]
    case.body = _creatable_status(_operation_id(case), _order_flight(_operation_id(case), case.body))
    case.body = _no_foreign_ciphertexts(case.body)
    for headers in (case.headers, kwargs.get("headers")):
        if not isinstance(headers, MutableMapping):
            continue
        for name in list(headers):
            value = headers[name]
            if (
                name.lower() == "idempotency-key"
                and isinstance(value, str)
                and len(value) <= 255
                and _KEY.fullmatch(value)
            ):
                headers[name] = str(uuid.uuid4())
