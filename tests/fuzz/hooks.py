"""Schemathesis hooks for tests/fuzz/run.sh: the checks, minus documented exclusions, and a log.

Checks (select them with `-c`):
  no_server_error             schemathesis's `not_a_server_error` (no 5xx); no exclusions apply
  documented_status_code      `status_code_conformance`, minus matching exclusion rules
  documented_response_schema  `response_schema_conformance`, minus matching exclusion rules

The exclusion rules come from the file named by $FUZZ_EXCLUSIONS (run.sh writes its EXCLUSIONS list
there), one rule a line, five tab-separated fields:

    operationId   check   status   where   reason

  operationId  exact operationId, or *
  check        status_code_conformance | response_schema_conformance
  status       the HTTP status the rule covers, or *
  where        *                 any failure of that check
               envelope[:TEXT]   the body is a Kratos error envelope {"error": {...}} (whose reason or
                                 message contains TEXT, when given) where the spec documents another
                                 shape for that status
               null:POINTER      the offending value is JSON null, reported at spec location POINTER
               POINTER           the violation is reported at exactly this spec location, e.g.
                                 /components/schemas/genericError/properties/details
  reason       one line

Logs written to $FUZZ_OUT (appended; several runs may share it, $FUZZ_RUN labels them):
  requests.tsv    one line per request: run, operationId, label, method, path, status
  failures.jsonl  one object per failing check (after exclusions), with the exact request and response
  excluded.tsv    one line per failure an exclusion rule absorbed: run, operationId, rule fields
"""
from __future__ import annotations

import base64
import json
import os
import re
import threading
from urllib.parse import urlsplit

import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

_LOCK = threading.Lock()
_OUT = os.environ.get("FUZZ_OUT")
_RUN = os.environ.get("FUZZ_RUN", "")
_RULES: list[tuple[str, ...]] = []
if os.environ.get("FUZZ_EXCLUSIONS"):
    with open(os.environ["FUZZ_EXCLUSIONS"]) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = [p.strip() for p in line.split("\t")]
            if len(parts) != 5 or parts[1] not in ("status_code_conformance", "response_schema_conformance"):
                raise SystemExit(f"FUZZ_EXCLUSIONS: malformed rule (5 tab-separated fields): {line!r}")
            _RULES.append(tuple(parts))

_SCHEMA_AT = re.compile(r"^Schema at (\S+?):?\s*$", re.M)
_MISSING = object()


def _operation_id(case) -> str:
    try:
        return case.operation.definition.raw.get("operationId", "") or case.operation.label
    except Exception:
        return "?"


def _json(content: bytes):
    try:
        return json.loads(content or b"")
    except Exception:
        return _MISSING


def _envelope_matches(response, text: str) -> bool:
    body = _json(response.content)
    if not (isinstance(body, dict) and isinstance(body.get("error"), dict) and "message" in body["error"]):
        return False
    err = body["error"]
    return not text or text in str(err.get("reason", "")) or text in str(err.get("message", ""))


def _pointer(failure: Failure) -> str:
    m = _SCHEMA_AT.search(getattr(failure, "message", "") or "")
    return m.group(1) if m else ""


def _rule_for(check: str, op: str, response, failure: Failure):
    for rule in _RULES:
        r_op, r_check, r_status, r_where, _reason = rule
        if r_check != check or r_op not in ("*", op):
            continue
        if r_status != "*" and str(response.status_code) != r_status:
            continue
        if r_where == "*":
            return rule
        if r_where == "envelope" or r_where.startswith("envelope:"):
            if _envelope_matches(response, r_where.partition(":")[2]):
                return rule
        elif r_where.startswith("null:"):
            if getattr(failure, "instance", _MISSING) is None and _pointer(failure) == r_where[5:]:
                return rule
        elif _pointer(failure) == r_where:
            return rule
    return None


def _append(name: str, text: str) -> None:
    if not _OUT:
        return
    with _LOCK, open(os.path.join(_OUT, name), "a", encoding="utf-8") as f:
        f.write(text)


def _body_text(raw) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = raw.encode()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(raw).decode()


def _record_failure(check: str, op: str, response, failure: Failure) -> None:
    req = response.request
    first = (getattr(failure, "message", "") or failure.title or "").strip().splitlines()
    _append(
        "failures.jsonl",
        json.dumps(
            {
                "run": _RUN,
                "operation": op,
                "label": getattr(failure, "operation", ""),
                "check": check,
                "code": getattr(failure, "code", ""),
                "title": failure.title,
                "summary": first[0] if first else "",
                "pointer": _pointer(failure),
                "message": getattr(failure, "message", ""),
                "request": {
                    "method": req.method,
                    "url": req.url,
                    "headers": dict(req.headers),
                    "body": _body_text(req.body),
                },
                "response": {
                    "status": response.status_code,
                    "headers": {k: ", ".join(v) for k, v in response.headers.items()},
                    "body": _body_text(response.content),
                },
            }
        )
        + "\n",
    )


def _run_check(check_name: str, inner, ctx, response, case, *, excludable: bool):
    try:
        return inner(ctx, response, case)
    except FailureGroup as group:
        failures = list(group.exceptions)
    except Failure as failure:
        failures = [failure]
    op = _operation_id(case)
    kept = []
    for failure in failures:
        rule = _rule_for(check_name, op, response, failure) if excludable else None
        if rule is None:
            kept.append(failure)
            _record_failure(check_name, op, response, failure)
        else:
            _append("excluded.tsv", "\t".join((_RUN, op) + rule) + "\n")
    if len(kept) == 1:
        raise kept[0]
    if kept:
        raise FailureGroup(kept)
    return None


@schemathesis.check
def no_server_error(ctx, response, case):
    """not_a_server_error (no 5xx responses); never excluded."""
    return _run_check("not_a_server_error", not_a_server_error, ctx, response, case, excludable=False)


@schemathesis.check
def documented_status_code(ctx, response, case):
    """status_code_conformance, minus the documented exclusions."""
    return _run_check("status_code_conformance", status_code_conformance, ctx, response, case, excludable=True)


@schemathesis.check
def documented_response_schema(ctx, response, case):
    """response_schema_conformance, minus the documented exclusions."""
    return _run_check(
        "response_schema_conformance", response_schema_conformance, ctx, response, case, excludable=True
    )


@schemathesis.hook
def after_call(context, case, response):
    try:
        path = urlsplit(response.request.url).path
        status = response.status_code
        method = response.request.method
    except Exception:
        path, status, method = case.path, getattr(response, "status_code", 0), case.method
    label = getattr(case.operation, "label", "")
    _append("requests.tsv", f"{_RUN}\t{_operation_id(case)}\t{label}\t{method}\t{path}\t{status}\n")


@schemathesis.hook
def after_network_error(context, case, request):
    """A dropped connection (e.g. a panicking handler): logged with status 0."""
    try:
        path, method = urlsplit(request.url).path, request.method
    except Exception:
        path, method = case.path, case.method
    label = getattr(case.operation, "label", "")
    _append("requests.tsv", f"{_RUN}\t{_operation_id(case)}\t{label}\t{method}\t{path}\t0\n")
