/* Sortable tables, as progressive enhancement: without this script a table.atlas-sortable reads in its printed order.
   Each column header gets a real <button>; the header cell carries aria-sort while its column orders the table.
   Cells sort by their data-sort value, as numbers where the header says data-sort-type="number"; a cell without a
   value (a figure not reported) always goes last, whichever the direction. */
(function () {
  "use strict";

  function value(cell, numeric) {
    var raw = cell ? cell.getAttribute("data-sort") : null;
    if (raw === null || raw === "") { return null; }
    if (!numeric) { return raw.toLocaleLowerCase(); }
    var number = parseFloat(raw);
    return isNaN(number) ? null : number;
  }

  function sortBy(table, index, header) {
    var numeric = header.getAttribute("data-sort-type") === "number";
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row, position) {
      return { row: row, key: value(row.cells[index], numeric), position: position };
    });
    rows.sort(function (a, b) {
      if (a.key === null || b.key === null) {
        if (a.key === b.key) { return a.position - b.position; }
        return a.key === null ? 1 : -1;
      }
      var order = numeric ? a.key - b.key : a.key.localeCompare(b.key);
      if (order === 0) { return a.position - b.position; }
      return ascending ? order : -order;
    });
    rows.forEach(function (item) { body.appendChild(item.row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) { cell.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  function enhance(table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "atlas-sort-button";
      while (header.firstChild) { button.appendChild(header.firstChild); }
      header.appendChild(button);
      button.addEventListener("click", function () { sortBy(table, index, header); });
    });
    table.classList.add("atlas-sort-ready");
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.atlas-sortable"), enhance);
})();
