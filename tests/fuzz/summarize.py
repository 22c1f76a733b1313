#!/usr/bin/env python3
"""Figures and failure list of a tests/fuzz/run.sh run.

Usage: summarize.py OUT_DIR RUN...   (RUN = label of one schemathesis run, e.g. sqlite-public)

Reads OUT_DIR/requests.tsv, failures.jsonl, excluded.tsv (written by hooks.py) and
OUT_DIR/<RUN>/report.json (schemathesis's JSON report), prints per-run and total figures, writes
OUT_DIR/failures.md (every distinct failure with one exact request and response), and ends with
`fuzz: N passed, M failed` counting (run, operation) pairs. Exit status 1 when anything failed.
"""
import collections
import json
import os
import re
import sys

out, runs = sys.argv[1], sys.argv[2:]


def lines(name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def _errors_from_log(path):
    """(operation label, error title, reproducing curl) for each entry of the log's ERRORS section."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    m = re.search(r"^=+ ERRORS =+$(.*?)^=+ [A-Z]+ =+$", text, re.M | re.S)
    if not m:
        return []
    found = []
    for block in re.split(r"^_{3,} ", m.group(1), flags=re.M)[1:]:
        label = block.split(" _", 1)[0].strip()
        lines = [ln.strip() for ln in block.splitlines()[1:] if ln.strip()]
        title = lines[0] if lines else "error"
        curl = next((ln for ln in lines if ln.startswith("curl ")), "")
        found.append((label, title, curl))
    return found


requests_by_run = collections.defaultdict(list)
op_by_label = {}
for line in lines("requests.tsv"):
    run, op, label, method, path, status = line.split("\t")
    requests_by_run[run].append((op, method, path, int(status)))
    op_by_label[label] = op

failures = [json.loads(line) for line in lines("failures.jsonl")]
excluded = collections.Counter()
for line in lines("excluded.tsv"):
    parts = line.split("\t")
    excluded[tuple(parts[2:7])] += 1  # the rule

failed_ops = collections.defaultdict(set)
for f in failures:
    failed_ops[f["run"]].add(f["operation"])

run_errors = collections.defaultdict(list)
for run in runs:
    path = os.path.join(out, run, "report.json")
    if not os.path.exists(path):
        run_errors[run].append("no schemathesis report (did schemathesis crash?)")
        failed_ops[run].add("(run error)")
        continue
    with open(path) as f:
        report = json.load(f)
    # The JSON report only counts errors; schemathesis's log names the operation and the request.
    labelled = _errors_from_log(os.path.join(out, run, "schemathesis.log"))
    for label, title, curl in labelled:
        run_errors[run].append(f"{label}: {title}" + (f" — {curl}" if curl else ""))
        failed_ops[run].add(op_by_label.get(label, label))
    if not labelled:
        for err in report.get("errors") or []:
            run_errors[run].append(err.get("title") or json.dumps(err)[:300])
            failed_ops[run].add("(run error)")
    if not report.get("complete", True):
        run_errors[run].append(f"run incomplete: stop_reason={report.get('stop_reason')}")
        failed_ops[run].add("(run error)")

print()
print("=" * 78)
print("fuzz figures")
print("=" * 78)
total_pass = total_fail = total_requests = total_5xx = 0
for run in runs:
    reqs = requests_by_run.get(run, [])
    ops = {r[0] for r in reqs}
    bad = failed_ops.get(run, set())
    fivexx = sum(1 for r in reqs if r[3] >= 500)
    dropped = sum(1 for r in reqs if r[3] == 0)
    n_fail = len(bad)
    n_pass = len(ops - bad)
    total_pass += n_pass
    total_fail += n_fail
    total_requests += len(reqs)
    total_5xx += fivexx
    statuses = collections.Counter(r[3] // 100 for r in reqs if r[3])
    mix = ", ".join(f"{k}xx: {v}" for k, v in sorted(statuses.items()))
    if dropped:
        mix += f", no response: {dropped}"
    nfail = sum(1 for f in failures if f["run"] == run)
    print(
        f"{run:<18} operations tested: {len(ops):>3}   requests sent: {len(reqs):>6}   "
        f"failing checks: {nfail:>4}   5xx: {fivexx}   ({mix})"
    )
    for e in run_errors.get(run, []):
        print(f"{'':<18} ERROR {e}")

# Panics and aborts in the server logs (a panicking handler drops the connection: no 5xx is seen).
panics = collections.Counter()
for name in sorted(os.listdir(out)):
    if not name.endswith("-server.log"):
        continue
    with open(os.path.join(out, name), encoding="utf-8", errors="replace") as f:
        log = f.read().splitlines()
    for i, line in enumerate(log):
        if "panicked at" in line:
            where = line.split("panicked at", 1)[1].strip().rstrip(":")
            what = log[i + 1].strip() if i + 1 < len(log) else ""
            panics[(name[: -len("-server.log")], where, what)] += 1
        elif "overflowed its stack" in line or "fatal runtime error" in line:
            panics[(name[: -len("-server.log")], "abort", line.strip())] += 1
died = lines("died.txt")
if died:
    print()
    print(f"SERVER DIED during the run: {', '.join(died)} (see <backend>-server.log)")
if panics:
    print()
    print("SERVER PANICS (each one a request answered by a dropped connection):")
    for (backend, where, what), n in sorted(panics.items()):
        print(f"  {n:>5}  {backend}: {where}: {what}")

if excluded:
    print()
    print("excluded by the documented exclusion list (rule: failures absorbed):")
    for rule, n in sorted(excluded.items(), key=lambda kv: -kv[1]):
        op, check, status, where, reason = rule
        print(f"  {n:>5}  {op} {check} status={status} where={where}  — {reason}")

# Distinct failures: same operation, check, status and violated location / summary.
distinct = collections.OrderedDict()
for f in failures:
    key = (f["operation"], f["check"], f["response"]["status"], f["pointer"] or f["summary"])
    d = distinct.setdefault(key, {"first": f, "count": 0, "runs": set()})
    d["count"] += 1
    d["runs"].add(f["run"])

severity = {"not_a_server_error": 0, "status_code_conformance": 1, "response_schema_conformance": 2}
ordered = sorted(distinct.items(), key=lambda kv: (severity.get(kv[0][1], 9), kv[0][0]))


def clip(text, n=1500):
    if text is None:
        return "<none>"
    return text if len(text) <= n else text[:n] + f"... [{len(text) - n} more bytes]"


with open(os.path.join(out, "failures.md"), "w", encoding="utf-8") as md:
    md.write("# Fuzz failures\n\n")
    if not ordered:
        md.write("None.\n")
    for i, ((op, check, status, where), d) in enumerate(ordered, 1):
        f = d["first"]
        req, res = f["request"], f["response"]
        md.write(f"## {i}. {op}: {check} — {status}\n\n")
        md.write(f"- seen {d['count']} time(s) in: {', '.join(sorted(d['runs']))}\n")
        md.write(f"- {f['summary']}\n")
        if f["pointer"]:
            md.write(f"- spec location: `{f['pointer']}`\n")
        hdrs = {k: v for k, v in req["headers"].items() if k.lower() not in ("user-agent", "accept-encoding", "connection", "content-length")}
        md.write(f"\nRequest:\n\n```\n{req['method']} {req['url']}\n")
        for k, v in hdrs.items():
            md.write(f"{k}: {v}\n")
        if req["body"] is not None:
            md.write(f"\n{clip(req['body'], 4000)}\n")
        md.write(f"```\n\nResponse:\n\n```\n{res['status']}\n")
        ct = res["headers"].get("content-type")
        if ct:
            md.write(f"content-type: {ct}\n")
        loc = res["headers"].get("location")
        if loc:
            md.write(f"location: {loc}\n")
        md.write(f"\n{clip(res['body'], 4000)}\n```\n\nCheck output:\n\n```\n{clip(f['message'], 3000)}\n```\n\n")

if ordered:
    print()
    print(f"distinct failures ({len(ordered)}; full requests and responses in {os.path.join(out, 'failures.md')}):")
    for i, ((op, check, status, where), d) in enumerate(ordered, 1):
        f = d["first"]
        req = f["request"]
        print(f"  {i:>2}. {op} [{check}] {status}: {f['summary'][:110]}")
        print(f"      {req['method']} {clip(req['url'], 160)}  (x{d['count']}; {', '.join(sorted(d['runs']))})")

print()
print(
    f"operations tested: {total_pass + total_fail}   requests sent: {total_requests}   "
    f"5xx responses: {total_5xx}   failures: {len(failures)} ({len(ordered)} distinct)"
)
print(f"fuzz: {total_pass} passed, {total_fail} failed")
sys.exit(1 if total_fail or failures or panics or died or any(run_errors.values()) else 0)
