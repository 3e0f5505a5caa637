/* The portal's page script. Pages work without it: it only adds the idle
   warning a minute before the server signs the session out, and "Copy"
   buttons beside read-only text. No inline script anywhere (the
   Content-Security-Policy forbids it). */
(function () {
  "use strict";

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function startIdleWarning() {
    var body = document.body;
    var timeout = parseInt(body.dataset.idleTimeout || "0", 10);
    if (!timeout) return;
    var warnBefore = parseInt(body.dataset.idleWarning || "60", 10);
    var dialog = document.getElementById("session-warning");
    var stay = document.getElementById("session-stay");
    var warnTimer = null;
    var expireTimer = null;

    function schedule() {
      clearTimeout(warnTimer);
      clearTimeout(expireTimer);
      if (dialog) dialog.hidden = true;
      warnTimer = setTimeout(function () {
        if (!dialog) return;
        dialog.hidden = false;
        if (stay) stay.focus();
      }, Math.max(0, timeout - warnBefore) * 1000);
      // Just past the server's limit: the next request finds the session
      // expired, and the sign-in page says why.
      expireTimer = setTimeout(function () {
        window.location.assign(body.dataset.expiredUrl || "/");
      }, (timeout + 1) * 1000);
    }

    if (stay && dialog) {
      stay.form.addEventListener("submit", function (event) {
        event.preventDefault();
        fetch(body.dataset.keepaliveUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
        }).then(function (response) {
          if (response.ok) { schedule(); } else { window.location.assign(body.dataset.expiredUrl || "/"); }
        });
      });
    }
    // Any htmx request also counts as activity on the server.
    document.addEventListener("htmx:afterRequest", schedule);
    schedule();
  }

  // A button with data-copy-target copies that field's text (hidden without script or a clipboard).
  function startCopyButtons() {
    if (!navigator.clipboard) return;
    document.querySelectorAll("button[data-copy-target]").forEach(function (button) {
      var field = document.getElementById(button.dataset.copyTarget);
      if (!field) return;
      var label = button.textContent;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(field.value).then(function () {
          button.textContent = button.dataset.copied || label;
          setTimeout(function () { button.textContent = label; }, 2000);
        });
      });
    });
  }

  function start() {
    startIdleWarning();
    startCopyButtons();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
