/*
 * Ostiary — /.well-known/ory/webauthn.js
 *
 * Runs the WebAuthn and passkey ceremonies of self-service forms. A form holds a trigger button
 * (whose value, or a hidden input, carries the options the server made), a hidden input for the
 * result, and this script. Each function asks the browser's authenticator, writes the result as
 * JSON into the hidden input and submits the form. The global names are those Ory's UIs call.
 */
(function () {
  "use strict";
  if (typeof window === "undefined") return;
  if (!window.PublicKeyCredential) {
    console.log("This browser does not support WebAuthn!");
    return;
  }
  if (window.__oryWebAuthnInitialized) return;

  function toBytes(text) {
    var s = String(text).replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function toText(buffer) {
    if (!buffer) return "";
    var bytes = new Uint8Array(buffer);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function byName(name) {
    return document.querySelector('*[name="' + name + '"]');
  }

  function readOptions(given, trigger) {
    if (given) return typeof given === "string" ? JSON.parse(given) : given;
    return JSON.parse(trigger.value);
  }

  function prepareCreate(options) {
    var pk = options.publicKey;
    pk.challenge = toBytes(pk.challenge);
    pk.user.id = toBytes(pk.user.id);
    if (pk.excludeCredentials) {
      pk.excludeCredentials = pk.excludeCredentials.map(function (c) {
        return Object.assign({}, c, { id: toBytes(c.id) });
      });
    }
    return options;
  }

  function prepareGet(options) {
    var pk = options.publicKey;
    pk.challenge = toBytes(pk.challenge);
    if (pk.user && pk.user.id) pk.user.id = toBytes(pk.user.id);
    if (pk.allowCredentials) {
      pk.allowCredentials = pk.allowCredentials.map(function (c) {
        return Object.assign({}, c, { id: toBytes(c.id) });
      });
    }
    return options;
  }

  function attestationJson(credential) {
    return JSON.stringify({
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        attestationObject: toText(credential.response.attestationObject),
        clientDataJSON: toText(credential.response.clientDataJSON),
      },
    });
  }

  function assertionJson(credential) {
    return JSON.stringify({
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: toText(credential.response.authenticatorData),
        clientDataJSON: toText(credential.response.clientDataJSON),
        signature: toText(credential.response.signature),
        userHandle: toText(credential.response.userHandle),
      },
    });
  }

  function submitWith(input, value) {
    input.value = value;
    var form = input.closest("form");
    if (form) form.submit();
  }

  function stopConditional() {
    if (window.abortPasskeyConditionalUI) {
      try {
        window.abortPasskeyConditionalUI.abort("another ceremony started");
      } catch (e) {}
      window.abortPasskeyConditionalUI = undefined;
    }
  }

  function oryWebAuthnLogin(options, resultSelector, triggerSelector) {
    var result = document.querySelector(resultSelector || '*[name="webauthn_login"]');
    var trigger = document.querySelector(triggerSelector || '*[name="webauthn_login_trigger"]');
    var opts = prepareGet(readOptions(options, trigger));
    return navigator.credentials.get(opts).then(
      function (credential) {
        result.value = assertionJson(credential);
        var form = trigger.closest("form") || result.closest("form");
        form.submit();
      },
      function (err) {
        alert(err);
      }
    );
  }

  function oryWebAuthnRegistration(options, resultSelector, triggerSelector) {
    var result = document.querySelector(resultSelector || '*[name="webauthn_register"]');
    var trigger = document.querySelector(triggerSelector || '*[name="webauthn_register_trigger"]');
    var opts = prepareCreate(readOptions(options, trigger));
    return navigator.credentials.create(opts).then(
      function (credential) {
        result.value = attestationJson(credential);
        var form = trigger.closest("form") || result.closest("form");
        form.submit();
      },
      function (err) {
        alert(err);
      }
    );
  }

  async function oryPasskeyLoginAutocompleteInit() {
    var challenge = byName("passkey_challenge");
    var result = byName("passkey_login");
    var identifier = byName("identifier");
    if (!challenge || !result || !identifier) {
      console.error("passkey login: the form lacks passkey_challenge, passkey_login or identifier");
      return;
    }
    if (!PublicKeyCredential.isConditionalMediationAvailable || window.Cypress) return;
    if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
    var options = JSON.parse(challenge.value);
    options.publicKey.challenge = toBytes(options.publicKey.challenge);
    if (options.publicKey.user && options.publicKey.user.id) {
      options.publicKey.user.id = toBytes(options.publicKey.user.id);
    }
    stopConditional();
    var controller = new AbortController();
    window.abortPasskeyConditionalUI = controller;
    try {
      var credential = await navigator.credentials.get({
        publicKey: options.publicKey,
        mediation: "conditional",
        signal: controller.signal,
      });
      submitWith(result, assertionJson(credential));
    } catch (err) {
      console.log(err);
    }
  }

  async function oryPasskeyLogin() {
    var challenge = byName("passkey_challenge");
    var result = byName("passkey_login");
    if (!challenge || !result) {
      console.error("passkey login: the form lacks passkey_challenge or passkey_login");
      return;
    }
    var options = prepareGet(JSON.parse(challenge.value));
    stopConditional();
    try {
      var credential = await navigator.credentials.get({ publicKey: options.publicKey });
      submitWith(result, assertionJson(credential));
    } catch (err) {
      if (err && err.name === "SecurityError") {
        console.error("passkey login: check that the page's origin is one of the configured rp.origins", err);
      } else {
        console.error(err);
      }
      oryPasskeyLoginAutocompleteInit();
    }
  }

  async function oryPasskeyRegistration() {
    var data = byName("passkey_create_data");
    var result = byName("passkey_register");
    if (!data || !result) {
      console.error("passkey registration: the form lacks passkey_create_data or passkey_register");
      return;
    }
    var parsed = JSON.parse(data.value);
    var options = parsed.credentialOptions;
    var form = result.closest("form");
    var nameInput = form && parsed.displayNameFieldName
      ? form.querySelector('*[name="' + parsed.displayNameFieldName + '"]')
      : null;
    if (nameInput && nameInput.value) {
      options.publicKey.user.name = nameInput.value;
      options.publicKey.user.displayName = nameInput.value;
    }
    prepareCreate(options);
    try {
      var credential = await navigator.credentials.create(options);
      submitWith(result, attestationJson(credential));
    } catch (err) {
      console.error(err);
    }
  }

  async function oryPasskeySettingsRegistration() {
    var data = byName("passkey_create_data");
    var result = byName("passkey_settings_register");
    if (!data || !result) {
      console.error("passkey settings: the form lacks passkey_create_data or passkey_settings_register");
      return;
    }
    var options = prepareCreate(JSON.parse(data.value));
    try {
      var credential = await navigator.credentials.create(options);
      submitWith(result, attestationJson(credential));
    } catch (err) {
      console.error(err);
    }
  }

  var api = {
    oryWebAuthnLogin: oryWebAuthnLogin,
    oryWebAuthnRegistration: oryWebAuthnRegistration,
    oryPasskeyLogin: oryPasskeyLogin,
    oryPasskeyLoginAutocompleteInit: oryPasskeyLoginAutocompleteInit,
    oryPasskeyRegistration: oryPasskeyRegistration,
    oryPasskeySettingsRegistration: oryPasskeySettingsRegistration,
  };
  Object.keys(api).forEach(function (name) {
    window[name] = api[name];
    window["__" + name] = api[name];
  });
  window.__oryWebAuthnInitialized = true;
  window.dispatchEvent(new CustomEvent("oryWebAuthnInitialized"));
})();
