// Login by SMS code (and «Войти через Telegram» when configured); ?ref=CODE is kept until the login.

var REF_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

function keepReferral() {
  try {
    var ref = new URLSearchParams(location.search).get("ref");
    if (ref && REF_PATTERN.test(ref)) store(REF_KEY, ref);
  } catch (e) {
    return;
  }
}

// Renders the phone → code steps into `box`; `done` runs after a successful login.
function loginForm(box, done) {
  var phone = "";
  var timer = null;
  var notice = h("p", { class: "notice", role: "status", "aria-live": "polite" });

  function say(text) {
    notice.textContent = text || "";
  }

  function countdown(button, seconds) {
    clearInterval(timer);
    var left = seconds;
    var hint = box.querySelector(".resend");
    function tick() {
      if (!box.isConnected) return clearInterval(timer);
      if (left <= 0) {
        clearInterval(timer);
        button.disabled = false;
        if (hint) hint.textContent = "";
        return;
      }
      button.disabled = true;
      if (hint) hint.textContent = "Повторная отправка кода возможна через " + wait(left);
      left -= 1;
    }
    tick();
    timer = setInterval(safe(tick), 1000);
  }

  function askCode(button) {
    var body = { phone: phone };
    var ref = store(REF_KEY);
    if (ref) body.invited_by = ref;
    button.disabled = true;
    say("Отправляем код…");
    return request("sms_otp", "/request", { body: body }).then(function (r) {
      button.disabled = false;
      if (r.ok) {
        codeStep(r.data.resend_after || 0);
        say("Код отправлен на " + phone + ".");
      } else if (r.status === 429 && r.error && r.error.details && r.error.details.retry_after) {
        if (box.querySelector(".resend")) countdown(button, r.error.details.retry_after);
        say(problem(r));
      } else {
        say(problem(r));
      }
    });
  }

  function phoneStep() {
    clear(box);
    var input = h("input", { type: "tel", name: "phone", autocomplete: "tel", inputmode: "tel", required: true, placeholder: "+7 900 000-00-00" });
    var button = h("button", { type: "submit", text: "Получить код" });
    var form = h("form", { "aria-label": "Вход по номеру телефона", onsubmit: function (e) {
      e.preventDefault();
      phone = input.value.trim();
      if (!phone) return say("Введите номер телефона.");
      askCode(button);
    } }, field("Телефон", input), button);
    append(box, [h("h2", { text: "Вход в программу лояльности" }), form]);
    if (TELEGRAM.client) append(box, telegramButton());
    append(box, notice);
    say(tgNotice);
  }

  function codeStep(resendAfter) {
    clear(box);
    var input = h("input", { type: "text", name: "code", autocomplete: "one-time-code", inputmode: "numeric", pattern: "[0-9]{6}", maxlength: "6", required: true });
    var resend = h("button", { type: "button", class: "link", text: "Отправить код ещё раз", onclick: function () { askCode(resend); } });
    var form = h("form", { "aria-label": "Код из SMS", onsubmit: function (e) {
      e.preventDefault();
      var code = input.value.replace(/\D/g, "");
      if (code.length !== 6) return say("Код — шесть цифр из SMS.");
      request("sms_otp", "/verify", { body: { phone: phone, code: code } }).then(function (r) {
        if (!r.ok) return say(problem(r));
        clearInterval(timer);
        store(REF_KEY, null);
        saveSession(r.data);
        if (done) done(r.data);
      });
    } }, field("Код из SMS", input), h("button", { type: "submit", text: "Войти" }));
    append(box, [
      h("h2", { text: "Введите код" }),
      form,
      h("p", {}, resend),
      h("p", { class: "muted resend", "aria-live": "polite" }),
      h("p", {}, h("button", { type: "button", class: "link", text: "Изменить номер", onclick: phoneStep })),
      notice
    ]);
    if (resendAfter) countdown(resend, resendAfter);
    input.focus();
  }

  on("telegram", function (text) {
    if (notice.isConnected) say(text);
  });
  phoneStep();
  return { say: say };
}

function mountLogin(host) {
  var box = shadow(host, "", "Вход в программу лояльности");
  function render() {
    clear(box);
    if (session()) {
      append(box, [
        h("p", { text: "Вы вошли в программу лояльности." }),
        h("button", { type: "button", text: "Выйти", onclick: logout })
      ]);
    } else {
      loginForm(box);
    }
  }
  on("session", render);
  render();
}
