// "Go back" links: history.back() from a script file, since the Content-Security-Policy
// allows no javascript: URL. Without JavaScript, or with no page to go back to, the link's
// own address is followed.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-go-back]");
  if (link && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});
