// What the browser tests share: processes that die with the test, free ports, raw HTTP, starting
// `ostiary serve`, and the two backends (SQLite, and PostgreSQL in a database of its own).
import { spawn, execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import pg from "pg";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../..");
export const BIN = process.env.OSTIARY_BIN || path.join(repoRoot, "target/debug/ostiary");
export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const PG_URL = process.env.TEST_POSTGRES_URL || "postgres://postgres@127.0.0.1:5432/test";
export const IN_CI = process.env.CI === "true";

// ---------------------------------------------------------------------------------------------
// Process bookkeeping: everything started here is killed at the end, also on failure or Ctrl-C.

const children = new Set();
export function track(child) {
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}
export function killAll() {
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch {}
  }
}
process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers.

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A raw HTTP request (node:http, so that `Origin` and friends are sent exactly as given). */
export function rawRequest(url, { method = "GET", headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export async function json(url, opts = {}) {
  const headers = { Accept: "application/json", ...(opts.headers || {}) };
  let body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers["Content-Type"] = "application/json";
  }
  const res = await rawRequest(url, { method: opts.method || "GET", headers, body });
  let parsed = null;
  try {
    parsed = res.body ? JSON.parse(res.body) : null;
  } catch {}
  return { ...res, json: parsed };
}

export function run(cmd, args, opts = {}) {
  return promisify(execFile)(cmd, args, { maxBuffer: 16 << 20, ...opts });
}

/** Starts `ostiary serve -c <config>` and waits for /health/ready on the admin port. */
export async function startServer(dir, config) {
  const cfgPath = path.join(dir, "ostiary.json");
  writeFileSync(cfgPath, JSON.stringify(config, null, 2));
  const logs = [];
  const child = track(
    spawn(BIN, ["serve", "-c", cfgPath], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG || "info" },
    }),
  );
  // If this Node process dies without running its cleanup (SIGKILL, a closed pipe), the watchdog's
  // stdin reaches EOF and it kills the server, so no server outlives the test.
  // (`read` is a shell builtin: the watchdog is one process, gone with one SIGKILL.)
  const watchdog = spawn("/bin/sh", ["-c", `while read -r _; do :; done; kill -9 ${child.pid} 2>/dev/null`], {
    stdio: ["pipe", "ignore", "ignore"],
  });
  watchdog.stdin.on("error", () => {});
  child.once("exit", () => watchdog.kill("SIGKILL"));
  child.stdout.on("data", (d) => logs.push(d.toString()));
  child.stderr.on("data", (d) => logs.push(d.toString()));
  let exited = null;
  let stopping = false;
  child.on("exit", (code, signal) => {
    exited = { code, signal };
    if (!stopping) {
      console.error(`!!! ostiary serve (pid ${child.pid}) died during the test: ${JSON.stringify(exited)}`);
      console.error(logs.join("").slice(-4000));
    }
  });

  // Readiness poll on both listeners; the deadline only guards against hanging forever.
  const deadline = Date.now() + 60_000;
  for (const base of [config.serve.admin.base_url, config.serve.public.base_url]) {
    for (;;) {
      if (exited) {
        throw new Error(`ostiary serve exited early (${JSON.stringify(exited)}):\n${logs.join("")}`);
      }
      try {
        const r = await rawRequest(new URL("health/ready", base));
        if (r.status === 200) break;
      } catch {}
      if (Date.now() > deadline) {
        throw new Error(`ostiary serve never became ready on ${base}health/ready:\n${logs.join("")}`);
      }
      await sleep(100);
    }
  }
  return {
    logs,
    status: () => (exited ? `exited ${JSON.stringify(exited)}` : `running (pid ${child.pid})`),
    async stop() {
      stopping = true;
      if (exited) return;
      const done = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await done;
      clearTimeout(t);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Backends.

export async function postgresReachable() {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return { ok: true };
  } catch (err) {
    return { ok: false, error: String(err && err.message) };
  } finally {
    await client.end().catch(() => {});
  }
}

export async function adminQuery(sql) {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

const pgState = await postgresReachable();
if (!pgState.ok && !IN_CI) {
  const bar = "!".repeat(100);
  console.error(
    `\n${bar}\n!!! PostgreSQL at ${PG_URL} is unreachable (${pgState.error}).\n` +
      `!!! SKIPPING the PostgreSQL browser test. Under CI=true this is a failure.\n${bar}\n`,
  );
}

export const backends = [
  {
    name: "SQLite",
    async setup(dir) {
      return { dsn: `sqlite://${path.join(dir, "ostiary.sqlite")}?_fk=true`, teardown: async () => {} };
    },
  },
  {
    name: "PostgreSQL",
    skip: !pgState.ok && !IN_CI ? `PostgreSQL unreachable at ${PG_URL}: ${pgState.error}` : false,
    async setup() {
      if (!pgState.ok) {
        throw new Error(`CI=true and PostgreSQL is unreachable at ${PG_URL}: ${pgState.error}`);
      }
      const db = `ostiary_browser_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
      await adminQuery(`CREATE DATABASE "${db}"`);
      const u = new URL(PG_URL);
      u.pathname = "/" + db;
      return {
        dsn: u.toString(),
        teardown: () => adminQuery(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`),
      };
    },
  },
];

