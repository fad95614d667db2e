// Replace each chart's static SVG with the interactive Vega-Lite view, from the spec file beside the page.
(function () {
  "use strict";
  const options = {
    renderer: "svg",
    // Only the export menu: the editor and source links would lead off the site.
    actions: { export: true, source: false, compiled: false, editor: false },
  };

  async function embed(view) {
    const response = await fetch(view.dataset.spec);
    if (!response.ok) {
      throw new Error("could not load " + view.dataset.spec + ": " + response.status);
    }
    const spec = await response.json();
    const target = document.createElement("div");
    target.className = "atlas-chart-live";
    view.appendChild(target);
    await window.vegaEmbed(target, spec, options);
    // vega-embed's export menu opens from a summary holding only an icon; give it a name screen readers can say.
    const menu = target.querySelector("details > summary");
    if (menu) {
      menu.setAttribute("aria-label", "Export this chart as an image");
    }
    view.classList.add("atlas-chart-ready");
  }

  function start() {
    if (typeof window.vegaEmbed !== "function") {
      return; // the static SVG stays
    }
    document.querySelectorAll(".atlas-chart-view[data-spec]").forEach(function (view) {
      embed(view).catch(function (error) {
        view.classList.add("atlas-chart-failed");
        console.warn("Chart left as a static image:", error);
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
