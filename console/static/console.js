// The console's little JavaScript. Every page works without it; with it, a button that
// asks for confirmation (data-confirm) asks, and a running job's page continues by itself.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter || form.querySelector("[data-confirm]");
    var question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  // A form marked data-autocontinue (a mass accrual still running) is submitted again after a pause.
  window.addEventListener("load", function () {
    var form = document.querySelector("form[data-autocontinue]");
    if (form) {
      window.setTimeout(function () { form.requestSubmit(); }, 400);
    }
  });
})();
