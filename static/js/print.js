/* The printable journal's Print button: shown only when this script runs (without it, the page says to
   use the browser's Print command). No inline script: the Content-Security-Policy forbids it. */
(function () {
  "use strict";
  function start() {
    var buttons = document.querySelectorAll("button[data-print]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
      buttons[i].addEventListener("click", function () { window.print(); });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
