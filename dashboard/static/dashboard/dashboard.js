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

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["X-CSRFToken"] = csrfToken();
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch(config.api + path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.message || `${method} ${path}: HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

// --- state -------------------------------------------------------------------------------------------------
const state = { status: null, sources: {}, receivedAt: 0, orders: [], bars: [], markers: [], lastSeq: null, frames: 0, gaps: 0, reconnects: 0 };
window.dashboard = state; // read by the browser tests and handy in the console

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
      el("td", { textContent: state.sources[p.symbol] || "—", className: "source" }), el("td", {}, stale));
    row.dataset.symbol = p.symbol;
    row.dataset.stale = String(p.stale);
    return row;
  });
  $("#prices tbody").replaceChildren(...rows);
}

function formatAge(seconds) {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}

function renderHalt(status) {
  const banner = $("#halt-banner");
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
  const [status, sources] = await Promise.all([call("GET", "status"), call("GET", "price_sources")]);
  state.sources = sources.sources;
  renderStatus(status);
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
  await refreshOrders();
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

// --- strategies and backtests: shown when the server has them ------------------------------------------------
async function refreshStrategies() {
  const box = $("#strategies");
  if (!config.features.strategies) {
    box.replaceChildren(el("p", { className: "muted", textContent: "Strategies are not available on this server yet." }));
    return;
  }
  const strategies = (await call("GET", "strategies")).strategies || [];
  const rows = strategies.map((s) => {
    const toggle = el("input", { type: "checkbox", checked: Boolean(s.enabled), id: `strategy-${s.id}` });
    toggle.addEventListener("change", () => toggleStrategy(s, toggle));
    const decision = s.last_decision ? `${s.last_decision.action} — ${s.last_decision.reason || ""}` : "—";
    return el("tr", {}, el("th", { scope: "row" }, el("label", { htmlFor: toggle.id, textContent: s.name || s.id })),
      el("td", {}, toggle), el("td", { textContent: s.mode || "—" }), el("td", { textContent: decision }),
      el("td", { textContent: money(s.pnl) }), el("td", {}, s.journal_url ? el("a", { href: s.journal_url, textContent: "Journal" }) : ""));
  });
  const head = el("tr", {}, ...["Strategy", "Enabled", "Mode", "Last decision", "P&L", "Decisions"].map((h) => el("th", { scope: "col", textContent: h })));
  box.replaceChildren(el("div", { className: "scroll" }, el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows))));
}

async function toggleStrategy(strategy, toggle) {
  const wanted = toggle.checked;
  if (!window.confirm(`${wanted ? "Enable" : "Disable"} strategy ${strategy.name || strategy.id}?`)) {
    toggle.checked = !wanted;
    return;
  }
  try {
    await call("PATCH", `strategies/${strategy.id}`, { enabled: wanted });
  } catch (error) {
    toggle.checked = !wanted;
    window.alert(error.message);
  }
}

async function refreshBacktests() {
  const box = $("#backtests");
  if (!config.features.backtests) {
    box.replaceChildren(el("p", { className: "muted", textContent: "Backtests are not available on this server yet." }));
    return;
  }
  const runs = (await call("GET", "backtests")).backtests || [];
  box.replaceChildren(...runs.map((run) => el("article", { className: "run" },
    el("h3", { textContent: `Run ${run.id} · ${run.status}` }),
    el("p", { textContent: Object.entries(run.metrics || {}).map(([k, v]) => `${k}: ${v}`).join(" · ") }),
    run.report_url ? el("img", { src: run.report_url, alt: `Report of backtest ${run.id}`, loading: "lazy" }) : "")));
}

// --- kill switch ---------------------------------------------------------------------------------------------
function wireKillSwitch() {
  const stopDialog = $("#stop-dialog");
  if (!stopDialog) return;
  const resumeDialog = $("#resume-dialog");
  $("#stop-open").addEventListener("click", () => stopDialog.showModal());
  $("#resume-open").addEventListener("click", () => resumeDialog.showModal());
  stopDialog.addEventListener("close", async () => {
    if (stopDialog.returnValue !== "confirm") return;
    const body = { reason: $("#stop-reason").value || "stopped from the live page", liquidate: $("#stop-liquidate").checked };
    await killCall("stop_trading", body, "Trading stopped.");
  });
  resumeDialog.addEventListener("close", async () => {
    if (resumeDialog.returnValue === "confirm") await killCall("resume_trading", {}, "Trading resumed.");
  });
}

async function killCall(path, body, done) {
  try {
    const answer = await call("POST", path, body);
    $("#kill-message").textContent = done;
    // Shown at once from the answer; the status re-read below (and the stream) bring the stored details.
    showHalt(answer.trading_halted, { by: config.user, reason: body.reason, since: new Date().toISOString() });
  } catch (error) {
    $("#kill-message").textContent = error.message;
  }
  Promise.all([refreshStatus(), refreshOrders(), refreshPortfolio()]).catch(report);
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
      await Promise.all([refreshStatus(), refreshPortfolio(), refreshOrders(), refreshBars(), refreshEquity()]);
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
      showHalt(frame.type === "trading_halted", { by: frame.by, reason: frame.reason, since: frame.server_time });
      refreshStatus().then(refreshOrders).catch(report);
      break;
    case "order_filled":
      if (frame.symbol === chartSymbol) refreshBars().catch(report);
    // falls through: the orders table and the positions change too
    case "order_accepted":
    case "order_rejected":
    case "order_canceled":
    case "order_expired":
      Promise.all([refreshOrders(), refreshPortfolio()]).catch(report);
      break;
    case "prices_stored":
      refreshStatus().catch(report);
      refreshPortfolio().catch(report);
      if (!frame.symbols || frame.symbols.includes(chartSymbol)) refreshBars().catch(report);
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
$("#chart-symbol").addEventListener("change", () => { state.bars = []; refreshBars().catch(report); });
$("#chart-timeframe").addEventListener("change", () => { state.bars = []; refreshBars().catch(report); });
setInterval(renderPrices, 1000);
wireKillSwitch();
Promise.all([refreshStrategies(), refreshBacktests()]).catch(report);
connect();
