// Counts down every offer's remaining time ("12:34 left"); when one runs out, asks htmx
// panels listening for "offer-ended" to refresh from the server (the server decides).
(function () {
  function render() {
    const now = Date.now();
    document.querySelectorAll("[data-expires-at]").forEach((element) => {
      const left = Math.max(0, Math.round((Date.parse(element.dataset.expiresAt) - now) / 1000));
      const minutes = Math.floor(left / 60);
      const seconds = String(left % 60).padStart(2, "0");
      element.textContent = left > 0 ? `${minutes}:${seconds} left` : "time is up";
      if (left === 0 && !element.dataset.ended) {
        element.dataset.ended = "1";
        document.body.dispatchEvent(new Event("offer-ended"));
      }
    });
  }
  document.addEventListener("DOMContentLoaded", render);
  document.addEventListener("htmx:afterSwap", render);
  setInterval(render, 1000);
})();
