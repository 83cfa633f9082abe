// DOM helpers of the console. Text always goes in as text nodes (never as HTML), and no element
// gets a style attribute: the Content-Security-Policy allows neither inline script nor inline
// style (docs/contracts/console.md).

/**
 * Creates an element. `attrs`: `class`, `data` (an object of data-* values), `text`,
 * `on` (an object of event listeners), anything else as an attribute (false/null/undefined:
 * left out, true: present). Children: nodes, strings (as text), arrays of those, null (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = String(value);
    else if (name === "data") for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    else if (name === "on") for (const [k, fn] of Object.entries(value)) el.addEventListener(k, fn);
    else if (name === "style") throw new Error("no inline style (CSP): use a class");
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** "2026-12-07 05:01:02Z" from an RFC 3339 instant (microseconds dropped); "" for null. */
export function when(iso) {
  if (!iso) return "";
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)/.exec(iso);
  return m ? `${m[1]} ${m[2]}Z` : iso;
}

/** "42 s ago", "3 min ago", "2 h ago" for a number of seconds. */
export function ago(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "";
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** A status badge: `kind` picks its colour class (status-<kind>). */
export function badge(text, kind = text) {
  return h("span", { class: `badge status-${String(kind).toLowerCase()}`, text });
}

/** Pretty JSON in a <pre>, or an em dash for null. */
export function json(value) {
  if (value === null || value === undefined) return h("span", { class: "muted", text: "none" });
  return h("pre", { class: "json", text: JSON.stringify(value, null, 2) });
}

/** A page's message line: `kind` is "error", "info" or "ok". */
export function message(el, kind, text) {
  el.className = `message ${kind}`;
  el.textContent = text;
  el.hidden = !text;
}

/** A table with a header row; returns { table, body }. */
export function table(columns, cls = "") {
  const body = h("tbody");
  const table = h(
    "table",
    { class: `grid ${cls}` },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", text: c })))),
    body,
  );
  return { table, body };
}

/** A cell; `cls` becomes its class (tests and CSS find cells by it). */
export function cell(cls, ...children) {
  return h("td", { class: cls }, ...children);
}

/** A link inside the console ("#/jobs/<id>"). */
export function link(hash, text) {
  return h("a", { href: hash, text });
}

/** "#/jobs/<id>" with the id escaped as one path segment. */
export function jobHref(jobId) {
  return `#/jobs/${encodeURIComponent(jobId)}`;
}

/** Runs `load` now and every `ms` milliseconds; returns the function that stops it. */
export function every(ms, load) {
  load();
  const timer = setInterval(load, ms);
  return () => clearInterval(timer);
}

/**
 * "← Newer" / "Older →" over a list's keyset cursors (next_cursor). `go()` reads the page at
 * `cursor`; call shown(next_cursor) once it is shown. `el` is the pager's element.
 */
export class Pager {
  constructor(go) {
    this.cursors = []; // cursors of the pages before this one; [] = the first page
    this.next = null;
    this.newer = h("button", { type: "button", class: "secondary", text: "← Newer", disabled: true });
    this.older = h("button", { type: "button", class: "secondary", text: "Older →", disabled: true });
    this.info = h("span", { class: "muted" });
    this.el = h("div", { class: "pager" }, this.newer, this.info, this.older);
    this.newer.addEventListener("click", () => {
      this.cursors = this.cursors.slice(0, -1);
      go();
    });
    this.older.addEventListener("click", () => {
      if (!this.next) return;
      this.cursors = [...this.cursors, this.next];
      go();
    });
  }

  get cursor() {
    return this.cursors.at(-1) ?? "";
  }

  get first() {
    return this.cursors.length === 0;
  }

  reset() {
    this.cursors = [];
  }

  shown(nextCursor) {
    this.next = nextCursor;
    this.older.disabled = !nextCursor;
    this.newer.disabled = this.first;
    this.info.textContent = `page ${this.cursors.length + 1}`;
  }
}
