/* A stand-in for Tilda's cart (block T706) on the demo shop page: the runtime object
   window.tcart, the functions community scripts call, the cart window's DOM and the
   order form's submit to Tilda's forms server. window.TILDA_BUILD = "current" has
   t_input_promocode__addPromocode and tcart__calcPromocode (and Tilda's own promo field);
   "legacy" (a 2022 build) has neither. */
(function () {
  "use strict";
  var build = window.TILDA_BUILD || "current";
  var saved = null;
  try { saved = JSON.parse(localStorage.getItem("tcart") || "null"); } catch (e) { saved = null; }
  window.tcart = saved && Array.isArray(saved.products) ? saved : { products: [], amount: 0, prodamount: 0, total: 0, currency: "RUB" };

  function money(n) { return Math.round(n * 100) / 100; }
  function text(n) { return new Intl.NumberFormat("ru-RU").format(n) + " р."; }

  window.tcart__updateTotalProductsinCartObj = function () {
    var c = window.tcart, count = 0, sum = 0;
    c.products.forEach(function (p) { p.amount = money(p.price * p.quantity); count += p.quantity; sum += p.amount; });
    c.total = count;
    c.prodamount = money(sum);
    var discount = 0;
    if (c.promocode) {
      if (c.promocode.discountsum) discount = Number(c.promocode.discountsum);
      else if (c.promocode.discountpercent) discount = money(sum * Number(c.promocode.discountpercent) / 100);
    }
    discount = Math.min(discount, sum);
    c.prodamount_discountsum = discount;
    c.prodamount_withdiscount = money(sum - discount);
    c.amount = c.prodamount_withdiscount;
  };

  window.tcart__saveLocalObj = function () { localStorage.setItem("tcart", JSON.stringify(window.tcart)); };

  window.tcart__reDrawTotal = function () {
    var c = window.tcart;
    document.querySelector(".t706__cartwin-prodamount").textContent = text(c.amount);
    document.querySelector(".t706__cartwin-discount").textContent = c.prodamount_discountsum ? "Скидка: " + text(c.prodamount_discountsum) + " (" + (c.promocode.promocode || c.promocode.code) + ")" : "";
    document.querySelector(".t706__carticon-counter").textContent = c.total;
  };

  window.tcart__reDrawProducts = function () {
    var list = document.querySelector(".t706__product-list");
    list.textContent = "";
    window.tcart.products.forEach(function (p, i) {
      var row = document.createElement("div");
      row.className = "t706__product";
      row.setAttribute("data-cart-product-i", i);
      var name = document.createElement("div"); name.className = "t706__product-title"; name.textContent = p.name;
      var minus = document.createElement("button"); minus.type = "button"; minus.className = "t706__product-minus"; minus.textContent = "−"; minus.setAttribute("aria-label", "Уменьшить количество: " + p.name);
      var qty = document.createElement("span"); qty.className = "t706__product-quantity"; qty.textContent = p.quantity;
      var plus = document.createElement("button"); plus.type = "button"; plus.className = "t706__product-plus"; plus.textContent = "+"; plus.setAttribute("aria-label", "Увеличить количество: " + p.name);
      var amount = document.createElement("div"); amount.className = "t706__product-amount"; amount.textContent = text(p.amount);
      minus.onclick = function () { change(i, -1); };
      plus.onclick = function () { change(i, 1); };
      row.append(name, minus, qty, plus, amount);
      list.appendChild(row);
    });
  };

  // the cart window opens when a product is added (a common T706 setting) and by the cart icon
  function showCart(open) {
    document.querySelector(".t706__cartwin").classList.toggle("t706__cartwin_showed", open);
  }

  function change(i, delta) {
    var p = window.tcart.products[i];
    p.quantity += delta;
    if (p.quantity <= 0) window.tcart.products.splice(i, 1);
    refresh();
  }

  function refresh() {
    if (window.tcart__calcPromocode) window.tcart__calcPromocode();
    window.tcart__updateTotalProductsinCartObj();
    window.tcart__reDrawProducts();
    window.tcart__reDrawTotal();
    window.tcart__saveLocalObj();
  }

  window.tcart__addProduct = function (product) {
    var c = window.tcart;
    var same = c.products.filter(function (p) { return p.uid === product.uid; })[0];
    if (same) same.quantity += product.quantity || 1;
    else c.products.push({ uid: product.uid, lid: product.uid, recid: "512345678", name: product.name, price: Number(product.price), sku: product.sku, quantity: product.quantity || 1, img: "", ts: Date.now() });
    refresh();
    showCart(true);
  };

  if (build === "current") {
    // tilda-promocode-1.0: present only where the cart form has a promo-code field
    window.tcart__calcPromocode = function () { window.tcart__updateTotalProductsinCartObj(); };
    window.t_input_promocode__addPromocode = function (promo) {
      if (window.tcart.promocode) { console.log("Promocode already activated before"); return; }
      window.tcart.promocode = { promocode: promo.promocode, discountsum: promo.discountsum, discountpercent: promo.discountpercent, message: "OK" };
      window.tcart__calcPromocode();
      window.tcart__reDrawTotal();
    };
  }

  // the order form: what the browser posts to Tilda's forms server
  function submit(event) {
    event.preventDefault();
    var form = event.target, c = window.tcart, status = document.querySelector(".t706__form-status");
    var body = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (el) { if (el.name) body.append(el.name, el.value); });
    body.append("tildaspec-projectid", document.getElementById("allrecords").getAttribute("data-tilda-project-id"));
    body.append("tildaspec-formid", form.id);
    var payment = {
      currency: "RUB", amount: c.amount, system: "yakassa", prodamount: c.prodamount, timezoneoffset: new Date().getTimezoneOffset(),
      products: c.products.map(function (p) { return { name: p.name, price: p.price, quantity: p.quantity, amount: p.amount, sku: p.sku, externalid: p.uid, ts: p.ts }; })
    };
    if (c.promocode) {
      payment.promocode = c.promocode.promocode || c.promocode.code;
      payment.discount = c.prodamount_discountsum;
      payment.prodamount_withdiscount = c.prodamount_withdiscount;
    }
    body.append("tildapayment", JSON.stringify(payment));
    status.textContent = "Отправляем заказ…";
    fetch(document.body.getAttribute("data-forms-url"), { method: "POST", body: body }).then(function (r) { return r.json(); }).then(function (answer) {
      status.textContent = answer.message || "Спасибо! Заказ оформлен и оплачен.";
      window.tcart.products = [];
      delete window.tcart.promocode;
      refresh();
    }, function () { status.textContent = "Не удалось отправить заказ."; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".js-store-prod-btn").forEach(function (button) {
      button.addEventListener("click", function () {
        var card = button.closest(".t-store__card");
        window.tcart__addProduct({ uid: card.getAttribute("data-product-uid"), name: card.querySelector(".js-product-name").textContent, price: card.querySelector(".js-product-price").getAttribute("data-product-price-def"), sku: card.getAttribute("data-product-sku"), quantity: 1 });
      });
    });
    document.querySelector(".t706__orderform form").addEventListener("submit", submit);
    document.querySelector(".t706__carticon").addEventListener("click", function () { showCart(!document.querySelector(".t706__cartwin_showed")); });
    document.querySelector(".t706__close").addEventListener("click", function () { showCart(false); });
    if (build !== "current") {
      var wrapper = document.querySelector(".t-inputpromocode__wrapper");
      if (wrapper) wrapper.parentNode.removeChild(wrapper);
    }
    refresh();
  });
})();
