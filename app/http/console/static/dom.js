// Elements built from data: text always goes in as text (never as HTML), so nothing a customer
// or an API answer holds can run as markup.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

let counter = 0;
export function uniqueId(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

// A labelled form control whose typed errors show below it (`path` is the API's field path).
export function field(label, control, path) {
  const id = control.id || uniqueId("field");
  control.id = id;
  const error = h("p", { class: "field-error", id: `${id}-error`, role: "alert", dataset: { errorFor: path } });
  control.setAttribute("aria-describedby", error.id);
  control.dataset.field = path;
  return h("div", { class: "field" }, h("label", { for: id }, label), control, error);
}

export function select(name, options, selected) {
  return h(
    "select",
    { name },
    options.map(([value, label]) => h("option", { value, selected: value === selected }, label)),
  );
}
