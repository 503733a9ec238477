// Adds one more ticket type form to the event editor from the formset's empty form.
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("add-ticket-type");
  const list = document.getElementById("ticket-types");
  const template = document.getElementById("ticket-type-template");
  const total = document.getElementById("id_types-TOTAL_FORMS");
  if (!button || !list || !template || !total) return;
  button.addEventListener("click", () => {
    const index = Number(total.value);
    const html = template.innerHTML.replaceAll("__prefix__", String(index));
    list.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    list.lastElementChild.querySelector("input[type=text]")?.focus();
  });
});
