// The event editor's time-zone select (some 300 zones, grouped by region): a new event
// starts in the browser's own zone, and a filter box narrows the list as you type. Without
// JavaScript the plain select still works (and jumps to a zone by its first letters).
(function () {
  "use strict";

  function preselectBrowserZone(select) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!zone) return;
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === zone) {
        select.value = zone;
        return;
      }
    }
  }

  function normalise(text) {
    return text.toLowerCase().replace(/[_/]+/g, " ").replace(/\s+/g, " ").trim();
  }

  function addFilter(select) {
    var filter = document.createElement("input");
    filter.type = "search";
    filter.placeholder = "Type a city or region";
    filter.setAttribute("aria-label", "Search zones by city or region");
    filter.setAttribute("aria-controls", select.id);
    filter.autocomplete = "off";
    select.parentNode.insertBefore(filter, select);
    filter.addEventListener("input", function () {
      var needle = normalise(filter.value);
      var firstMatch = null;
      Array.prototype.forEach.call(select.options, function (option) {
        var matches = !needle || normalise(option.value + " " + option.text).indexOf(needle) !== -1;
        option.hidden = !matches;
        if (matches && !firstMatch) firstMatch = option;
      });
      Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
        group.hidden = !group.querySelector("option:not([hidden])");
      });
      var selected = select.options[select.selectedIndex];
      if (firstMatch && (!selected || selected.hidden)) select.value = firstMatch.value;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-time-zone-picker]").forEach(function (select) {
      if (select.dataset.preselectBrowserZone === "true") preselectBrowserZone(select);
      addFilter(select);
    });
  });
})();
