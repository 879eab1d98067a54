// tension-stream dashboard: polls the JSON API and draws one SVG chart per category.
// No library and no CDN on purpose: the page must work offline and load fast.
"use strict";

const W = 900, H = 190, M = { l: 40, r: 54, t: 10, b: 22 };
const HOUR = 3600e3, DAY = 24 * HOUR;
const MAX_CUES = 8;  // the strongest cues explain an item; a long article can have dozens
const state = {
  wanted: null,        // categories from the filter (null = all)
  range: "all",        // days or "all"
  showDaily: true,
  version: null,       // /api/health version seen last; a change triggers a reload
  known: [],           // categories the store has
  series: {},          // category -> {hopping: [...], tumbling: [...]}
  newestAlert: null,   // created_at of the newest alert shown
  refreshMs: 5000,
  rendered: false,
  selected: null,
  timer: null,
};
const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, error) { super(error.message); this.status = status; this.code = error.code; this.error = error; }
}

async function api(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, v);
  const url = path + (q.toString() ? "?" + q : "");
  let response;
  try { response = await fetch(url, { cache: "no-store" }); }
  catch (e) { throw new ApiError(0, { code: "dashboard_unreachable", message: "the dashboard server does not answer" }); }
  let body = null;
  try { body = await response.json(); } catch (e) { /* not JSON */ }
  if (!response.ok) throw new ApiError(response.status, (body && body.error) || { code: "http_" + response.status, message: response.statusText });
  return body;
}

function showMessage(text, kind = "warn") {
  const m = $("message");
  if (!text) { m.hidden = true; m.textContent = ""; delete m.dataset.code; return; }
  m.hidden = false; m.textContent = text; m.className = kind === "error" ? "error" : "";
}

function messageFor(err) {
  switch (err.code) {
    case "store_unavailable": return "The store is unreachable: " + err.message + ". Retrying every few seconds.";
    case "empty_store": return "The store is empty: " + err.message;
    case "unknown_category": return "Unknown category " + err.error.unknown.map((c) => `"${c}"`).join(", ") +
      ". Known categories: " + (err.error.known.join(", ") || "none") + ".";
    case "dashboard_unreachable": return "The dashboard server does not answer; retrying.";
    default: return "Error: " + err.message;
  }
}

const fmt = (v, d = 1) => (v === null || v === undefined ? "–" : Number(v).toFixed(d));
const signed = (v, d = 1) => (v === null || v === undefined ? "–" : (v > 0 ? "+" : "") + Number(v).toFixed(d));
const when = (iso) => iso ? iso.slice(0, 16).replace("T", " ") : "";
const label = (c) => c === "overall" ? "overall (US–China)" : c.replace(/_/g, " ");
const esc = (s) => String(s).replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[ch]));

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// ---------------------------------------------------------------- current levels
function renderLevels(overview) {
  const box = $("levels");
  box.replaceChildren();
  for (const entry of overview.categories) {
    const h = entry.hopping, d = entry.tumbling, cur = h.current;
    const change = h.change;
    const dir = change === null ? "" : change > 0 ? "up" : change < 0 ? "down" : "";
    const arrow = change === null ? "" : change > 0 ? "▲ " : change < 0 ? "▼ " : "";
    box.append(el("div", { class: "level" + (entry.category === "overall" ? " overall" : ""), "data-category": entry.category },
      el("div", { class: "name", text: label(entry.category) }),
      el("div", { class: "value", text: cur ? fmt(cur.index) : "–" }),
      el("div", { class: "change " + dir, text: change === null ? "no value a day before" : arrow + signed(change) + " since previous day" }),
      el("div", { class: "sub", text: cur ? `24 h to ${when(cur.window_end)} · ${cur.final ? "final" : "still open"}` : "" }),
      el("div", { class: "sub", text: d.current ? `daily ${fmt(d.current.index)} (${d.change === null ? "–" : signed(d.change)})` : "" })));
  }
}

// ---------------------------------------------------------------- charts
function niceStep(span) {
  const raw = span / 5, p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

// A time axis that shrinks long empty stretches (a demo store holds a few separate days
// months apart) to a short marked break, so the days that have data keep their width.
const GAP = 36 * HOUR, KEEP = 6 * HOUR;
function timeScale(times) {
  times.sort((a, b) => a - b);
  const cuts = [];
  let removed = 0;
  for (let i = 1; i < times.length; i++) {
    const gap = times[i] - times[i - 1];
    if (gap > GAP) { cuts.push({ from: times[i - 1], to: times[i], before: removed }); removed += gap - KEEP; }
  }
  const t0 = times[0], span = Math.max(1, times[times.length - 1] - t0 - removed);
  const virtual = (t) => {
    let lo = 0, hi = cuts.length - 1, c = null;
    while (lo <= hi) { const mid = (lo + hi) >> 1; if (cuts[mid].from < t) { c = cuts[mid]; lo = mid + 1; } else hi = mid - 1; }
    if (!c) return t - t0;
    if (t >= c.to) return t - t0 - c.before - (c.to - c.from - KEEP);
    return c.from - t0 - c.before + (t - c.from) * KEEP / (c.to - c.from);
  };
  const x = (t) => M.l + virtual(t) / span * (W - M.l - M.r);
  const inGap = (t) => cuts.some((c) => t > c.from && t < c.to);
  return { x, cuts, t0, t1: times[times.length - 1], inGap };
}

function chartSvg(category, data, scale) {
  const hop = data.hopping || [], day = state.showDaily ? (data.tumbling || []) : [];
  const vals = [100];
  for (const p of hop) if (p.index !== null) vals.push(p.index);
  for (const p of day) if (p.index !== null) vals.push(p.index);
  const yMax = Math.max(...vals) * 1.08, yMin = Math.min(0, Math.min(...vals));
  const X = scale.x;
  const Y = (v) => H - M.b - (v - yMin) / (yMax - yMin) * (H - M.t - M.b);
  const out = [`<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label(category))} index">`];
  const step = niceStep(yMax - yMin);
  out.push('<g class="axis">');
  for (let v = Math.ceil(yMin / step) * step; v <= yMax; v += step) {
    out.push(`<line class="grid" x1="${M.l}" x2="${W - M.r}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}"/>`,
      `<text x="${M.l - 4}" y="${(Y(v) + 3).toFixed(1)}" text-anchor="end">${v}</text>`);
  }
  const breaks = scale.cuts.map((c) => (X(c.from) + X(c.to)) / 2);
  for (const x of breaks) out.push(`<line class="break" x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${M.t}" y2="${H - M.b}"/>`);
  let lastLabel = -Infinity;  // day labels 60 px apart, clear of the breaks
  for (let t = Math.ceil(scale.t0 / DAY) * DAY; t <= scale.t1; t += DAY) {
    const x = X(t);
    if (scale.inGap(t) || x - lastLabel < 60 || breaks.some((b) => Math.abs(b - x) < 24)) continue;
    lastLabel = x;
    out.push(`<text x="${x.toFixed(1)}" y="${H - 6}" text-anchor="middle">${new Date(t).toISOString().slice(5, 10)}</text>`);
  }
  out.push("</g>");
  out.push(`<line class="baseline" x1="${M.l}" x2="${W - M.r}" y1="${Y(100).toFixed(1)}" y2="${Y(100).toFixed(1)}"/>`,
    `<text class="baseline-label" x="${W - M.r + 4}" y="${(Y(100) + 3).toFixed(1)}">baseline</text>`);
  // daily index: one step per day, solid when final, dashed while the day is open
  for (const [i, p] of day.entries()) {
    if (p.index === null) continue;
    const a = X(p.t0), b = X(p.t1), y = Y(p.index).toFixed(1);
    out.push(`<line class="day${p.final ? "" : " open"}" x1="${a.toFixed(1)}" x2="${b.toFixed(1)}" y1="${y}" y2="${y}"/>`,
      `<circle class="pt pt-d ${p.final ? "final" : "open"}" data-k="tumbling" data-i="${i}" cx="${((a + b) / 2).toFixed(1)}" cy="${y}" r="3.2"/>`);
  }
  // 24 h index, plotted at each window's end; final windows solid, still-open ones dashed
  let solid = "", dashed = "", last = null, circles = [];
  let prevT = null;
  for (const [i, p] of hop.entries()) {
    if (prevT !== null && p.t0 - prevT > state.sizeMs / 2) last = null;  // windows missing: break the line
    prevT = p.t0;
    if (p.index === null) { last = null; continue; }
    const x = X(p.t1).toFixed(1), y = Y(p.index).toFixed(1);
    if (p.final) solid += (last ? "L" : "M") + x + " " + y;
    else dashed += (last ? (last.final ? `M${last.x} ${last.y}L` : "L") : "M") + x + " " + y;
    last = { x, y, final: p.final };
    circles.push(`<circle class="pt pt-h ${p.final ? "final" : "open"}" data-k="hopping" data-i="${i}" cx="${x}" cy="${y}" r="1.9"/>`);
  }
  if (solid) out.push(`<path class="hop" d="${solid}"/>`);
  if (dashed) out.push(`<path class="hop open" d="${dashed}"/>`);
  out.push(circles.join(""), "</svg>");
  return out.join("");
}

function renderCharts() {
  const box = $("charts");
  const cats = Object.keys(state.series);
  const times = [];
  for (const c of cats) {
    for (const p of state.series[c].hopping || []) times.push(p.t1);
    if (state.showDaily) for (const p of state.series[c].tumbling || []) times.push(p.t0, p.t1);
  }
  const scale = times.length ? timeScale(times) : null;
  const html = cats.map((c) => {
    const data = state.series[c], n = (data.hopping || []).length, open = (data.hopping || []).filter((p) => !p.final).length;
    const body = scale && (n || (data.tumbling || []).length) ? chartSvg(c, data, scale) : '<p class="empty">No windows in this time range.</p>';
    return `<section class="chart" data-category="${esc(c)}" data-points="${n}"><h3>${esc(label(c))}` +
      `<span class="muted">${n} hourly windows (${open} still open) · ${(data.tumbling || []).length} days</span></h3>${body}</section>`;
  });
  box.innerHTML = html.join("");
}

// ---------------------------------------------------------------- items behind a point
async function showPoint(circle) {
  const section = circle.closest(".chart"), category = section.dataset.category;
  const kind = circle.dataset.k, p = state.series[category][kind][Number(circle.dataset.i)];
  if (state.selected) state.selected.classList.remove("selected");
  circle.classList.add("selected"); state.selected = circle;
  const body = $("details-body");
  $("details-hint").hidden = true;
  body.replaceChildren(el("p", { class: "muted", text: "loading…" }));
  let data;
  try { data = await api("/api/point", { category, kind, window_start: p.window_start }); }
  catch (err) { body.replaceChildren(el("p", { class: "error", text: messageFor(err) })); return; }
  const head = el("div", { class: "window", text: `${label(category)} · ${kind === "hopping" ? "24 h" : "daily"} window ` +
    `${when(data.window_start)} → ${when(data.window_end)} UTC · index ${fmt(data.index)} (${data.final ? "final" : "still open"})` });
  const counts = el("div", { class: "muted", text: `${data.n_category} of ${data.n_total} items in the category; ` +
    `${data.n_escalating} escalating, ${data.n_deescalating} de-escalating` });
  const list = el("ul", { id: "items" });
  for (const it of data.items) {
    const t = it.tension, dir = t > 0 ? "up" : t < 0 ? "down" : "";
    const title = /^https?:\/\//.test(it.url || "") ? el("a", { href: it.url, target: "_blank", rel: "noopener noreferrer", text: it.title }) : it.title;
    const cues = el("ul", { class: "cues" });
    const strongest = (it.cues || []).slice().sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight));
    if (strongest.length > MAX_CUES) cues.dataset.more = String(strongest.length - MAX_CUES);
    for (const c of strongest.slice(0, MAX_CUES)) cues.append(el("li", { text: `“${c.phrase}” → ${c.category || "direction"}, ${c.direction}, weight ${signed(c.weight, 2)}` }));
    list.append(el("li", { class: "item" },
      el("div", { class: "title" }, title),
      el("div", {}, ...(it.categories || []).map((c) => el("span", { class: "chip", text: c })),
        el("span", { class: "tension " + dir, text: "tension " + signed(t, 2) }), " · " + it.direction + " · " + when(it.published_at)),
      cues, cues.dataset.more ? el("div", { class: "muted", text: `… and ${cues.dataset.more} weaker cues` }) : null));
  }
  const parts = [head, counts, list];
  if (!data.items.length) parts.push(el("p", { class: "muted", text: "No contributing items recorded for this window." }));
  if (data.missing_items.length) parts.push(el("p", { class: "muted", text: `${data.missing_items.length} item(s) not in the store yet.` }));
  body.replaceChildren(...parts);
}

// ---------------------------------------------------------------- alerts
function addAlerts(alerts, fresh) {
  const list = $("alerts");
  for (const a of alerts.slice().reverse()) {  // oldest first, each prepended: newest ends on top
    if (list.querySelector(`li[data-id="${CSS.escape(a.id)}"]`)) continue;  // polled "at or after": seen ones again
    list.prepend(el("li", { class: fresh ? "new" : "", "data-id": a.id },
      el("strong", { text: label(a.category) + ": " }), a.message,
      el("div", { class: "muted", text: `${a.rule} · value ${fmt(a.value)} (threshold ${fmt(a.threshold)}) · ${when(a.created_at)} UTC` })));
    if (!state.newestAlert || a.created_at > state.newestAlert) state.newestAlert = a.created_at;
  }
  $("alerts-empty").hidden = list.children.length > 0;
}

// ---------------------------------------------------------------- filters and loading
function renderFilter() {
  const box = $("category-filter");
  box.querySelectorAll("label").forEach((l) => l.remove());
  for (const c of state.known) {
    const input = el("input", { type: "checkbox", value: c });
    input.checked = !state.wanted || state.wanted.includes(c);
    box.append(el("label", {}, input, " " + label(c)));
  }
}

// "Last N days": every window whose end (where it is drawn) lies in the N days up to the newest end.
function sinceFor(overview) {
  if (state.range === "all") return null;
  let latest = 0;
  for (const e of overview.categories) if (e.hopping.newest_window_end) latest = Math.max(latest, Date.parse(e.hopping.newest_window_end));
  return latest ? new Date(latest - Number(state.range) * DAY - overview.window_size_s * 1000 + 1).toISOString() : null;
}

async function fetchAll() {
  const category = state.wanted ? state.wanted.join(",") : null;
  // Without a time range the series does not depend on the overview: fetch both at once.
  const early = state.range === "all" ? api("/api/series", { category }) : null;
  if (early) early.catch(() => {});  // awaited below; no unhandled rejection meanwhile
  const overview = await api("/api/overview");
  state.known = overview.categories.map((e) => e.category);  // the filter needs them even if the series fails
  const data = await (early || api("/api/series", { category, since: sinceFor(overview) }));
  return { overview, data };
}

function draw({ overview, data }) {
  renderLevels(overview);
  renderFilter();
  state.series = data.series;
  state.sizeMs = data.window_size_s * 1000;
  for (const c of Object.values(state.series)) for (const pts of Object.values(c)) for (const p of pts) {
    p.t0 = Date.parse(p.window_start); p.t1 = p.t0 + state.sizeMs;  // parsed once, used by every redraw
  }
  state.selected = null;
  renderCharts();
  if (data.truncated) showMessage("Too many windows for one page: showing the oldest ones only; narrow the time range.");
}

async function refresh(force = false) {
  clearTimeout(state.timer);  // one polling loop, even when a filter change refreshes early
  try {
    const reload = force || state.version === null;
    // On a (re)load, ask for health and data at once: one round trip instead of two.
    const pending = reload ? fetchAll() : null;
    if (pending) pending.catch(() => {});
    const health = await api("/api/health");
    $("store").textContent = "store: " + health.label;
    state.refreshMs = health.refresh_s * 1000;
    if (health.live_api) api("/api/live").then((l) => {
      const w = l.worker;
      $("live").textContent = "worker: " + (l.reachable ? "up" : "down") +
        (w && w.counted !== undefined ? ` · ${w.counted} items counted, ${w.late} late` : "");
    }).catch(() => {});
    if (health.empty) {
      state.version = health.version; state.series = {}; $("charts").replaceChildren(); $("levels").replaceChildren();
      showMessage("The store is empty: no index rows yet. Start the worker and the sink (or `make demo`); this page updates by itself.");
      document.body.dataset.error = "empty_store";
    } else if (reload || health.version !== state.version) {
      const fetched = await (pending || fetchAll());
      showMessage(null); delete document.body.dataset.error;
      draw(fetched);
      if (!state.rendered) performance.mark("charts-rendered");
      state.version = health.version;
      const alerts = await api("/api/alerts", { since: state.newestAlert, limit: 50 });
      addAlerts(alerts.alerts, state.rendered);
      if (!state.rendered) { state.rendered = true; document.body.dataset.ready = "1"; }
    }
    $("status").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (err) {
    state.version = null;  // reload everything once the problem is gone
    if (err.error && err.error.store) $("store").textContent = "store: " + err.error.store;
    showMessage(messageFor(err), err.status >= 500 || err.status === 0 ? "error" : "warn");
    if (err.code === "unknown_category") { renderFilter(); $("charts").replaceChildren(); }
    $("status").textContent = "problem at " + new Date().toLocaleTimeString();
    document.body.dataset.error = err.code || "error";
  } finally {
    state.timer = setTimeout(refresh, state.refreshMs);
  }
}

function syncUrl() {
  const q = new URLSearchParams();
  if (state.wanted) q.set("category", state.wanted.join(","));
  if (state.range !== "all") q.set("range", state.range);
  history.replaceState(null, "", location.pathname + (q.toString() ? "?" + q : ""));
}

function init() {
  const q = new URLSearchParams(location.search);
  if (q.get("category")) state.wanted = q.get("category").split(",").filter(Boolean);
  if (q.get("range") && [...$("range").options].some((o) => o.value === q.get("range"))) state.range = q.get("range");
  $("range").value = state.range;
  $("range").addEventListener("change", (e) => { state.range = e.target.value; syncUrl(); refresh(true); });
  $("show-daily").addEventListener("change", (e) => { state.showDaily = e.target.checked; renderCharts(); });
  $("category-filter").addEventListener("change", () => {
    const on = [...$("category-filter").querySelectorAll("input:checked")].map((i) => i.value);
    state.wanted = on.length === state.known.length ? null : on;
    syncUrl(); refresh(true);
  });
  const charts = $("charts"), tip = $("tip");
  charts.addEventListener("click", (e) => { const c = e.target.closest("circle.pt"); if (c) showPoint(c); });
  charts.addEventListener("mouseover", (e) => {
    const c = e.target.closest("circle.pt");
    if (!c) { tip.hidden = true; return; }
    const p = state.series[c.closest(".chart").dataset.category][c.dataset.k][Number(c.dataset.i)];
    const at = new Date(c.dataset.k === "hopping" ? p.t1 : p.t0).toISOString();
    tip.textContent = `${c.dataset.k === "hopping" ? "24 h to" : "day"} ${when(at)} · ${fmt(p.index)}${p.final ? "" : " (open)"}`;
    tip.hidden = false; tip.style.left = e.clientX + 12 + "px"; tip.style.top = e.clientY + 12 + "px";
  });
  charts.addEventListener("mouseleave", () => { tip.hidden = true; });
  refresh(true);
}

document.addEventListener("DOMContentLoaded", init);
