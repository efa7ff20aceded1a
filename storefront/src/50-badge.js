// "+N бонусов" on product cards: one batched /preview call per page.

var BADGE_CSS = ":host{display:inline-block}.k{padding:2px 8px;border:0;border-radius:999px;background:#1f6f43;color:#fff;font-size:13px;font-weight:600}";

function price(text) {
  var n = parseFloat(String(text || "").replace(/[^\d.,]/g, "").replace(",", "."));
  return n > 0 ? Math.round(n * 100) : 0;
}

function badgeTargets() {
  var found = [];
  document.querySelectorAll("[data-kopilka=badge][data-product]").forEach(function (el) {
    found.push({ product: el.getAttribute("data-product"), price: price(el.getAttribute("data-price")), host: el, inline: true });
  });
  document.querySelectorAll(".t-store__card[data-product-uid], .js-product[data-product-lid]").forEach(function (card) {
    if (card.querySelector("[data-kopilka=badge]") || card.querySelector("[data-kopilka-badge]")) return;
    var product = card.getAttribute("data-product-uid") || card.getAttribute("data-product-lid");
    var priceNode = card.querySelector(".js-product-price, .t-store__card__price-value, [data-product-price-def]");
    var value = card.getAttribute("data-product-price-def") || (priceNode && (priceNode.getAttribute("data-product-price-def") || priceNode.textContent));
    found.push({ product: product, price: price(value), host: card, inline: false });
  });
  return found.filter(function (t) { return t.product && String(t.product).length <= 64; });
}

function startBadges() {
  var targets = badgeTargets();
  if (!targets.length) return;
  var ids = {};
  var products = [];
  targets.forEach(function (t) {
    if (ids[t.product] || products.length >= 500) return;
    ids[t.product] = 1;
    products.push({ id: t.product, product: t.product, price: t.price, quantity: 1 });
  });
  postLines("cart_quote", "/preview", { products: products }).then(function (r) {
    if (!r.ok || !r.data || !r.data.products) return;
    var points = {};
    r.data.products.forEach(function (p) { points[p.id] = p; });
    targets.forEach(safe(function (t) {
      var p = points[t.product];
      if (!p || !p.points) return;
      var host = t.host;
      if (!t.inline) {
        // over the card's corner: the card's layout does not move
        host = document.createElement("span");
        host.setAttribute("data-kopilka-badge", "");
        host.style.cssText = "position:absolute;top:8px;left:8px;z-index:2;pointer-events:none";
        if (getComputedStyle(t.host).position === "static") t.host.style.position = "relative";
        t.host.appendChild(host);
      }
      var box = shadow(host, BADGE_CSS);
      box.textContent = "+" + bonuses(p.points);
      box.setAttribute("title", p.up_to > p.points ? "До +" + bonuses(p.up_to) + " на высшем уровне" : "Бонусы за покупку");
    }));
  });
}
