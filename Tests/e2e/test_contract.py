"""The published contract agrees with the code, without a hub running:

- `/openapi.json` (Sources/HubServer/Web/Files/openapi.json) is a valid OpenAPI 3.1 document;
- the error-code catalogue of docs/API.md lists exactly the codes the sources can send, each
  with its status;
- every error code the document promises for a status is in the catalogue with that status.

The route coverage (every registered route is documented, and no other) is a Swift test,
`OpenAPIRouteTests`, which reads the router of a real hub.
"""
import json
import os
import re

import pytest
from openapi_spec_validator import validate

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOCUMENT = os.path.join(ROOT, "Sources", "HubServer", "Web", "Files", "openapi.json")
API_MD = os.path.join(ROOT, "docs", "API.md")

# Codes the sources create that never reach a client: the sweeper's own guards, whose failure it
# only logs (BookingService.expire / complete).
INTERNAL_CODES = {"not_expired", "not_confirmed"}

# How each helper of APIError (Sources/HubServer/HTTP/APIError.swift) maps to a status.
HELPER_STATUS = {"badRequest": 400, "unauthorized": 401, "forbidden": 403, "conflict": 409, "unavailable": 503}

# (pattern, status): status None means the pattern's own status group; "WS" a WebSocket `error`
# message. Patterns allow line breaks between arguments.
PATTERNS = [
    (r'APIError\(\s*(\d+)\s*,\s*"([a-z_]+)"', None),
    (r'\.(badRequest|unauthorized|forbidden|conflict|unavailable)\(\s*"([a-z_]+)"', "helper"),
    (r'\.invalid\((?:[^,"()]|"[^"]*")*,\s*"([a-z_]+)"', 422),
    (r'HTTPParseError\(\s*status:\s*(\d+)\s*,\s*code:\s*"([a-z_]+)"', None),
    (r'\.bad\(\s*"([a-z_]+)"', 400),
    (r'BookingRejection\(\s*"([a-z_]+)"', 422),
    (r'CalendarError\(\s*status:\s*(\d+)\s*,\s*code:\s*"([a-z_]+)"', None),
    (r'reply\(\s*error:\s*"([a-z_]+)"', "WS"),
    (r'error\.unknown \? "([a-z_]+)" : "([a-z_]+)"', 422),
    (r'"code":\s*"([a-z_]+)"', "result"),
]
# Codes whose status is computed, not written next to them.
DYNAMIC = {
    # WebSocketHandshakeError.httpStatus: 405 for HEAD (routed to the GET handler), 426 for a
    # version we do not speak, 400 otherwise.
    r'APIError\(\s*error\.httpStatus\s*,\s*"([a-z_]+)"': {400, 405, 426},
}
# Zero-argument helpers send their default code.
DEFAULTS = [(r"\.unauthorized\(\)", "unauthorized", 401), (r"\.forbidden\(\)", "forbidden", 403),
            (r"\.notFound\(", "not_found", 404), (r"\.internalError\(", "internal_error", 500),
            (r"\.tooManyRequests\(", "rate_limited", 429)]


def swift_sources():
    for directory, _, files in os.walk(os.path.join(ROOT, "Sources")):
        for name in files:
            if name.endswith(".swift"):
                path = os.path.join(directory, name)
                with open(path, encoding="utf-8") as handle:
                    yield os.path.relpath(path, ROOT), handle.read()


def source_codes():
    """{code: set of statuses} the sources can send; a status is an int, "WS" (a WebSocket error
    message) or "result" (an outcome inside a 200 body, e.g. a calendar provider's)."""
    found = {}

    def add(code, status):
        found.setdefault(code, set()).add(status)

    for path, text in swift_sources():
        if path.endswith("Web/EmbeddedFiles.swift"):
            continue  # the served documents and pages quote codes; they do not send them
        for pattern, status in PATTERNS:
            for match in re.finditer(pattern, text):
                groups = match.groups()
                if status is None:
                    add(groups[1], int(groups[0]))
                elif status == "helper":
                    add(groups[1], HELPER_STATUS[groups[0]])
                else:
                    for code in groups:
                        add(code, status)
        for pattern, statuses in DYNAMIC.items():
            for match in re.finditer(pattern, text):
                for status in statuses:
                    add(match.group(1), status)
        for pattern, code, status in DEFAULTS:
            if re.search(pattern, text):
                add(code, status)
    for code in INTERNAL_CODES:
        found.pop(code, None)
    return found


def catalogue():
    """{code: set of statuses} from the table under "## Error codes" in docs/API.md."""
    with open(API_MD, encoding="utf-8") as handle:
        text = handle.read()
    section = text.split("\n## Error codes", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"\|\s*`([a-z_]+)`\s*\|([^|]*)\|", line)
        if not match:
            continue
        code, statuses = match.groups()
        assert code not in rows, f"{code} is listed twice in the catalogue"
        rows[code] = {int(s) if s.isdigit() else s for s in re.findall(r"\d{3}|WS|result", statuses)}
        assert rows[code], f"{code}: no status in the catalogue row"
    return rows


def load_document():
    with open(DOCUMENT, encoding="utf-8") as handle:
        return json.load(handle)


def test_the_document_is_valid_openapi_3_1():
    document = load_document()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_an_invalid_document_is_refused():
    """The validator is not a rubber stamp: a response without its description fails."""
    document = load_document()
    del document["paths"]["/healthz"]["get"]["responses"]["200"]["description"]
    with pytest.raises(Exception):
        validate(document)


def test_the_scanner_reads_the_forms_the_sources_use():
    """The patterns catch every way a code is written, or the comparison below proves nothing."""
    samples = {
        'throw APIError(422, "amount_mismatch", "x")': ("amount_mismatch", 422),
        'throw APIError.conflict(\n  "not_dead", "x")': ("not_dead", 409),
        'throw APIError.invalid(kind == .event ? "endTime" : "duration", "missing_end", "x")': ("missing_end", 422),
        'throw HTTPParseError(status: 431, code: "too_many_headers", message: "x")': ("too_many_headers", 431),
        'BookingRejection("too_short", field: "endTime", "x")': ("too_short", 422),
        'session.reply(error: "malformed_message", "x")': ("malformed_message", "WS"),
    }
    for text, (code, status) in samples.items():
        hits = set()
        for pattern, kind in PATTERNS:
            for match in re.finditer(pattern, text):
                groups = match.groups()
                if kind is None:
                    hits.add((groups[1], int(groups[0])))
                elif kind == "helper":
                    hits.add((groups[1], HELPER_STATUS[groups[0]]))
                else:
                    hits.update((g, kind) for g in groups)
        assert (code, status) in hits, text


def test_the_catalogue_lists_every_code_the_sources_send_and_no_other():
    sent = source_codes()
    listed = catalogue()
    assert len(sent) > 100
    missing = sorted(set(sent) - set(listed))
    unknown = sorted(set(listed) - set(sent))
    assert not missing, f"codes the sources send that docs/API.md does not list: {missing}"
    assert not unknown, f"codes docs/API.md lists that no source sends: {unknown}"
    wrong = {code: (sorted(map(str, sent[code])), sorted(map(str, listed[code])))
             for code in sent if sent[code] - {"result"} != listed[code] - {"result"}}
    assert not wrong, f"statuses differ (sources, catalogue): {wrong}"


def document_codes(document):
    """(code, status, where) for every `error.code` enum of an error response, and the codes of
    the non-error enums that carry error codes (a booking rule's `reason`, a provider's outcome,
    a WebSocket `error` message)."""
    def resolve(node):
        while isinstance(node, dict) and "$ref" in node:
            parts = node["$ref"].lstrip("#/").split("/")
            node = document
            for part in parts:
                node = node[part]
        return node

    out = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                response = resolve(response)
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                for part in schema.get("allOf", []):
                    codes = part.get("properties", {}).get("error", {}).get("properties", {}).get("code", {})
                    for code in codes.get("enum", []):
                        out.append((code, int(status), f"{method.upper()} {path} {status}"))
    schemas = document["components"]["schemas"]
    for code in schemas["Fit"]["properties"]["reason"]["properties"]["code"]["enum"]:
        out.append((code, 422, "Fit.reason"))
    for code in schemas["SyncResult"]["properties"]["error"]["properties"]["code"]["enum"]:
        out.append((code, "result", "SyncResult.error"))
    for code in schemas["ErrorMessage"]["properties"]["payload"]["properties"]["code"]["enum"]:
        out.append((code, "WS", "ErrorMessage"))
    return out


def test_every_code_the_document_promises_is_in_the_catalogue_with_that_status():
    listed = catalogue()
    entries = document_codes(load_document())
    assert len(entries) > 300
    wrong = []
    for code, status, where in entries:
        if code not in listed:
            wrong.append(f"{where}: {code} is not in the catalogue")
        elif status == "result":
            continue  # an outcome inside a 200 body: any status the code has elsewhere
        elif status == "WS" and "WS" not in listed[code] and not ({401, 403} & listed[code]):
            wrong.append(f"{where}: {code} is not listed as a WebSocket error")
        elif status not in listed[code] and status != "WS":
            wrong.append(f"{where}: {code} answers {status}, the catalogue says {sorted(map(str, listed[code]))}")
    assert not wrong, "\n".join(wrong)


def test_the_client_listens_for_every_event_type_the_document_defines():
    """The client's SSE fallback hears only the event types it names (EventSource delivers named
    events to their listeners only): a type the hub publishes but the client leaves out never reaches
    a `'*'` handler over SSE."""
    client = os.path.join(ROOT, "Sources", "HubServer", "Web", "Files", "client-core.js")
    with open(client, encoding="utf-8") as handle:
        source = handle.read()
    known = set(re.findall(r"'([a-z_]+)'", re.search(r"const KNOWN_TYPES = \[(.*?)\];", source, re.S).group(1)))
    schemas = load_document()["components"]["schemas"]
    published = {schema["properties"]["type"]["const"] for name, schema in schemas.items()
                 if name.endswith("Event") and "const" in schema.get("properties", {}).get("type", {})}
    assert len(published) >= 10
    assert published <= known, f"KNOWN_TYPES in client-core.js lacks {sorted(published - known)}"
