// The console's own script: small progressive enhancements. Every page works without it.
(function () {
  "use strict";
  // htmx posts carry the session's CSRF token (hx-headers on <body>); forms carry it as a field.
  document.addEventListener("DOMContentLoaded", function () {
    var all = document.querySelectorAll("[data-select-all]");
    all.forEach(function (box) {
      box.addEventListener("change", function () {
        document.querySelectorAll("input[name=ids]").forEach(function (b) { b.checked = box.checked; });
      });
    });
  });
})();
