// The partner dashboard: link and code, counts, rewards, payouts (no referee's personal data).

var PAYOUT_METHODS = { card: "На банковскую карту", phone: "На счёт телефона", sbp: "По СБП", bonus_account: "На бонусный счёт" };
var PAYOUT_STATUS = { requested: "на рассмотрении", approved: "одобрена", rejected: "отклонена", paid: "выплачена", canceled: "отменена" };

function copyButton(label, text, notice) {
  return h("button", { type: "button", text: label, onclick: function () {
    var done = function () { notice.textContent = "Скопировано."; };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, function () { notice.textContent = text; });
    else notice.textContent = text;
  } });
}

function payoutForm(reload) {
  var amount = h("input", { type: "number", name: "amount", min: "1", step: "1", inputmode: "numeric", required: true });
  var method = h("select", { name: "method" }, Object.keys(PAYOUT_METHODS).map(function (k) { return h("option", { value: k, text: PAYOUT_METHODS[k] }); }));
  var details = h("input", { type: "text", name: "details", autocomplete: "off", placeholder: "Номер карты, телефон или банк и телефон для СБП" });
  var notice = h("p", { class: "notice", role: "status", "aria-live": "polite" });
  var requestId = randomId("p");
  return h("form", { "aria-label": "Заявка на выплату", onsubmit: function (e) {
    e.preventDefault();
    var body = { request_id: requestId, amount: parseInt(amount.value, 10) || 0, method: method.value, details: method.value === "bonus_account" ? "" : details.value.trim() };
    request("account", "/payouts", { body: body, auth: true }).then(function (r) {
      if (!r.ok) return (notice.textContent = problem(r));
      requestId = randomId("p");
      notice.textContent = "Заявка принята: " + bonuses(r.data.amount) + ", " + PAYOUT_STATUS[r.data.status] + ".";
      reload();
    });
  } }, h("h3", { text: "Вывести вознаграждение" }), field("Сумма, бонусов", amount), field("Способ", method), field("Куда перевести", details), h("button", { type: "submit", text: "Отправить заявку" }), notice);
}

var REWARD_STATE = { pending: "ждёт окончания срока", payable: "можно вывести", held: "в заявке на выплату", paid: "выплачено", spent: "потрачено", clawed_back: "отменено из-за возврата", expired: "сгорело" };

function rewardState(r) {
  var text = REWARD_STATE[r.state] || r.state;
  return r.state === "pending" && r.pending_until ? text + " (до " + date(r.pending_until) + ")" : text;
}

function mountPartner(host) {
  if (!host.id) host.id = "kopilka-partner"; // the messages' link to the dashboard ends with #kopilka-partner
  var box = shadow(host, "", "Партнёрская программа");
  function render() {
    clear(box);
    if (!session()) return loginForm(box);
    Promise.all([request("account", "/partner", { auth: true }), request("account", "/payouts?limit=20", { auth: true })]).then(function (r) {
      clear(box);
      if (!session()) return loginForm(box);
      if (!r[0].ok) return append(box, h("p", { class: "notice", role: "alert", text: problem(r[0]) }));
      var p = r[0].data;
      if (p.bonuses_excluded) return append(box, h("p", { text: "Партнёрская программа недоступна для вашей группы покупателей." }));
      var notice = h("p", { class: "notice", role: "status", "aria-live": "polite" });
      var share = p.link && navigator.share ? h("button", { type: "button", text: "Поделиться", onclick: function () { navigator.share({ url: p.link, text: "Мой промокод: " + p.code }).catch(function () {}); } }) : null;
      var payouts = r[1].ok && r[1].data.items ? r[1].data.items : [];
      append(box, [
        h("h2", { text: "Партнёрская программа" }),
        p.link ? h("p", {}, "Ваша ссылка: ", h("a", { href: p.link, "data-k": "link", text: p.link })) : null,
        h("p", {}, "Ваш промокод: ", h("strong", { "data-k": "code", text: p.code })),
        h("div", {}, p.link ? copyButton("Скопировать ссылку", p.link, notice) : null, " ", copyButton("Скопировать промокод", p.code, notice), " ", share),
        notice,
        h("dl", { "aria-label": "Приглашённые" },
          h("dt", { text: "Приглашено" }), h("dd", { "data-k": "invited", text: num(p.invited) }),
          h("dt", { text: "Зарегистрировались" }), h("dd", { "data-k": "registered", text: num(p.registered) }),
          h("dt", { text: "Сделали покупку" }), h("dd", { "data-k": "paying", text: num(p.paying) }),
          h("dt", { text: "Ваш процент" }), h("dd", { "data-k": "rate", text: p.rate.percent + " %" })),
        p.rate.next_percent ? h("p", { class: "muted", text: "С " + p.rate.next_from_paying + " покупателей — " + p.rate.next_percent + " %." }) : null,
        h("h3", { text: "Вознаграждения" }),
        h("dl", { "aria-label": "Вознаграждения" },
          h("dt", { text: "Ожидают окончания срока" }), h("dd", { "data-k": "reward_pending", text: bonuses(p.reward_pending) }),
          h("dt", { text: "Можно вывести" }), h("dd", { "data-k": "payable", text: bonuses(p.payable) }),
          h("dt", { text: "В заявках на выплату" }), h("dd", { text: bonuses(p.payouts_held) }),
          h("dt", { text: "Начислено за 12 месяцев" }), h("dd", { "data-k": "reward", text: bonuses(p.totals.reward) })),
        (p.rewards || []).length ? table("Начисленные вознаграждения", ["Дата", "Сумма", "Состояние"], p.rewards.map(function (w) {
          return h("tr", { "data-k": "reward-row" }, h("td", { text: date(w.credited_at) }), h("td", { class: "n", text: bonuses(w.amount) }), h("td", { text: rewardState(w) }));
        })) : null,
        payoutForm(render),
        payouts.length ? table("Заявки на выплату", ["Дата", "Сумма", "Куда", "Статус"], payouts.map(function (o) {
          return h("tr", {}, h("td", { text: date(o.created_at) }), h("td", { class: "n", text: bonuses(o.amount) }), h("td", { text: (PAYOUT_METHODS[o.method] || o.method) + " " + o.details }), h("td", { text: PAYOUT_STATUS[o.status] || o.status }));
        })) : h("p", { class: "muted", text: "Заявок на выплату пока нет." })
      ]);
    });
  }
  on("session", render);
  render();
}
