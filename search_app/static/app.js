// Progressive enhancement only: every feature here has a working form or link without it.
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("search-form");

    // Ticking a facet applies it at once (without script, the 应用筛选 button does).
    document.querySelectorAll('.facet input[type="checkbox"][form="search-form"]').forEach(function (box) {
      box.addEventListener("change", function () {
        if (form) { form.requestSubmit ? form.requestSubmit() : form.submit(); }
      });
    });

    // Type-to-filter for long facets such as issuing bodies.
    document.querySelectorAll(".facet-filter").forEach(function (input) {
      var facet = input.closest(".facet");
      var items = Array.prototype.slice.call(facet.querySelectorAll(".facet-values li"));
      var more = facet.querySelector(".facet-more");
      input.hidden = false;
      input.addEventListener("input", function () {
        var needle = input.value.trim().toLowerCase();
        facet.classList.toggle("filtering", needle !== "");
        if (more && needle !== "") { more.open = true; }
        items.forEach(function (li) {
          var name = li.querySelector(".facet-name");
          var text = (name ? name.textContent : li.textContent).toLowerCase();
          li.hidden = needle !== "" && text.indexOf(needle) === -1;
        });
      });
    });

    // Copy the citation; the text stays selectable in its box for browsers without a clipboard API.
    document.querySelectorAll(".copy-button").forEach(function (button) {
      var target = document.getElementById(button.getAttribute("data-copy-target"));
      var status = button.parentNode.querySelector(".copy-status");
      if (!target) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = target.value || target.textContent;
        var done = function () { if (status) { status.textContent = "已复制到剪贴板"; } };
        var fallback = function () {
          target.focus();
          target.select();
          try { document.execCommand("copy"); done(); }
          catch (e) { if (status) { status.textContent = "请按 Ctrl+C 复制已选中的引用"; } }
        };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(text).then(done, fallback);
        } else {
          fallback();
        }
      });
    });

    // "/" jumps to the query box, as in most search tools.
    document.addEventListener("keydown", function (event) {
      var q = document.getElementById("q");
      var tag = (event.target.tagName || "").toLowerCase();
      if (event.key === "/" && q && tag !== "input" && tag !== "textarea" && tag !== "select" &&
          !event.ctrlKey && !event.metaKey && !event.altKey) {
        event.preventDefault();
        q.focus();
        q.select();
      }
    });
  });
})();
