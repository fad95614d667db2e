// "Cite this page": the access date is the reader's, so the browser fills it in (templates/_cite.j2).
(function () {
  "use strict";
  const today = new Date().toISOString().slice(0, 10);
  document.querySelectorAll(".atlas-access-date").forEach(function (el) {
    el.textContent = today;
  });
})();
