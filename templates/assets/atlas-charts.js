// Charts: each shows its static SVG (on a narrow screen, the one drawn for narrow screens). On a screen wide enough,
// the interactive Vega-Lite view replaces it once the chart comes near the viewport. The Vega bundle (about 300 KB
// compressed) is loaded then, once, after the page itself has loaded: never on a narrow screen, never on a page whose
// charts stay out of view. Without this script, or where the live chart would not fit, the static SVG stays.
(function () {
  "use strict";
  const script = document.currentScript;
  const bundle = script ? script.dataset.vega : null;
  // No export menu: each chart's caption links its SVG image and its spec. Under the site's Content-Security-Policy
  // (no 'unsafe-eval', no inline style) Vega interprets its expressions instead of compiling them with Function(),
  // and vega-embed adds no <style> of its own (it styles only the export menu).
  // Its tooltip's style, which vega-tooltip would add as a <style> too, is in atlas.css.
  const options = {
    renderer: "svg", actions: false, ast: true, defaultStyle: false, tooltip: { disableDefaultStyle: true },
  };
  const near = new Set(); // views that have come near the viewport
  const started = new WeakSet(); // views whose live chart was asked for
  let vega = null;

  function loadVega() {
    if (typeof window.vegaEmbed === "function") {
      return Promise.resolve();
    }
    if (vega === null) {
      vega = new Promise(function (resolve, reject) {
        const tag = document.createElement("script");
        tag.src = bundle;
        tag.onload = resolve;
        tag.onerror = function () {
          reject(new Error("could not load " + bundle));
        };
        document.head.appendChild(tag);
      });
    }
    return vega;
  }

  function narrow(view) {
    return window.matchMedia(view.dataset.narrow).matches;
  }

  async function embed(view) {
    await loadVega();
    const response = await fetch(view.dataset.spec);
    if (!response.ok) {
      throw new Error("could not load " + view.dataset.spec + ": " + response.status);
    }
    const spec = await response.json();
    const target = document.createElement("div");
    target.className = "atlas-chart-live";
    view.appendChild(target);
    await window.vegaEmbed(target, spec, options);
    const drawn = target.querySelector("svg");
    const width = drawn ? parseFloat(drawn.getAttribute("width")) || drawn.getBoundingClientRect().width : 0;
    if (width > view.clientWidth + 1) {
      // Wider than its column: it would have to be shrunk or cut, so the static SVG stays.
      target.remove();
      view.classList.add("atlas-chart-static-only");
      return;
    }
    view.classList.toggle("atlas-chart-ready", !narrow(view));
  }

  function show(view) {
    if (started.has(view) || narrow(view)) {
      return;
    }
    started.add(view);
    embed(view).catch(function (error) {
      view.classList.add("atlas-chart-failed");
      console.warn("Chart left as a static image:", error);
    });
  }

  function start() {
    const views = document.querySelectorAll(".atlas-chart-view[data-spec]");
    if (!bundle || views.length === 0 || !("IntersectionObserver" in window)) {
      return; // the static SVGs stay
    }
    const observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) {
          near.add(entry.target);
          show(entry.target);
        }
      });
    }, { rootMargin: "400px 0px" });
    views.forEach(function (view) {
      observer.observe(view);
      // A screen turned or resized across the narrow width: the live chart where it fits, else the static SVG.
      window.matchMedia(view.dataset.narrow).addEventListener("change", function () {
        if (view.querySelector(".atlas-chart-live")) {
          view.classList.toggle("atlas-chart-ready", !narrow(view));
        } else if (near.has(view)) {
          show(view);
        }
      });
    });
  }

  // After the page has loaded, so that the bundle never delays the page's first paint.
  if (document.readyState === "complete") {
    start();
  } else {
    window.addEventListener("load", start);
  }
})();
