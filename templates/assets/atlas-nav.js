// The menu button of narrow screens. Material opens its drawer with a label for a hidden checkbox, which no keyboard
// can reach; this shows a real button in its place (partials/header.html), moves focus into the drawer when it
// opens, and closes it on Escape with focus back on the button. The closed drawer is hidden (atlas.css), so its
// links are no longer invisible Tab stops.
(function () {
  "use strict";
  const toggle = document.getElementById("__drawer");
  const button = document.querySelector(".atlas-drawer-button");
  const label = document.querySelector(".atlas-drawer-label");
  const drawer = document.querySelector(".md-sidebar--primary");
  if (!toggle || !button || !label || !drawer) {
    return;
  }

  function set(open) {
    if (toggle.checked !== open) {
      toggle.checked = open;
      toggle.dispatchEvent(new Event("change", { bubbles: true }));
    }
    button.setAttribute("aria-expanded", String(open));
  }

  label.classList.add("atlas-replaced");
  button.hidden = false;
  toggle.addEventListener("change", function () {
    button.setAttribute("aria-expanded", String(toggle.checked));
  });
  button.addEventListener("click", function () {
    set(!toggle.checked);
    if (toggle.checked) {
      const first = drawer.querySelector("a[href], [tabindex='0']");
      if (first) {
        first.focus();
      }
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && toggle.checked) {
      set(false);
      button.focus();
    }
  });
})();
