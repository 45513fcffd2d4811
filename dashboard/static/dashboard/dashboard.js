// The operator's live page. Data: the page's JSON routes (session + CSRF) and /ws/updates (a ticket from the
// session). On a lost connection: "connection lost", reconnect with backoff, then a REST re-read; a gap in `seq`
// also triggers the re-read. No build step: this file and the vendored chart library are served as they are.

const config = JSON.parse(document.getElementById("dashboard-config").textContent);
const LWC = window.LightweightCharts;
const OPEN_STATUSES = new Set(["new", "accepted", "partially_filled"]);
const TIMEFRAME_SECONDS = { "1Min": 60, "5Min": 300, "15Min": 900, "1Hour": 3600, "1Day": 86400 };
const RECONNECT_MAX_MS = 4000;

const $ = (selector) => document.querySelector(selector);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};
const num = (value) => (value === null || value === undefined ? null : Number(value));
const money = (value) => (value === null || value === undefined ? "—" : Number(value).toLocaleString("en-US", { style: "currency", currency: "USD" }));
const qty = (value) => (value === null || value === undefined ? "—" : String(Number(value)));
const nyFormat = new Intl.DateTimeFormat("en-US", {
  timeZone: config.timezone, month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});
const nyDay = new Intl.DateTimeFormat("en-US", { timeZone: config.timezone, month: "short", day: "numeric" });
const nyTime = new Intl.DateTimeFormat("en-US", { timeZone: config.timezone, hour: "2-digit", minute: "2-digit", hour12: false });
const inNewYork = (iso) => (iso ? nyFormat.format(new Date(iso)) : "—");

// --- HTTP ------------------------------------------------------------------------------------------------
function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function send(method, path, body, signal) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["X-CSRFToken"] = csrfToken();
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch(config.api + path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body), signal,
  });
  const data = await response.json().catch((error) => {
    if (error.name === "AbortError") throw error;
    return {};
  });
  if (!response.ok) {
    const error = new Error(data.message || `${method} ${path}: HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

// While a kill-switch request is on its way, reads wait and the ones already sent are withdrawn (and sent again
// after it): on the server the stop never queues behind the page's own re-reads.
const reads = { controller: new AbortController(), open: Promise.resolve(), release: null };

function readsHold() {
  reads.controller.abort();
  reads.controller = new AbortController();
  if (!reads.release) reads.open = new Promise((resolve) => { reads.release = resolve; });
  const held = reads.open;
  setTimeout(() => { if (reads.open === held) readsRelease(); }, 10000); // a stop that never answers frees them
}

function readsRelease() {
  if (reads.release) reads.release();
  reads.release = null;
}

async function call(method, path, body) {
  if (method !== "GET") return send(method, path, body);
  for (;;) {
    await reads.open;
    try {
      return await send(method, path, body, reads.controller.signal);
    } catch (error) {
      if (error.name !== "AbortError") throw error;
    }
  }
}

// --- state -------------------------------------------------------------------------------------------------
const state = {
  status: null, receivedAt: 0, orders: [], bars: [], markers: [], strategies: [], backtests: [], feed: null,
  lastSeq: null, frames: 0, gaps: 0, reconnects: 0,
};
window.dashboard = state; // read by the browser tests and handy in the console
const FALLBACKS = new Set(config.fallback_sources);

// One request per resource at a time: asked for again while one runs, it runs once more afterwards. A burst of
// frames costs at most two reads of each resource, so nothing long queues on the server ahead of a write (the stop).
function coalesced(read) {
  let running = null;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await read();
      } while (again);
    })().finally(() => { running = null; });
    return running;
  };
}

// --- header: market, prices, halt ------------------------------------------------------------------------
function renderStatus(status) {
  state.status = status;
  state.receivedAt = Date.now();
  const market = $("#market");
  const next = (iso) => (iso ? `${inNewYork(iso)} New York` : "not scheduled");
  market.textContent = status.market_open ? `Market open · closes ${next(status.next_close)}` : `Market closed · opens ${next(status.next_open)}`;
  pickChartSymbol(status.prices || []);
  market.dataset.open = String(status.market_open);
  renderPrices();
  renderFeed(status.market_data ? status.market_data.source : null);
  renderHalt(status);
  renderPositions(status.positions || []);
}

let chartSymbolPicked = false;
function pickChartSymbol(prices) {
  // The first time prices arrive, chart a symbol that has data (the first one, alphabetically, may have none).
  if (chartSymbolPicked) return;
  chartSymbolPicked = true;
  const select = $("#chart-symbol");
  const priced = prices.find((p) => p.price !== null);
  if (priced && !prices.some((p) => p.symbol === select.value && p.price !== null)) {
    select.value = priced.symbol;
    state.bars = [];
  }
}

function renderPrices() {
  const status = state.status;
  if (!status) return;
  const elapsed = (Date.now() - state.receivedAt) / 1000;
  const rows = (status.prices || []).map((p) => {
    const age = p.age_seconds === null ? null : p.age_seconds + elapsed;
    const stale = el("span", { className: p.stale ? "stale" : "fresh", textContent: p.stale ? "STALE" : "fresh" });
    const row = el("tr", {}, el("th", { scope: "row", textContent: p.symbol }), el("td", { textContent: p.price === null ? "—" : money(p.price) }),
      el("td", { textContent: age === null ? "never" : formatAge(age) }), el("td", { textContent: inNewYork(p.timestamp) }),
      el("td", { textContent: p.source || "—", className: FALLBACKS.has(p.source) ? "source fallback" : "source" }), el("td", {}, stale));
    row.dataset.symbol = p.symbol;
    row.dataset.source = p.source || "";
    row.dataset.stale = String(p.stale);
    return row;
  });
  $("#prices tbody").replaceChildren(...rows);
}

function renderFeed(source, switched) {
  // Which source feeds the store: WordPress, or a fallback while WordPress is down or stale (issue 15).
  state.feed = source;
  const node = $("#feed");
  node.dataset.source = source || "";
  node.dataset.fallback = String(FALLBACKS.has(source));
  const why = switched ? ` (switched from ${switched.previous}: ${switched.reason})` : "";
  node.textContent = !source ? "Market data: no samples yet"
    : FALLBACKS.has(source) ? `Market data: FALLBACK ${source}${why}` : `Market data: ${source}${why}`;
}

function formatAge(seconds) {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}

function renderHalt(status) {
  const banner = $("#halt-banner");
  if (state.kill && status.trading_halted && banner.hidden && !state.kill.shown) state.kill.shown = performance.now();
  banner.hidden = !status.trading_halted;
  if (status.trading_halted) {
    const since = status.halted_since ? ` since ${inNewYork(status.halted_since)} New York` : "";
    banner.textContent = `TRADING HALTED by ${status.halted_by || "?"}${since}: ${status.halt_reason || "no reason given"}`;
  }
  const stop = $("#stop-open");
  const resume = $("#resume-open");
  if (stop) stop.hidden = status.trading_halted;
  if (resume) resume.hidden = !status.trading_halted;
}

// --- positions and account ---------------------------------------------------------------------------------
function renderPositions(positions) {
  const rows = positions.map((p) => {
    const pl = num(p.unrealized_pl);
    const row = el("tr", {}, el("th", { scope: "row", textContent: p.symbol }), el("td", { textContent: qty(p.qty) }),
      el("td", { textContent: money(p.avg_entry_price) }), el("td", { textContent: money(p.current_price) }),
      el("td", { textContent: money(p.market_value) }), el("td", { textContent: money(pl), className: pl < 0 ? "loss" : "gain" }));
    row.dataset.symbol = p.symbol;
    row.dataset.qty = String(num(p.qty));
    return row;
  });
  if (!rows.length) rows.push(el("tr", {}, el("td", { colSpan: 6, className: "muted", textContent: "No positions." })));
  $("#positions tbody").replaceChildren(...rows);
}

function renderAccount(account) {
  const items = [["Cash", account.cash], ["Equity", account.equity], ["Buying power", account.buying_power],
    ["Unrealized P&L", account.unrealized_pl], ["Realized P&L", account.realized_pl]];
  $("#account").replaceChildren(...items.flatMap(([label, value]) => [el("dt", { textContent: label }), el("dd", { textContent: money(value) })]));
}

async function refreshPortfolio() {
  const portfolio = await call("GET", "portfolio");
  renderPositions(portfolio.positions);
  renderAccount(portfolio.account);
}

async function refreshStatus() {
  renderStatus(await call("GET", "status"));
}

// --- orders ------------------------------------------------------------------------------------------------
function renderOrders() {
  const rows = state.orders.map((o) => {
    const action = el("td");
    if (OPEN_STATUSES.has(o.status)) {
      const button = el("button", { type: "button", textContent: "Cancel", className: "small" });
      button.setAttribute("aria-label", `Cancel order ${o.id} (${o.side} ${qty(o.qty)} ${o.symbol})`);
      button.addEventListener("click", () => cancelOrder(o.id, button));
      action.append(button);
    }
    const row = el("tr", {}, el("td", { textContent: o.id }), el("td", { textContent: inNewYork(o.created_at) }),
      el("td", { textContent: o.symbol }), el("td", { textContent: o.side }), el("td", { textContent: qty(o.qty) }),
      el("td", { textContent: o.type + (o.limit_price === null ? "" : ` @ ${money(o.limit_price)}`) }),
      el("td", { textContent: o.status, className: `status-${o.status}` }),
      el("td", { textContent: o.filled_avg_price === null ? "—" : money(o.filled_avg_price) }), action);
    row.dataset.orderId = String(o.id);
    row.dataset.status = o.status;
    return row;
  });
  if (!rows.length) rows.push(el("tr", {}, el("td", { colSpan: 9, className: "muted", textContent: "No orders yet." })));
  $("#orders tbody").replaceChildren(...rows);
}

async function refreshOrders() {
  state.orders = (await call("GET", "orders?status=all&limit=50")).orders;
  renderOrders();
  renderMarkers();
}

async function cancelOrder(id, button) {
  button.disabled = true;
  try {
    await call("DELETE", `orders/${id}`);
    $("#orders-message").textContent = `Order ${id} canceled.`;
  } catch (error) {
    $("#orders-message").textContent = error.message;
  }
  await refreshes.orders();
}

// --- charts ------------------------------------------------------------------------------------------------
const chartOptions = (height) => ({
  height,
  autoSize: true,
  layout: { attributionLogo: false, background: { color: "#ffffff" }, textColor: "#1f2933" },
  timeScale: { timeVisible: true, secondsVisible: false, tickMarkFormatter: (t, type) => (type <= 2 ? nyDay : nyTime).format(new Date(t * 1000)) },
  localization: { timeFormatter: (t) => nyFormat.format(new Date(t * 1000)) },
});
const chart = LWC.createChart($("#chart"), chartOptions(360));
const candles = chart.addSeries(LWC.CandlestickSeries, {});
const volume = chart.addSeries(LWC.HistogramSeries, { priceScaleId: "volume", priceFormat: { type: "volume" }, color: "#9fb3c8" });
chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
const markers = LWC.createSeriesMarkers(candles, []);
const equityChart = LWC.createChart($("#equity-chart"), chartOptions(200));
const equityLine = equityChart.addSeries(LWC.LineSeries, { color: "#2563eb" });
state.charts = { candles, equity: equityLine };

const seconds = (iso) => Math.floor(new Date(iso).getTime() / 1000);
const barOf = (b) => ({ time: seconds(b.timestamp), open: num(b.open), high: num(b.high), low: num(b.low), close: num(b.close) });

async function refreshBars() {
  const symbol = $("#chart-symbol").value;
  const timeframe = $("#chart-timeframe").value;
  if (!symbol) return;
  const doc = await call("GET", `market_data/${encodeURIComponent(symbol)}?timeframe=${timeframe}&limit=300`);
  if (symbol !== $("#chart-symbol").value || timeframe !== $("#chart-timeframe").value) return; // changed meanwhile
  const previous = state.bars;
  state.bars = doc.data.map(barOf);
  const sameRange = previous.length && state.bars.length >= previous.length && previous[0].time === state.bars[0].time;
  if (sameRange && state.bars.length - previous.length <= 1) {
    for (const bar of state.bars.slice(previous.length - 1)) candles.update(bar); // the current bar moves in place
  } else {
    candles.setData(state.bars);
    chart.timeScale().fitContent();
  }
  volume.setData(doc.data.filter((b) => b.volume !== null).map((b) => ({ time: seconds(b.timestamp), value: num(b.volume) })));
  state.lastBar = state.bars.at(-1) || null;
  renderMarkers();
  const last = state.lastBar;
  $("#chart-summary").textContent = last
    ? `${symbol} ${timeframe}: last bar ${nyFormat.format(new Date(last.time * 1000))} New York, close ${money(last.close)}${doc.stale ? " (STALE data)" : ""}`
    : `${symbol} ${timeframe}: no bars stored yet.`;
}

function renderMarkers() {
  const symbol = $("#chart-symbol").value;
  const step = TIMEFRAME_SECONDS[$("#chart-timeframe").value];
  const first = state.bars.length ? state.bars[0].time : Infinity;
  const fills = state.orders.filter((o) => o.symbol === symbol && o.filled_at && num(o.filled_qty) > 0);
  state.markers = fills
    .map((o) => ({ order: o, time: Math.floor(seconds(o.filled_at) / step) * step }))
    .filter(({ time }) => time >= first)
    .sort((a, b) => a.time - b.time)
    .map(({ order, time }) => ({
      time: snapToBar(time),
      position: order.side === "buy" ? "belowBar" : "aboveBar",
      shape: order.side === "buy" ? "arrowUp" : "arrowDown",
      color: order.side === "buy" ? "#15803d" : "#b91c1c",
      text: `${order.side === "buy" ? "B" : "S"} ${qty(order.filled_qty)} @ ${num(order.filled_avg_price)}`,
      id: String(order.id),
    }));
  markers.setMarkers(state.markers);
}

function snapToBar(time) {
  // A day bar starts at the session's midnight, not at a multiple of 86400 s: take the bar holding the fill.
  let found = state.bars[0]?.time ?? time;
  for (const bar of state.bars) {
    if (bar.time > time) break;
    found = bar.time;
  }
  return found;
}

async function refreshEquity() {
  const points = (await call("GET", "equity")).points;
  const data = [];
  for (const p of points) {
    const time = seconds(p.time);
    if (!data.length || time > data.at(-1).time) data.push({ time, value: num(p.equity) });
  }
  equityLine.setData(data);
  equityChart.timeScale().fitContent();
  $("#equity-summary").textContent = data.length ? `${data.length} snapshots, latest ${money(data.at(-1).value)}.` : "No equity snapshots recorded yet.";
}

// --- strategies ------------------------------------------------------------------------------------------
const OUTCOME_TEXT = { buy: "buy", sell: "sell", hold: "hold", skip: "skip", error: "error" };

function decisionText(d) {
  if (!d) return "—";
  const why = [d.reason, d.message].filter(Boolean).join(": ");
  return `${OUTCOME_TEXT[d.outcome] || d.outcome}${why ? ` — ${why}` : ""} (bar ${inNewYork(d.bar_end)})`;
}

function strategyRow(s) {
  const toggle = el("input", { type: "checkbox", checked: Boolean(s.enabled), id: `strategy-${s.strategy_id}`, disabled: !config.may_halt });
  toggle.setAttribute("aria-label", `${s.enabled ? "Disable" : "Enable"} strategy ${s.strategy_id}`);
  if (!config.may_halt) toggle.title = "Enabling and disabling needs the halt permission.";
  toggle.addEventListener("change", () => toggleStrategy(s, toggle));
  const pnl = num(s.pnl);
  const journal = el("button", { type: "button", textContent: "Journal", className: "small" });
  journal.setAttribute("aria-label", `Decision journal of ${s.strategy_id}`);
  journal.setAttribute("aria-expanded", "false");
  journal.addEventListener("click", () => toggleJournal(s.strategy_id, journal));
  const row = el("tr", {},
    el("th", { scope: "row", textContent: `${s.strategy_id} · ${s.symbol} ${s.kind} ${s.timeframe}` }),
    el("td", {}, toggle, el("span", { className: "toggle-text", textContent: s.enabled ? " enabled" : " disabled" })),
    el("td", { textContent: s.mode, className: "mode" }),
    el("td", { textContent: decisionText(s.last_decision), className: "decision" }),
    el("td", { textContent: pnl === null ? "—" : money(pnl), className: `pnl ${pnl < 0 ? "loss" : "gain"}` }),
    el("td", {}, journal));
  row.dataset.strategyId = s.strategy_id;
  row.dataset.enabled = String(s.enabled);
  row.dataset.outcome = s.last_decision ? s.last_decision.outcome : "";
  row.dataset.pnl = s.pnl === null ? "" : String(s.pnl);
  return row;
}

function renderStrategies() {
  const box = $("#strategies");
  const rows = state.strategies.map(strategyRow);
  if (!rows.length) rows.push(el("tr", {}, el("td", { colSpan: 6, className: "muted", textContent: "No strategies yet (admin or /api/strategies)." })));
  const head = el("tr", {}, ...["Strategy", "Enabled", "Mode", "Last decision", "P&L", "Decisions"].map((h) => el("th", { scope: "col", textContent: h })));
  box.replaceChildren(el("div", { className: "scroll" }, el("table", { id: "strategies-table" }, el("thead", {}, head), el("tbody", {}, ...rows))),
    el("div", { id: "journal", className: "journal", hidden: true }));
}

async function refreshStrategies() {
  state.strategies = (await call("GET", "strategies")).strategies;
  renderStrategies();
}

function onDecision(frame) {
  // The frame is the decision itself: show it at once; the P&L (moved by its fill, if any) follows from REST.
  const strategy = state.strategies.find((s) => s.strategy_id === frame.strategy_id);
  if (!strategy) return refreshes.strategies();
  strategy.last_decision = { outcome: frame.outcome, reason: frame.reason, message: frame.message, bar_end: frame.bar_end, order_id: frame.order_id };
  const row = document.querySelector(`#strategies tr[data-strategy-id="${CSS.escape(frame.strategy_id)}"]`);
  if (row) row.replaceWith(strategyRow(strategy));
  if (frame.order_id !== null) refreshes.strategies();
  if (journalOpen === frame.strategy_id) showJournal(frame.strategy_id).catch(report);
}

async function toggleStrategy(strategy, toggle) {
  const wanted = toggle.checked;
  if (!window.confirm(`${wanted ? "Enable" : "Disable"} strategy ${strategy.strategy_id} (${strategy.mode})?`)) {
    toggle.checked = !wanted;
    return;
  }
  try {
    const updated = await call("PATCH", `strategies/${encodeURIComponent(strategy.strategy_id)}`, { enabled: wanted });
    Object.assign(strategy, updated);
    $("#strategies-message").textContent = `${strategy.strategy_id} ${updated.enabled ? "enabled" : "disabled"}.`;
  } catch (error) {
    $("#strategies-message").textContent = error.message;
  }
  renderStrategies();
}

let journalOpen = null;
async function toggleJournal(strategyId, button) {
  if (journalOpen === strategyId) {
    journalOpen = null;
    $("#journal").hidden = true;
    button.setAttribute("aria-expanded", "false");
    return;
  }
  journalOpen = strategyId;
  button.setAttribute("aria-expanded", "true");
  await showJournal(strategyId).catch(report);
}

async function showJournal(strategyId) {
  const doc = await call("GET", `strategies/${encodeURIComponent(strategyId)}/decisions?limit=20`);
  if (journalOpen !== strategyId) return;
  const rows = doc.decisions.map((d) => {
    const row = el("tr", {}, el("td", { textContent: inNewYork(d.bar_end) }), el("td", { textContent: d.outcome }),
      el("td", { textContent: [d.reason, d.message].filter(Boolean).join(": ") }), el("td", { textContent: d.order_id === null ? "—" : `#${d.order_id}` }));
    row.dataset.decisionId = String(d.id);
    return row;
  });
  if (!rows.length) rows.push(el("tr", {}, el("td", { colSpan: 4, className: "muted", textContent: "No decisions recorded yet." })));
  const head = el("tr", {}, ...["Bar end (New York)", "Outcome", "Reason", "Order"].map((h) => el("th", { scope: "col", textContent: h })));
  const box = $("#journal");
  box.replaceChildren(el("h3", { textContent: `Decision journal: ${strategyId} (latest ${doc.decisions.length} of ${doc.total})` }),
    el("div", { className: "scroll" }, el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows))));
  box.hidden = false;
  box.dataset.strategyId = strategyId;
}

// --- backtests ---------------------------------------------------------------------------------------------
const RUNNING = new Set(["queued", "running"]);
const percent = (places) => (v) => `${Number(v).toFixed(places)} %`; // the metrics' rates are percents already
const METRICS_SHOWN = [["total_pnl", "P&L", money], ["roi", "ROI", percent(2)], ["max_drawdown", "max drawdown", percent(2)],
  ["sharpe_ratio", "Sharpe", (v) => Number(v).toFixed(2)], ["win_rate", "win rate", percent(1)], ["total_trades", "trades", String]];

function metricsText(metrics) {
  if (!metrics) return "";
  return METRICS_SHOWN.filter(([key]) => metrics[key] !== null && metrics[key] !== undefined)
    .map(([key, label, format]) => `${label} ${format(metrics[key])}`).join(" · ");
}

function backtestRun(run) {
  const title = `#${run.id} ${run.kind} ${run.symbols.join(", ")} ${run.timeframe} ${run.start} → ${run.end} (${run.data})`;
  const status = RUNNING.has(run.status) ? `${run.status} ${Math.round(run.progress)} %` : run.status;
  const node = el("article", { className: "run" },
    el("h3", {}, el("span", { textContent: title }), " ", el("span", { className: `status-${run.status} run-status`, textContent: status })),
    el("p", { className: "metrics", textContent: run.status === "failed" ? run.reason : metricsText(run.metrics) }));
  if (run.report_url) {
    node.append(el("p", {}, el("a", { href: run.report_url, textContent: `Report of backtest ${run.id}`, target: "_blank", rel: "noopener" })),
      el("img", { src: run.equity_png_url, alt: `Equity, drawdown and exposure of backtest ${run.id}`, loading: "lazy", className: "report-picture" }));
  }
  node.dataset.runId = String(run.id);
  node.dataset.status = run.status;
  return node;
}

let backtestPoll = null;
async function refreshBacktests() {
  const runs = (await call("GET", "backtests")).backtests;
  state.backtests = runs;
  const list = runs.length ? runs.map(backtestRun) : [el("p", { className: "muted", textContent: "No backtests yet." })];
  $("#backtest-list").replaceChildren(...list);
  clearTimeout(backtestPoll);
  // Runs have no stream of their own: while one is queued or running, re-read the list every 2 s.
  if (runs.some((run) => RUNNING.has(run.status))) backtestPoll = setTimeout(() => refreshes.backtests(), 2000);
}

function wireBacktestForm() {
  const form = $("#backtest-form");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {
      kind: data.get("kind"), symbols: [data.get("symbol")], timeframe: data.get("timeframe"),
      start: data.get("start"), end: data.get("end"), data: data.get("data"),
    };
    const message = $("#backtest-message");
    try {
      const run = await call("POST", "backtests", body);
      message.textContent = `Backtest ${run.id} ${run.status}.`;
    } catch (error) {
      message.textContent = error.message;
    }
    await refreshes.backtests();
  });
}

// --- kill switch ---------------------------------------------------------------------------------------------
function wireKillSwitch() {
  const stopDialog = $("#stop-dialog");
  if (!stopDialog) return;
  const resumeDialog = $("#resume-dialog");
  $("#stop-open").addEventListener("click", () => stopDialog.showModal());
  $("#resume-open").addEventListener("click", () => resumeDialog.showModal());
  // The request leaves on the confirm's own submit (mouse or keyboard), not after the dialog's close event.
  stopDialog.querySelector("form").addEventListener("submit", (event) => {
    if (event.submitter?.value !== "confirm") return;
    state.kill = { clicked: event.timeStamp, confirmed: performance.now() }; // read by the bench and the tests
    const body = { reason: $("#stop-reason").value || "stopped from the live page", liquidate: $("#stop-liquidate").checked };
    killCall("stop_trading", body, "Trading stopped.");
  });
  resumeDialog.querySelector("form").addEventListener("submit", (event) => {
    if (event.submitter?.value === "confirm") killCall("resume_trading", {}, "Trading resumed.");
  });
}

async function killCall(path, body, done) {
  readsHold();
  try {
    const answer = await call("POST", path, body).finally(readsRelease);
    if (state.kill) state.kill.answered = performance.now();
    $("#kill-message").textContent = done;
    // Shown at once from the answer; the status re-read below (and the stream) bring the stored details.
    showHalt(answer.trading_halted, { by: config.user, reason: body.reason, since: new Date().toISOString() });
  } catch (error) {
    $("#kill-message").textContent = error.message;
  }
  Promise.all([refreshes.status(), refreshes.orders(), refreshes.portfolio()]).catch(report);
}

function showHalt(halted, { by, reason, since }) {
  if (state.status) {
    Object.assign(state.status, { trading_halted: halted, halted_by: halted ? by : "", halt_reason: halted ? reason : "", halted_since: halted ? since : null });
    renderHalt(state.status);
  }
}

// --- live updates ------------------------------------------------------------------------------------------
let socket = null;
let attempt = 0;

function setConnection(kind, text) {
  const node = $("#connection");
  node.dataset.state = kind;
  node.textContent = text;
}

async function connect() {
  setConnection(state.reconnects ? "lost" : "connecting", state.reconnects ? "Connection lost — reconnecting…" : "Connecting…");
  let ticket;
  try {
    ticket = (await call("POST", "ws-ticket")).ticket;
  } catch (error) {
    if (error.status === 403) return setConnection("refused", "Not allowed: log in again.");
    return reconnectLater();
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}${config.ws}?ticket=${encodeURIComponent(ticket)}`);
  socket.addEventListener("message", (event) => onFrame(JSON.parse(event.data)));
  socket.addEventListener("close", () => {
    socket = null;
    state.reconnects += 1;
    setConnection("lost", "Connection lost — reconnecting…");
    reconnectLater();
  });
}

function reconnectLater() {
  const delay = Math.min(RECONNECT_MAX_MS, 250 * 2 ** attempt) * (0.8 + Math.random() * 0.2);
  attempt += 1;
  setTimeout(connect, delay);
}

const rereading = { running: null, again: false };
async function rereadAll() {
  // What the stream may have missed: one REST re-read at a time, repeated once if asked for meanwhile.
  if (rereading.running) {
    rereading.again = true;
    return rereading.running;
  }
  rereading.running = (async () => {
    do {
      rereading.again = false;
      await Promise.all([refreshes.status(), refreshes.portfolio(), refreshes.orders(), refreshes.bars(), refreshes.equity(), refreshes.strategies(), refreshes.backtests()]);
    } while (rereading.again);
  })().finally(() => { rereading.running = null; });
  return rereading.running;
}

function onFrame(frame) {
  state.frames += 1;
  if (frame.type === "status" && frame.snapshot) {
    state.lastSeq = frame.seq;
    attempt = 0;
    setConnection("live", "Live");
    renderStatus(frame);
    rereadAll().catch(report);
    return;
  }
  if (state.lastSeq !== null && frame.seq !== state.lastSeq + 1) {
    state.gaps += 1;
    rereadAll().catch(report);
  }
  state.lastSeq = frame.seq;
  const chartSymbol = $("#chart-symbol").value;
  switch (frame.type) {
    case "status":
      renderStatus(frame);
      break;
    case "trading_halted":
    case "trading_resumed":
      if (state.kill && frame.type === "trading_halted") state.kill.frame = performance.now();
      showHalt(frame.type === "trading_halted", { by: frame.by, reason: frame.reason, since: frame.server_time });
      refreshes.status().then(refreshes.orders).catch(report);
      break;
    case "order_filled":
      if (frame.symbol === chartSymbol) refreshes.bars().catch(report);
      refreshes.equity().catch(report);
      refreshes.strategies().catch(report);
    // falls through: the orders table and the positions change too
    case "order_accepted":
    case "order_rejected":
    case "order_canceled":
    case "order_expired":
      Promise.all([refreshes.orders(), refreshes.portfolio()]).catch(report);
      break;
    case "prices_stored":
      refreshes.status().catch(report);
      refreshes.portfolio().catch(report);
      if (frame.symbol === chartSymbol || (frame.symbols && frame.symbols.includes(chartSymbol))) refreshes.bars().catch(report);
      break;
    case "market_data_switched":
      renderFeed(frame.source, frame);
      refreshes.status().catch(report);
      break;
    case "strategy_decision":
      onDecision(frame);
      break;
    case "error":
      setConnection("error", `Server: ${frame.message}`);
      break;
    default:
      break;
  }
}

function report(error) {
  setConnection("error", `Could not refresh: ${error.message}`);
}

// --- start -------------------------------------------------------------------------------------------------
const refreshes = {
  status: coalesced(refreshStatus), portfolio: coalesced(refreshPortfolio), orders: coalesced(refreshOrders),
  bars: coalesced(refreshBars), equity: coalesced(refreshEquity), strategies: coalesced(refreshStrategies),
  backtests: coalesced(refreshBacktests),
};
$("#chart-symbol").addEventListener("change", () => { state.bars = []; refreshes.bars().catch(report); });
$("#chart-timeframe").addEventListener("change", () => { state.bars = []; refreshes.bars().catch(report); });
setInterval(renderPrices, 1000);
wireKillSwitch();
wireBacktestForm();
connect();
