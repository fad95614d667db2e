// The search page's result list, on Pagefind's JS API without its UI library (the default UI alone is 120 KiB).
// Results are built with DOM APIs and text only: titles and excerpts come from record text, which may be hostile.
// The query and ticked filters live in the URL (?q=Kd&type=Study), so a search can be linked. A page whose exact
// name (abbreviation, trial or brand name, registry id) is the query comes first, from the map search.py writes
// beside Pagefind's files. Results load ten at a time, as the end of the list scrolls into view.
(function () {
  "use strict";
  const BATCH = 10;
  const root = document.getElementById("atlas-search");
  if (!root || !window.fetch || !window.URLSearchParams) {
    return;
  }
  const form = root.querySelector(".atlas-search-form");
  const input = root.querySelector(".atlas-search-input");
  const status = root.querySelector(".atlas-search-status");
  const list = root.querySelector(".atlas-search-results");
  const more = root.querySelector(".atlas-search-more");
  const fieldsets = Array.from(root.querySelectorAll("fieldset[data-filter]"));
  const bundle = new URL(root.getAttribute("data-bundle"), document.baseURI);
  const pinFiles = Math.max(1, parseInt(root.getAttribute("data-pin-files"), 10) || 1);

  // The other shards of a large site's index (search_shards.py), each merged into the first; [] for one index.
  function shardFolders() {
    return fetch(new URL("shards.json", bundle).href)
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (folders) {
        return Array.isArray(folders) ? folders.filter(function (f) { return typeof f === "string"; }) : [];
      });
  }

  let engine = null;
  function pagefind() {
    if (!engine) {
      engine = Promise.all([import(new URL("pagefind.js", bundle).href), shardFolders()]).then(async function (loaded) {
        // No web worker: it would load a second copy of Pagefind's code before the first result.
        const instance = loaded[0].createInstance({ basePath: bundle.pathname, noWorker: true });
        // Record pages are long and their sources short: page length must not decide the ranking.
        const options = { ranking: { pageLength: 0.1, termFrequency: 0.6 }, excerptLength: 26 };
        await instance.options(options);
        // All at once: each merge loads its shard's entry and metadata files.
        await Promise.all(loaded[1].map(function (folder) { return new URL(folder, bundle); })
          .filter(function (shard) { return shard.origin === bundle.origin; })
          .map(function (shard) { return instance.mergeIndex(shard.pathname, options); }));
        return instance;
      });
    }
    return engine;
  }

  // The key and file of search.pin_key and search.pin_file.
  function pinKey(text) {
    return text.normalize("NFKD").toLowerCase().replace(/[^a-z0-9]/g, "");
  }
  function pinFile(key) {
    let hash = 0x811c9dc5;
    for (let i = 0; i < key.length; i += 1) {
      hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193) >>> 0;
    }
    return hash % pinFiles;
  }
  const pinCache = new Map();
  function pinned(query) {
    const key = pinKey(query);
    if (!key) {
      return Promise.resolve([]);
    }
    const file = pinFile(key);
    if (!pinCache.has(file)) {
      pinCache.set(file, fetch(new URL("pins/" + file + ".json", bundle).href)
        .then(function (response) { return response.ok ? response.json() : {}; })
        .catch(function () { return {}; }));
    }
    return pinCache.get(file).then(function (map) {
      return Object.prototype.hasOwnProperty.call(map, key) && Array.isArray(map[key]) ? map[key] : [];
    });
  }
  function pinFirst(results, ids) {
    const wanted = new Set(ids);
    return results.filter(function (r) { return wanted.has(r.id); })
      .concat(results.filter(function (r) { return !wanted.has(r.id); }));
  }

  function chosenFilters() {
    const filters = {};
    for (const fieldset of fieldsets) {
      const values = Array.from(fieldset.querySelectorAll("input:checked"), function (box) { return box.value; });
      if (values.length) {
        filters[fieldset.getAttribute("data-filter")] = { any: values };
      }
    }
    return filters;
  }

  function keepInUrl() {
    const params = new URLSearchParams();
    if (input.value.trim()) {
      params.set("q", input.value.trim());
    }
    for (const box of root.querySelectorAll("fieldset[data-filter] input:checked")) {
      params.append(box.name, box.value);
    }
    const query = params.toString();
    history.replaceState(null, "", window.location.pathname + (query ? "?" + query : "") + window.location.hash);
  }

  function restoreFromUrl() {
    const params = new URLSearchParams(window.location.search);
    input.value = params.get("q") || "";
    let any = false;
    for (const box of root.querySelectorAll("fieldset[data-filter] input")) {
      box.checked = params.getAll(box.name).indexOf(box.value) >= 0;
      any = any || box.checked;
    }
    if (any) {
      root.querySelector(".atlas-search-filters").open = true;
    }
  }

  // Pagefind's titles and metadata are plain text (it decodes the page's entities); its excerpt is page text with
  // < and > escaped and <mark> around the words found. The excerpt is parsed in an inert document (nothing in it
  // runs or loads) and only its text and the marks are kept.
  const parser = new DOMParser();
  function fillExcerpt(target, excerpt) {
    const body = parser.parseFromString("<body>" + excerpt + "</body>", "text/html").body;
    for (const node of body.childNodes) {
      if (node.nodeType === Node.ELEMENT_NODE && node.tagName === "MARK") {
        const mark = document.createElement("mark");
        mark.textContent = node.textContent;
        target.appendChild(mark);
      } else {
        target.appendChild(document.createTextNode(node.textContent));
      }
    }
  }

  function resultItem(data) {
    const url = new URL(data.url, window.location.href);
    if (url.origin !== window.location.origin) {
      return null;
    }
    const item = document.createElement("li");
    item.className = "atlas-search-result";
    const head = document.createElement("p");
    head.className = "atlas-search-result-head";
    const type = document.createElement("span");
    type.className = "atlas-search-type";
    type.textContent = data.meta && data.meta.type ? data.meta.type : "Page";
    const link = document.createElement("a");
    link.className = "atlas-search-result-link";
    link.href = url.pathname + url.search + url.hash;
    link.textContent = data.meta && data.meta.title ? data.meta.title : url.pathname;
    head.append(type, " ", link);
    const excerpt = document.createElement("p");
    excerpt.className = "atlas-search-excerpt";
    fillExcerpt(excerpt, data.excerpt || "");
    item.append(head, excerpt);
    return item;
  }

  let current = null;       // { results, shown, query }
  let generation = 0;
  let loading = null;
  const MARGIN = 200;  // pixels below the window at which the next results start loading
  function nearView(element) {
    const box = element.getBoundingClientRect();
    return box.height > 0 && box.top < window.innerHeight + MARGIN;
  }

  function describe(count, query, filtered) {
    const noun = count === 1 ? "result" : "results";
    const filters = filtered ? (query ? " with the filters chosen" : " match the filters chosen") : "";
    if (!query) {
      return count + " " + (count === 1 ? "record" : "records") + filters + ".";
    }
    return (count ? count + " " + noun : "No results") + " for “" + query + "”" + filters + ".";
  }

  function showMore() {
    if (loading || !current) {
      return loading || Promise.resolve();
    }
    const state = current;
    const batch = state.results.slice(state.shown, state.shown + BATCH);
    if (!batch.length) {
      more.hidden = true;
      return Promise.resolve();
    }
    more.disabled = true;
    loading = Promise.all(batch.map(function (r) { return r.data(); })).then(function (found) {
      loading = null;
      more.disabled = false;
      if (state !== current) {
        return;
      }
      for (const data of found) {
        const item = resultItem(data);
        if (item) {
          list.appendChild(item);
        }
      }
      state.shown += batch.length;
      more.hidden = state.shown >= state.results.length;
      list.setAttribute("aria-busy", "false");
      // The observer only reports changes: if the end of the list is still in view once laid out, load on.
      window.requestAnimationFrame(function () {
        if (state === current && !more.hidden && nearView(more)) {
          showMore();
        }
      });
    }, function (error) {
      loading = null;
      more.disabled = false;
      status.textContent = "Search failed: " + error;
    });
    return loading;
  }

  async function search() {
    const query = input.value.trim();
    const filters = chosenFilters();
    const filtered = Object.keys(filters).length > 0;
    const mine = ++generation;
    keepInUrl();
    if (!query && !filtered) {
      current = null;
      list.replaceChildren();
      more.hidden = true;
      status.textContent = "";
      return;
    }
    status.textContent = "Searching…";
    let response;
    let pins;
    try {
      const engineReady = await pagefind();
      response = await engineReady.debouncedSearch(query || null, { filters: filters }, 120);
      if (mine !== generation || response === null) {
        return;
      }
      // Read only once the typing has paused, so a query typed letter by letter fetches one file of the map.
      pins = query ? await pinned(query) : [];
    } catch (error) {
      if (mine === generation) {
        status.textContent = "Search could not be loaded: " + error;
      }
      return;
    }
    if (mine !== generation) {
      return;
    }
    current = { results: pinFirst(response.results, pins), shown: 0, query: query };
    list.replaceChildren();
    list.setAttribute("aria-busy", "true");
    more.hidden = true;
    status.textContent = describe(current.results.length, query, filtered);
    await showMore();
  }

  function links() {
    return Array.from(list.querySelectorAll("a.atlas-search-result-link"));
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    search();
  });
  input.addEventListener("input", search);
  // Start loading the index as soon as the box has focus; a failure is reported by the search that needs it.
  input.addEventListener("focus", function () { pagefind().catch(function () {}); }, { once: true });
  for (const fieldset of fieldsets) {
    fieldset.addEventListener("change", search);
  }
  input.addEventListener("keydown", function (event) {
    const first = links()[0];
    if (event.key === "ArrowDown" && first) {
      event.preventDefault();
      first.focus();
    }
  });
  list.addEventListener("keydown", function (event) {
    const all = links();
    const at = all.indexOf(document.activeElement);
    if (at < 0) {
      return;
    }
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (at + 1 < all.length) {
        all[at + 1].focus();
      } else if (!more.hidden) {
        showMore().then(function () {
          const next = links()[at + 1];
          if (next) {
            next.focus();
          }
        });
      }
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      (at > 0 ? all[at - 1] : input).focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      input.focus();
    }
  });
  more.addEventListener("click", function () {
    const before = links().length;
    showMore().then(function () {
      const next = links()[before];
      if (next) {
        next.focus();
      }
    });
  });
  if ("IntersectionObserver" in window) {
    new IntersectionObserver(function (entries) {
      if (entries[entries.length - 1].isIntersecting && !more.hidden) {
        showMore();
      }
    }, { rootMargin: "0px 0px " + MARGIN + "px 0px" }).observe(more);
  }

  restoreFromUrl();
  if (input.value.trim() || Object.keys(chosenFilters()).length) {
    search();
  }
})();
