// Browser end-to-end test: a single-page app on another origin runs the browser login and logout
// flows against Ostiary with the official @ory/client SDK, in headless Chromium (real CORS and real
// cookie rules), once on SQLite and once on PostgreSQL.
//
// Run through tests/browser/run.sh (installs Chromium and the npm packages, builds the server).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";
import { chromium } from "playwright-core";

import { BIN, CHROMIUM, backends, freePort, json, rawRequest, run, sleep, startServer } from "./harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

const EMAIL = "spa-user@example.com";
const PASSWORD = "correct horse battery staple 42";
const SECRET = "browser-test-cookie-secret-" + randomBytes(8).toString("hex");
// Sent by the SPA as an extra request header; listed in allowed_headers (and the other one is not).
const ALLOWED_PROBE_HEADER = "X-Spa-Probe";
const UNLISTED_PROBE_HEADER = "X-Not-Configured";

// ---------------------------------------------------------------------------------------------
// The SPA.

/** Builds the SPA bundle once: @ory/client (+ axios) for the browser. */
let bundlePromise;
function spaBundle() {
  bundlePromise ??= esbuild
    .build({
      entryPoints: [path.join(here, "spa-app.mjs")],
      bundle: true,
      write: false,
      format: "esm",
      platform: "browser",
      target: "chrome120",
      logLevel: "warning",
    })
    .then((r) => r.outputFiles[0].text);
  return bundlePromise;
}

/**
 * The SPA's web server: every path serves the same page (so `/logged-out` is a page of the app too),
 * `/app.js` is the bundle. It records the paths it served, to show where the browser went.
 */
async function startSpaServer(getPublicUrl) {
  const js = await spaBundle();
  const served = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    served.push(url.pathname + url.search);
    if (url.pathname === "/app.js") {
      res.writeHead(200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-store" });
      res.end(js);
      return;
    }
    if (url.pathname === "/favicon.ico") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
    res.end(`<!doctype html>
<html><head><meta charset="utf-8"><title>SPA ${url.pathname}</title>
<script>window.OSTIARY_PUBLIC_URL = ${JSON.stringify(getPublicUrl())};</script>
<script type="module" src="/app.js"></script></head>
<body><h1 id="where">${url.pathname.replace(/[^a-z0-9/_-]/gi, "")}</h1></body></html>`);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    served,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// The test, once per backend.

for (const backend of backends) {
  describe(`SPA on another origin against Ostiary on ${backend.name}`, () => {
    // Skipped tests are reported as skipped, one by one (never as passed).
    const opts = { skip: backend.skip };
    let dir, db, server, spa, otherSpa, context, publicUrl, adminUrl, identity, userDataDir;
    const apiTraffic = [];
    const cleanups = [];

    before(async () => {
      if (backend.skip) return;
      assert.ok(existsSync(BIN), `server binary missing at ${BIN}: run cargo build first`);
      assert.ok(existsSync(CHROMIUM), `Chromium missing at ${CHROMIUM}`);
      dir = mkdtempSync(path.join(os.tmpdir(), "ostiary-browser-"));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

      // The SPA (allowed origin) and the same app on a second port (an origin CORS does not allow).
      spa = await startSpaServer(() => publicUrl);
      cleanups.push(() => spa.close());
      otherSpa = await startSpaServer(() => publicUrl);
      cleanups.push(() => otherSpa.close());

      db = await backend.setup(dir);
      cleanups.push(() => db.teardown());

      const publicPort = await freePort();
      let adminPort = await freePort();
      while (adminPort === publicPort) adminPort = await freePort();
      publicUrl = `http://127.0.0.1:${publicPort}/`;
      adminUrl = `http://127.0.0.1:${adminPort}/`;

      await run(BIN, ["migrate", "sql", db.dsn, "--yes"], { cwd: dir });

      server = await startServer(dir, {
        dsn: db.dsn,
        dev: true,
        serve: {
          public: {
            host: "127.0.0.1",
            port: publicPort,
            base_url: publicUrl,
            cors: {
              enabled: true,
              allowed_origins: [spa.origin],
              allowed_methods: ["POST", "GET", "PUT", "PATCH", "DELETE"],
              allowed_headers: [
                "Authorization",
                "Content-Type",
                "X-Session-Token",
                "X-CSRF-Token",
                ALLOWED_PROBE_HEADER,
              ],
              exposed_headers: ["Content-Type", "X-Kratos-Authenticated-Identity-Id"],
              allow_credentials: true,
            },
          },
          admin: { host: "127.0.0.1", port: adminPort, base_url: adminUrl },
        },
        selfservice: {
          default_browser_return_url: `${spa.origin}/`,
          allowed_return_urls: [`${spa.origin}/`],
        },
        secrets: { cookie: [SECRET] },
        hashers: { algorithm: "bcrypt", bcrypt: { cost: 4 } },
      });
      cleanups.push(() => server.stop());

      const created = await json(new URL("admin/identities", adminUrl), {
        method: "POST",
        json: {
          schema_id: "default",
          traits: { email: EMAIL },
          credentials: { password: { config: { password: PASSWORD } } },
        },
      });
      assert.equal(created.status, 201, `create identity: ${created.status} ${created.body}`);
      identity = created.json;

      userDataDir = mkdtempSync(path.join(os.tmpdir(), "ostiary-chromium-"));
      cleanups.push(() => rmSync(userDataDir, { recursive: true, force: true }));
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          // Nothing but 127.0.0.1 resolves for this browser.
          "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        ],
      });
      cleanups.push(() => context.close());
    });

    after(async () => {
      let failed = false;
      for (const c of cleanups.reverse()) {
        try {
          await c();
        } catch (err) {
          failed = true;
          console.error(`cleanup failed: ${err && err.stack}`);
        }
      }
      if (failed) throw new Error("cleanup failed");
    });

    async function openSpa(origin, pathname = "/") {
      const page = await context.newPage();
      const problems = [];
      page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
      page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
      // What the browser saw from the API (a redirect where JSON was expected shows up here).
      page.on("response", (r) => {
        if (!r.url().startsWith(publicUrl)) return;
        const loc = r.headers()["location"];
        apiTraffic.push(`${r.request().method()} ${r.url()} -> ${r.status()}${loc ? ` (Location: ${loc})` : ""}`);
      });
      await page.goto(origin + pathname);
      await page.waitForFunction(() => window.spaReady === true);
      page.problems = problems;
      return page;
    }

    // Prints the server log when a step fails, which is where the cause usually is.
    function explain(what, value) {
      return (
        `${what}: ${JSON.stringify(value, null, 2)}\n` +
        (apiTraffic.length ? `--- browser -> API, last requests: ---\n${apiTraffic.slice(-8).join("\n")}\n` : "") +
        `--- server ${server.status()}, log: ---\n` +
        server.logs.join("").slice(-4000)
      );
    }

    it("answers CORS preflights as serve.public.cors configures it", opts, async () => {
      const pre = await rawRequest(new URL("self-service/login?flow=x", publicUrl), {
        method: "OPTIONS",
        headers: {
          Origin: spa.origin,
          "Access-Control-Request-Method": "POST",
          "Access-Control-Request-Headers": "content-type,x-spa-probe",
        },
      });
      assert.ok(pre.status >= 200 && pre.status < 300, explain("allowed preflight", pre));
      assert.equal(pre.headers["access-control-allow-origin"], spa.origin, explain("allowed preflight", pre));
      assert.equal(pre.headers["access-control-allow-credentials"], "true", explain("allowed preflight", pre));
      const allowHeaders = (pre.headers["access-control-allow-headers"] || "").toLowerCase();
      for (const h of ["content-type", "x-spa-probe"]) {
        assert.ok(allowHeaders.includes(h), explain(`preflight allows ${h}`, pre.headers));
      }
      const allowMethods = (pre.headers["access-control-allow-methods"] || "").toUpperCase();
      assert.ok(allowMethods.includes("POST"), explain("preflight allows POST", pre.headers));

      const simple = await rawRequest(new URL("sessions/whoami", publicUrl), {
        headers: { Origin: spa.origin, Accept: "application/json" },
      });
      assert.equal(simple.status, 401, explain("whoami without a session", simple));
      assert.equal(simple.headers["access-control-allow-origin"], spa.origin, explain("simple request", simple.headers));
      assert.equal(simple.headers["access-control-allow-credentials"], "true", explain("simple request", simple.headers));
      const exposed = (simple.headers["access-control-expose-headers"] || "").toLowerCase();
      assert.ok(
        exposed.includes("x-kratos-authenticated-identity-id"),
        explain("exposed headers on a simple request", simple.headers),
      );
    });

    it("gives a non-allowed origin no Access-Control-Allow-Origin", opts, async () => {
      for (const origin of [otherSpa.origin, "http://evil.example"]) {
        const pre = await rawRequest(new URL("self-service/login?flow=x", publicUrl), {
          method: "OPTIONS",
          headers: {
            Origin: origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
          },
        });
        assert.equal(pre.headers["access-control-allow-origin"], undefined, explain(`preflight from ${origin}`, pre));
        const simple = await rawRequest(new URL("self-service/login/browser", publicUrl), {
          headers: { Origin: origin, Accept: "application/json" },
        });
        assert.equal(
          simple.headers["access-control-allow-origin"],
          undefined,
          explain(`simple request from ${origin}`, simple),
        );
      }
    });

    it("lets the SPA log in, read its session and log out in Chromium", opts, async () => {
      const page = await openSpa(spa.origin, "/");

      // No session yet: toSession is a 401 the SPA can read (CORS headers on errors too).
      const before = await page.evaluate(() => window.spa.whoami());
      assert.equal(before.status, 401, explain("toSession before login", before));

      // A wrong password: 400 + the flow with the invalid-credentials message (4000006).
      const wrong = await page.evaluate((id) => window.spa.loginWrongPassword(id), EMAIL);
      assert.equal(wrong.status, 400, explain("login with a wrong password", wrong));
      assert.ok(wrong.flowId, explain("login with a wrong password returns the flow", wrong));
      assert.ok(wrong.messageIds.includes(4000006), explain("login with a wrong password", wrong));

      // Login through the browser flow, cross-origin, with credentials.
      const login = await page.evaluate(([id, pw]) => window.spa.login(id, pw), [EMAIL, PASSWORD]);
      assert.equal(login.ok, true, explain("browser login", login));
      assert.equal(login.status, 200, explain("browser login", login));
      assert.equal(login.flowType, "browser", explain("browser login", login));
      assert.ok(login.csrfToken, explain("browser login flow has a csrf_token node", login));
      assert.equal(login.email, EMAIL, explain("browser login", login));
      assert.equal(login.hasSessionToken, false, explain("a browser login never returns a session token", login));

      // The browser stored the session cookie for the API's host: HttpOnly, SameSite=Lax.
      const cookies = await context.cookies(publicUrl);
      const sessionCookie = cookies.find((c) => c.name === "ory_kratos_session");
      assert.ok(sessionCookie, explain("session cookie in the browser", cookies));
      assert.equal(sessionCookie.httpOnly, true, explain("session cookie", sessionCookie));
      assert.equal(sessionCookie.sameSite, "Lax", explain("session cookie", sessionCookie));
      assert.ok(
        cookies.some((c) => /^csrf_token_[0-9a-f]{64}$/.test(c.name)),
        explain("CSRF cookie in the browser", cookies),
      );
      // HttpOnly: the page's own document.cookie never sees it (and it belongs to another origin).
      assert.equal(await page.evaluate(() => document.cookie.includes("ory_kratos_session")), false);

      // toSession() from the SPA.
      const me = await page.evaluate(() => window.spa.whoami());
      assert.equal(me.ok, true, explain("toSession after login", me));
      assert.equal(me.status, 200, explain("toSession after login", me));
      assert.equal(me.active, true, explain("toSession after login", me));
      assert.equal(me.email, EMAIL, explain("toSession after login", me));
      assert.equal(me.identityId, identity.id, explain("toSession after login", me));
      assert.equal(me.sessionId, login.sessionId, explain("toSession after login", me));
      // Exposed by exposed_headers, so JavaScript on the other origin can read it.
      assert.equal(me.identityIdHeader, identity.id, explain("exposed X-Kratos-Authenticated-Identity-Id", me));

      // allowed_headers: a listed request header passes the preflight, an unlisted one does not.
      const allowedHeader = await page.evaluate((h) => window.spa.fetchWithHeader(h), ALLOWED_PROBE_HEADER);
      assert.deepEqual(allowedHeader, { ok: true, status: 200 }, explain("fetch with an allowed header", allowedHeader));
      const unlistedHeader = await page.evaluate((h) => window.spa.fetchWithHeader(h), UNLISTED_PROBE_HEADER);
      assert.equal(unlistedHeader.ok, false, explain("fetch with an unlisted header must be blocked", unlistedHeader));

      // The same app on a non-allowed origin: the browser blocks the response (no ACAO), so the
      // SDK sees a network error, not the session.
      const stranger = await openSpa(otherSpa.origin, "/");
      const strangerMe = await stranger.evaluate(() => window.spa.whoami());
      assert.equal(strangerMe.ok, false, explain("toSession from a non-allowed origin", strangerMe));
      assert.equal(strangerMe.network, true, explain("toSession from a non-allowed origin", strangerMe));
      await stranger.close();

      // createBrowserLogoutFlow with return_to on the SPA.
      const returnTo = `${spa.origin}/logged-out`;
      const logout = await page.evaluate((rt) => window.spa.createLogout(rt), returnTo);
      assert.equal(logout.ok, true, explain("createBrowserLogoutFlow", logout));
      assert.match(logout.logoutToken, /^ory_lo_[A-Za-z0-9]{32}$/, explain("createBrowserLogoutFlow", logout));
      const logoutUrl = new URL(logout.logoutUrl);
      assert.equal(logoutUrl.origin + "/", publicUrl, explain("logout_url is on the public API", logout));
      assert.equal(logoutUrl.pathname, "/self-service/logout", explain("logout_url", logout));
      assert.equal(logoutUrl.searchParams.get("token"), logout.logoutToken, explain("logout_url", logout));
      assert.equal(logoutUrl.searchParams.get("return_to"), returnTo, explain("logout_url", logout));

      // A real top-level navigation to logout_url: the API clears the session and redirects back.
      const response = await page.goto(logout.logoutUrl);
      await page.waitForFunction(() => window.spaReady === true);
      assert.equal(page.url(), returnTo, explain("where the browser ended up", { url: page.url(), served: spa.served }));
      assert.equal(response.status(), 200);
      const redirectedFrom = response.request().redirectedFrom();
      assert.ok(redirectedFrom, "the logout navigation was a redirect");
      assert.equal(redirectedFrom.url(), logout.logoutUrl);
      const redirect = await redirectedFrom.response();
      assert.equal(redirect.status(), 303, explain("logout redirect status", await redirect.allHeaders()));
      assert.equal(await page.textContent("#where"), "/logged-out");

      // Logged out: the cookie is gone from the browser and toSession is 401 from the return_to page.
      const cookiesAfter = await context.cookies(publicUrl);
      assert.equal(
        cookiesAfter.find((c) => c.name === "ory_kratos_session"),
        undefined,
        explain("session cookie after logout", cookiesAfter),
      );
      const afterLogout = await page.evaluate(() => window.spa.whoami());
      assert.equal(afterLogout.ok, false, explain("toSession after logout", afterLogout));
      assert.equal(afterLogout.status, 401, explain("toSession after logout", afterLogout));

      // And the server revoked the session itself.
      const adminView = await json(new URL(`admin/sessions/${login.sessionId}`, adminUrl));
      assert.equal(adminView.status, 200, explain("admin get session", adminView));
      assert.equal(adminView.json.active, false, explain("session after logout (admin view)", adminView.json));

      // Blocked requests and 401s log console errors by design; uncaught exceptions would be bugs.
      assert.deepEqual(page.problems.filter((p) => p.startsWith("pageerror")), []);
      await page.close();
    });

    it("lets the SPA register a new identity through the browser registration flow", opts, async () => {
      await context.clearCookies(); // independent of how the login test ended
      const page = await openSpa(spa.origin, "/signup");
      const email = `new-${randomBytes(4).toString("hex")}@example.com`;
      const reg = await page.evaluate(
        ([e, pw]) => window.spa.register(e, pw),
        [email, "another quite long passphrase " + randomBytes(4).toString("hex")],
      );
      assert.equal(reg.ok, true, explain("browser registration", reg));
      assert.equal(reg.status, 200, explain("browser registration", reg));
      assert.equal(reg.flowType, "browser", explain("browser registration", reg));
      assert.equal(reg.email, email, explain("browser registration", reg));
      assert.equal(reg.hasSessionToken, false, explain("a browser registration never returns a session token", reg));

      const found = await json(new URL(`admin/identities?credentials_identifier=${encodeURIComponent(email)}`, adminUrl));
      assert.equal(found.status, 200, explain("admin lookup of the new identity", found));
      assert.deepEqual(
        found.json.map((i) => i.id),
        [reg.identityId],
        explain("admin lookup of the new identity", found.json),
      );
      assert.deepEqual(page.problems.filter((p) => p.startsWith("pageerror")), []);
      await page.close();
    });
  });
}
