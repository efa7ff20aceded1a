// Mount every widget of the page.

function mountAll() {
  keepReferral();
  safe(telegramReturn)();
  var byKind = { cart: [], login: [], account: [], partner: [] };
  document.querySelectorAll("[data-kopilka]").forEach(function (el) {
    var kind = el.getAttribute("data-kopilka");
    if (byKind[kind] && !el.hasAttribute("data-kopilka-mounted")) {
      el.setAttribute("data-kopilka-mounted", "");
      byKind[kind].push(el);
    }
  });
  byKind.login.forEach(safe(mountLogin));
  byKind.account.forEach(safe(mountAccount));
  byKind.partner.forEach(safe(mountPartner));
  safe(startCart)(byKind.cart);
  if (document.readyState === "complete") setTimeout(safe(startBadges), 300);
  else window.addEventListener("load", function () { setTimeout(safe(startBadges), 300); });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", safe(mountAll));
else safe(mountAll)();
