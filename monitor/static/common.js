// Shared helpers of the monitor pages: fetch JSON, build DOM, format, and the live event stream.
"use strict";
const OKX = {
  async get(url) {
    const resp = await fetch(url, { cache: "no-store", credentials: "same-origin" });
    const body = await resp.json();
    if (!resp.ok) throw new Error(body.error || resp.status + " " + resp.statusText);
    return body;
  },
  el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v; else if (k === "html") node.innerHTML = v; else node.setAttribute(k, v);
    }
    for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
    return node;
  },
  table(columns, rows, rowClass) {
    if (rows === null || rows === undefined) return OKX.el("div", { class: "empty" }, "n/a (this journal has no such table yet)");
    if (!rows.length) return OKX.el("div", { class: "empty" }, "none");
    const head = OKX.el("tr", {}, columns.map(c => OKX.el("th", { class: c.num ? "num" : "" }, c.title)));
    const body = rows.map(r => OKX.el("tr", { class: rowClass ? rowClass(r) : "" },
      columns.map(c => {
        const v = c.value ? c.value(r) : r[c.key];
        return OKX.el("td", { class: (c.num ? "num " : "") + (c.cls ? c.cls(r) : "") }, v instanceof Node ? v : (v ?? "–"));
      })));
    return OKX.el("table", {}, OKX.el("thead", {}, head), OKX.el("tbody", {}, body));
  },
  age(s) {
    if (s === null || s === undefined) return "–";
    if (s < 90) return s.toFixed(0) + "s";
    if (s < 5400) return (s / 60).toFixed(1) + "m";
    return (s / 3600).toFixed(1) + "h";
  },
  time(iso) { return iso ? iso.replace("T", " ").replace(/(\.\d+)?(\+00:00|Z)$/, "") : "–"; },
  num(x) { return x === null || x === undefined ? "–" : String(x); },
  signed(x) {
    if (x === null || x === undefined) return "–";
    const n = Number(x);
    return OKX.el("span", { class: n > 0 ? "pos" : n < 0 ? "neg" : "" }, String(x));
  },
  badge(level, text) { return OKX.el("span", { class: "badge " + level }, text || level.toUpperCase()); },
  reasons(flags) { return flags.filter(f => f.reason).map(f => f.reason).join("; "); },
  // One EventSource for the page; `onEvent` gets each parsed event. The browser reconnects itself.
  live(onEvent) {
    const status = document.getElementById("live");
    const source = new EventSource("/api/events");
    source.onopen = () => { if (status) { status.className = "live on"; status.textContent = "live"; } };
    source.onerror = () => { if (status) { status.className = "live off"; status.textContent = "disconnected"; } };
    source.onmessage = msg => onEvent(JSON.parse(msg.data));
    return source;
  },
  // Run `fn` at most once at a time; a call during a run schedules one more run after it.
  serial(fn) {
    let running = null, again = false;
    const run = async () => {
      if (running) { again = true; return running; }
      running = (async () => { do { again = false; await fn(); } while (again); })();
      try { await running; } finally { running = null; }
    };
    return run;
  },
  showError(err) {
    const banner = document.getElementById("error");
    if (!banner) return;
    banner.style.display = err ? "block" : "none";
    banner.textContent = err ? String(err.message || err) : "";
  },
};
