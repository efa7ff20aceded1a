// Kopilka storefront kit: configuration, HTTP calls, the session, DOM helpers.
// Everything runs inside one function scope (scripts/kit.py wraps the files);
// nothing here may throw into the shop's page.

var SCRIPT = document.currentScript || document.querySelector("script[data-cart-quote],script[data-sms-otp]");
var DATA = (SCRIPT && SCRIPT.dataset) || {};
var URLS = {
  cart_quote: trimSlash(DATA.cartQuote),
  sms_otp: trimSlash(DATA.smsOtp),
  account: trimSlash(DATA.account),
  checkout: trimSlash(DATA.checkout)
};
// «Войти через Telegram»: the bot's id (the OpenID Connect client id) and Telegram's authorization page
var TELEGRAM = { client: DATA.telegramClientId || "", auth: DATA.telegramAuthUrl || "https://oauth.telegram.org/auth" };
var TIMEOUT_MS = parseInt(DATA.timeoutMs || "6000", 10) || 6000;
var SESSION_KEY = "kopilka.session";
var REF_KEY = "kopilka.ref";
var listeners = {};

function trimSlash(url) {
  return url ? String(url).replace(/\/+$/, "") : "";
}

function on(name, fn) {
  (listeners[name] = listeners[name] || []).push(fn);
}

function emit(name, value) {
  (listeners[name] || []).forEach(function (fn) {
    safe(fn)(value);
  });
}

// a function that logs instead of throwing into the page
function safe(fn) {
  return function () {
    try {
      return fn.apply(this, arguments);
    } catch (e) {
      if (window.console) console.warn("kopilka:", e);
    }
  };
}

function store(key, value) {
  try {
    if (value === undefined) return JSON.parse(localStorage.getItem(key) || "null");
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch (e) {
    return null;
  }
}

// --- the session: access + refresh token, rotated through /refresh on a 401 ---

function session() {
  return store(SESSION_KEY);
}

function saveSession(s) {
  store(SESSION_KEY, s ? { access: s.access_token, refresh: s.refresh_token, customer: s.customer_id } : null);
  emit("session", session());
}

var refreshing = null;

function refreshSession() {
  var s = session();
  if (!s || !s.refresh) return Promise.resolve(false);
  if (!refreshing) {
    refreshing = request("sms_otp", "/refresh", { body: { refresh_token: s.refresh } }).then(function (r) {
      refreshing = null;
      if (r.ok) saveSession(r.data);
      else if (r.status === 401 || r.status === 403) saveSession(null);
      return r.ok;
    });
  }
  return refreshing;
}

function logout() {
  var s = session();
  saveSession(null);
  if (s && s.refresh) request("sms_otp", "/logout", { body: { refresh_token: s.refresh } });
}

// One call to a function: resolves {ok, status, data, error}; never rejects.
// status 0: the function could not be reached in time.
function request(fn, path, opts) {
  opts = opts || {};
  var base = URLS[fn];
  if (!base || !window.fetch) return Promise.resolve({ ok: false, status: 0, data: null, error: null });
  var headers = { Accept: "application/json" };
  var s = session();
  if (opts.auth && s && s.access) headers.Authorization = "Bearer " + s.access;
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  var controller = window.AbortController ? new AbortController() : null;
  var timer = setTimeout(function () {
    if (controller) controller.abort();
  }, TIMEOUT_MS);
  return fetch(base + path, {
    method: opts.body !== undefined ? "POST" : "GET",
    headers: headers,
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
    signal: controller ? controller.signal : undefined,
    credentials: "omit",
    mode: "cors"
  })
    .then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try {
          data = text ? JSON.parse(text) : null;
        } catch (e) {
          data = null;
        }
        return { ok: response.ok, status: response.status, data: data, error: (data && data.error) || null };
      });
    })
    .catch(function () {
      return { ok: false, status: 0, data: null, error: null };
    })
    .then(function (result) {
      clearTimeout(timer);
      if (result.status === 401 && opts.auth && s && !opts.retried) {
        return refreshSession().then(function (renewed) {
          if (!renewed) return result;
          return request(fn, path, Object.assign({}, opts, { retried: true }));
        });
      }
      return result;
    });
}

// A Russian message for a failed call.
function problem(result) {
  if (result.error && result.error.message_ru) return result.error.message_ru;
  if (result.status === 0 || result.status >= 500) return "Бонусы временно недоступны, попробуйте позже. Заказ можно оформить без бонусов.";
  if (result.status === 401) return "Сессия истекла, войдите снова.";
  return "Не получилось выполнить запрос, попробуйте ещё раз.";
}

// --- DOM ---

function h(tag, attrs) {
  var el = document.createElement(tag);
  var key;
  for (key in attrs || {}) {
    var value = attrs[key];
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") el.textContent = value;
    else if (key.slice(0, 2) === "on") el.addEventListener(key.slice(2), safe(value));
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
  return el;
}

function append(el, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) child.forEach(function (c) { append(el, c); });
  else el.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
}

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

var BASE_CSS =
  ":host{all:initial;display:block;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#1d1d1f}" +
  "*{box-sizing:border-box}.k{padding:14px 16px;border:1px solid #d9d9de;border-radius:12px;background:#fff}" +
  "h2,h3{margin:0 0 8px;font-size:17px}h3{font-size:15px;margin-top:14px}p{margin:6px 0}" +
  "label{display:block;margin:8px 0 4px;font-weight:600}" +
  "input,select,button{font:inherit;color:inherit}input,select{width:100%;padding:8px 10px;border:1px solid #8e8e93;border-radius:8px;background:#fff}" +
  "input[type=checkbox]{width:auto;margin-right:6px}input[type=range]{padding:0}" +
  "button{cursor:pointer;padding:8px 14px;border:0;border-radius:8px;background:#1f6f43;color:#fff;font-weight:600;margin-top:8px}" +
  "button.link{background:none;color:#1f6f43;text-decoration:underline;padding:0;margin:0}button:disabled{opacity:.55;cursor:default}" +
  "button:focus-visible,input:focus-visible,select:focus-visible,a:focus-visible{outline:3px solid #0a58ca;outline-offset:2px}" +
  "a{color:#1f6f43}.row{display:flex;gap:8px;align-items:flex-end}.row>*{flex:1}.muted{color:#55555a;font-size:13px}" +
  ".notice{margin-top:8px;color:#8a3b00}.notice:empty{display:none}.ok{color:#1f6f43}" +
  "dl{display:grid;grid-template-columns:auto auto;gap:4px 12px;margin:6px 0}dt{color:#55555a}dd{margin:0;font-weight:600;text-align:right}" +
  "table{width:100%;border-collapse:collapse;font-size:14px}th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #ececf0}" +
  "td.n{text-align:right;white-space:nowrap}ul{margin:4px 0;padding-left:18px}";

// The widget's own shadow root on a host element: the shop's CSS stays outside.
function shadow(host, css, label) {
  var root = host.shadowRoot || host.attachShadow({ mode: "open" });
  clear(root);
  root.appendChild(h("style", { text: BASE_CSS + (css || "") }));
  var box = h("div", { class: "k", role: label ? "region" : null, "aria-label": label || null });
  root.appendChild(box);
  return box;
}

var uid = 0;
function nextId(prefix) {
  uid += 1;
  return "k-" + prefix + "-" + uid;
}

function field(labelText, input) {
  input.id = input.id || nextId("f");
  return [h("label", { for: input.id, text: labelText }), input];
}

// --- formatting (Russian) ---

function plural(n, forms) {
  var a = Math.abs(n) % 100;
  var b = a % 10;
  if (a > 10 && a < 20) return forms[2];
  if (b > 1 && b < 5) return forms[1];
  if (b === 1) return forms[0];
  return forms[2];
}

function num(n) {
  return new Intl.NumberFormat("ru-RU").format(n);
}

function bonuses(n) {
  return num(n) + " " + plural(n, ["бонус", "бонуса", "бонусов"]);
}

function rub(kopecks) {
  return new Intl.NumberFormat("ru-RU", { style: "currency", currency: "RUB", minimumFractionDigits: kopecks % 100 ? 2 : 0, maximumFractionDigits: 2 }).format(kopecks / 100);
}

function date(iso) {
  if (!iso) return "";
  var d = new Date(iso);
  return isNaN(d) ? "" : d.toLocaleDateString("ru-RU", { day: "numeric", month: "long", year: "numeric" });
}

function wait(seconds) {
  if (seconds >= 60) {
    var m = Math.ceil(seconds / 60);
    return m + " " + plural(m, ["минуту", "минуты", "минут"]);
  }
  return seconds + " " + plural(seconds, ["секунду", "секунды", "секунд"]);
}

function randomId(prefix) {
  var bytes = new Uint8Array(9);
  (window.crypto || {}).getRandomValues ? crypto.getRandomValues(bytes) : bytes.forEach(function (_, i) { bytes[i] = Math.random() * 256; });
  return prefix + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
}
