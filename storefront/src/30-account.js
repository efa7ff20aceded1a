// The personal account: balances, level, history, orders, profile and notification settings.

var ORDER_STATUS = {
  awaiting_payment: "ожидает оплаты", paid: "оплачен", delivered: "доставлен", partially_returned: "частично возвращён",
  returned: "возвращён", canceled: "отменён", not_delivered: "не доставлен"
};
var DELIVERY_STATE = { in_transit: "в пути", delivered: "доставлен", not_delivered: "не доставлен", returned: "возвращён" };
var CARRIERS = { cdek: "СДЭК", boxberry: "Boxberry", russianpost: "Почта России" };

function table(caption, heads, rows) {
  return h("table", {}, h("caption", { class: "muted", text: caption }),
    h("thead", {}, h("tr", {}, heads.map(function (t) { return h("th", { scope: "col", text: t }); }))),
    h("tbody", {}, rows));
}

function signed(n) {
  return (n > 0 ? "+" : n < 0 ? "−" : "") + num(Math.abs(n));
}

function shortOrder(id) {
  return String(id || "").replace(/^[^:]*:/, "");
}

function accountBalance(b, history) {
  if (b.bonuses_excluded) return [h("p", { text: "Уровень: " + b.level.name + ". Бонусы для вашей группы покупателей не начисляются." })];
  var unlocks = (history || []).filter(function (i) { return i.kind === "accrual" && i.activates_at && new Date(i.activates_at) > new Date(); });
  var out = [
    h("dl", { "aria-label": "Баланс" },
      h("dt", { text: "Всего" }), h("dd", { "data-k": "total", text: bonuses(b.total) }),
      h("dt", { text: "Доступно" }), h("dd", { "data-k": "available", text: bonuses(b.available) }),
      h("dt", { text: "Ожидают начисления" }), h("dd", { "data-k": "pending", text: bonuses(b.pending) }),
      b.reserved ? [h("dt", { text: "Зарезервировано" }), h("dd", { text: bonuses(b.reserved) })] : null),
    h("p", { "data-k": "level", text: "Уровень: " + b.level.name + (b.next_level ? ". До уровня «" + b.next_level.name + "» осталось " + rub(b.next_level.remaining_kopecks) + " покупок." : ". Это высший уровень.") })
  ];
  if (unlocks.length) out.push(h("ul", { "aria-label": "Когда станут доступны" }, unlocks.map(function (i) { return h("li", { text: bonuses(i.delta) + " станут доступны " + date(i.activates_at) }); })));
  if (b.expiring_soon && b.expiring_soon.amount) out.push(h("p", { class: "notice", text: bonuses(b.expiring_soon.amount) + " сгорят в ближайшие " + b.expiring_soon.days + " дней" + (b.expiring_soon.next_expiry_at ? ", первые — " + date(b.expiring_soon.next_expiry_at) : "") + "." }));
  return out;
}

function accountHistory(page) {
  if (!page || page.bonuses_excluded || !page.items) return null;
  if (!page.items.length) return h("p", { class: "muted", text: "Операций с бонусами пока нет." });
  return table("История бонусов", ["Дата", "Что произошло", "Бонусы"], page.items.map(function (i) {
    return h("tr", {}, h("td", { text: date(i.at) }), h("td", { text: i.reason + (i.expires_at && i.delta > 0 ? " (сгорят " + date(i.expires_at) + ")" : "") }), h("td", { class: "n", text: signed(i.delta) }));
  }));
}

function accountOrders(page) {
  if (!page || !page.items) return null;
  if (!page.items.length) return h("p", { class: "muted", text: "Заказов пока нет." });
  return table("Заказы", ["Заказ", "Статус", "Доставка", "Бонусы"], page.items.map(function (o) {
    var d = o.delivery || {};
    var delivery = d.carrier ? (CARRIERS[d.carrier] || d.carrier) + (d.tracking ? ", трек " + d.tracking : "") + (d.state ? ": " + (DELIVERY_STATE[d.state] || d.state) : "") : "—";
    var bonus = o.bonuses_spent === null || o.bonuses_spent === undefined ? "—" : "−" + num(o.bonuses_spent) + " / +" + num(o.points_earned || 0);
    return h("tr", {}, h("td", { text: shortOrder(o.order_id) + (o.money_kopecks ? ", " + rub(o.money_kopecks) : "") }), h("td", { text: ORDER_STATUS[o.status] || o.status }), h("td", { text: delivery }), h("td", { class: "n", text: bonus }));
  }));
}

function profileForm(profile) {
  var n = profile.notifications || {};
  var name = h("input", { type: "text", name: "name", autocomplete: "name", value: profile.name || "" });
  var email = h("input", { type: "email", name: "email", autocomplete: "email", value: profile.email || "" });
  var birthday = h("input", { type: "text", name: "birthday", placeholder: "ГГГГ-ММ-ДД", value: profile.birthday || "", "aria-describedby": "k-bday-hint" });
  var boxes = ["sms", "email", "telegram"].map(function (key) {
    return h("input", { type: "checkbox", name: key, checked: !!n[key] });
  });
  var notice = h("p", { class: "notice", role: "status", "aria-live": "polite" });
  var labels = { sms: "SMS", email: "Электронная почта", telegram: "Telegram" };
  return h("form", { "aria-label": "Профиль", onsubmit: function (e) {
    e.preventDefault();
    var body = { notifications: {} };
    if (name.value.trim() !== (profile.name || "")) body.name = name.value.trim();
    if (email.value.trim() !== (profile.email || "")) body.email = email.value.trim();
    if (birthday.value.trim() && birthday.value.trim() !== (profile.birthday || "")) body.birthday = birthday.value.trim();
    boxes.forEach(function (b) { body.notifications[b.name] = b.checked; });
    notice.textContent = "Сохраняем…";
    request("account", "/profile", { body: body, auth: true }).then(function (r) {
      if (r.ok) profile = r.data;
      notice.textContent = r.ok ? "Сохранено." : problem(r);
    });
  } },
    h("h3", { text: "Профиль" }),
    h("p", { class: "muted", text: "Телефон: " + (profile.phone || "—") }),
    field("Имя", name), field("Электронная почта", email), field("День рождения", birthday),
    h("p", { id: "k-bday-hint", class: "muted", text: "Дату рождения можно указать один раз." }),
    h("fieldset", {}, h("legend", { text: "Уведомления" }), boxes.map(function (b) { return h("label", {}, b, labels[b.name]); })),
    h("button", { type: "submit", text: "Сохранить" }), notice);
}

function stickerForm() {
  var code = h("input", { type: "text", name: "code", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", placeholder: "XXXX-XXXX-XXXX" });
  var notice = h("p", { class: "notice", role: "status", "aria-live": "polite" });
  return h("form", { "aria-label": "Код со стикера", onsubmit: function (e) {
    e.preventDefault();
    notice.textContent = "Проверяем код…";
    request("account", "/stickers/redeem", { body: { code: code.value.trim() }, auth: true }).then(function (r) {
      notice.textContent = r.ok ? r.data.message_ru : problem(r);
      if (r.ok) code.value = "";
    });
  } }, h("h3", { text: "Введите код со стикера" }), field("Код со стикера", code), h("button", { type: "submit", text: "Активировать код" }), notice);
}

function mountAccount(host) {
  var box = shadow(host, "fieldset{border:1px solid #d9d9de;border-radius:8px;margin:8px 0}fieldset label{font-weight:400;display:inline-block;margin-right:14px}", "Личный кабинет");
  function render() {
    clear(box);
    if (!session()) return loginForm(box);
    box.appendChild(h("p", { class: "muted", text: "Загружаем личный кабинет…" }));
    Promise.all([
      request("account", "/balance", { auth: true }),
      request("account", "/history?limit=20", { auth: true }),
      request("account", "/orders?limit=20", { auth: true }),
      request("account", "/profile", { auth: true })
    ]).then(function (r) {
      clear(box);
      if (!session()) return loginForm(box);
      if (!r[0].ok) return append(box, h("p", { class: "notice", role: "alert", text: problem(r[0]) }));
      var history = r[1].ok ? r[1].data : null;
      append(box, [
        h("h2", { text: "Мои бонусы" }),
        accountBalance(r[0].data, history && history.items),
        h("h3", { text: "История" }), accountHistory(history),
        h("h3", { text: "Заказы" }), accountOrders(r[2].ok ? r[2].data : null),
        stickerForm(),
        r[3].ok ? profileForm(r[3].data) : null,
        h("button", { type: "button", class: "link", text: "Выйти", onclick: logout })
      ]);
    });
  }
  on("session", render);
  render();
}
