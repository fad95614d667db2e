// The studies index with JavaScript: rows from the data file, filters, sorting, pages, the filtered rows as CSV,
// and the view kept in the address so that it can be linked and cited. Without JavaScript the page's own table stays.
// Records are untrusted: their text reaches the page only through textContent and attribute setters, never as HTML.
(function () {
  "use strict";

  // ---------------------------------------------------------------- CSV, with export.py's formula rule

  // The same rule as neutralise() in build_scripts/render/export.py (OWASP "CSV injection"): a guard quote goes at the
  // start of a cell, and after each in-cell separator, when what follows, past whitespace and invisible format
  // characters, is a character a spreadsheet starts a formula with (or folds into one under NFKC, like full-width ＝).
  const FORMULA = "=+-@\t\r\0";
  const SEPARATORS = ",;\t\r\n";
  const GUARD = "'";
  // Python's str.isspace() also holds U+001C..U+001F and U+0085, which JavaScript's \s does not.
  const INVISIBLE = /^[\p{Cf}\s\x1c-\x1f\x85]$/u;
  const LIST_SEPARATOR = ";";

  function opensFormula(chars, start) {
    for (let i = start; i < chars.length; i += 1) {
      const folded = chars[i].normalize("NFKC").charAt(0);
      if (folded !== "" && FORMULA.includes(folded)) {
        return true;
      }
      if (SEPARATORS.includes(chars[i]) || !INVISIBLE.test(chars[i])) {
        return false;
      }
    }
    return false;
  }

  function neutralise(text) {
    const chars = Array.from(text);
    let out = "";
    for (let i = 0; i <= chars.length; i += 1) {
      if ((i === 0 || SEPARATORS.includes(chars[i - 1])) && opensFormula(chars, i)) {
        out += GUARD;
      }
      if (i < chars.length) {
        out += chars[i];
      }
    }
    return out;
  }

  // A cell as export.py's csv_cell writes it: numbers from numbers only, any other text neutralised and quoted.
  function csvCell(value) {
    if (value === null || value === undefined || value === "") {
      return "";
    }
    if (typeof value === "number") {
      return Number.isFinite(value) ? String(value) : "";
    }
    const text = Array.isArray(value) ? value.join(LIST_SEPARATOR) : String(value);
    return text === "" ? "" : '"' + neutralise(text).replace(/"/g, '""') + '"';
  }

  function toCsv(header, rows) {
    const lines = [header.map(csvCell).join(",")];
    rows.forEach(function (row) {
      lines.push(row.map(csvCell).join(","));
    });
    return lines.join("\n") + "\n";
  }

  // ---------------------------------------------------------------- the rows

  function fold(text) {
    return String(text).normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
  }

  function readRows(data) {
    const at = {};
    data.fields.forEach(function (name, i) { at[name] = i; });
    const keyAt = {};
    data.key_fields.forEach(function (name, i) { keyAt[name] = i; });
    const labels = data.labels;
    const regimens = data.regimens.map(function (r) { return { id: r[0], name: r[1], agents: r[2] }; });
    const agents = data.agents.map(function (a) { return { id: a[0], name: a[1] }; });
    const rows = data.rows.map(function (raw, order) {
      const key = raw[at.key];
      const row = {
        order: order,
        id: raw[at.id],
        title: raw[at.title],
        shortName: raw[at.short_name],
        registry: raw[at.registry_ids] || [],
        year: raw[at.year],
        design: raw[at.design],
        type: raw[at.evidence_type],
        regimens: raw[at.regimens],
        partners: raw[at.partner_classes],
        index_switches: raw[at.index_switches],
        priors: raw[at.prior_statuses],
        n: raw[at.n],
        patientsNote: raw[at.patients_note],
        key: key ? {
          cohort: key[keyAt.cohort], label: key[keyAt.label], orr: key[keyAt.orr], orrValue: key[keyAt.orr_value],
          pfs: key[keyAt.pfs], pfsValue: key[keyAt.pfs_value], n: key[keyAt.n],
        } : null,
        agents: new Set(),
      };
      row.regimens.forEach(function (r) {
        regimens[r].agents.forEach(function (a) { row.agents.add(a); });
      });
      row.words = fold([
        row.id, row.title, row.shortName || "", row.registry.join(" "), row.year === null ? "" : row.year,
        labels.design[row.design], labels.evidence_type[row.type],
        row.regimens.map(function (r) { return regimens[r].name; }).join(" "),
        Array.from(row.agents, function (a) { return agents[a].name; }).join(" "),
        row.partners.map(function (p) { return labels.partner_class[p]; }).join(" "),
        row.index_switches.map(function (a) { return labels.index_switch[a]; }).join(" "),
        row.priors.map(function (p) { return labels.prior_status[p]; }).join(" "),
        row.key ? [row.key.label, row.key.orr || "", row.key.pfs || ""].join(" ") : "",
      ].join(" "));
      return row;
    });
    return { rows: rows, regimens: regimens, agents: agents, labels: labels, urls: data.urls };
  }

  // ---------------------------------------------------------------- the view: filters, sort and page

  // The view's parts, in the order the address lists them.
  const SELECTS = ["agent", "partner", "index_switch", "regimen", "prior", "design", "type"];
  const RANGES = ["year_min", "year_max", "n_min", "n_max"];
  const SORTS = ["title", "year", "design", "evidence_type", "regimens", "partner_classes", "index_switches", "prior_statuses",
    "n", "key"];

  function emptyView() {
    const view = { q: "", sort: "", page: 1 };
    SELECTS.forEach(function (name) { view[name] = ""; });
    RANGES.forEach(function (name) { view[name] = null; });
    return view;
  }

  function wholeNumber(text) {
    return /^\s*\d{1,7}\s*$/.test(text || "") ? parseInt(text, 10) : null;
  }

  function viewFromParams(params, known, defaultPage) {
    const view = emptyView();
    view.q = (params.get("q") || "").slice(0, 200);
    SELECTS.forEach(function (name) {
      const value = params.get(name) || "";
      view[name] = known[name].has(value) ? value : "";
    });
    RANGES.forEach(function (name) { view[name] = wholeNumber(params.get(name)); });
    const sort = params.get("sort") || "";
    view.sort = SORTS.includes(sort.replace(/^-/, "")) ? sort : "";
    const page = wholeNumber(params.get("page"));
    view.page = page && page > 0 ? page : (Array.from(params.keys()).length ? 1 : defaultPage);
    return view;
  }

  function paramsFromView(view) {
    const params = new URLSearchParams();
    if (view.q.trim()) {
      params.set("q", view.q.trim());
    }
    SELECTS.forEach(function (name) { if (view[name]) { params.set(name, view[name]); } });
    RANGES.forEach(function (name) { if (view[name] !== null) { params.set(name, String(view[name])); } });
    if (view.sort) {
      params.set("sort", view.sort);
    }
    if (view.page > 1) {
      params.set("page", String(view.page));
    }
    return params;
  }

  function matcher(model, view) {
    const tests = [];
    const regimenNumber = model.regimens.findIndex(function (r) { return r.id === view.regimen; });
    const agentNumber = model.agents.findIndex(function (a) { return a.id === view.agent; });
    if (view.agent) { tests.push(function (row) { return row.agents.has(agentNumber); }); }
    if (view.regimen) { tests.push(function (row) { return row.regimens.includes(regimenNumber); }); }
    if (view.partner) { tests.push(function (row) { return row.partners.includes(view.partner); }); }
    if (view.index_switch) { tests.push(function (row) { return row.index_switches.includes(view.index_switch); }); }
    if (view.prior) { tests.push(function (row) { return row.priors.includes(view.prior); }); }
    if (view.design) { tests.push(function (row) { return row.design === view.design; }); }
    if (view.type) { tests.push(function (row) { return row.type === view.type; }); }
    [["year", view.year_min, view.year_max], ["n", view.n_min, view.n_max]].forEach(function (range) {
      const name = range[0], low = range[1], high = range[2];
      if (low !== null) { tests.push(function (row) { return row[name] !== null && row[name] >= low; }); }
      if (high !== null) { tests.push(function (row) { return row[name] !== null && row[name] <= high; }); }
    });
    const words = fold(view.q).split(/\s+/).filter(Boolean);
    if (words.length) {
      tests.push(function (row) { return words.every(function (w) { return row.words.includes(w); }); });
    }
    return function (row) { return tests.every(function (test) { return test(row); }); };
  }

  const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

  function sortKey(model, name) {
    const labels = model.labels;
    const partnerOrder = Object.keys(labels.partner_class);
    const priorOrder = Object.keys(labels.prior_status);
    const indexOrder = Object.keys(labels.index_switch);
    const first = function (list, get) { return list.length ? get(list[0]) : null; };
    return {
      title: function (row) { return row.title; },
      year: function (row) { return row.year; },
      design: function (row) { return labels.design[row.design]; },
      evidence_type: function (row) { return labels.evidence_type[row.type]; },
      regimens: function (row) { return first(row.regimens, function (r) { return model.regimens[r].name; }); },
      partner_classes: function (row) { return first(row.partners, function (p) { return partnerOrder.indexOf(p); }); },
      index_switches: function (row) { return first(row.index_switches, function (a) { return indexOrder.indexOf(a); }); },
      prior_statuses: function (row) { return first(row.priors, function (p) { return priorOrder.indexOf(p); }); },
      n: function (row) { return row.n; },
      key: function (row) {
        if (!row.key || (row.key.orrValue === null && row.key.pfsValue === null)) { return null; }
        return [row.key.orrValue === null ? -1 : row.key.orrValue, row.key.pfsValue === null ? -1 : row.key.pfsValue];
      },
    }[name];
  }

  function compareValues(a, b) {
    if (Array.isArray(a)) {
      return a[0] - b[0] || a[1] - b[1];
    }
    return typeof a === "number" ? a - b : collator.compare(a, b);
  }

  // Sorted by one column, ascending or descending; rows without a value always last; ties keep the data's order.
  function sorted(model, rows, sort) {
    if (!sort) {
      return rows;
    }
    const direction = sort.charAt(0) === "-" ? -1 : 1;
    const key = sortKey(model, sort.replace(/^-/, ""));
    return rows.map(function (row) { return [key(row), row]; }).sort(function (x, y) {
      const a = x[0], b = y[0];
      if (a === null || b === null) {
        return a === b ? x[1].order - y[1].order : (a === null ? 1 : -1);
      }
      return direction * compareValues(a, b) || x[1].order - y[1].order;
    }).map(function (pair) { return pair[1]; });
  }

  // ---------------------------------------------------------------- the page

  function element(parent, tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    if (className) {
      node.className = className;
    }
    parent.appendChild(node);
    return node;
  }

  function link(parent, href, text) {
    const anchor = element(parent, "a", text);
    anchor.href = href;
    return anchor;
  }

  function noteLine(parent, text) {
    element(parent, "br");
    element(parent, "span", text, "atlas-note");
  }

  function listInto(cell, items, draw) {
    items.forEach(function (item, i) {
      if (i) { cell.appendChild(document.createTextNode("; ")); }
      draw(item);
    });
  }

  function Index(table, data) {
    this.table = table;
    this.model = readRows(data);
    this.root = new URL(table.dataset.root || "./", window.location.href);
    this.home = new URL(this.model.urls.study, this.root);
    this.pageSize = parseInt(table.dataset.pageSize, 10) || 100;
    this.defaultPage = parseInt(table.dataset.page, 10) || 1;
    // The key result of a study without a cohort in the question: the page writes it in the topic's words.
    this.noKey = table.dataset.noKey || "";
    // the filtered download's column of the note under the patient count, named by the topic's words
    this.noteColumn = table.dataset.noteColumn || "patients_note";
    this.indexColumn = table.dataset.indexColumn || "index_switch";
    this.form = document.getElementById("studies-filters");
    this.count = document.getElementById("studies-count");
    this.pager = document.getElementById("studies-pages");
    this.known = {};
    this.typing = false;
    this.timer = null;
  }

  Index.prototype.href = function (kind, id, anchor) {
    return new URL(this.model.urls[kind] + encodeURIComponent(id) + "/", this.root).pathname
      + (anchor ? "#" + encodeURIComponent(anchor) : "");
  };

  Index.prototype.fillOptions = function () {
    const model = this.model, labels = model.labels;
    const present = function (get) {
      const found = new Set();
      model.rows.forEach(function (row) { [].concat(get(row)).forEach(function (v) { found.add(v); }); });
      return found;
    };
    const regimensUsed = present(function (row) { return row.regimens; });
    const agentsUsed = present(function (row) { return Array.from(row.agents); });
    const options = {
      agent: model.agents.filter(function (a, i) { return agentsUsed.has(i); }).map(function (a) { return [a.id, a.name]; }),
      regimen: model.regimens.filter(function (r, i) { return regimensUsed.has(i); }).map(function (r) { return [r.id, r.name]; }),
      partner: vocabulary(labels.partner_class, present(function (row) { return row.partners; })),
      index_switch: vocabulary(labels.index_switch, present(function (row) { return row.index_switches; })),
      prior: vocabulary(labels.prior_status, present(function (row) { return row.priors; })),
      design: vocabulary(labels.design, present(function (row) { return row.design; })),
      type: vocabulary(labels.evidence_type, present(function (row) { return row.type; })),
    };
    const form = this.form, known = this.known;
    SELECTS.forEach(function (name) {
      const select = form.elements[name];
      known[name] = new Set([""]);
      options[name].forEach(function (option) {
        const node = element(select, "option", option[1]);
        node.value = option[0];
        known[name].add(option[0]);
      });
    });
  };

  function vocabulary(labels, present) {
    return Object.keys(labels).filter(function (name) { return present.has(name); })
      .map(function (name) { return [name, labels[name]]; });
  }

  Index.prototype.sortButtons = function () {
    const index = this;
    this.table.querySelectorAll("thead th[data-sort]").forEach(function (th) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () {
        const name = th.dataset.sort;
        index.view.sort = index.view.sort === name ? "-" + name : name;
        index.view.page = 1;
        index.commit(true);
      });
    });
  };

  Index.prototype.controlsFromView = function () {
    const form = this.form, view = this.view;
    form.elements.q.value = view.q;
    SELECTS.forEach(function (name) { form.elements[name].value = view[name]; });
    RANGES.forEach(function (name) { form.elements[name].value = view[name] === null ? "" : String(view[name]); });
  };

  Index.prototype.viewFromControls = function () {
    const form = this.form, view = this.view;
    view.q = form.elements.q.value.slice(0, 200);
    SELECTS.forEach(function (name) { view[name] = form.elements[name].value; });
    RANGES.forEach(function (name) { view[name] = wholeNumber(form.elements[name].value); });
    view.page = 1;
  };

  // Show the view and, when asked, record it in the address: a new history entry, or the current one while typing.
  Index.prototype.commit = function (push, typing) {
    this.render();
    if (push === undefined) {
      return;
    }
    const query = paramsFromView(this.view).toString();
    const url = this.home.pathname + (query ? "?" + query : "");
    if (push && !(typing && this.typing)) {
      window.history.pushState(null, "", url);
    } else {
      window.history.replaceState(null, "", url);
    }
    this.typing = Boolean(typing);
  };

  Index.prototype.filteredRows = function () {
    return sorted(this.model, this.model.rows.filter(matcher(this.model, this.view)), this.view.sort);
  };

  Index.prototype.render = function () {
    const rows = this.filteredRows();
    const pages = Math.max(1, Math.ceil(rows.length / this.pageSize));
    this.view.page = Math.min(Math.max(1, this.view.page), pages);
    const first = (this.view.page - 1) * this.pageSize;
    const shown = rows.slice(first, first + this.pageSize);
    const body = document.createElement("tbody");
    const index = this;
    shown.forEach(function (row) { index.drawRow(body, row); });
    this.table.replaceChild(body, this.table.tBodies[0]);
    const sort = this.view.sort;
    this.table.querySelectorAll("thead th[data-sort]").forEach(function (th) {
      const name = th.dataset.sort;
      if (sort === name) {
        th.setAttribute("aria-sort", "ascending");
      } else if (sort === "-" + name) {
        th.setAttribute("aria-sort", "descending");
      } else {
        th.removeAttribute("aria-sort");
      }
    });
    const total = this.model.rows.length;
    const span = rows.length ? (first + 1) + "–" + (first + shown.length) + " of " : "0 of ";
    this.count.textContent = (rows.length === total ? "Studies " + span + total.toLocaleString("en")
      : "Studies " + span + rows.length.toLocaleString("en") + " matching (of " + total.toLocaleString("en") + ")") + ".";
    this.pager.hidden = pages < 2;
    this.pager.querySelector("#studies-page-label").textContent = "Page " + this.view.page + " of " + pages;
    this.pager.querySelector('[data-step="-1"]').disabled = this.view.page <= 1;
    this.pager.querySelector('[data-step="1"]').disabled = this.view.page >= pages;
  };

  Index.prototype.drawRow = function (body, row) {
    const model = this.model, labels = model.labels;
    const tr = element(body, "tr");
    const study = element(tr, "td");
    link(study, this.href("study", row.id), row.title);
    if (row.shortName) { noteLine(study, row.shortName); }
    if (row.registry.length) { noteLine(study, row.registry.join(", ")); }
    element(tr, "td", row.year === null ? "" : String(row.year));
    element(tr, "td", labels.design[row.design]);
    element(tr, "td", labels.evidence_type[row.type]);
    const regimens = element(tr, "td");
    const index = this;
    listInto(regimens, row.regimens, function (r) { link(regimens, index.href("regimen", model.regimens[r].id), model.regimens[r].name); });
    element(tr, "td", row.partners.map(function (p) { return labels.partner_class[p]; }).join("; "));
    element(tr, "td", row.index_switches.map(function (a) { return labels.index_switch[a]; }).join("; "));
    element(tr, "td", row.priors.map(function (p) { return labels.prior_status[p]; }).join("; "));
    const patients = element(tr, "td", row.n === null ? labels.not_reported : String(row.n), "atlas-n");
    if (row.patientsNote !== null && row.patientsNote !== undefined) { noteLine(patients, row.patientsNote); }
    const key = element(tr, "td");
    if (!row.key) {
      element(key, "span", this.noKey, "atlas-note");
      return;
    }
    const cohort = this.href("study", row.id, "cohort-" + row.key.cohort);
    if (row.key.orr !== null) {
      key.appendChild(document.createTextNode("ORR "));
      link(key, cohort, row.key.orr);
    }
    if (row.key.pfs !== null) {
      key.appendChild(document.createTextNode((row.key.orr !== null ? "; " : "") + "median PFS "));
      link(key, cohort, row.key.pfs);
    }
    if (row.key.orr === null && row.key.pfs === null) {
      link(key, cohort, "No ORR or median PFS recorded");
    }
    key.appendChild(document.createTextNode(row.key.n === null ? "; n not reported" : "; n = " + row.key.n));
    noteLine(key, row.key.label);
  };

  Index.prototype.csv = function () {
    const model = this.model, labels = model.labels, index = this;
    const header = ["study_id", "title", "short_name", "registry_ids", "first_published", "design", "evidence_type",
      "regimens", "partner_classes", this.indexColumn, "prior_exposure", "patients", this.noteColumn, "key_cohort", "key_orr", "key_median_pfs", "key_n",
      "url"];
    const rows = this.filteredRows().map(function (row) {
      return [row.id, row.title, row.shortName, row.registry, row.year, labels.design[row.design],
        labels.evidence_type[row.type], row.regimens.map(function (r) { return model.regimens[r].name; }),
        row.partners.map(function (p) { return labels.partner_class[p]; }),
        row.index_switches.map(function (a) { return labels.index_switch[a]; }),
        row.priors.map(function (p) { return labels.prior_status[p]; }), row.n, row.patientsNote,
        row.key ? row.key.label : null, row.key ? row.key.orr : null, row.key ? row.key.pfs : null,
        row.key ? row.key.n : null, new URL(index.href("study", row.id), window.location.href).href];
    });
    return toCsv(header, rows);
  };

  Index.prototype.download = function () {
    const blob = new Blob([this.csv()], { type: "text/csv;charset=utf-8" });
    const anchor = document.createElement("a");
    anchor.href = URL.createObjectURL(blob);
    anchor.download = "studies-filtered.csv";
    document.body.appendChild(anchor);
    anchor.click();
    anchor.remove();
    setTimeout(function () { URL.revokeObjectURL(anchor.href); }, 10000);
  };

  Index.prototype.start = function () {
    const index = this, form = this.form;
    this.fillOptions();
    this.sortButtons();
    this.view = viewFromParams(new URLSearchParams(window.location.search), this.known, this.defaultPage);
    this.controlsFromView();
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    form.addEventListener("change", function (event) {
      if (event.target.tagName === "SELECT") {
        index.viewFromControls();
        index.commit(true);
      }
    });
    form.addEventListener("input", function (event) {
      if (event.target.tagName !== "INPUT") {
        return;
      }
      clearTimeout(index.timer);
      index.timer = setTimeout(function () {
        index.viewFromControls();
        index.commit(true, true);
      }, 150);
    });
    form.addEventListener("reset", function () {
      setTimeout(function () {
        index.viewFromControls();
        index.view.sort = "";
        index.commit(true);
      }, 0);
    });
    document.getElementById("studies-csv").addEventListener("click", function () { index.download(); });
    this.pager.addEventListener("click", function (event) {
      const button = event.target.closest("button[data-step]");
      if (button) {
        index.view.page += parseInt(button.dataset.step, 10);
        index.commit(true);
      }
    });
    window.addEventListener("popstate", function () {
      index.view = viewFromParams(new URLSearchParams(window.location.search), index.known, index.defaultPage);
      index.controlsFromView();
      index.typing = false;
      index.render();
    });
    document.querySelectorAll(".atlas-pager:not(#studies-pages)").forEach(function (nav) { nav.hidden = true; });
    form.hidden = false;
    this.render();
  };

  async function start() {
    const table = document.getElementById("studies-table");
    if (!table || !table.dataset.src) {
      return;
    }
    const response = await fetch(table.dataset.src);
    if (!response.ok) {
      throw new Error("could not load " + table.dataset.src + ": " + response.status);
    }
    const index = new Index(table, await response.json());
    index.start();
    window.atlasIndex = { neutralise: neutralise, csv: function () { return index.csv(); }, ready: true };
    table.dispatchEvent(new CustomEvent("atlas-index-ready", { bubbles: true }));
  }

  // Published for the tests, which check the rule against export.py's, before the data arrives.
  window.atlasIndex = { neutralise: neutralise, ready: false };

  function run() {
    start().catch(function (error) {
      console.warn("The studies index stays a static table:", error);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
