// The cart widget: reads window.tcart, asks /quote, and applies the customer's bonuses and
// promo code to Tilda's cart as ONE discount placed by /checkout/tilda.

var CART_NONCE_KEY = "kopilka.cart";
var PLACED_KEY = "kopilka.placed";
var PROMO_NAME = "KOPILKA";
var compat = { noProduct: false };
var cart = { lines: [], key: "", quote: null, releasing: null, chosen: 0, promo: "", applied: null, reapply: false, down: false, busy: false, dirty: false, applying: false, message: "", views: [] };
var debounceTimer = null;
var RETRY_MS = 15000;

function tildaLines() {
  var tc = window.tcart;
  var products = tc && Array.isArray(tc.products) ? tc.products : [];
  var seen = {};
  var lines = [];
  products.forEach(function (p) {
    if (!p || typeof p !== "object" || p.deleted === "yes") return;
    var product = String(p.uid || p.lid || p.sku || p.externalid || "").slice(0, 128);
    var base = String(product || p.name || "line").replace(/[^A-Za-z0-9_.:-]/g, "").slice(0, 56) || "line";
    var id = base;
    for (var n = 2; seen[id]; n++) id = base + "~" + n;
    seen[id] = 1;
    var price = Math.round(parseFloat(String(p.price).replace(",", ".").replace(/\s/g, "")) * 100);
    var quantity = parseInt(p.quantity, 10);
    lines.push({ id: id, product: product || null, sku: String(p.sku || "").slice(0, 128), name: String(p.name || "").slice(0, 300), price: price >= 0 ? price : 0, quantity: quantity > 0 ? quantity : 1 });
  });
  return lines;
}

// the lines as the functions take them (the server reprices them from its catalog)
function wire(lines) {
  return lines.map(function (l) {
    var line = { id: l.id, sku: l.sku, name: l.name, price: l.price, quantity: l.quantity };
    if (l.product && !compat.noProduct) line.product = l.product;
    return line;
  });
}

// POST with the cart's lines; a server that does not know `product` yet is asked again without it
function postLines(fn, path, body) {
  return request(fn, path, { body: body, auth: true }).then(function (r) {
    var key = body.lines ? "lines" : "products";
    if (r.status === 400 && !compat.noProduct && body[key] && JSON.stringify(r.error || {}).indexOf("product") >= 0) {
      compat.noProduct = true;
      var retry = Object.assign({}, body);
      retry[key] = body[key].map(function (l) { var c = Object.assign({}, l); delete c.product; return c; });
      return request(fn, path, { body: retry, auth: true });
    }
    return r;
  });
}

function cartNonce() {
  var nonce = store(CART_NONCE_KEY);
  if (!nonce) {
    nonce = randomId("");
    store(CART_NONCE_KEY, nonce);
  }
  return nonce;
}

// --- Tilda's cart: one discount, the order token in the form ---

function tildaCall(name) {
  var fn = window[name];
  if (typeof fn === "function") safe(fn)();
}

function redraw() {
  tildaCall("tcart__updateTotalProductsinCartObj");
  tildaCall("tcart__reDrawTotal");
  tildaCall("tcart__saveLocalObj");
}

function cartForm() {
  return document.querySelector(".t706__orderform form, .t706 form, form.t706__orderform") || document.querySelector(".t706__cartwin form");
}

function setToken(token) {
  var form = cartForm();
  var input = document.querySelector("input[name=kopilka_order]");
  if (!token) {
    if (input) input.parentNode.removeChild(input);
    return;
  }
  if (!form) return;
  if (!input || input.form !== form) {
    if (input) input.parentNode.removeChild(input);
    input = document.createElement("input");
    input.type = "hidden";
    input.name = "kopilka_order";
    form.appendChild(input);
  }
  input.value = token;
}

function setTildaDiscount(roubles) {
  var tc = window.tcart;
  if (!tc) return false;
  if (typeof window.t_input_promocode__addPromocode === "function") {
    if (tc.promocode) delete tc.promocode; // it ignores a second code
    safe(window.t_input_promocode__addPromocode)({ promocode: PROMO_NAME, discountsum: roubles });
    tildaCall("tcart__calcPromocode");
  }
  if (!tc.promocode || Number(tc.promocode.discountsum) !== roubles) tc.promocode = { promocode: PROMO_NAME, discountsum: roubles };
  redraw();
  return true;
}

// the order placed for the discount that left the cart gives its bonuses back before the cart is quoted again
function releasePlaced() {
  var placed = store(PLACED_KEY);
  if (!placed || !placed.ref || !session()) return;
  cart.releasing = request("checkout", "/checkout/tilda/release", { body: { order_id: placed.ref }, auth: true }).then(function () {
    cart.releasing = null;
  });
}

function removeDiscount() {
  if (cart.applied) releasePlaced();
  var tc = window.tcart;
  if (cart.applied && tc && tc.promocode && (tc.promocode.promocode || tc.promocode.code) === PROMO_NAME) {
    delete tc.promocode;
    redraw();
  }
  cart.applied = null;
  setToken(null);
}

function apply() {
  var q = cart.quote;
  if (!q || !session() || cart.applying) return;
  var spend = Math.max(0, Math.min(cart.chosen, q.max_bonuses));
  if (!spend && !q.promo_applied) {
    removeDiscount();
    update();
    return;
  }
  var body = { lines: wire(cart.lines), bonuses: spend, quote_fingerprint: q.cart_fingerprint };
  if (cart.promo && q.promo_applied) body.promo_code = cart.promo;
  // a new order id per application; the one placed before (answered or not) is replaced: its bonuses go back
  var seq = (store(PLACED_KEY) || {}).seq || 0;
  var previous = (store(PLACED_KEY) || {}).ref;
  body.order_id = "k" + cartNonce().slice(0, 12) + "-" + (seq + 1);
  if (previous) body.replaces = previous;
  store(PLACED_KEY, { ref: body.order_id, seq: seq + 1 });
  cart.applying = true;
  cart.message = "";
  update();
  var key = cart.key;
  postLines("checkout", "/checkout/tilda", body).then(function (r) {
    cart.applying = false;
    if (key !== cart.key) return; // the cart changed meanwhile: it is quoted again
    if (r.ok && r.data && r.data.order_token) {
      var roubles = r.data.discount_roubles !== undefined ? parseFloat(r.data.discount_roubles) : r.data.discount / 100;
      if (setTildaDiscount(roubles)) {
        setToken(r.data.order_token);
        cart.applied = { key: key, discount: r.data.discount, money: r.data.money_to_pay, order: r.data.order_id, expires: r.data.expires_at };
        cart.message = "Скидка " + rub(r.data.discount) + " применена к заказу.";
      }
    } else {
      if (r.status === 0 || r.status >= 500) cart.down = true;
      cart.message = r.status === 404 ? "Списать бонусы сейчас не получится. Заказ можно оформить без бонусов." : problem(r);
    }
    update();
  });
}

// --- quoting ---

function requote() {
  if (cart.busy) {
    cart.dirty = true;
    return;
  }
  if (cart.releasing) {
    cart.busy = true;
    cart.releasing.then(function () {
      cart.busy = false;
      requote();
    });
    return;
  }
  if (!cart.lines.length) {
    cart.quote = null;
    cart.message = "";
    cart.reapply = false; // an emptied cart (an order sent) starts over
    update();
    return;
  }
  cart.busy = true;
  cart.triedAt = Date.now();
  cart.dirty = false;
  var key = cart.key;
  var body = { lines: wire(cart.lines), bonuses: session() ? cart.chosen : 0 };
  if (cart.promo) body.promo_code = cart.promo;
  postLines("cart_quote", "/quote", body).then(function (r) {
    cart.busy = false;
    if (r.ok && r.data) {
      if (cart.problem) cart.message = "";
      cart.problem = false;
      cart.down = false;
      cart.quote = r.data;
      if (cart.chosen > r.data.max_bonuses) cart.chosen = r.data.max_bonuses;
    } else if (r.status === 401) {
      saveSession(null);
      cart.dirty = true;
    } else {
      cart.quote = null;
      cart.down = r.status === 0 || r.status >= 500;
      cart.message = problem(r);
      cart.problem = true;
    }
    if (cart.dirty || key !== cart.key) return requote();
    update();
    if (cart.reapply && cart.quote) {
      cart.reapply = false;
      apply();
    }
  });
}

function schedule() {
  clearTimeout(debounceTimer);
  debounceTimer = setTimeout(safe(requote), 300);
}

function check() {
  var lines = tildaLines();
  var key = JSON.stringify(lines);
  if (key === cart.key) {
    // the functions were down: ask again now and then
    if (cart.down && !cart.busy && Date.now() - (cart.triedAt || 0) > RETRY_MS) requote();
    return;
  }
  cart.lines = lines;
  cart.key = key;
  if (cart.applied) {
    removeDiscount();
    cart.reapply = true;
    cart.message = "Корзина изменилась: пересчитываем скидку.";
    update();
  }
  schedule();
}

// --- the view ---

var CART_CSS = ".sum{font-size:16px}.big{font-size:18px;font-weight:700}.controls[hidden],[hidden]{display:none!important}";

function cartView(host) {
  var box = shadow(host, CART_CSS, "Бонусы за заказ");
  host.setAttribute("data-kopilka-ready", "");
  var v = {};
  v.title = h("h2", { text: "Бонусы за заказ" });
  v.earn = h("p", { class: "sum" });
  v.balance = h("p");
  function toggleLogin() {
    v.login.hidden = !v.login.hidden;
    if (!v.login.hidden) loginForm(v.login, function () { v.login.hidden = true; });
  }
  v.loginLink = h("button", { type: "button", class: "link", text: "Войдите, чтобы списать бонусы", onclick: toggleLogin });
  v.login = h("div", { hidden: true });
  // a Telegram login on its way back (or refused): the cart's login form is open with its message
  function telegramNews(text) {
    if (text && !session() && v.login.hidden) toggleLogin();
  }
  on("telegram", telegramNews);
  v.number = h("input", { type: "number", min: "0", step: "1", value: "0", inputmode: "numeric", oninput: function () { choose(v.number.value); } });
  v.range = h("input", { type: "range", min: "0", step: "1", value: "0", "aria-label": "Сколько бонусов списать", oninput: function () { choose(v.range.value); } });
  v.applyButton = h("button", { type: "button", text: "Применить", onclick: apply });
  v.cancelButton = h("button", { type: "button", class: "link", text: "Отменить скидку", onclick: function () { cart.chosen = 0; removeDiscount(); cart.message = "Скидка отменена."; requote(); update(); } });
  v.controls = h("div", { class: "controls" }, field("Списать бонусов", v.number), v.range, h("div", {}, v.applyButton, " ", v.cancelButton));
  v.toPay = h("p", { class: "big" });
  v.promo = h("input", { type: "text", name: "promo", autocomplete: "off", maxlength: "64" });
  v.promoForm = h("form", { "aria-label": "Промокод", onsubmit: function (e) {
    e.preventDefault();
    cart.promo = v.promo.value.trim();
    requote();
  } }, field("Промокод", v.promo), h("button", { type: "submit", text: "Применить промокод" }));
  v.reasons = h("ul", { class: "muted", "aria-label": "Ограничения" });
  v.notice = h("p", { class: "notice", role: "status", "aria-live": "polite" });
  append(box, [v.title, v.earn, v.balance, h("p", {}, v.loginLink), v.login, v.controls, v.toPay, v.promoForm, v.reasons, v.notice]);
  telegramNews(tgNotice);
  cart.views.push(v);
  update();
}

function choose(value) {
  var q = cart.quote;
  var n = Math.max(0, Math.min(parseInt(value, 10) || 0, q ? q.max_bonuses : 0));
  cart.chosen = n;
  cart.views.forEach(function (v) {
    if (v.number.value !== String(n) && document.activeElement !== v.number) v.number.value = n;
    if (v.range.value !== String(n)) v.range.value = n;
  });
  schedule();
}

function reasonsOf(q) {
  var seen = {};
  var all = [];
  var list = (q.reasons || []).slice();
  (q.lines || []).forEach(function (l) { list = list.concat(l.reasons || []); });
  list.forEach(function (r) {
    if (r && r.message_ru && !seen[r.message_ru]) {
      seen[r.message_ru] = 1;
      all.push(r.message_ru);
    }
  });
  return all;
}

function update() {
  cart.views.forEach(safe(function (v) {
    var q = cart.quote;
    var logged = !!session();
    v.loginLink.hidden = logged || cart.down;
    if (logged) v.login.hidden = true;
    v.controls.hidden = !logged || !q || cart.down || q.bonuses_excluded;
    v.promoForm.hidden = cart.down || !cart.lines.length;
    v.toPay.hidden = !q || cart.down;
    clear(v.reasons);
    if (cart.down || !cart.lines.length) {
      v.earn.textContent = cart.lines.length ? "" : "Добавьте товары в корзину, чтобы увидеть бонусы за заказ.";
      v.balance.textContent = "";
      v.notice.textContent = cart.down ? "Бонусы временно недоступны. Заказ можно оформить без бонусов." : cart.message;
      return;
    }
    if (!q) {
      v.earn.textContent = "Считаем бонусы…";
      v.balance.textContent = "";
      v.notice.textContent = cart.message;
      return;
    }
    if (q.bonuses_excluded) v.earn.textContent = "Бонусы не начисляются для вашей группы покупателей.";
    else if (q.anonymous) v.earn.textContent = "За этот заказ вы получите " + bonuses(q.points_to_earn) + (q.potential_points > q.points_to_earn ? " (до " + bonuses(q.potential_points) + " на высшем уровне)" : "") + ".";
    else v.earn.textContent = "За этот заказ начислим " + bonuses(q.points_to_earn) + ". Уровень: " + q.level_name + ".";
    v.balance.textContent = logged && !q.anonymous && !q.bonuses_excluded ? "Ваш баланс: " + bonuses(q.available_bonuses) + ". Можно списать до " + bonuses(q.max_bonuses) + "." : "";
    var max = String(q.max_bonuses);
    v.number.max = max;
    v.range.max = max;
    v.range.setAttribute("aria-valuetext", bonuses(cart.chosen));
    if (document.activeElement !== v.number && v.number.value !== String(cart.chosen)) v.number.value = cart.chosen;
    if (v.range.value !== String(cart.chosen)) v.range.value = cart.chosen;
    v.applyButton.disabled = cart.applying || (!cart.chosen && !(q.promo_applied && cart.promo));
    v.cancelButton.hidden = !cart.applied;
    var discount = q.discount + q.bonuses_applied * 100;
    v.toPay.textContent = "К оплате: " + rub(q.money_to_pay) + (discount ? " (скидка " + rub(discount) + ")" : "");
    reasonsOf(q).forEach(function (text) { v.reasons.appendChild(h("li", { text: text })); });
    if (cart.promo && q.promo_applied) v.reasons.appendChild(h("li", { class: "ok", text: "Промокод " + cart.promo + " применён." }));
    v.notice.textContent = cart.message;
    v.notice.className = cart.applied && cart.message.indexOf("применена") >= 0 ? "notice ok" : "notice";
  }));
}

// the cart window of Tilda's T706 block gets its own widget, before the order form
function attachToTildaCart() {
  var win = document.querySelector(".t706__cartwin");
  if (!win) return;
  if (!win.querySelector("[data-kopilka-cartwin]")) {
    var host = document.createElement("div");
    host.setAttribute("data-kopilka-cartwin", "");
    var anchor = win.querySelector(".t706__orderform");
    if (anchor && anchor.parentNode) anchor.parentNode.insertBefore(host, anchor);
    else (win.querySelector(".t706__cartwin-content") || win).appendChild(host);
    cartView(host);
  }
  if (window.MutationObserver) new MutationObserver(safe(check)).observe(win, { childList: true, subtree: true, characterData: true });
}

function hideTildaPromo() {
  document.head.appendChild(h("style", { text: ".t-inputpromocode__wrapper{display:none!important}" }));
}

function startCart(hosts) {
  var tildaCart = document.querySelector(".t706__cartwin");
  if (!hosts.length && !tildaCart) return;
  hideTildaPromo();
  hosts.forEach(cartView);
  attachToTildaCart();
  on("session", function () {
    if (!session() && cart.applied) removeDiscount();
    requote();
    update();
  });
  // an order sent: the next cart is another order
  document.addEventListener("submit", safe(function (e) { if (e.target === cartForm()) store(CART_NONCE_KEY, null); }), true);
  check();
  setInterval(safe(check), 1000);
  window.addEventListener("storage", safe(function (e) { if (e.key === SESSION_KEY) { emit("session", session()); } }));
}
