// Browser end-to-end test of passkeys and security keys: headless Chromium with a virtual
// authenticator (DevTools `WebAuthn.addVirtualAuthenticator`) runs Ostiary's forms, rendered from the
// flows' UI nodes by a minimal page served under the same origin as Ostiary (a proxy, as Ory's UIs
// are deployed), with Ostiary's own /.well-known/ory/webauthn.js doing the ceremonies. Once on
// SQLite and once on PostgreSQL:
//   sign up with a password, add a passkey in settings, log out, log in with the passkey alone,
//   add a security key as a second factor, log out, log in with the passkey, and step up to aal2
//   with the security key (same session cookie before and after).
//
// Run through tests/browser/run.sh (installs Chromium and the npm packages, builds the server).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, existsSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";

import { chromium } from "playwright-core";

import { BIN, CHROMIUM, backends, freePort, json, run, startServer } from "./harness.mjs";

const EMAIL = "passkey-user@example.com";
const PASSWORD = "correct horse battery staple 42";
const SECRET = "webauthn-test-cookie-secret-" + randomBytes(8).toString("hex");

const SCHEMA = {
  $id: "https://example.com/passkey.schema.json",
  $schema: "http://json-schema.org/draft-07/schema#",
  title: "Person",
  type: "object",
  properties: {
    traits: {
      type: "object",
      properties: {
        email: {
          type: "string",
          format: "email",
          title: "E-Mail",
          "ory.sh/kratos": {
            credentials: {
              password: { identifier: true },
              webauthn: { identifier: true },
              passkey: { display_name: true },
            },
          },
        },
      },
      required: ["email"],
      additionalProperties: false,
    },
  },
};

const esc = (s) =>
  String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

/** A flow's UI nodes as one HTML form (what any Kratos UI does), without per-method code. */
function renderFlow(kind, flow) {
  const ui = flow.ui;
  let h = `<!doctype html><html><head><meta charset="utf-8"><title>${kind}</title></head><body>`;
  h += `<ul id="messages">${(ui.messages || []).map((m) => `<li data-id="${m.id}">${esc(m.text)}</li>`).join("")}</ul>`;
  h += `<form id="flow" action="${esc(ui.action)}" method="${esc(ui.method)}">`;
  for (const n of ui.nodes) {
    const a = n.attributes;
    const label = n.meta?.label?.text ?? "";
    if (n.type === "script") {
      h += `<script src="${esc(a.src)}" integrity="${esc(a.integrity)}" crossorigin="${esc(a.crossorigin)}" referrerpolicy="${esc(a.referrerpolicy)}" type="${esc(a.type)}" id="${esc(a.id)}" nonce="${esc(a.nonce)}" async></script>`;
    } else if (n.type === "input" && a.type === "submit") {
      h += `<button type="submit" name="${esc(a.name)}" value="${esc(a.value)}"${a.disabled ? " disabled" : ""}>${esc(label)}</button>`;
    } else if (n.type === "input" && a.type === "button") {
      h += `<button type="button" name="${esc(a.name)}" value="${esc(a.value)}" data-trigger="${esc(a.onclickTrigger)}">${esc(label)}</button>`;
    } else if (n.type === "input") {
      h += `<label>${esc(label)} <input name="${esc(a.name)}" type="${esc(a.type)}" value="${esc(a.value)}"${a.autocomplete ? ` autocomplete="${esc(a.autocomplete)}"` : ""}></label>`;
    } else if (n.type === "text") {
      h += `<p id="${esc(a.id)}">${esc(a.text?.text)}</p>`;
    }
    for (const m of n.messages || []) {
      h += `<span class="node-message" data-for="${esc(a.name || a.id)}" data-id="${m.id}">${esc(m.text)}</span>`;
    }
  }
  h += `</form><script>
document.querySelectorAll("button[data-trigger]").forEach((b) =>
  b.addEventListener("click", () => window[b.dataset.trigger]()));
</script></body></html>`;
  return h;
}

/**
 * The application's origin: /ui/<kind>?flow=… renders a flow (read from Ostiary with the browser's
 * cookies), /ui/home is where a login lands, everything else is passed to Ostiary's public port.
 */
async function startUi(getUpstream) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://localhost");
    const upstream = new URL(getUpstream());
    const ui = url.pathname.match(/^\/ui\/(login|registration|settings|recovery|verification|error|home)$/);
    if (ui) {
      const kind = ui[1];
      const id = url.searchParams.get("flow") || url.searchParams.get("id");
      if (kind === "home" || !id) {
        res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
        res.end(`<!doctype html><html><head><meta charset="utf-8"><title>home</title></head><body><h1 id="home">home</h1></body></html>`);
        return;
      }
      const path = kind === "error" ? `/self-service/errors?id=${encodeURIComponent(id)}` : `/self-service/${kind}/flows?id=${encodeURIComponent(id)}`;
      const got = await json(new URL(path, upstream), { headers: { Cookie: req.headers.cookie || "" } });
      if (got.status !== 200 || kind === "error") {
        res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
        res.end(`<!doctype html><html><body><pre id="error">${esc(got.status + " " + got.body)}</pre></body></html>`);
        return;
      }
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
      res.end(renderFlow(kind, got.json));
      return;
    }
    const proxied = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode, up.headers);
        up.pipe(res);
      },
    );
    proxied.on("error", (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(proxied);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    origin: `http://localhost:${server.address().port}`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}

for (const backend of backends) {
  describe(`passkeys and security keys in Chromium against Ostiary on ${backend.name}`, () => {
    const opts = { skip: backend.skip };
    let dir, db, server, app, context, page, cdp, authenticatorId, adminUrl, identityId;
    const problems = [];
    const cleanups = [];

    before(async () => {
      if (backend.skip) return;
      assert.ok(existsSync(BIN), `server binary missing at ${BIN}: run cargo build first`);
      assert.ok(existsSync(CHROMIUM), `Chromium missing at ${CHROMIUM}`);
      dir = mkdtempSync(path.join(os.tmpdir(), "ostiary-webauthn-"));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const schemaPath = path.join(dir, "passkey.schema.json");
      writeFileSync(schemaPath, JSON.stringify(SCHEMA));

      let publicUrl;
      app = await startUi(() => publicUrl);
      cleanups.push(() => app.close());
      db = await backend.setup(dir);
      cleanups.push(() => db.teardown());

      const publicPort = await freePort();
      let adminPort = await freePort();
      while (adminPort === publicPort) adminPort = await freePort();
      publicUrl = `http://127.0.0.1:${publicPort}/`;
      adminUrl = `http://127.0.0.1:${adminPort}/`;
      await run(BIN, ["migrate", "sql", db.dsn, "--yes"], { cwd: dir });
      const rp = { id: "localhost", display_name: "Ostiary test", origins: [app.origin] };
      const uiUrl = (k) => `${app.origin}/ui/${k}`;
      server = await startServer(dir, {
        dsn: db.dsn,
        serve: {
          public: { host: "127.0.0.1", port: publicPort, base_url: `${app.origin}/` },
          admin: { host: "127.0.0.1", port: adminPort, base_url: `http://127.0.0.1:${adminPort}/` },
        },
        identity: { default_schema_id: "passkey", schemas: [{ id: "passkey", url: `file://${schemaPath}` }] },
        selfservice: {
          default_browser_return_url: uiUrl("home"),
          allowed_return_urls: [app.origin],
          methods: {
            password: { enabled: true },
            passkey: { enabled: true, config: { rp } },
            webauthn: { enabled: true, config: { passwordless: false, rp } },
          },
          flows: {
            error: { ui_url: uiUrl("error") },
            login: { ui_url: uiUrl("login") },
            registration: { ui_url: uiUrl("registration"), after: { password: { hooks: [{ hook: "session" }] } } },
            settings: { ui_url: uiUrl("settings"), privileged_session_max_age: "1h" },
            recovery: { ui_url: uiUrl("recovery") },
            verification: { ui_url: uiUrl("verification") },
          },
        },
        session: { whoami: { required_aal: "highest_available" } },
        secrets: { cookie: [SECRET] },
        hashers: { algorithm: "bcrypt", bcrypt: { cost: 4 } },
      });
      cleanups.push(() => server.stop());

      const userDataDir = mkdtempSync(path.join(os.tmpdir(), "ostiary-chromium-"));
      cleanups.push(() => rmSync(userDataDir, { recursive: true, force: true }));
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
        ],
      });
      cleanups.push(() => context.close());
      page = await context.newPage();
      page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
      page.on("console", (m) => ["error", "log"].includes(m.type()) && problems.push(`console: ${m.text()}`));
      page.on("dialog", (d) => {
        problems.push(`alert: ${d.message()}`);
        d.dismiss().catch(() => {});
      });
      cdp = await context.newCDPSession(page);
      await cdp.send("WebAuthn.enable", { enableUI: false });
      ({ authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
        options: {
          protocol: "ctap2",
          transport: "internal",
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
          automaticPresenceSimulation: true,
        },
      }));
    });

    after(async () => {
      for (const c of cleanups.reverse()) {
        try {
          await c();
        } catch (err) {
          console.error(`cleanup failed: ${err && err.stack}`);
        }
      }
    });

    const why = () =>
      `\nbrowser: ${problems.join("\n")}\npage: ${pageText}\nserver: ${server?.logs.join("").slice(-3000)}`;
    let pageText = "";

    async function whoami() {
      return page.evaluate(() =>
        fetch("/sessions/whoami", { headers: { Accept: "application/json" } }).then(async (r) => ({
          status: r.status,
          body: await r.json(),
        })),
      );
    }

    async function open(pathname, uiKind) {
      await page.goto(app.origin + pathname);
      await page.waitForURL(new RegExp(`/ui/${uiKind}\\?flow=`));
    }

    /** Click a trigger of webauthn.js once it has loaded, then wait for `done` on the next page. */
    async function ceremony(trigger, done) {
      await page.waitForFunction(() => window.__oryWebAuthnInitialized === true, null, { timeout: 10_000 });
      await page.click(`button[name="${trigger}"]`);
      await page.waitForSelector(done, { timeout: 15_000 }).catch(async (e) => {
        pageText = (await page.textContent("body").catch(() => "")).slice(0, 2000);
        throw new Error(`${e.message} after ${trigger} at ${page.url()}${why()}`);
      });
    }

    async function logout() {
      const flow = await page.evaluate(() =>
        fetch("/self-service/logout/browser", { headers: { Accept: "application/json" } }).then((r) => r.json()),
      );
      await page.goto(flow.logout_url);
      assert.equal((await whoami()).status, 401);
    }

    /** The identity's active sessions, newest first (admin API). */
    async function activeSessions() {
      const got = await json(new URL(`admin/identities/${identityId}/sessions?active=true`, adminUrl));
      assert.equal(got.status, 200, got.body);
      return got.json.sort((a, b) => b.authenticated_at.localeCompare(a.authenticated_at));
    }

    it("serves webauthn.js with the integrity its script node names", opts, async () => {
      await open("/self-service/registration/browser", "registration");
      const script = await page.$eval("script#webauthn_script", (s) => ({ src: s.src, integrity: s.integrity }));
      assert.equal(script.src, `${app.origin}/.well-known/ory/webauthn.js`);
      assert.match(script.integrity, /^sha512-/);
      // The browser ran it: a wrong hash would have been refused.
      await page.waitForFunction(() => typeof window.oryPasskeyRegistration === "function", null, { timeout: 10_000 });
    });

    it("registers with a password, adds a passkey in settings, and logs in with the passkey alone", opts, async () => {
      await open("/self-service/registration/browser", "registration");
      await page.fill('input[name="traits.email"]', EMAIL);
      await page.fill('input[name="password"]', PASSWORD);
      await page.click('button[name="method"][value="password"]');
      await page.waitForSelector("#home");
      assert.equal((await whoami()).status, 200, why());

      await open("/self-service/settings/browser", "settings");
      await ceremony("passkey_register_trigger", 'button[name="passkey_remove"]');
      const [cred] = (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
      assert.equal(cred.isResidentCredential, true);
      assert.equal(cred.rpId, "localhost");

      await logout();
      await open("/self-service/login/browser", "login");
      await ceremony("passkey_login_trigger", "#home");
      const me = await whoami();
      assert.equal(me.status, 200, why());
      assert.equal(me.body.identity.traits.email, EMAIL);
      identityId = me.body.identity.id;
      assert.equal(me.body.authenticator_assurance_level, "aal1");
      assert.deepEqual(
        me.body.authentication_methods.map((m) => m.method),
        ["passkey"],
      );
    });

    it("adds a security key as a second factor and steps the passkey session up to aal2 with it", opts, async () => {
      await open("/self-service/settings/browser", "settings");
      await page.fill('input[name="webauthn_register_displayname"]', "my key");
      await ceremony("webauthn_register_trigger", 'button[name="webauthn_remove"]');
      const remove = await page.textContent('button[name="webauthn_remove"]');
      assert.equal(remove, 'Remove security key "my key"');

      await logout();
      await open("/self-service/login/browser", "login");
      // The identity now has a second factor: the passkey login goes on to an aal2 login flow
      // (whoami, highest_available, refuses the session until then).
      await ceremony("passkey_login_trigger", 'button[name="webauthn_login_trigger"]');
      const before = await whoami();
      assert.equal(before.status, 403, why());
      assert.equal(before.body.error.id, "session_aal2_required");
      const [current] = await activeSessions();
      assert.equal(current.authenticator_assurance_level, "aal1");

      await ceremony("webauthn_login_trigger", "#home");
      const me = await whoami();
      assert.equal(me.status, 200, why());
      assert.equal(me.body.authenticator_assurance_level, "aal2");
      assert.deepEqual(
        me.body.authentication_methods.map((m) => m.method),
        ["passkey", "webauthn"],
      );
      assert.equal(me.body.id, current.id, "the same session, stepped up in place");
    });

    it("refuses a security key the authenticator no longer has (a wrong key)", opts, async () => {
      await logout();
      await open("/self-service/login/browser", "login");
      await ceremony("passkey_login_trigger", 'button[name="webauthn_login_trigger"]');
      // A fresh authenticator holds none of the account's keys: the browser refuses to sign.
      await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId });
      ({ authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
        options: { protocol: "ctap2", transport: "usb", hasResidentKey: false, hasUserVerification: false, automaticPresenceSimulation: true },
      }));
      problems.length = 0;
      await page.waitForFunction(() => window.__oryWebAuthnInitialized === true);
      await page.click('button[name="webauthn_login_trigger"]');
      for (let i = 0; i < 100 && !problems.some((p) => p.startsWith("alert:")); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(problems.some((p) => p.startsWith("alert:")), `expected the ceremony to fail in the browser${why()}`);
      assert.equal((await whoami()).status, 403);
    });
  });
}
