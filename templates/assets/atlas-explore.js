// The Explore page (issue 24): the reader chooses cohorts by facets, words, ranges and checkboxes, and the chosen set is
// pooled live by atlas-pool.js with the rules of derive/synthesis.py (entries.py: who may enter, each patient once).
// The view is kept in the address, so that a chosen set is a link. Without JavaScript the page shows the build's own
// questions and answers (#explore-static). Records are untrusted: their text reaches the page only through textContent
// and attribute setters, never as HTML.
(function () {
  "use strict";

  // ---------------------------------------------------------------- CSV, with export.py's formula rule

  // Copied from atlas-index.js, which has it from neutralise() in build_scripts/render/export.py (OWASP "CSV
  // injection"): a guard quote goes at the start of a cell, and after each in-cell separator, when what follows, past
  // whitespace and invisible format characters, is a character a spreadsheet starts a formula with (or folds into one
  // under NFKC, like full-width ＝). tests/test_browser_explore.py checks this copy's cells against csv_cells.py.
  const FORMULA = "=+-@\t\r\0";
  const SEPARATORS = ",;\t\r\n";
  const GUARD = "'";
  const INVISIBLE = /^[\p{Cf}\s\x1c-\x1f\x85]$/u;

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

  function csvCell(value) {
    if (value === null || value === undefined || value === "") {
      return "";
    }
    if (typeof value === "number") {
      return Number.isFinite(value) ? String(value) : "";
    }
    if (typeof value === "boolean") {
      return value ? "yes" : "no";
    }
    const text = String(value);
    return '"' + neutralise(text).replace(/"/g, '""') + '"';
  }

  function toCsv(header, rows) {
    const lines = [header.map(csvCell).join(",")];
    rows.forEach(function (row) {
      lines.push(row.map(csvCell).join(","));
    });
    return lines.join("\n") + "\n";
  }

  // ---------------------------------------------------------------- the rows

  const FACETS = ["index_switch", "partner_group", "prior_status", "design", "evidence_type"];
  const RANGES = ["year_min", "year_max", "n_min"];
  const METHODS = [["dl", "DerSimonian-Laird"], ["pm", "Paule-Mandel"]];
  const BN_NAME = "binomial-normal model (the build's primary)";
  const PAGE_SIZE = 100;
  const FOREST_MAX = 60;
  const HELD_MAX = 50;
  const OUTSIDE_PAGE = 50;

  // Lower case without accents; plain ASCII, most text, skips the normalisation.
  function fold(text) {
    const plain = String(text);
    return /^[\x00-\x7f]*$/.test(plain) ? plain.toLowerCase() : plain.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
  }

  function indexes(names) {
    const at = {};
    names.forEach(function (name, i) { at[name] = i; });
    return at;
  }

  // How the data file's figures are packed, as the one data file of the page gives it (readModel): figures stay
  // arrays until a row is shown, so that 25,000 rows cost no 75,000 objects at load.
  const PACKED = { measureIndex: {}, at: {}, texts: [], publications: [], studyUrl: "" };

  function figuresOf(row) {
    if (row.figures === null) {
      const at = PACKED.at;
      row.figures = {};
      Object.keys(PACKED.measureIndex).forEach(function (measure) {
        const found = row.packed[PACKED.measureIndex[measure]];
        figuresOf(row)[measure] = typeof found === "number" ? { why: PACKED.texts[found] } : {
          r: found[at.r], n: found[at.n], value: found[at.value], low: found[at.low], high: found[at.high],
          r_derived: found[at.r_derived] === 1, n_from_cohort: found[at.n_from_cohort] === 1,
          source: PACKED.publications[found[at.publication]] + ", " + PACKED.texts[found[at.location]],
        };
      });
    }
    return row.figures;
  }

  function hrefOf(row) {
    return PACKED.studyUrl + encodeURIComponent(row.study) + "/#cohort-" + encodeURIComponent(row.cohort);
  }

  // data/explore.json as render/explore.py packs it: studies given once, texts and publications numbered, figures as
  // arrays of figure_fields in the measures' order (or the number of the text saying why there is none), overlaps as
  // row numbers. Each row becomes an object with the contract's fields.
  function readModel(data, root) {
    const at = indexes(data.fields), sat = indexes(data.study_fields);
    const measureKeys = Object.keys(data.measures);
    PACKED.at = indexes(data.figure_fields);
    PACKED.measureIndex = indexes(measureKeys);
    PACKED.texts = data.texts;
    PACKED.publications = data.publications;
    PACKED.studyUrl = root + data.urls.study;
    const texts = data.texts;
    const rows = data.rows.map(function (raw, index) {
      const study = data.studies[raw[at.study]];
      const studyId = study[sat.id], cohort = raw[at.cohort];
      const row = {
        index: index, key: studyId + "/" + cohort, study: studyId, cohort: cohort, title: study[sat.title],
        label: raw[at.label], year: study[sat.year], design: study[sat.design], evidence_type: study[sat.evidence_type],
        index_switch: raw[at.index_switch], partner_group: raw[at.partner_group], prior_status: raw[at.prior_status],
        patients: raw[at.patients], inQuestion: raw[at.in_question] === true,
        whyNot: raw[at.why_not] === null ? null : texts[raw[at.why_not]], control: raw[at.control] === true,
        order: raw[at.order], packed: raw[at.figures], figures: null, // decoded when first shown (figuresOf)
        overlapRows: raw[at.overlaps] || [], // the row numbers of the cohorts that may share its patients
      };
      row.words = null; // folded on the first search by words (wordsOf)
      row.chosen = 0; // the mark of the last computation that chose the row; row.kept likewise
      row.kept = 0;
      row.keptAt = -1;
      row.clash = null; // the kept row that holds it out, in the last computation where it was chosen and poolable
      row.poolable = {}; // by measure, once the measure's rows are ranked
      return row;
    });
    const byKey = new Map();
    rows.forEach(function (row) { byKey.set(row.key, row); });
    const known = new Map();
    const knownSizes = new Set();
    (data.known || []).forEach(function (entry) {
      known.set(entry.measure + "\n" + entry.keys.slice().sort().join("\n"), entry);
      knownSizes.add(entry.keys.length);
    });
    return {
      rows: rows, byKey: byKey, known: known, facets: data.facets, measures: data.measures,
      measureKeys: Object.keys(data.measures), min: data.min_cohorts || 3, release: data.release, built: data.built,
      ranked: {}, knownSizes: knownSizes,
    };
  }

  function wordsOf(row) {
    if (row.words === null) {
      row.words = fold(row.title + " " + row.label + " " + row.key);
    }
    return row.words;
  }

  // ---------------------------------------------------------------- the view, kept in the address

  function wholeNumber(text) {
    return /^\s*\d{1,7}\s*$/.test(text || "") ? parseInt(text, 10) : null;
  }

  function keyList(model, text) {
    const keys = new Set();
    (text || "").split(",").forEach(function (key) {
      if (model.byKey.has(key)) {
        keys.add(key);
      }
    });
    return keys;
  }

  function viewFromParams(model, params) {
    const measure = params.get("measure");
    const view = {
      measure: model.measureKeys.includes(measure) ? measure : model.measureKeys[0],
      q: (params.get("q") || "").slice(0, 200),
      add: keyList(model, params.get("add")),
      drop: keyList(model, params.get("drop")),
    };
    FACETS.forEach(function (name) {
      const value = params.get(name) || "";
      const facet = model.facets[name];
      view[name] = facet && Object.prototype.hasOwnProperty.call(facet.values, value) ? value : "";
    });
    RANGES.forEach(function (name) { view[name] = wholeNumber(params.get(name)); });
    return view;
  }

  function paramsFromView(model, view) {
    const params = new URLSearchParams();
    params.set("measure", view.measure);
    FACETS.forEach(function (name) { if (view[name]) { params.set(name, view[name]); } });
    if (view.q.trim()) {
      params.set("q", view.q.trim());
    }
    RANGES.forEach(function (name) { if (view[name] !== null) { params.set(name, String(view[name])); } });
    ["add", "drop"].forEach(function (name) {
      if (view[name].size) {
        const keys = Array.from(view[name]).sort(function (a, b) {
          return model.byKey.get(a).index - model.byKey.get(b).index;
        });
        params.set(name, keys.join(","));
      }
    });
    return params;
  }

  function matcher(view) {
    const tests = [];
    FACETS.forEach(function (name) {
      const value = view[name];
      if (value) { tests.push(function (row) { return row[name] === value; }); }
    });
    if (view.year_min !== null) { tests.push(function (row) { return row.year !== null && row.year >= view.year_min; }); }
    if (view.year_max !== null) { tests.push(function (row) { return row.year !== null && row.year <= view.year_max; }); }
    if (view.n_min !== null) { tests.push(function (row) { return row.patients !== null && row.patients >= view.n_min; }); }
    const words = fold(view.q).split(/\s+/).filter(Boolean);
    if (words.length) {
      tests.push(function (row) {
        const text = wordsOf(row);
        return words.every(function (w) { return text.includes(w); });
      });
    }
    return function (row) {
      for (let i = 0; i < tests.length; i += 1) {
        if (!tests[i](row)) { return false; }
      }
      return true;
    };
  }

  // ---------------------------------------------------------------- the pool: entries.py's rules

  // entries.independent's order: the largest n first, a stated responder count before a derived one, a figure's own
  // n before the cohort's, then the study id and the cohort's place in its study.
  function ranked(measure) {
    const m = PACKED.measureIndex[measure], at = PACKED.at;
    return function (a, b) {
      const x = a.packed[m], y = b.packed[m];
      if (x[at.n] !== y[at.n]) { return y[at.n] - x[at.n]; }
      if (x[at.r_derived] !== y[at.r_derived]) { return x[at.r_derived] ? 1 : -1; }
      if (x[at.n_from_cohort] !== y[at.n_from_cohort]) { return x[at.n_from_cohort] ? 1 : -1; }
      if (a.study !== b.study) { return a.study < b.study ? -1 : 1; }
      return a.order - b.order;
    };
  }

  // Why the build's primary model would have no estimate for these counts (meta_analysis.py's checks that need no fit).
  function unpoolable(cells) {
    if (!cells.some(function (c) { return c.responders > 0; })) {
      return "no patient responded in any cohort";
    }
    if (!cells.some(function (c) { return c.responders < c.n; })) {
      return "every patient responded in every cohort";
    }
    if (cells.every(function (c) { return c.responders === 0 || c.responders === c.n; })) {
      return "every cohort lies at 0% or 100%";
    }
    return null;
  }

  function poolable(row, measure) {
    const found = row.packed[PACKED.measureIndex[measure]];
    return row.inQuestion && !row.control && typeof found !== "number" && found !== undefined
      && found[PACKED.at.r] !== null && Boolean(found[PACKED.at.n]);
  }

  // The rows that may enter a pool of the measure, in entries.independent's order: sorted once per measure, so that
  // a change of the chosen set costs one pass over them.
  function rankedRows(model, measure) {
    if (!model.ranked[measure]) {
      model.ranked[measure] = model.rows.filter(function (row) {
        row.poolable[measure] = poolable(row, measure);
        return row.poolable[measure];
      }).sort(ranked(measure));
    }
    return model.ranked[measure];
  }

  // Why a chosen cohort is held out, in words (made only for those shown, and for the CSV).
  function reason(held, measure) {
    const row = held.row;
    if (held.kind === "overlap") {
      return "may share patients with " + held.clash.key + ", which is used";
    }
    if (held.kind === "outside") {
      return "not in the question: " + (row.whyNot || "its prior status is outside it");
    }
    if (held.kind === "control") {
      return "the control arm of a comparison recorded for the study";
    }
    const figure = figuresOf(row)[measure];
    return (figure && figure.why) || "no responders and n recorded";
  }

  function heldKind(row) {
    return !row.inQuestion ? "outside" : row.control ? "control" : "figure";
  }

  // The chosen rows (row.chosen === mark) pooled: one cohort per patient population, the first in rank order kept
  // and every later one that may share its patients held out; then every chosen row held out, in the rows' order.
  function synthesise(model, measure, chosen, mark) {
    const rows = model.rows, m = PACKED.measureIndex[measure];
    const kept = [];
    const cells = [];
    let patients = 0;
    rankedRows(model, measure).forEach(function (row) {
      if (row.chosen !== mark) {
        return;
      }
      let clash = -1;
      const overlaps = row.overlapRows;
      for (let i = 0; i < overlaps.length; i += 1) {
        const other = rows[overlaps[i]];
        if (other.kept === mark && (clash < 0 || other.keptAt < clash)) {
          clash = other.keptAt;
        }
      }
      if (clash < 0) {
        row.kept = mark;
        row.keptAt = kept.length;
        kept.push(row);
        const found = row.packed[m];
        cells.push({ responders: found[PACKED.at.r], n: found[PACKED.at.n] });
        patients += found[PACKED.at.n];
      } else {
        row.clash = kept[clash];
      }
    });
    const held = [];
    for (let i = 0; i < chosen.length; i += 1) {
      const row = chosen[i];
      if (!row.poolable[measure]) {
        held.push({ row: row, kind: heldKind(row) });
      } else if (row.kept !== mark) {
        held.push({ row: row, kind: "overlap", clash: row.clash });
      }
    }
    // Sorted only when it could be a set the build pooled (the build's sets are few, and sorting 10,000 keys is not).
    const keys = model.knownSizes.has(kept.length) ? kept.map(function (row) { return row.key; }).sort() : null;
    const result = { measure: measure, kept: kept, keys: keys, held: held, cells: cells, estimates: [], known: null,
      why: null, patients: patients };
    if (kept.length < model.min) {
      result.why = "fewer than " + model.min + " independent cohorts report responders and n (k = " + kept.length + ")";
      return result;
    }
    const reason = unpoolable(cells);
    if (reason) {
      result.why = "the build's " + BN_NAME + " has no estimate: " + reason;
      return result;
    }
    result.estimates = METHODS.map(function (method) {
      return window.AtlasPool.randomEffects(cells, method[0]);
    });
    result.known = keys ? model.known.get(measure + "\n" + keys.join("\n")) || null : null;
    return result;
  }

  // ---------------------------------------------------------------- drawing helpers

  function element(parent, tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    if (className) {
      node.className = className;
    }
    if (parent) {
      parent.appendChild(node);
    }
    return node;
  }

  // A link from the data file: only to a page of the web (the build writes relative ones), never a script URL.
  function link(parent, href, text) {
    const anchor = element(parent, "a", text);
    // As a browser reads a URL: tabs and line breaks dropped anywhere, control characters and spaces at the start.
    const url = String(href).replace(/[\t\n\r]/g, "").replace(/^[\x00-\x20]+/, "");
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url);
    if (!scheme || /^https?$/i.test(scheme[1])) {
      anchor.setAttribute("href", url);
    }
    return anchor;
  }

  // 25000 as "25,000", without waking the browser's locale data (Intl costs 30 ms on its first call).
  function thousands(count) {
    return String(count).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function pct(value) {
    return value.toFixed(1) + "%";
  }

  function interval(low, high) {
    return low.toFixed(1) + "–" + high.toFixed(1) + "%";
  }

  const SVG = "http://www.w3.org/2000/svg";

  function svg(parent, tag, attributes, text) {
    const node = document.createElementNS(SVG, tag);
    Object.keys(attributes).forEach(function (name) { node.setAttribute(name, String(attributes[name])); });
    if (text !== undefined) {
      node.textContent = text;
    }
    parent.appendChild(node);
    return node;
  }

  function shorten(text, length) {
    const chars = Array.from(text);
    return chars.length > length ? chars.slice(0, length - 1).join("") + "…" : text;
  }

  // ---------------------------------------------------------------- the page

  function Explore(table, data) {
    this.table = table;
    this.model = readModel(data, table.dataset.root || "../");
    this.form = document.getElementById("explore-form");
    this.resultBox = document.getElementById("explore-result");
    this.forest = document.getElementById("explore-forest");
    this.heldBox = document.getElementById("explore-held");
    this.csvLink = document.getElementById("explore-csv");
    this.citation = document.getElementById("explore-citation");
    this.limit = PAGE_SIZE;
    this.outsideLimit = OUTSIDE_PAGE;
    this.heldLimit = HELD_MAX;
    this.blobUrl = null;
    this.mark = 0;
  }

  Explore.prototype.label = function (facet, value) {
    const found = this.model.facets[facet];
    return found && Object.prototype.hasOwnProperty.call(found.values, value) ? found.values[value] : (value || "");
  };

  Explore.prototype.fillOptions = function () {
    const form = this.form, model = this.model;
    const measure = form.elements.measure;
    if (measure && !measure.options.length) {
      measure.textContent = "";
      model.measureKeys.forEach(function (key) {
        const option = element(measure, "option", model.measures[key].short + " (" + model.measures[key].label + ")");
        option.value = key;
      });
    }
    FACETS.forEach(function (name) {
      const select = form.elements[name];
      const facet = model.facets[name];
      if (!select || !facet) {
        return;
      }
      select.textContent = "";
      element(select, "option", "Any").value = "";
      Object.keys(facet.values).forEach(function (value) {
        element(select, "option", facet.values[value]).value = value;
      });
    });
  };

  Explore.prototype.controlsFromView = function () {
    const form = this.form, view = this.view;
    if (form.elements.measure) { form.elements.measure.value = view.measure; }
    if (form.elements.q) { form.elements.q.value = view.q; }
    FACETS.forEach(function (name) { if (form.elements[name]) { form.elements[name].value = view[name]; } });
    RANGES.forEach(function (name) {
      if (form.elements[name]) { form.elements[name].value = view[name] === null ? "" : String(view[name]); }
    });
  };

  Explore.prototype.viewFromControls = function () {
    const form = this.form, view = this.view;
    if (form.elements.measure) { view.measure = form.elements.measure.value || view.measure; }
    if (form.elements.q) { view.q = form.elements.q.value.slice(0, 200); }
    FACETS.forEach(function (name) { if (form.elements[name]) { view[name] = form.elements[name].value; } });
    RANGES.forEach(function (name) { if (form.elements[name]) { view[name] = wholeNumber(form.elements[name].value); } });
  };

  Explore.prototype.record = function () {
    const query = paramsFromView(this.model, this.view).toString();
    window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : "") + window.location.hash);
  };

  // Which rows the facets show, which are chosen, and the pool of the chosen ones.
  Explore.prototype.compute = function () {
    const view = this.view, test = matcher(view), rows = this.model.rows;
    const shown = [], outside = [], chosen = [];
    const mark = this.mark += 1;
    const hand = view.add.size > 0 || view.drop.size > 0;
    for (let i = 0; i < rows.length; i += 1) {
      const row = rows[i];
      const matches = test(row);
      const added = hand && view.add.has(row.key);
      if (matches || added) {
        (row.inQuestion ? shown : outside).push(row);
      }
      if (added || (row.inQuestion && matches && !(hand && view.drop.has(row.key)))) {
        row.chosen = mark;
        chosen.push(row);
      }
    }
    this.shown = shown;
    this.outside = outside;
    this.chosen = chosen;
    this.result = synthesise(this.model, view.measure, chosen, mark);
  };

  Explore.prototype.render = function () {
    this.compute();
    this.drawTable();
    this.drawOutside();
    this.drawResult();
    this.drawForest();
    this.drawHeld();
    this.drawCitation();
  };

  // Whether a row matches the facets (so that checking it by hand is a drop undone, not an add).
  Explore.prototype.matches = function (row) {
    return row.inQuestion && matcher(this.view)(row);
  };

  Explore.prototype.choose = function (row, checked) {
    const view = this.view, matched = this.matches(row);
    view.add.delete(row.key);
    view.drop.delete(row.key);
    if (checked && !matched) {
      view.add.add(row.key);
    } else if (!checked && matched) {
      view.drop.add(row.key);
    }
  };

  // ---------------------------------------------------------------- the tables of cohorts

  Explore.prototype.checkbox = function (cell, row) {
    const box = element(cell, "input");
    box.type = "checkbox";
    box.checked = row.chosen === this.mark;
    box.dataset.key = row.key;
    box.setAttribute("aria-label", "Choose " + row.label + " (" + row.title + ")");
    return box;
  };

  // The chosen measure's figure in three cells: the rate with responders/n, its exact interval, its source.
  Explore.prototype.figureCells = function (tr, row) {
    const figure = figuresOf(row)[this.view.measure];
    if (!figure || figure.r === null || figure.r === undefined) {
      element(element(tr, "td"), "span", (figure && figure.why) || "not recorded", "atlas-note");
      element(tr, "td");
      element(tr, "td");
      return;
    }
    const value = figure.value !== null && figure.value !== undefined ? figure.value + "%" : pct(100 * figure.r / figure.n);
    element(tr, "td", value + " (" + figure.r + "/" + figure.n + ")" + (figure.r_derived ? ", responders derived" : ""));
    element(tr, "td", interval(figure.low, figure.high));
    element(tr, "td", figure.source || "", "atlas-source");
  };

  Explore.prototype.headRow = function (table, names) {
    let head = table.tHead;
    if (!head) {
      head = table.createTHead();
    }
    head.textContent = "";
    const tr = element(head, "tr");
    names.forEach(function (name) {
      const th = element(tr, "th", name);
      th.scope = "col";
    });
  };

  Explore.prototype.drawTable = function () {
    const table = this.table, explore = this, model = this.model;
    const short = model.measures[this.view.measure].short;
    this.headRow(table, ["Use", "Cohort", "Year", "Design", model.facets.partner_group.label,
      model.facets.index_switch.label, model.facets.prior_status.label, "Patients", short + ", responders/n",
      "Exact 95% CI", "Source"]);
    const body = document.createElement("tbody");
    this.shown.slice(0, this.limit).forEach(function (row) {
      const tr = explore.cohortRow(body, row);
      element(tr, "td", row.year === null ? "" : String(row.year));
      element(tr, "td", explore.label("design", row.design));
      element(tr, "td", explore.label("partner_group", row.partner_group));
      element(tr, "td", explore.label("index_switch", row.index_switch));
      element(tr, "td", explore.label("prior_status", row.prior_status) + (row.control ? "; control arm" : ""));
      element(tr, "td", row.patients === null ? "not reported" : String(row.patients), "atlas-n");
      explore.figureCells(tr, row);
    });
    if (table.tBodies.length) {
      table.replaceChild(body, table.tBodies[0]);
    } else {
      table.appendChild(body);
    }
    const total = this.shown.length;
    this.drawCount();
    this.more.hidden = total <= this.limit;
    this.more.textContent = "Show " + Math.min(PAGE_SIZE, total - this.limit) + " more";
  };

  // A row's first two cells, in both tables: its checkbox, and the cohort linked to its study page over the study's title.
  Explore.prototype.cohortRow = function (body, row) {
    const tr = element(body, "tr");
    this.checkbox(element(tr, "td"), row);
    const cohort = element(tr, "td");
    link(cohort, hrefOf(row), row.label);
    element(cohort, "br");
    element(cohort, "span", row.title, "atlas-note");
    return tr;
  };

  Explore.prototype.drawCount = function () {
    const total = this.shown.length;
    this.count.textContent = thousands(total) + " cohort" + (total === 1 ? "" : "s") + " in the question match"
      + (total === 1 ? "es" : "") + " the filters; " + thousands(this.chosen.length) + " chosen"
      + (total > this.limit ? "; the first " + thousands(this.limit) + " shown." : ".");
  };

  Explore.prototype.drawOutside = function () {
    const rows = this.outside, explore = this;
    this.outsideBox.hidden = rows.length === 0;
    this.outsideCount.textContent = thousands(rows.length) + " matching cohort" + (rows.length === 1 ? " is" : "s are")
      + " not in the question and can never enter the pool; checking one lists it among those held out.";
    const body = document.createElement("tbody");
    rows.slice(0, this.outsideLimit).forEach(function (row) {
      const tr = explore.cohortRow(body, row);
      element(tr, "td", explore.label("prior_status", row.prior_status));
      element(tr, "td", row.whyNot || "");
    });
    this.outsideTable.replaceChild(body, this.outsideTable.tBodies[0]);
    this.outsideMore.hidden = rows.length <= this.outsideLimit;
  };

  // ---------------------------------------------------------------- the result

  function setData(node, values) {
    Object.keys(values).forEach(function (name) {
      const value = values[name];
      if (value === null || value === undefined) {
        delete node.dataset[name];
      } else {
        node.dataset[name] = String(value);
      }
    });
  }

  function estimateText(short, name, e) {
    return name + ": " + short + " " + pct(e.value) + " (95% CI " + interval(e.ciLowPct, e.ciHighPct) + ")"
      + (e.piLowPct === null ? "" : "; 95% prediction interval " + interval(e.piLowPct, e.piHighPct))
      + "; I² " + e.i2.toFixed(1) + "%; τ² " + e.tau2.toFixed(3) + (e.q === undefined ? "" : "; Q " + e.q.toFixed(2)) + ".";
  }

  Explore.prototype.drawResult = function () {
    const box = this.resultBox, result = this.result, model = this.model;
    const short = model.measures[result.measure].short;
    const k = result.kept.length;
    box.textContent = "";
    setData(box, { k: k, patients: result.patients, measure: result.measure, pooled: result.estimates.length ? "yes" : "no",
      keys: result.kept.map(function (row) { return row.key; }).join(",") });
    element(box, "p", "k = " + k + " independent cohort" + (k === 1 ? "" : "s") + ", " + thousands(result.patients)
      + " patients; " + thousands(result.held.length) + " chosen cohort" + (result.held.length === 1 ? "" : "s")
      + " held out (listed below).", "atlas-explore-k");
    if (!result.estimates.length) {
      const values = result.kept.map(function (row) { return figuresOf(row)[result.measure]; });
      let text = "No pooled estimate: " + result.why + ".";
      if (values.length) {
        const pcts = values.map(function (f) { return 100 * f.r / f.n; });
        const low = Math.min.apply(null, pcts), high = Math.max.apply(null, pcts);
        text += values.length === 1 ? " The one cohort's " + short + " is " + pct(low) + "."
          : " The " + values.length + " cohorts' " + short + " ranges from " + pct(low) + " to " + pct(high) + ".";
        setData(box, { rangeLow: low, rangeHigh: high });
      } else {
        setData(box, { rangeLow: null, rangeHigh: null });
      }
      element(box, "p", text, "atlas-explore-none");
      return;
    }
    setData(box, { rangeLow: null, rangeHigh: null });
    result.estimates.forEach(function (e, i) {
      const block = element(box, "p", estimateText(short, METHODS[i][1], e), "atlas-explore-method");
      setData(block, { method: e.method, value: e.value, ciLow: e.ciLowPct, ciHigh: e.ciHighPct, piLow: e.piLowPct,
        piHigh: e.piHighPct, i2: e.i2, tau2: e.tau2, q: e.q, k: e.k });
    });
    const known = result.known;
    if (known) {
      const block = element(box, "p", "The " + BN_NAME + ", as the build computed it for this very set: " + short + " "
        + pct(known.value) + " (95% CI " + interval(known.ci_low, known.ci_high) + ")"
        + (known.pi_low === null || known.pi_low === undefined ? "" : "; prediction interval " + interval(known.pi_low, known.pi_high))
        + "; τ² " + known.tau2.toFixed(3) + "; see ", "atlas-explore-method");
      link(block, known.href, known.source);
      block.appendChild(document.createTextNode("."));
      setData(block, { method: "bn", value: known.value, ciLow: known.ci_low, ciHigh: known.ci_high, piLow: known.pi_low,
        piHigh: known.pi_high, tau2: known.tau2, k: k });
    } else {
      element(box, "p", "The " + BN_NAME + " is computed at build time only, and the build has not pooled this set; "
        + "DerSimonian-Laird and Paule-Mandel are its sensitivity analyses.", "atlas-note atlas-explore-bn");
    }
  };

  // ---------------------------------------------------------------- the forest plot and its data table

  Explore.prototype.drawForest = function () {
    const figure = this.forest, result = this.result, model = this.model, measure = result.measure;
    const short = model.measures[measure].short;
    figure.textContent = "";
    const kept = result.kept.slice(0, FOREST_MAX);
    const caption = document.createElement("figcaption");
    caption.id = "explore-forest-caption";
    const pooled = result.estimates.length ? result.estimates[0] : null;
    let text = kept.length ? "Forest plot of the " + result.kept.length + " cohort" + (result.kept.length === 1 ? "" : "s")
      + " used (" + short + ", each with its exact 95% interval"
      + (result.kept.length > kept.length ? "; the " + kept.length + " largest shown" : "") + ")." : "No cohort to plot.";
    if (pooled) {
      text += " Pooled by DerSimonian-Laird (the diamond): " + pct(pooled.value) + " (95% CI "
        + interval(pooled.ciLowPct, pooled.ciHighPct) + "); 95% prediction interval (the dashed line) "
        + interval(pooled.piLowPct, pooled.piHighPct) + ".";
    } else if (kept.length) {
      text += " Not pooled: " + result.why + ".";
    }
    caption.textContent = text;
    if (kept.length) {
      this.drawSvg(figure, kept, pooled, short);
      this.drawForestTable(figure, kept, pooled, short);
    }
    figure.appendChild(caption);
  };

  Explore.prototype.drawSvg = function (figure, kept, pooled, short) {
    const measure = this.result.measure;
    const rowHeight = 20, top = 28, labelWidth = 330, left = 340, right = 700, width = 860;
    const rows = kept.length + (pooled ? 2 : 0);
    const axisY = top + rows * rowHeight + 6;
    const height = axisY + 36;
    const x = function (percent) { return left + (right - left) * percent / 100; };
    const scroll = element(figure, "div", null, "atlas-scroll");
    scroll.tabIndex = 0;
    scroll.setAttribute("role", "region");
    scroll.setAttribute("aria-label", "Forest plot");
    const root = svg(scroll, "svg", { viewBox: "0 0 " + width + " " + height, width: width, height: height,
      role: "img", "aria-labelledby": "explore-forest-caption", class: "atlas-explore-svg" });
    svg(root, "text", { x: 4, y: 18, class: "atlas-forest-head" }, "Cohort");
    svg(root, "text", { x: right + 10, y: 18, class: "atlas-forest-head" }, short + " % (95% CI)");
    for (let tick = 0; tick <= 100; tick += 20) {
      svg(root, "line", { x1: x(tick), y1: top - 4, x2: x(tick), y2: axisY, class: "atlas-forest-grid" });
      svg(root, "text", { x: x(tick), y: axisY + 16, "text-anchor": "middle", class: "atlas-forest-tick" }, String(tick));
    }
    svg(root, "line", { x1: left, y1: axisY, x2: right, y2: axisY, class: "atlas-forest-axis" });
    const weights = pooled ? this.result.cells.slice(0, kept.length).map(function (c) {
      return 1 / (window.AtlasPool.logitProportion(c.responders, c.n).v + pooled.tau2);
    }) : null;
    const heaviest = weights ? Math.max.apply(null, weights) : 1;
    kept.forEach(function (row, i) {
      const f = figuresOf(row)[measure];
      const y = top + i * rowHeight + rowHeight / 2;
      const label = svg(root, "text", { x: 4, y: y + 4, class: "atlas-forest-label" }, shorten(row.label, 48));
      svg(label, "title", {}, row.label + " (" + row.title + ")");
      svg(root, "line", { x1: x(f.low), y1: y, x2: x(f.high), y2: y, class: "atlas-forest-ci" });
      const side = weights ? 4 + 8 * Math.sqrt(weights[i] / heaviest) : 7;
      const p = 100 * f.r / f.n;
      svg(root, "rect", { x: x(p) - side / 2, y: y - side / 2, width: side, height: side, class: "atlas-forest-mark" });
      svg(root, "text", { x: right + 10, y: y + 4, class: "atlas-forest-value" }, p.toFixed(1) + " (" + f.low.toFixed(1)
        + "–" + f.high.toFixed(1) + ")");
    });
    if (pooled) {
      const y = top + kept.length * rowHeight + rowHeight / 2;
      svg(root, "text", { x: 4, y: y + 4, class: "atlas-forest-pooled" }, "Pooled (DerSimonian-Laird)");
      svg(root, "path", { d: "M" + x(pooled.ciLowPct) + "," + y + " L" + x(pooled.value) + "," + (y - 7) + " L"
        + x(pooled.ciHighPct) + "," + y + " L" + x(pooled.value) + "," + (y + 7) + " Z", class: "atlas-forest-diamond" });
      svg(root, "text", { x: right + 10, y: y + 4, class: "atlas-forest-pooled" }, pooled.value.toFixed(1) + " ("
        + pooled.ciLowPct.toFixed(1) + "–" + pooled.ciHighPct.toFixed(1) + ")");
      const yp = y + rowHeight;
      svg(root, "text", { x: 4, y: yp + 4, class: "atlas-forest-label" }, "95% prediction interval");
      svg(root, "line", { x1: x(pooled.piLowPct), y1: yp, x2: x(pooled.piHighPct), y2: yp, class: "atlas-forest-pi" });
      svg(root, "text", { x: right + 10, y: yp + 4, class: "atlas-forest-value" }, pooled.piLowPct.toFixed(1) + "–"
        + pooled.piHighPct.toFixed(1));
    }
    svg(root, "text", { x: (left + right) / 2, y: axisY + 32, "text-anchor": "middle", class: "atlas-forest-head" },
      short + " (%)");
  };

  Explore.prototype.drawForestTable = function (figure, kept, pooled, short) {
    const measure = this.result.measure;
    const details = element(figure, "details", null, "atlas-explore-data");
    element(details, "summary", "The plot's data as a table");
    const scroll = element(details, "div", null, "atlas-scroll");
    scroll.tabIndex = 0;
    scroll.setAttribute("role", "region");
    scroll.setAttribute("aria-label", "The forest plot's data");
    const table = element(scroll, "table", null, "atlas-explore-forest-table");
    element(table, "caption", "The cohorts of the forest plot, and the pooled result");
    const tr = element(element(table, "thead"), "tr");
    ["Cohort", "Responders/n", short + " % (exact 95% CI)"].forEach(function (name) { element(tr, "th", name).scope = "col"; });
    const body = element(table, "tbody");
    kept.forEach(function (row) {
      const f = figuresOf(row)[measure];
      const line = element(body, "tr");
      element(line, "td", row.label + " (" + row.title + ")");
      element(line, "td", f.r + "/" + f.n);
      element(line, "td", pct(100 * f.r / f.n) + " (" + interval(f.low, f.high) + ")");
    });
    if (pooled) {
      const line = element(body, "tr");
      element(line, "td", "Pooled, DerSimonian-Laird; 95% prediction interval " + interval(pooled.piLowPct, pooled.piHighPct));
      element(line, "td", String(this.result.patients) + " patients");
      element(line, "td", pct(pooled.value) + " (" + interval(pooled.ciLowPct, pooled.ciHighPct) + ")");
    }
  };

  // ---------------------------------------------------------------- held out, with the alternative

  const HELD_KINDS = [["outside", "not in the question"], ["control", "control arms"],
    ["figure", "without responders and n for this measure"], ["overlap", "may share patients with a cohort used"]];

  Explore.prototype.drawHeld = function () {
    const box = this.heldBox, result = this.result, held = result.held, explore = this;
    box.textContent = "";
    setData(box, { count: held.length });
    if (!held.length) {
      element(box, "p", "No chosen cohort is held out.", "atlas-note");
      return;
    }
    const tally = {};
    held.forEach(function (h) { tally[h.kind] = (tally[h.kind] || 0) + 1; });
    const counts = HELD_KINDS.filter(function (kind) { return tally[kind[0]]; }).map(function (kind) {
      return thousands(tally[kind[0]]) + " " + kind[1];
    });
    element(box, "p", thousands(held.length) + " chosen cohort" + (held.length === 1 ? " is" : "s are")
      + " held out of the pool: " + counts.join("; ") + ".");
    const list = element(box, "ul", null, "atlas-explore-held-list");
    held.slice(0, this.heldLimit).forEach(function (h) {
      const item = element(list, "li");
      item.dataset.key = h.row.key;
      item.dataset.kind = h.kind;
      link(item, hrefOf(h.row), h.row.label);
      item.appendChild(document.createTextNode(" (" + h.row.title + "): held out, " + reason(h, result.measure) + "."));
      if (h.kind === "overlap") {
        const sameStudy = h.clash.study === h.row.study;
        item.appendChild(document.createTextNode(" Alternative: use «" + h.clash.label + "»"
          + (sameStudy ? "" : " (" + h.clash.title + ")") + " instead of "
          + (sameStudy ? "this cohort of the same study, as the pool does now, or " : "this linked report, as the pool does now, or ")));
        const button = element(item, "button", "use this cohort instead", "atlas-explore-swap");
        button.type = "button";
        button.dataset.key = h.row.key;
        button.setAttribute("aria-label", "Use " + h.row.label + " instead of " + h.clash.label);
        item.appendChild(document.createTextNode("."));
      }
    });
    if (held.length > this.heldLimit) {
      const more = element(box, "button", "Show all " + thousands(held.length) + " held out", "md-button");
      more.type = "button";
      more.addEventListener("click", function () {
        explore.heldLimit = held.length;
        explore.drawHeld();
      });
    }
  };

  // Keep this cohort: every chosen cohort that may share its patients is unchecked.
  Explore.prototype.swap = function (key) {
    const row = this.model.byKey.get(key), explore = this;
    this.choose(row, true);
    row.overlapRows.forEach(function (other) {
      const mate = explore.model.rows[other];
      if (mate.chosen === explore.mark) {
        explore.choose(mate, false);
      }
    });
  };

  // ---------------------------------------------------------------- downloads and citation

  Explore.prototype.csv = function () {
    const model = this.model, result = this.result, measure = result.measure, explore = this;
    const reasons = new Map(result.held.map(function (h) { return [h.row.key, reason(h, measure)]; }));
    const used = new Set(result.kept.map(function (row) { return row.key; }));
    const header = ["row", "study_id", "cohort_id", "study_title", "cohort_label", "first_published", "design",
      "index_switch", "partner_group", "prior_status", "patients", "measure", "responders", "n", "responders_derived",
      "n_from_cohort", "value_percent", "ci_low", "ci_high", "pi_low", "pi_high", "k", "tau2", "i2", "q", "used", "held_out_because", "source", "url"];
    const rows = this.chosen.map(function (row) {
      const f = figuresOf(row)[measure] || {};
      const has = f.r !== null && f.r !== undefined;
      return ["cohort", row.study, row.cohort, row.title, row.label, row.year, explore.label("design", row.design),
        explore.label("index_switch", row.index_switch), explore.label("partner_group", row.partner_group),
        explore.label("prior_status", row.prior_status), row.patients, model.measures[measure].short,
        has ? f.r : null, has ? f.n : null, has ? f.r_derived : null, has ? f.n_from_cohort : null,
        has ? f.value : null, has ? f.low : null, has ? f.high : null, null, null,
        null, null, null, null, used.has(row.key), reasons.get(row.key) || null, f.source || null,
        new URL(hrefOf(row), window.location.href).href];
    });
    const selection = window.location.href;
    result.estimates.forEach(function (e, i) {
      rows.push(["pooled " + e.method, null, null, null, METHODS[i][1], null, null, null, null, null, result.patients,
        model.measures[measure].short, null, null, null, null, e.value, e.ciLowPct, e.ciHighPct, e.piLowPct, e.piHighPct, e.k,
        e.tau2, e.i2, e.q, null, null, "computed in the browser from this selection", selection]);
    });
    if (result.known) {
      const b = result.known;
      rows.push(["pooled bn", null, null, null, BN_NAME, null, null, null, null, null, result.patients,
        model.measures[measure].short, null, null, null, null, b.value, b.ci_low, b.ci_high, b.pi_low, b.pi_high, result.kept.length,
        b.tau2, null, null, null, null, b.source, new URL(b.href, window.location.href).href]);
    } else if (!result.estimates.length) {
      rows.push(["not pooled", null, null, null, result.why, null, null, null, null, null, result.patients,
        model.measures[measure].short, null, null, null, null, null, null, null, null, null, result.kept.length, null, null, null,
        null, null, null, selection]);
    }
    return toCsv(header, rows);
  };

  Explore.prototype.citationText = function () {
    const model = this.model, result = this.result;
    const site = document.title || "Explore";
    return site + ". A selection of " + this.chosen.length + " cohort" + (this.chosen.length === 1 ? "" : "s") + " ("
      + result.kept.length + " pooled, " + model.measures[result.measure].short + "). Data release " + model.release
      + ", built " + model.built + ". " + window.location.href + " (accessed " + new Date().toISOString().slice(0, 10) + ").";
  };

  Explore.prototype.drawCitation = function () {
    if (this.citation) {
      this.citation.textContent = this.citationText();
    }
  };

  // ---------------------------------------------------------------- start

  Explore.prototype.scaffold = function () {
    // The count above the table, the "show more" button below it, and the cohorts not in the question, apart.
    const table = this.table;
    const anchor = table.closest(".atlas-scroll") || table;
    anchor.classList.add("atlas-explore-rows");
    this.count = document.getElementById("explore-count") || element(null, "p", null, "atlas-count");
    this.count.id = "explore-count";
    if (!this.count.parentNode) {
      anchor.parentNode.insertBefore(this.count, anchor);
    }
    this.more = element(null, "button", "Show more", "md-button");
    this.more.type = "button";
    this.more.id = "explore-more";
    anchor.parentNode.insertBefore(this.more, anchor.nextSibling);
    const section = element(null, "section", null, "atlas-explore-outside");
    section.id = "explore-outside";
    section.setAttribute("aria-labelledby", "explore-outside-title");
    const title = element(section, "h2", "Not in the question");
    title.id = "explore-outside-title";
    this.outsideCount = element(section, "p", null, "atlas-note");
    const scroll = element(section, "div", null, "atlas-scroll");
    scroll.tabIndex = 0;
    scroll.setAttribute("role", "region");
    scroll.setAttribute("aria-label", "Cohorts not in the question");
    this.outsideTable = element(scroll, "table", null, "atlas-explore-table");
    element(this.outsideTable, "caption", "Cohorts not in the question, and why");
    this.headRow(this.outsideTable, ["Choose", "Cohort", this.model.facets.prior_status.label, "Why not in the question"]);
    this.outsideTable.appendChild(document.createElement("tbody"));
    this.outsideMore = element(section, "button", "Show more", "md-button");
    this.outsideMore.type = "button";
    this.outsideBox = section;
    this.more.parentNode.insertBefore(section, this.more.nextSibling);
    if (!table.caption) {
      table.createCaption().textContent = "Cohorts in the question: check those to pool";
    }
  };

  Explore.prototype.start = function () {
    const explore = this, form = this.form;
    this.fillOptions();
    this.scaffold();
    this.view = viewFromParams(this.model, new URLSearchParams(window.location.search));
    this.controlsFromView();
    this.resultBox.setAttribute("aria-live", "polite");
    this.resultBox.setAttribute("aria-atomic", "true");
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    // Redrawn only when the view changed: an input's change event on leaving it repeats what typing did, and
    // redrawing then would take away the focus the reader is moving to a row's checkbox.
    const changed = function () {
      const before = paramsFromView(explore.model, explore.view).toString();
      explore.viewFromControls();
      if (paramsFromView(explore.model, explore.view).toString() === before) {
        return;
      }
      explore.limit = PAGE_SIZE;
      explore.outsideLimit = OUTSIDE_PAGE;
      explore.heldLimit = HELD_MAX;
      explore.render();
      explore.record();
    };
    form.addEventListener("change", changed);
    form.addEventListener("input", function (event) {
      if (event.target.tagName === "INPUT") {
        changed();
      }
    });
    form.addEventListener("reset", function () {
      setTimeout(function () {
        explore.view.add.clear();
        explore.view.drop.clear();
        explore.viewFromControls();
        explore.render();
        explore.record();
      }, 0);
    });
    const picked = function (event) {
      const box = event.target;
      if (box.type !== "checkbox" || !box.dataset.key) {
        return;
      }
      explore.choose(explore.model.byKey.get(box.dataset.key), box.checked);
      explore.refresh();
    };
    this.table.addEventListener("change", picked);
    this.outsideTable.addEventListener("change", picked);
    this.heldBox.addEventListener("click", function (event) {
      const button = event.target.closest("button.atlas-explore-swap");
      if (button) {
        explore.swap(button.dataset.key);
        explore.render();
        explore.record();
      }
    });
    this.more.addEventListener("click", function () {
      explore.limit += PAGE_SIZE;
      explore.drawTable();
    });
    this.outsideMore.addEventListener("click", function () {
      explore.outsideLimit += OUTSIDE_PAGE;
      explore.drawOutside();
    });
    if (this.csvLink) {
      this.csvLink.download = "explore-selection.csv";
      this.csvLink.href = "#";
      // The file is made when asked for: the link's address is set before the browser follows it.
      this.csvLink.addEventListener("click", function () {
        if (explore.blobUrl) {
          URL.revokeObjectURL(explore.blobUrl);
        }
        explore.blobUrl = URL.createObjectURL(new Blob([explore.csv()], { type: "text/csv;charset=utf-8" }));
        explore.csvLink.href = explore.blobUrl;
      });
    }
    window.addEventListener("popstate", function () {
      explore.view = viewFromParams(explore.model, new URLSearchParams(window.location.search));
      explore.controlsFromView();
      explore.limit = PAGE_SIZE;
      explore.render();
    });
    const staticPart = document.getElementById("explore-static");
    if (staticPart) {
      staticPart.hidden = true;
    }
    ["explore-live", "explore-form", "explore-result", "explore-forest", "explore-table", "explore-held", "explore-csv",
      "explore-cite", "explore-citation"].forEach(function (id) {
      const node = document.getElementById(id);
      if (node) {
        node.hidden = false;
      }
    });
    this.render();
    this.record();
  };

  // A checkbox changed: the rows stay as they are; the pool, the plot, those held out and the address follow.
  Explore.prototype.refresh = function () {
    this.compute();
    this.drawResult();
    this.drawForest();
    this.drawHeld();
    this.record();
    this.drawCitation();
    const byKey = this.model.byKey, mark = this.mark;
    document.querySelectorAll("#explore-table input[type=checkbox], #explore-outside input[type=checkbox]")
      .forEach(function (box) { box.checked = byKey.get(box.dataset.key).chosen === mark; });
    this.drawCount();
  };

  async function start() {
    const table = document.getElementById("explore-table");
    if (!table || !table.dataset.src || !window.AtlasPool) {
      return;
    }
    const response = await fetch(table.dataset.src);
    if (!response.ok) {
      throw new Error("could not load " + table.dataset.src + ": " + response.status);
    }
    const data = await response.json();
    performance.mark("explore:parsed");
    const explore = new Explore(table, data);
    performance.mark("explore:modelled");
    explore.start();
    performance.mark("explore:drawn");
    // Ready once the first result is painted: the time since navigation began, in milliseconds (tools/bench.py).
    requestAnimationFrame(function () {
      setTimeout(function () {
        table.dataset.ready = performance.now().toFixed(1);
      }, 0);
    });
  }

  function run() {
    start().catch(function (error) {
      console.warn("The Explore page stays static:", error);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
