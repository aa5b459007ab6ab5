/* Casebridge's few page behaviours: pop-up dialogs, menus, tabs, reveal-on-choice, toasts.
   Loaded after htmx on every page (web/base.html). */
(function () {
  "use strict";
  var doc = document;
  var opener = null;

  function each(root, selector, fn) {
    if (!root || !root.querySelectorAll) { return; }
    if (root.matches && root.matches(selector)) { fn(root); }
    Array.prototype.forEach.call(root.querySelectorAll(selector), fn);
  }

  /* Pop-ups: the server answers a button's hx-get with a <dialog class="modal">. */
  function focusFirst(scope) {
    var target = scope.querySelector("[aria-invalid='true']") ||
      scope.querySelector("[autofocus]") ||
      scope.querySelector("[role='tabpanel']:not([hidden]) input:not([type='hidden']), input:not([type='hidden']):not([disabled]), select, textarea");
    if (target) { target.focus(); }
  }
  function openModals(root) {
    each(root, "dialog.modal", function (dialog) {
      if (!dialog.open) { dialog.showModal(); }
      focusFirst(dialog);
    });
  }
  function closeModals() {
    each(doc, "dialog.modal[open]", function (dialog) { dialog.close(); });
  }
  function restoreFocus() {
    if (!opener) { return; }
    var target = opener.element;
    if (!doc.body.contains(target) && opener.label) {
      target = doc.querySelector("[aria-label='" + CSS.escape(opener.label) + "']");
    }
    if (target) { target.focus(); }
    opener = null;
  }
  /* A form already submitting (htmx marks it .htmx-request) ignores a second submit, so a
     double click never records a deposit or a check twice. */
  doc.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.tagName === "FORM" && form.classList.contains("htmx-request")) {
      event.preventDefault();
    }
  });
  doc.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.getAttribute && elt.getAttribute("hx-target") === "#modal-root") {
      opener = { element: elt, label: elt.getAttribute("aria-label") };
    }
  });
  doc.addEventListener("htmx:load", function (event) {
    openModals(event.detail.elt);
    initReveal(event.detail.elt);
  });
  doc.addEventListener("htmx:afterSwap", function (event) {
    var dialog = event.detail.target && event.detail.target.closest && event.detail.target.closest("dialog.modal");
    if (dialog) { focusFirst(dialog); }
  });
  doc.addEventListener("close", function (event) {
    if (event.target.matches && event.target.matches("dialog.modal")) {
      event.target.remove();
      restoreFocus();
    }
  }, true);
  doc.addEventListener("casebridge:close-modal", closeModals);
  doc.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-modal]");
    if (closer && closer.closest("dialog")) { closer.closest("dialog").close(); }
    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss && dismiss.closest(".toast")) { dismiss.closest(".toast").remove(); }
  });

  /* A pop-up request answered with a whole page (the session ended and the server sent
     the sign-in page): go there instead of squeezing it into the page. */
  doc.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status === 200 && /^\s*<!doctype html/i.test(xhr.responseText || "")) {
      event.detail.shouldSwap = false;
      window.location.href = xhr.responseURL || window.location.href;
    }
  });

  /* Toasts for requests the server refused outright (403, 404, 500...). */
  function toast(text, kind) {
    var region = doc.getElementById("messages");
    if (!region) { return; }
    var box = doc.createElement("div");
    box.className = "toast toast-" + (kind || "error");
    var span = doc.createElement("span");
    span.textContent = text;
    var button = doc.createElement("button");
    button.type = "button";
    button.className = "toast-close";
    button.setAttribute("aria-label", "Dismiss");
    button.setAttribute("data-dismiss", "");
    button.textContent = "\u00d7";
    box.appendChild(span);
    box.appendChild(button);
    region.appendChild(box);
  }
  doc.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var text = status === 403 ? "You do not have permission to do that." :
      status === 404 ? "That item no longer exists; reload the page." :
      "Something went wrong (" + status + "). Nothing was saved; please try again.";
    toast(text, "error");
  });
  doc.addEventListener("htmx:sendError", function () {
    toast("The server could not be reached. Nothing was saved; check your connection.", "error");
  });

  /* Menu buttons (the gear): aria-expanded, arrow keys, Escape, click outside. */
  function menuOf(button) { return doc.getElementById(button.getAttribute("aria-controls")); }
  function items(menu) { return Array.prototype.slice.call(menu.querySelectorAll("[role='menuitem']")); }
  /* A menu opens under its button's right edge. A button at the left of a narrow window (a
     page head's buttons wrapped under the heading on a phone) would open it past the
     window's left edge, out of reach: it opens under the button's left edge instead. */
  function keepInWindow(menu) {
    if (menu.classList.contains("menu-left")) { return; }
    menu.classList.remove("menu-from-left");
    if (menu.getBoundingClientRect().left < 0) { menu.classList.add("menu-from-left"); }
  }
  function setMenu(button, open, focusItem) {
    var menu = menuOf(button);
    if (!menu) { return; }
    button.setAttribute("aria-expanded", open ? "true" : "false");
    menu.hidden = !open;
    if (open) { keepInWindow(menu); }
    if (open && focusItem) {
      var list = items(menu);
      if (list.length) { list[focusItem === "last" ? list.length - 1 : 0].focus(); }
    }
  }
  doc.addEventListener("click", function (event) {
    var button = event.target.closest("[data-menu-button]");
    each(doc, "[data-menu-button][aria-expanded='true']", function (other) {
      var menu = menuOf(other);
      if (other !== button && !(menu && menu.contains(event.target))) { setMenu(other, false); }
    });
    if (button) {
      setMenu(button, button.getAttribute("aria-expanded") !== "true", event.detail === 0 ? "first" : null);
    }
  });
  doc.addEventListener("keydown", function (event) {
    var button = event.target.closest && event.target.closest("[data-menu-button]");
    if (button && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      setMenu(button, true, event.key === "ArrowUp" ? "last" : "first");
      return;
    }
    var menu = event.target.closest && event.target.closest("[role='menu']");
    if (!menu) { return; }
    var list = items(menu);
    var index = list.indexOf(doc.activeElement);
    var owner = doc.querySelector("[aria-controls='" + menu.id + "']");
    if (event.key === "ArrowDown") { event.preventDefault(); list[(index + 1) % list.length].focus(); }
    else if (event.key === "ArrowUp") { event.preventDefault(); list[(index - 1 + list.length) % list.length].focus(); }
    else if (event.key === "Home") { event.preventDefault(); list[0].focus(); }
    else if (event.key === "End") { event.preventDefault(); list[list.length - 1].focus(); }
    else if (event.key === "Escape") { event.preventDefault(); setMenu(owner, false); owner.focus(); }
    else if (event.key === "Tab") { setMenu(owner, false); }
  });

  /* Tabs inside a pop-up (role=tablist): click or arrow keys; the form remembers the tab. */
  function selectTab(tab) {
    var list = tab.closest("[role='tablist']");
    Array.prototype.forEach.call(list.querySelectorAll("[role='tab']"), function (each) {
      var on = each === tab;
      each.setAttribute("aria-selected", on ? "true" : "false");
      each.tabIndex = on ? 0 : -1;
      var panel = doc.getElementById(each.getAttribute("aria-controls"));
      if (panel) { panel.hidden = !on; }
    });
    var form = tab.closest("form");
    var memory = form && form.querySelector("input[name='tab']");
    if (memory) { memory.value = tab.getAttribute("data-tab") || ""; }
  }
  doc.addEventListener("click", function (event) {
    var tab = event.target.closest("[role='tab']");
    if (tab && tab.tagName === "BUTTON") { event.preventDefault(); selectTab(tab); }
  });
  doc.addEventListener("keydown", function (event) {
    var tab = event.target.closest && event.target.closest("[role='tab']");
    if (!tab || tab.tagName !== "BUTTON") { return; }
    var tabs = Array.prototype.slice.call(tab.closest("[role='tablist']").querySelectorAll("[role='tab']"));
    var index = tabs.indexOf(tab), next = null;
    if (event.key === "ArrowRight") { next = tabs[(index + 1) % tabs.length]; }
    else if (event.key === "ArrowLeft") { next = tabs[(index - 1 + tabs.length) % tabs.length]; }
    else if (event.key === "Home") { next = tabs[0]; }
    else if (event.key === "End") { next = tabs[tabs.length - 1]; }
    if (next) { event.preventDefault(); selectTab(next); next.focus(); }
  });

  /* Show a field only for one choice of a select: data-reveal-when="select_id=value". */
  function initReveal(root) {
    each(root, "[data-reveal-when]", function (box) {
      if (box.getAttribute("data-reveal-ready")) { return; }
      box.setAttribute("data-reveal-ready", "1");
      var parts = box.getAttribute("data-reveal-when").split("=");
      var select = doc.getElementById(parts[0]);
      if (!select) { return; }
      var update = function () { box.hidden = select.value !== parts[1]; };
      select.addEventListener("change", update);
      update();
    });
  }

  /* Lists on a phone (issue 14): each cell of a table with a head gets its column's name
     (data-label) and the table .table-stack, so at 640 px and below the stylesheet stacks
     its rows as cards, each value beside its column's name. A figures table (a head per
     row) keeps its rows. */
  function cellsOf(row) { return Array.prototype.slice.call(row.cells); }
  function labelTable(table) {
    if (!table.tHead || !table.tHead.rows.length || table.classList.contains("figures")) { return; }
    var names = [];
    cellsOf(table.tHead.rows[table.tHead.rows.length - 1]).forEach(function (cell) {
      var text = (cell.getAttribute("aria-label") || cell.textContent || "").replace(/\s+/g, " ").trim();
      for (var i = 0; i < (cell.colSpan || 1); i++) { names.push(text); }
    });
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var column = 0;
        cellsOf(row).forEach(function (cell) {
          var span = cell.colSpan || 1;
          if (span === 1 && names[column] !== undefined) { cell.setAttribute("data-label", names[column]); }
          column += span;
        });
      });
    });
    table.classList.add("table-stack");
  }
  function labelTables(root) {
    var inside = root && root.closest && root.closest("table.table");
    if (inside) { labelTable(inside); }
    each(root, "table.table", labelTable);
  }

  /* A row's overflow menu ({% row_actions %}: <details class="row-menu">): Escape closes it
     and gives the focus back to its button; opening one or clicking elsewhere closes the
     others. */
  doc.addEventListener("keydown", function (event) {
    var menu = event.key === "Escape" && event.target.closest && event.target.closest("details.row-menu[open]");
    if (menu) {
      event.preventDefault();
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });
  doc.addEventListener("click", function (event) {
    each(doc, "details.row-menu[open]", function (menu) {
      if (!menu.contains(event.target)) { menu.open = false; }
    });
  });

  /* The top bar's search box (web/_search_box.html): Down from the box goes to the first
     live result, Up and Down move among them, Escape closes them and goes back to the box. */
  doc.addEventListener("keydown", function (event) {
    var box = event.target.closest && event.target.closest("[data-search-box]");
    if (!box) { return; }
    var input = box.querySelector("input[type='search']");
    var hits = Array.prototype.slice.call(box.querySelectorAll("#search-live a"));
    var at = hits.indexOf(event.target);
    if (event.key === "Escape") {
      box.querySelector("#search-live").innerHTML = "";
      input.focus();
      event.preventDefault();
    } else if (event.key === "ArrowDown" && hits.length) {
      hits[Math.min(at + 1, hits.length - 1)].focus();
      event.preventDefault();
    } else if (event.key === "ArrowUp" && at >= 0) {
      (at === 0 ? input : hits[at - 1]).focus();
      event.preventDefault();
    }
  });
  doc.addEventListener("click", function (event) {
    each(doc, "[data-search-box]", function (box) {
      if (!box.contains(event.target)) { box.querySelector("#search-live").innerHTML = ""; }
    });
  });

  doc.addEventListener("htmx:load", function (event) { labelTables(event.detail.elt); });
  function ready() { initReveal(doc); labelTables(doc); }
  if (doc.readyState === "loading") {
    doc.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
}());
