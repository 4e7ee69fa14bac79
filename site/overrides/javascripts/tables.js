/* Sortable tables on every page: click a column heading to sort by it, click again to reverse.
 *
 * Uses the vendored tablesort (tablesort.min.js, MIT, see tablesort.LICENSE.txt), so nothing is loaded from
 * another host. Its own number extension misreads exponents (1.2e-05 sorts as 1.2), so numbers get this one:
 * plain or scientific numbers, optionally followed by an interval in parentheses (it sorts by the value);
 * a dash (no value) sorts after every number.
 */
(function () {
  "use strict";
  var NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?%?(\s*\(.*\))?$/i;
  var MISSING = /^[–-]$/;

  function value(text) {
    var number = parseFloat(text.trim());
    return isNaN(number) ? -Infinity : number;
  }

  Tablesort.extend("number", function (item) {
    return NUMBER.test(item) || MISSING.test(item);
  }, function (a, b) {
    var x = value(a), y = value(b);
    return x === y ? 0 : (y > x ? 1 : -1);
  });

  // mkdocs-material emits `document$` on every page load (instant navigation included).
  document$.subscribe(function () {
    document.querySelectorAll("article table:not([class])").forEach(function (table) {
      new Tablesort(table);
    });
  });
})();
