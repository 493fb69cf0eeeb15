// Building DOM nodes from elements and text only: no markup from data ever reaches the parser.
const SVG_NS = "http://www.w3.org/2000/svg";

function fill(node, attrs, children) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// h("p", {class: "x"}, "text", otherNode)
export const h = (tag, attrs, ...children) => fill(document.createElement(tag), attrs, children);
export const svg = (tag, attrs, ...children) =>
  fill(document.createElementNS(SVG_NS, tag), attrs, children);

export const $ = (id) => document.getElementById(id);

export function showMessage(text) {
  const box = $("message");
  box.textContent = text ?? "";
  box.hidden = !text;
}

// A table with a header row and one row per item; cells are text or nodes.
export function table(caption, headers, rows, attrs = {}) {
  return h(
    "table",
    attrs,
    caption ? h("caption", null, caption) : null,
    h("thead", null, h("tr", null, headers.map((text) => h("th", { scope: "col" }, text)))),
    h("tbody", null, rows.map((cells) => h("tr", null, cells.map((c) => h("td", null, c)))))
  );
}

// A labelled <select>; options are [value, label] pairs.
export function select(label, name, options, value, onchange) {
  const id = `select-${name}`;
  return h(
    "label",
    { class: "field", for: id },
    h("span", null, label),
    h(
      "select",
      { id, name, onchange },
      options.map(([v, text]) => h("option", { value: v, selected: v === value }, text))
    )
  );
}
