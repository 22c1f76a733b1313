// The single-page app's code, bundled for the browser with esbuild (the @ory/client package ships
// CommonJS/ESM for bundlers, no browser build). The page defines `window.OSTIARY_PUBLIC_URL` before
// loading this module; the test drives the app through `window.spa` from `page.evaluate`.
import { Configuration, FrontendApi } from "@ory/client";

const publicUrl = window.OSTIARY_PUBLIC_URL;
const frontend = new FrontendApi(
  new Configuration({ basePath: publicUrl.replace(/\/$/, ""), baseOptions: { withCredentials: true } }),
);

// Axios errors carry non-cloneable objects: reduce them to what the test asserts on. A request the
// browser blocked (CORS) has no `response` at all.
function failure(err) {
  if (err && err.response) {
    return { ok: false, status: err.response.status, body: err.response.data };
  }
  return { ok: false, status: null, network: true, message: String(err && err.message) };
}

function csrfTokenOf(flow) {
  const node = flow.ui.nodes.find(
    (n) => n.attributes && n.attributes.node_type === "input" && n.attributes.name === "csrf_token",
  );
  return node ? node.attributes.value : undefined;
}

window.spa = {
  origin: window.location.origin,

  // createBrowserLoginFlow → updateLoginFlow with the flow's csrf_token node.
  async login(identifier, password) {
    let flow;
    try {
      ({ data: flow } = await frontend.createBrowserLoginFlow());
    } catch (err) {
      return { step: "createBrowserLoginFlow", ...failure(err) };
    }
    const csrf_token = csrfTokenOf(flow);
    try {
      const { status, data } = await frontend.updateLoginFlow({
        flow: flow.id,
        updateLoginFlowBody: { method: "password", identifier, password, csrf_token },
      });
      return {
        ok: true,
        status,
        flowId: flow.id,
        flowType: flow.type,
        csrfToken: csrf_token,
        sessionId: data.session && data.session.id,
        email: data.session && data.session.identity && data.session.identity.traits.email,
        hasSessionToken: "session_token" in data,
      };
    } catch (err) {
      return { step: "updateLoginFlow", flowId: flow.id, csrfToken: csrf_token, ...failure(err) };
    }
  },

  // A wrong password must come back as a 400 with the flow, readable cross-origin.
  async loginWrongPassword(identifier) {
    let flow;
    try {
      ({ data: flow } = await frontend.createBrowserLoginFlow());
    } catch (err) {
      return { step: "createBrowserLoginFlow", ...failure(err) };
    }
    try {
      await frontend.updateLoginFlow({
        flow: flow.id,
        updateLoginFlowBody: {
          method: "password",
          identifier,
          password: "definitely not the password",
          csrf_token: csrfTokenOf(flow),
        },
      });
      return { ok: true };
    } catch (err) {
      const f = failure(err);
      const messages = (f.body && f.body.ui && f.body.ui.messages) || [];
      return { ...f, body: undefined, flowId: f.body && f.body.id, messageIds: messages.map((m) => m.id) };
    }
  },

  // createBrowserRegistrationFlow → updateRegistrationFlow with the flow's csrf_token node.
  async register(email, password) {
    let flow;
    try {
      ({ data: flow } = await frontend.createBrowserRegistrationFlow());
    } catch (err) {
      return { step: "createBrowserRegistrationFlow", ...failure(err) };
    }
    try {
      const { status, data } = await frontend.updateRegistrationFlow({
        flow: flow.id,
        updateRegistrationFlowBody: {
          method: "password",
          traits: { email },
          password,
          csrf_token: csrfTokenOf(flow),
        },
      });
      return {
        ok: true,
        status,
        flowType: flow.type,
        identityId: data.identity && data.identity.id,
        email: data.identity && data.identity.traits.email,
        hasSessionToken: "session_token" in data,
      };
    } catch (err) {
      return { step: "updateRegistrationFlow", ...failure(err) };
    }
  },

  async whoami() {
    try {
      const { status, data, headers } = await frontend.toSession();
      return {
        ok: true,
        status,
        sessionId: data.id,
        active: data.active,
        email: data.identity && data.identity.traits.email,
        identityId: data.identity && data.identity.id,
        // Readable from JavaScript only if listed in serve.public.cors.exposed_headers.
        identityIdHeader: headers["x-kratos-authenticated-identity-id"] ?? null,
      };
    } catch (err) {
      return failure(err);
    }
  },

  async createLogout(returnTo) {
    try {
      const { status, data } = await frontend.createBrowserLogoutFlow({ returnTo });
      return { ok: true, status, logoutUrl: data.logout_url, logoutToken: data.logout_token };
    } catch (err) {
      return failure(err);
    }
  },

  // A credentialed cross-origin request carrying one extra request header: it needs a preflight,
  // which the browser only passes if the header is in serve.public.cors.allowed_headers.
  async fetchWithHeader(name) {
    try {
      const res = await fetch(new URL("sessions/whoami", publicUrl), {
        credentials: "include",
        headers: { Accept: "application/json", [name]: "1" },
      });
      return { ok: true, status: res.status };
    } catch (err) {
      return { ok: false, network: true, message: String(err) };
    }
  },
};

window.spaReady = true;
