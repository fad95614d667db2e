// Pagefind's search box on the search page; a ?q= parameter fills it in.
(function () {
  "use strict";
  function start() {
    if (typeof window.PagefindUI !== "function") {
      return;
    }
    const ui = new window.PagefindUI({
      element: "#atlas-search",
      showSubResults: true,
      showImages: false,
      resetStyles: false,
      autofocus: true,
      // Record pages are long and their sources short: do not let page length decide the ranking.
      ranking: { pageLength: 0.1, termFrequency: 0.6 },
      translations: { placeholder: "Search studies, regimens, agents, trials, authors" },
    });
    const query = new URLSearchParams(window.location.search).get("q");
    if (query) {
      ui.triggerSearch(query);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
