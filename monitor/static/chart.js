// The chart page: candles + volume from the CSV, fills and target changes as markers, the
// strategy's own lines. New bars, fills and targets arrive through the event stream.
// window.__okxfleet exposes what is drawn (for tests and the bench).
"use strict";
(function () {
  const q = new URLSearchParams(location.search);
  const inst = q.get("inst"), interval = q.get("interval"), account = q.get("account");
  const backtest = q.get("backtest");  // a backtest run's trades.csv (see monitor/backtests.py)
  const LC = LightweightCharts;
  const state = window.__okxfleet = {
    bars: 0, lastTime: null, markers: 0, fills: 0, targets: 0, lines: {}, firstPaint: null, updates: 0,
    ready: false, error: null, warning: null,
  };
  const qs = (extra) => new URLSearchParams({ inst, interval, ...(account ? { account } : {}),
    ...(backtest ? { backtest } : {}), ...extra }).toString();
  document.getElementById("title").textContent = `${inst} · ${interval}`;
  document.title = `${inst} ${interval} · okxfleet`;
  const acctLink = document.getElementById("account-link");
  if (backtest) document.getElementById("info").textContent = "backtest " + backtest;
  if (account) { acctLink.href = "/account/" + encodeURIComponent(account); acctLink.textContent = account; }
  else acctLink.remove();

  const chart = LC.createChart(document.getElementById("chart"), {
    autoSize: true,
    layout: { background: { type: "solid", color: "#0e1117" }, textColor: "#c9d1d9", attributionLogo: true },
    grid: { vertLines: { color: "#1a1f27" }, horzLines: { color: "#1a1f27" } },
    crosshair: { mode: LC.CrosshairMode.Normal },
    timeScale: { timeVisible: true, secondsVisible: false, rightOffset: 5 },
    rightPriceScale: { borderColor: "#2a313c" },
  });
  const candles = chart.addSeries(LC.CandlestickSeries, {
    upColor: "#26a69a", downColor: "#ef5350", borderVisible: false, wickUpColor: "#26a69a", wickDownColor: "#ef5350",
  });
  const volume = chart.addSeries(LC.HistogramSeries, { priceFormat: { type: "volume" }, priceScaleId: "vol",
    lastValueVisible: false, priceLineVisible: false });
  chart.priceScale("vol").applyOptions({ scaleMargins: { top: 0.82, bottom: 0 } });
  const markerApi = LC.createSeriesMarkers(candles, []);
  const lineColors = ["#f2cc60", "#bc8cff", "#58a6ff", "#ff9bce", "#7ee787"];
  const lineSeries = {};

  const bar = (d, i) => ({ time: d.t[i], open: d.open[i], high: d.high[i], low: d.low[i], close: d.close[i] });
  const vol = (d, i) => ({ time: d.t[i], value: d.volume[i],
    color: d.close[i] >= d.open[i] ? "rgba(38,166,154,.45)" : "rgba(239,83,80,.45)" });

  function setLast(d) {
    if (!d.t.length) return;
    const i = d.t.length - 1;
    state.lastTime = d.t[i];
    document.getElementById("last").textContent =
      `${new Date(d.t[i] * 1000).toISOString().slice(0, 16).replace("T", " ")}  O ${d.open[i]} H ${d.high[i]} L ${d.low[i]} C ${d.close[i]}  ·  ${state.bars} bars`;
  }

  function applyLines(ov, replace) {
    const names = Object.keys(ov.lines || {});
    names.forEach((name, k) => {
      if (!lineSeries[name]) {
        lineSeries[name] = chart.addSeries(LC.LineSeries, { color: lineColors[k % lineColors.length], lineWidth: 1,
          priceLineVisible: false, lastValueVisible: false, crosshairMarkerVisible: false, title: name });
      }
    });
    if (!names.length) return;
    const times = ov.lines_t;
    for (const name of names) {
      const values = ov.lines[name];
      const pts = [];
      for (let i = 0; i < values.length; i++) pts.push(values[i] === null ? { time: times[i] } : { time: times[i], value: values[i] });
      if (replace) lineSeries[name].setData(pts); else pts.forEach(p => lineSeries[name].update(p));
      state.lines[name] = (replace ? 0 : state.lines[name] || 0) + pts.length;
    }
    const legend = document.getElementById("legend");
    legend.replaceChildren(...(ov.strategy ? [OKX.el("span", {}, `${ov.strategy.name} ${JSON.stringify(ov.strategy.params)}`)] : []),
      ...names.map((n, k) => OKX.el("span", { style: `color:${lineColors[k % lineColors.length]}` }, "— " + n)));
  }

  function applyMarkers(ov) {
    const ms = [];
    for (const f of ov.fills) {
      const buy = f.side === "buy";
      ms.push({ time: f.bar, position: buy ? "belowBar" : "aboveBar", shape: buy ? "arrowUp" : "arrowDown",
        color: buy ? "#26a69a" : "#ef5350", text: buy ? "B" : "S" });
    }
    for (const t of ov.targets) {
      ms.push({ time: t.bar, position: "aboveBar", shape: "circle", color: "#58a6ff", text: `T${t.target > 0 ? "+" : ""}${t.target}` });
    }
    for (const b of ov.backtest || []) {
      const buy = b.side === "buy";
      ms.push({ time: b.bar, position: buy ? "belowBar" : "aboveBar", shape: "square", color: "#ff9f43",
        text: `bt ${buy ? "B" : "S"}` });
    }
    state.backtestTrades = (ov.backtest || []).length;
    ms.sort((a, b) => a.time - b.time);
    markerApi.setMarkers(ms);
    state.markers = ms.length; state.fills = ov.fills.length; state.targets = ov.targets.length;
  }

  async function load() {
    const started = performance.now();
    const d = await OKX.get("/api/candles?" + qs({}));
    state.warning = d.warning || null;  // a torn or junk last CSV row, left out
    const fetched = performance.now();
    const n = d.t.length;
    const bars = new Array(n), vols = new Array(n);
    for (let i = 0; i < n; i++) { bars[i] = bar(d, i); vols[i] = vol(d, i); }
    candles.setData(bars);
    volume.setData(vols);
    state.bars = n;
    setLast(d);
    if (n > 0) chart.timeScale().setVisibleLogicalRange({ from: Math.max(0, n - 200), to: n + 5 });
    const drawn = performance.now();
    // First paint = the frame after the candles were set; the overlays come after it, not before.
    await new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    state.firstPaint = performance.now();
    state.timing = { scriptStart: started, fetchMs: fetched - started, setDataMs: drawn - fetched,
                     paintMs: state.firstPaint - drawn };
    const ov = await OKX.get("/api/overlays?" + qs({}));
    if (ov.journal_error) state.warning = ov.journal_error;  // chart without the fills
    applyLines(ov, true);
    applyMarkers(ov);
    state.ready = true;
  }

  const newBars = OKX.serial(async () => {
    if (state.lastTime === null) return load();
    const since = state.lastTime;
    const d = await OKX.get("/api/candles?" + qs({ since }));
    state.warning = d.warning || null;
    for (let i = 0; i < d.t.length; i++) { candles.update(bar(d, i)); volume.update(vol(d, i)); }
    state.bars += d.t.length;
    if (d.t.length) state.lastBarDrawn = performance.now();
    setLast(d);
    const ov = await OKX.get("/api/overlays?" + qs({ since }));
    applyLines(ov, false);
    applyMarkers(ov);
    state.updates += 1;
    state.lastUpdate = performance.now();
  });
  const newMarkers = OKX.serial(async () => {
    const ov = await OKX.get("/api/overlays?" + qs({ since: state.lastTime ?? 0 }));
    applyMarkers(ov);
  });

  const guard = fn => async () => { try { await fn(); OKX.showError(state.warning); } catch (err) { state.error = String(err); OKX.showError(err); } };
  guard(load)();
  OKX.live(ev => {
    if (ev.type === "bar" && ev.interval === interval) guard(newBars)();
    else if (ev.type === "journal" && ev.account === account) guard(newMarkers)();
  });
})();
