(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.finding"));
  var keys = ["severity", "family", "file"];
  var count = document.getElementById("shown");
  function apply() {
    var want = {};
    keys.forEach(function (k) {
      var el = document.getElementById("filter-" + k);
      want[k] = el ? el.value : "";
    });
    var shown = 0;
    rows.forEach(function (r) {
      var ok = keys.every(function (k) {
        return want[k] === "" || r.getAttribute("data-" + k) === want[k];
      });
      r.hidden = !ok;
      if (ok) { shown += 1; }
    });
    if (count) { count.textContent = shown + " of " + rows.length + " shown"; }
  }
  keys.forEach(function (k) {
    var el = document.getElementById("filter-" + k);
    if (el) { el.addEventListener("change", apply); }
  });
  apply();
}());
