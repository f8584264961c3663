// The fleet page: collector health, one row per trader, chart links, alerts. Refreshed on every event.
"use strict";
(function () {
  const { el, table, age, time, badge, reasons } = OKX;
  window.__okxfleet = { renders: 0, data: null };

  function positions(t) {
    if (!t.positions.length) return el("span", { class: "dim" }, "–");
    return el("span", {}, t.positions.map(p => {
      const skipped = p.status === "skipped";
      const standing = (t.targets || []).find(s => s.inst_id === p.inst_id);
      return el("div", { class: skipped ? "warn-text" : "" },
        `${p.inst_id} ${p.strategy}: pos ${p.now_pos ?? "?"} → target ${p.target ?? "keep"}` +
        (p.desired !== null ? ` (size ${p.desired})` : "") + (standing ? `, standing ${standing.target}` : "") +
        (skipped ? " skipped" : ""));
    }));
  }

  function render(d) {
    document.getElementById("now").textContent = time(d.now) + " UTC";
    const overall = document.getElementById("overall");
    overall.replaceChildren(badge(d.level, d.level === "ok" ? "ALL OK" : d.level === "bad" ? "PROBLEM" : "CHECK"));
    document.title = (d.level === "bad" ? "✖ " : "") + "okxfleet · fleet";

    document.getElementById("collector").replaceChildren(table([
      { title: "interval", key: "interval" },
      { title: "last bar close", value: r => time(r.bar_close) },
      { title: "marker age", value: r => age(r.age_s), num: true },
      { title: "close→ready lag", value: r => r.lag_s === null ? "–" : r.lag_s.toFixed(2) + "s", num: true },
      { title: "max lag (20)", value: r => r.max_lag_s === null ? "–" : r.max_lag_s.toFixed(2) + "s", num: true },
      { title: "ok", value: r => String(r.ok.length), num: true },
      { title: "failed", value: r => Object.keys(r.failed).length ? el("span", { class: "bad-text" },
          Object.entries(r.failed).map(([k, v]) => `${k}: ${v}`).join("; ")) : "0" },
      { title: "status", value: r => badge(r.level) },
      { title: "why", value: r => reasons(r.flags), cls: () => "wrap" },
    ], d.collector, r => r.level));

    document.getElementById("traders").replaceChildren(table([
      { title: "account", value: r => el("a", { href: "/account/" + encodeURIComponent(r.account) }, r.account) },
      { title: "bar", key: "interval" },
      { title: "last cycle", value: r => r.last_cycle ? time(r.last_cycle.bar_close) : "–" },
      { title: "cycle status", value: r => r.last_cycle ? el("span", {
          class: ["skipped", "failed"].includes(r.last_cycle.status) ? "bad-text" : r.last_cycle.status === "done" ? "ok-text" : "warn-text",
        }, r.last_cycle.status) : "–" },
      { title: "equity", value: r => r.equity ?? "–", num: true },
      { title: "positions vs targets", value: positions },
      { title: "open orders", value: r => String(r.open_orders.length), num: true,
        cls: r => r.open_orders.some(o => o.status === "unknown") ? "bad-text" : "" },
      { title: "skipped (recent)", value: r => r.skips.length ? el("span", { class: "warn-text" },
          r.skips.slice(0, 2).map(s => `${time(s.bar_close)} ${s.inst_id} ${s.reason}`).join("; ")) : "–", cls: () => "wrap" },
      { title: "last error", value: r => r.last_error ? el("span", { class: "bad-text" }, r.last_error.message) : "–", cls: () => "wrap" },
      { title: "status", value: r => badge(r.level) },
      { title: "why", value: r => reasons(r.flags), cls: () => "wrap" },
    ], d.traders, r => r.level));

    document.getElementById("charts").replaceChildren(OKX.el("div", {}, table([
      { title: "account", key: "account" },
      { title: "instrument", value: r => el("a", { href: `/chart?inst=${encodeURIComponent(r.inst_id)}&interval=${r.interval}&account=${encodeURIComponent(r.account)}` }, r.inst_id) },
      { title: "interval", key: "interval" },
      { title: "strategy", key: "strategy" },
    ], d.charts),
    OKX.el("div", { class: "empty" }, "every instrument: ", d.instruments.map(inst => OKX.el("span", {}, inst + " ",
      d.intervals.map(iv => [OKX.el("a", { href: `/chart?inst=${encodeURIComponent(inst)}&interval=${iv}` }, iv), " "]),
      " · ")))));

    document.getElementById("alerts").replaceChildren(table([
      { title: "at", value: r => time(r.at) }, { title: "account", key: "account" }, { title: "kind", key: "kind" },
      { title: "instrument", key: "inst_id" }, { title: "message", key: "message", cls: () => "wrap" },
    ], d.alerts, () => "bad"));
    window.__okxfleet.renders += 1;
    window.__okxfleet.data = d;
  }

  const refresh = OKX.serial(async () => {
    try { render(await OKX.get("/api/fleet")); OKX.showError(null); } catch (err) { OKX.showError(err); }
  });
  refresh();
  OKX.live(() => refresh());
  setInterval(refresh, 5000);  // ages keep moving even when nothing is written
})();
