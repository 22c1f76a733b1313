#!/usr/bin/env python3
"""Seed a running Ostiary with data for the schemathesis run, and write the schemathesis config.

Usage: seed.py PUBLIC_URL ADMIN_URL OUT_DIR

Creates identities (with passwords and external ids), native-login sessions, one flow of
each kind and a queued courier message, then writes OUT_DIR/schemathesis.toml: dictionaries of the
real ids, bound to the path/query/header parameters of the operations that take them (with a
probability, so generated values are still tried too). The check exclusions live in run.sh and
are applied by hooks.py.

Ids used by destructive operations (delete/update identity, revoke session, logout) come from
separate pools, one per kind of operation, so the read operations keep finding live data for the
whole run and each destructive operation gets a few live targets of its own.
"""
import json
import sys
import time

import requests

PUBLIC, ADMIN, OUT = sys.argv[1].rstrip("/"), sys.argv[2].rstrip("/"), sys.argv[3]
PASSWORD = "fuzz-Password-0b5e7c1d9a"
JSON = {"Accept": "application/json"}
s = requests.Session()


def ok(res, *codes):
    if res.status_code not in codes:
        sys.exit(f"seed: {res.request.method} {res.request.url} -> {res.status_code} {res.text[:500]}")
    return res.json() if res.content else None


def identity(n, external_id=None):
    body = {
        "schema_id": "default",
        "traits": {"email": f"fuzz-{n}@example.com"},
        "credentials": {"password": {"config": {"password": PASSWORD}}},
        "metadata_public": {"seed": n},
    }
    if external_id:
        body["external_id"] = external_id
    return ok(s.post(f"{ADMIN}/admin/identities", json=body), 201)["id"]


def login(n):
    flow = ok(s.get(f"{PUBLIC}/self-service/login/api", headers=JSON), 200)
    res = ok(
        s.post(
            f"{PUBLIC}/self-service/login?flow={flow['id']}",
            json={"method": "password", "identifier": f"fuzz-{n}@example.com", "password": PASSWORD},
        ),
        200,
    )
    return res["session_token"], res["session"]["id"]


def native_flow(kind, token=None):
    headers = dict(JSON)
    if token:
        headers["X-Session-Token"] = token
    return ok(s.get(f"{PUBLIC}/self-service/{kind}/api", headers=headers), 200)["id"]


def sessions_of(n, count):
    tokens, ids = [], []
    for _ in range(count):
        t, sid = login(n)
        tokens.append(t)
        ids.append(sid)
    return tokens, ids


# Identities 0-3: read operations. 4-7: delete/update/patch (4 also has sessions, for
# deleteIdentitySessions). 8: sessions for disableMyOtherSessions (it revokes only identity 8's
# other sessions). 9: sessions for performNativeLogout. 10: disableMySession (its tokens revoke
# each other's sessions). 11: sessions for the admin disableSession.
stable_ids = [identity(n, external_id=f"fuzz-external-{n}") for n in range(4)]
disposable_ids = [identity(n, external_id=f"fuzz-external-{n}") for n in range(4, 8)]
for n in range(8, 12):
    identity(n)

stable_tokens, stable_sessions = sessions_of(0, 2)
t, i = sessions_of(1, 2)
stable_tokens += t
stable_sessions += i
sessions_of(4, 2)
other_tokens, _ = sessions_of(8, 4)
logout_tokens, _ = sessions_of(9, 6)
mine_tokens, mine_sessions = sessions_of(10, 6)
_, admin_disable_sessions = sessions_of(11, 6)

flows = {k: [native_flow(k)] for k in ("login", "registration", "recovery", "verification")}
flows["settings"] = [native_flow("settings", stable_tokens[0])]

# A queued courier message: a recovery code sent to a seeded address.
rec = native_flow("recovery")
ok(
    s.post(f"{PUBLIC}/self-service/recovery?flow={rec}", json={"method": "code", "email": "fuzz-2@example.com"}),
    200,
)
messages = []
for _ in range(50):
    messages = [m["id"] for m in ok(s.get(f"{ADMIN}/admin/courier/messages"), 200)]
    if messages:
        break
    time.sleep(0.1)
if not messages:
    sys.exit("seed: no courier message was queued")
schemas = [x["id"] for x in ok(s.get(f"{PUBLIC}/schemas"), 200)]

seed = {
    "stable_identities": stable_ids,
    "disposable_identities": disposable_ids,
    "stable_tokens": stable_tokens,
    "stable_sessions": stable_sessions,
    "other_tokens": other_tokens,
    "logout_tokens": logout_tokens,
    "mine_tokens": mine_tokens,
    "mine_sessions": mine_sessions,
    "admin_disable_sessions": admin_disable_sessions,
    "flows": flows,
    "messages": messages,
    "schemas": schemas,
    "external_ids": [f"fuzz-external-{n}" for n in range(4)],
}
with open(f"{OUT}/seed.json", "w") as f:
    json.dump(seed, f, indent=1)


# ---- schemathesis.toml ----------------------------------------------------------------------
def toml_str(v):
    return json.dumps(v)  # a JSON string literal is a valid TOML basic string


dictionaries = {
    "identity_ids": stable_ids,
    "disposable_identity_ids": disposable_ids,
    "session_ids": stable_sessions,
    "admin_disable_session_ids": admin_disable_sessions,
    "tokens": stable_tokens,
    "other_tokens": other_tokens,
    "logout_tokens": logout_tokens,
    "mine_tokens": mine_tokens,
    "mine_session_ids": mine_sessions,
    "message_ids": messages,
    "schema_ids": schemas,
    "external_ids": seed["external_ids"],
    "credential_types": ["password", "oidc", "totp", "webauthn", "lookup_secret", "code", "passkey"],
}
for kind, ids in flows.items():
    dictionaries[f"{kind}_flows"] = ids

P = 0.6  # probability that a bound parameter takes a seeded value instead of a generated one
# (operationId, {parameter key: dictionary})
bindings = [
    ("getIdentity", {"path.id": "identity_ids"}),
    ("listIdentitySessions", {"path.id": "identity_ids"}),
    ("updateIdentity", {"path.id": "disposable_identity_ids"}),
    ("patchIdentity", {"path.id": "disposable_identity_ids"}),
    ("deleteIdentity", {"path.id": "disposable_identity_ids"}),
    ("deleteIdentitySessions", {"path.id": "disposable_identity_ids"}),
    ("deleteIdentityCredentials", {"path.id": "disposable_identity_ids", "path.type": "credential_types"}),
    ("getIdentityByExternalID", {"path.externalID": "external_ids"}),
    ("getSession", {"path.id": "session_ids"}),
    ("extendSession", {"path.id": "session_ids"}),
    ("disableSession", {"path.id": "admin_disable_session_ids"}),
    ("getCourierMessage", {"path.id": "message_ids"}),
    ("getIdentitySchema", {"path.id": "schema_ids"}),
    ("toSession", {"header.X-Session-Token": "tokens"}),
    ("listMySessions", {"header.X-Session-Token": "tokens"}),
    ("createNativeSettingsFlow", {"header.X-Session-Token": "tokens"}),
    ("createNativeLoginFlow", {"header.X-Session-Token": "tokens"}),
    ("getSettingsFlow", {"header.X-Session-Token": "tokens", "query.id": "settings_flows"}),
    ("updateSettingsFlow", {"header.X-Session-Token": "tokens", "query.flow": "settings_flows"}),
    ("disableMyOtherSessions", {"header.X-Session-Token": "other_tokens"}),
    ("disableMySession", {"header.X-Session-Token": "mine_tokens", "path.id": "mine_session_ids"}),
    ("performNativeLogout", {"body.session_token": "logout_tokens"}),
    ("getLoginFlow", {"query.id": "login_flows"}),
    ("updateLoginFlow", {"query.flow": "login_flows"}),
    ("getRegistrationFlow", {"query.id": "registration_flows"}),
    ("updateRegistrationFlow", {"query.flow": "registration_flows"}),
    ("getRecoveryFlow", {"query.id": "recovery_flows"}),
    ("updateRecoveryFlow", {"query.flow": "recovery_flows"}),
    ("getVerificationFlow", {"query.id": "verification_flows"}),
    ("updateVerificationFlow", {"query.flow": "verification_flows"}),
]

lines = ["# Generated by tests/fuzz/seed.py; do not edit.", ""]
for name, values in dictionaries.items():
    lines.append(f"[dictionaries.{name}]")
    lines.append("values = [" + ", ".join(toml_str(v) for v in values) + "]")
    lines.append("")

bound = dict(bindings)
for op in sorted(bound):
    lines.append("[[operations]]")
    lines.append(f"include-operation-id = {toml_str(op)}")
    for key, dictionary in bound[op].items():
        lines.append(f"parameters.{toml_str(key)} = {{ dictionary = {toml_str(dictionary)}, probability = {P} }}")
    lines.append("")

with open(f"{OUT}/schemathesis.toml", "w") as f:
    f.write("\n".join(lines))
print(
    f"seed: 12 identities, {len(stable_tokens) + 2 + len(other_tokens) + len(logout_tokens) + len(mine_tokens) + len(admin_disable_sessions)} sessions, "
    f"{sum(len(v) for v in flows.values())} flows, {len(messages)} courier message(s)"
)
