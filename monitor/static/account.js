// The account page: status, equity curve, positions, standing targets, PnL, orders and fills.
"use strict";
(function () {
  const { el, table, time, badge, reasons, signed } = OKX;
  const name = decodeURIComponent(location.pathname.split("/").pop());
  document.getElementById("title").textContent = "okxfleet · " + name;
  document.title = "okxfleet · " + name;
  window.__okxfleet = { renders: 0, equityPoints: 0, data: null };

  const LC = LightweightCharts;
  const chart = LC.createChart(document.getElementById("equity"), {
    autoSize: true,
    layout: { background: { type: "solid", color: "#161b22" }, textColor: "#c9d1d9", attributionLogo: true },
    grid: { vertLines: { color: "#1f242c" }, horzLines: { color: "#1f242c" } },
    timeScale: { timeVisible: true, secondsVisible: false },
  });
  const equity = chart.addSeries(LC.AreaSeries, { lineColor: "#58a6ff", topColor: "rgba(88,166,255,.35)",
    bottomColor: "rgba(88,166,255,0)", lineWidth: 2 });

  const orderClass = o => ["rejected", "unknown", "lost"].includes(o.status) ? "bad" : "";

  function render(d) {
    document.getElementById("now").textContent = time(d.now) + " UTC";
    document.getElementById("overall").replaceChildren(badge(d.level));
    document.getElementById("status").replaceChildren(table([
      { title: "bar", key: "interval" },
      { title: "last cycle", value: r => r.last_cycle ? time(r.last_cycle.bar_close) : "–" },
      { title: "cycle status", value: r => r.last_cycle ? r.last_cycle.status : "–",
        cls: r => r.last_cycle && ["skipped", "failed"].includes(r.last_cycle.status) ? "bad-text" : "" },
      { title: "cycles", value: r => Object.entries(r.cycles).map(([k, v]) => `${k} ${v}`).join(", ") || "–" },
      { title: "equity", value: r => r.equity ?? "–", num: true },
      { title: "strategies", value: r => r.strategies.map(s => el("div", {},
          el("a", { href: `/chart?inst=${encodeURIComponent(s.inst_id)}&interval=${r.interval}&account=${encodeURIComponent(name)}` }, s.inst_id),
          ` ${s.strategy} ${JSON.stringify(s.params)} x${s.leverage}`)) },
      { title: "last error", value: r => r.last_error ? el("span", { class: "bad-text" }, r.last_error.message) : "–", cls: () => "wrap" },
      { title: "why", value: r => reasons(r.flags), cls: () => "wrap" },
    ], [d], r => r.level));

    const points = d.equity_curve.map(p => ({ time: Date.parse(p.bar_close) / 1000, value: Number(p.equity) }));
    equity.setData(points);
    if (!window.__okxfleet.equityPoints) chart.timeScale().fitContent();
    window.__okxfleet.equityPoints = points.length;

    document.getElementById("positions").replaceChildren(table([
      { title: "instrument", key: "inst_id" }, { title: "strategy", key: "strategy" },
      { title: "bar", value: r => time(r.bar_close) }, { title: "position", value: r => signed(r.now_pos), num: true },
      { title: "target", value: r => r.target ?? "keep", num: true }, { title: "size wanted", key: "desired", num: true },
      { title: "status", key: "status" }, { title: "reason", key: "reason", cls: () => "wrap" },
    ], d.positions, r => r.status === "skipped" ? "warn" : ""));
    document.getElementById("targets").replaceChildren(table([
      { title: "instrument", key: "inst_id" }, { title: "strategy", key: "strategy" },
      { title: "target", key: "target", num: true }, { title: "size", key: "size", num: true },
      { title: "bar close", value: r => time(r.bar_close) }, { title: "source", key: "source" },
      { title: "updated", value: r => time(r.updated_at) },
    ], d.targets));
    document.getElementById("pnl").replaceChildren(table([
      { title: "instrument", key: "inst_id" }, { title: "strategy", key: "strategy" },
      { title: "filled orders", key: "orders", num: true }, { title: "realised PnL", value: r => signed(r.pnl), num: true },
      { title: "fees", value: r => signed(r.fee), num: true }, { title: "fee ccy", key: "fee_ccy" },
    ], d.pnl));
    const orderCols = [
      { title: "created", value: r => time(r.created_at) }, { title: "bar", value: r => time(r.bar_close) },
      { title: "instrument", key: "inst_id" }, { title: "leg", key: "leg" },
      { title: "side", value: r => el("span", { class: r.side === "buy" ? "pos" : "neg" }, r.side) },
      { title: "type", key: "ord_type" }, { title: "size", key: "sz", num: true }, { title: "px", key: "px", num: true },
      { title: "filled", key: "acc_fill_sz", num: true }, { title: "avg px", key: "avg_px", num: true },
      { title: "status", key: "status" }, { title: "state", key: "state" },
      { title: "fee", key: "fee", num: true }, { title: "pnl", value: r => signed(r.pnl), num: true },
      { title: "error", value: r => r.error_code ? `${r.error_code} ${r.error_msg || ""}` : "", cls: () => "wrap bad-text" },
    ];
    document.getElementById("open").replaceChildren(table(orderCols.filter(c => !["avg px", "fee", "pnl", "error"].includes(c.title)),
      d.open_orders.map(o => ({ created_at: o.updated_at, ...o })), orderClass));
    document.getElementById("orders").replaceChildren(table(orderCols, d.orders, orderClass));
    document.getElementById("fills").replaceChildren(table([
      { title: "time", value: r => time(r.ts) }, { title: "instrument", key: "inst_id" },
      { title: "side", value: r => el("span", { class: r.side === "buy" ? "pos" : "neg" }, r.side) },
      { title: "pos side", key: "pos_side" }, { title: "px", key: "px", num: true }, { title: "size", key: "sz", num: true },
      { title: "fee", key: "fee", num: true }, { title: "fee ccy", key: "fee_ccy" }, { title: "clOrdId", key: "cl_ord_id" },
    ], d.fills));
    window.__okxfleet.renders += 1;
    window.__okxfleet.data = d;
  }

  const refresh = OKX.serial(async () => {
    try { render(await OKX.get("/api/accounts/" + encodeURIComponent(name))); OKX.showError(null); }
    catch (err) { OKX.showError(err); }
  });
  refresh();
  OKX.live(ev => { if (ev.type !== "journal" || ev.account === name) refresh(); });
  setInterval(refresh, 5000);
})();
