/* The cases screens' one extra over casebridge.js: row checkboxes with a select-all box and
   a bulk action menu that stays disabled until something is selected (Costs Management).
   Markup: <input type="checkbox" data-select-all="G">, <input type="checkbox"
   data-select-item="G">, [data-selected-count="G"] and [data-needs-selection="G"]; and
   <input type="checkbox" data-select-matching="G" data-matching-count="N">: every row the
   filters match, on every page (the server finds them again from the filters). */
(function () {
  "use strict";
  var doc = document;

  function all(selector) { return Array.prototype.slice.call(doc.querySelectorAll(selector)); }
  function items(group) { return all("input[type='checkbox'][data-select-item='" + group + "']"); }

  function matching(group) {
    return all("input[type='checkbox'][data-select-matching='" + group + "']")[0] || null;
  }

  function refresh(group) {
    var list = items(group);
    var checked = list.filter(function (box) { return box.checked; }).length;
    all("input[data-select-all='" + group + "']").forEach(function (box) {
      box.checked = list.length > 0 && checked === list.length;
      box.indeterminate = checked > 0 && checked < list.length;
    });
    var every = matching(group);
    if (every && every.checked) {
      if (checked < list.length) {
        every.checked = false;  /* a row unticked: back to the rows ticked */
      } else {  /* every match, on every page */
        checked = parseInt(every.getAttribute("data-matching-count"), 10) || checked;
      }
    }
    all("[data-selected-count='" + group + "']").forEach(function (el) {
      el.textContent = checked === 1 ? "1 selected" : checked.toLocaleString("en-US") + " selected";
    });
    all("[data-needs-selection='" + group + "']").forEach(function (el) {
      el.disabled = checked === 0;
      el.setAttribute("aria-disabled", checked === 0 ? "true" : "false");
    });
  }

  doc.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.matches) { return; }
    var group = target.getAttribute("data-select-matching");
    if (group) {
      if (target.checked) { items(group).forEach(function (box) { box.checked = true; }); }
      refresh(group);
      return;
    }
    group = target.getAttribute("data-select-all");
    if (group) {
      var every = matching(group);
      if (every && !target.checked) { every.checked = false; }
      items(group).forEach(function (box) { box.checked = target.checked; });
      refresh(group);
      return;
    }
    group = target.getAttribute("data-select-item");
    if (group) { refresh(group); }
  });

  function init() {
    var groups = {};
    all("[data-select-all], [data-select-item]").forEach(function (el) {
      groups[el.getAttribute("data-select-all") || el.getAttribute("data-select-item")] = true;
    });
    Object.keys(groups).forEach(refresh);
  }
  if (doc.readyState === "loading") {
    doc.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}());
