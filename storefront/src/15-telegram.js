// «Войти через Telegram»: Telegram's OpenID Connect login (authorization code + PKCE S256).
// The button sends the visitor to Telegram with a fresh state, nonce and code challenge (the
// verifier stays in sessionStorage); back on this page with ?code=&state=, sms_otp exchanges the
// code and the session is saved as the SMS login saves it.

var TG_KEY = "kopilka.telegram";
var tgNotice = "";

function b64url(bytes) {
  return btoa(String.fromCharCode.apply(null, new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomToken() {
  return b64url(crypto.getRandomValues(new Uint8Array(32)));
}

// a message of the Telegram login for every login form of the page
function tgSay(text) {
  tgNotice = text || "";
  emit("telegram", tgNotice);
}

function telegramButton() {
  var button = h("button", { type: "button", text: "Войти через Telegram", onclick: function () { telegramStart(button); } });
  return h("p", {}, button);
}

function telegramStart(button) {
  if (!window.crypto || !crypto.subtle || !window.sessionStorage || !window.TextEncoder) return tgSay("Этот браузер не поддерживает вход через Telegram. Войдите по номеру телефона.");
  button.disabled = true;
  tgSay("Переходим в Telegram…");
  var login = { state: randomToken(), nonce: randomToken(), verifier: randomToken(), redirect: location.origin + location.pathname };
  crypto.subtle.digest("SHA-256", new TextEncoder().encode(login.verifier)).then(safe(function (digest) {
    sessionStorage.setItem(TG_KEY, JSON.stringify(login));
    var query = new URLSearchParams({
      client_id: TELEGRAM.client, redirect_uri: login.redirect, response_type: "code", scope: "openid profile",
      state: login.state, nonce: login.nonce, code_challenge: b64url(digest), code_challenge_method: "S256"
    });
    location.assign(TELEGRAM.auth + (TELEGRAM.auth.indexOf("?") < 0 ? "?" : "&") + query);
  }), safe(function () {
    button.disabled = false;
    tgSay("Не получилось начать вход через Telegram, попробуйте ещё раз.");
  }));
}

// Back from Telegram: the page's ?code=&state= (or ?error=) answer the login this tab started.
function telegramReturn() {
  if (!TELEGRAM.client) return;
  var params = new URLSearchParams(location.search);
  var code = params.get("code");
  var state = params.get("state");
  var error = params.get("error");
  var saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(TG_KEY) || "null");
  } catch (e) {
    saved = null;
  }
  if (!saved || state === null || !(code || error)) return;
  sessionStorage.removeItem(TG_KEY);
  ["code", "state", "error", "error_description"].forEach(function (key) { params.delete(key); });
  var rest = params.toString();
  history.replaceState(history.state, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
  if (state !== saved.state) return tgSay("Вход через Telegram не подтверждён: ответ не относится к этому входу. Попробуйте ещё раз.");
  if (error) return tgSay(error === "access_denied" ? "Вход через Telegram отменён." : "Telegram не подтвердил вход. Попробуйте ещё раз или войдите по номеру телефона.");
  tgSay("Входим через Telegram…");
  request("sms_otp", "/telegram/oidc", { body: { code: code, code_verifier: saved.verifier, redirect_uri: saved.redirect, nonce: saved.nonce } }).then(function (r) {
    if (!r.ok || !r.data || !r.data.session) return tgSay(problem(r));
    tgSay("");
    store(REF_KEY, null);
    saveSession(r.data.session);
  });
}
