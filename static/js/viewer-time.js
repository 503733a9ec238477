// Beside each event time (<time datetime="…" data-zone="Europe/London">, from the
// event_time template tag) adds the viewer's own clock time where their browser's zone
// differs from the event's: "(your time: Sun 13 Jun, 03:30 GMT+9)". The server's text,
// which names the event's zone, stays as it is; without JavaScript it is all there is.
(function () {
  "use strict";

  var viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  function clock(moment, zone, withZoneName) {
    var options = {
      timeZone: zone,
      weekday: "short",
      day: "numeric",
      month: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    };
    if (withZoneName) options.timeZoneName = "short";
    return new Intl.DateTimeFormat("en-GB", options).format(moment);
  }

  function annotate(root) {
    if (!viewerZone || !root.querySelectorAll) return;
    root.querySelectorAll("time[data-zone][datetime]").forEach(function (element) {
      if (element.dataset.viewerTime || element.dataset.zone === viewerZone) return;
      var moment = new Date(element.getAttribute("datetime"));
      if (isNaN(moment.getTime())) return;
      // Another zone name on the same clock (London and Lisbon in winter) adds nothing.
      try {
        if (clock(moment, element.dataset.zone, false) === clock(moment, viewerZone, false)) return;
      } catch (error) {
        return; // a zone this browser's Intl does not know
      }
      var note = document.createElement("small");
      note.className = "viewer-time";
      note.textContent = " (your time: " + clock(moment, viewerZone, true) + ")";
      element.dataset.viewerTime = "1";
      element.after(note);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    annotate(document);
  });
  // Panels htmx swaps in (the ticket panel, My queue, live search results) bring new times.
  document.addEventListener("htmx:load", function (event) {
    annotate(event.target);
  });
})();
