// Small helpers for the checkout page's DOM: building elements (text only, never HTML),
// showing errors next to the field they concern, announcing changes to screen readers,
// and formatting money and dates in the shopper's language.

/** The element with this id. */
export const byId = (id) => document.getElementById(id);

/** A new element with a class, text and attributes, and children appended. */
export function element(tag, { className, text, attributes = {} } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/**
 * A radio choice in a box: the radio, its title as its label, and `details` (elements
 * with ids) that describe it. A click anywhere on the box chooses it.
 */
export function choice({ group, id, value, title, details = [], checked = false, onChange }) {
  const input = element("input", { attributes: { type: "radio", name: group, id, value } });
  input.checked = checked;
  if (details.length) input.setAttribute("aria-describedby", details.map((detail) => detail.id).join(" "));
  input.addEventListener("change", onChange);
  const label = element("label", { className: "choice-title", text: title, attributes: { for: id } });
  const box = element("div", { className: "choice" }, [
    input,
    element("div", { className: "choice-body" }, [label, ...details]),
  ]);
  box.addEventListener("click", (event) => {
    if (event.target !== input && event.target !== label) input.click();
  });
  return box;
}

/** Shows or hides elements. */
export function show(visible, ...nodes) {
  for (const node of nodes) node.hidden = !visible;
}

const language = navigator.language || "en";

/** `{ amount: "28.34", currencyCode: "EUR" }` as the shopper writes money, e.g. "€28.34". */
export function formatMoney(money) {
  try {
    // A string keeps the exact decimal amount; no floating point is involved.
    return new Intl.NumberFormat(language, { style: "currency", currency: money.currencyCode })
      .format(money.amount);
  } catch {
    return `${money.amount} ${money.currencyCode}`;
  }
}

/** An ISO date (`2027-02-28`) as the shopper writes dates, e.g. "28 Feb 2027". */
export function formatDate(isoDate) {
  return new Intl.DateTimeFormat(language, { dateStyle: "medium", timeZone: "UTC" })
    .format(new Date(`${isoDate}T00:00:00Z`));
}

/** An RFC 3339 instant in the shopper's time zone, e.g. "31 Jan 2027, 11:00". */
export function formatDateTime(instant) {
  return new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short" })
    .format(new Date(instant));
}

/** Announces a change to screen readers in the polite status region (what it says is
 * also shown where it happened). */
export function announce(text) {
  const region = byId("status");
  region.textContent = "";
  // A fresh text node, a tick later, is read out even when the text repeats.
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

/** Shows `message` under the input `inputId` (its error element is `<inputId>-error`). */
export function fieldError(inputId, message) {
  const input = byId(inputId);
  const error = byId(`${inputId}-error`);
  if (input) input.setAttribute("aria-invalid", "true");
  if (error) {
    error.textContent = message;
    error.hidden = false;
  }
}

/** Shows a message about a whole form or section in the element `id`. */
export function blockError(id, message) {
  const error = byId(id);
  error.textContent = message;
  error.hidden = false;
}

/** Clears every error shown inside `container`. */
export function clearErrors(container) {
  for (const error of container.querySelectorAll(".field-error, .form-error")) {
    error.textContent = "";
    error.hidden = true;
  }
  for (const input of container.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
  }
}

/** Moves focus to the first input marked invalid in `container`, if any. */
export function focusFirstInvalid(container) {
  container.querySelector("[aria-invalid='true']")?.focus();
}

/** Marks a button busy (disabled, with a label saying what is going on) or ready again. */
export function busy(button, isBusy, label) {
  if (isBusy) {
    button.dataset.label = button.textContent;
    button.textContent = label;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
  } else {
    if (button.dataset.label !== undefined) button.textContent = button.dataset.label;
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
