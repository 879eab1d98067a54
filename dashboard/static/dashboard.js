// tension-stream dashboard: polls the JSON API, keeps the filters in the address and fills
// the cards, the side panels and the charts (drawn by charts.js with uPlot, served locally).
// Every time on the page is UTC and says so.
"use strict";

const HOUR = 3600e3, DAY = 24 * HOUR;
const MAX_CUES = 8;  // the strongest cues explain an item; a long article can have dozens
const state = {
  wanted: null,        // categories from the filter (null = all)
  range: "all",        // days, "all" or "custom" (from/to below)
  from: null, to: null, // custom range: ISO UTC, window start in [from, to)
  showDaily: true,
  version: null,       // /api/health version seen last; a change triggers a reload
  known: [],           // categories the store has
  series: {},          // category -> {hopping: [...], tumbling: [...]}
  newestAlert: null,   // created_at of the newest alert shown
  refreshMs: 5000,
  rendered: false,
  timer: null,
  overview: null,
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
// A card per shown category: the trailing 24 h index with its interval, or "no items" when the
// window holds none of the category (an index of 0.0 would read as "calm", not "no data").
const hasItems = (row) => row && row.n_category > 0;
const interval = (row) => row.index_low === null || row.index_low === undefined ? "" :
  ` · ${Math.round((row.interval_level || 0) * 100)} %: ${fmt(row.index_low)}–${fmt(row.index_high)}`;

function renderLevels(overview) {
  const box = $("levels");
  box.replaceChildren();
  for (const entry of overview.categories) {
    if (state.wanted && !state.wanted.includes(entry.category)) continue;
    const h = entry.hopping, d = entry.tumbling, cur = h.current;
    const change = hasItems(cur) && hasItems(h.previous_day) ? h.change : null;
    const dir = change === null ? "" : change > 0 ? "up" : change < 0 ? "down" : "";
    const arrow = change === null ? "" : change > 0 ? "▲ " : change < 0 ? "▼ " : "";
    const card = el("div", { class: "level" + (entry.category === "overall" ? " overall" : ""), "data-category": entry.category });
    card.append(el("div", { class: "name", text: label(entry.category) }));
    if (!hasItems(cur)) {
      card.classList.add("no-items");
      card.append(el("div", { class: "value none", text: "no items" }),
        el("div", { class: "sub", text: cur ? `in the 24 h to ${when(cur.window_end)} UTC (${cur.n_total} items in all)` : "no 24 h window yet" }));
    } else {
      card.append(el("div", { class: "value", text: fmt(cur.index) }),
        el("div", { class: "change " + dir, text: change === null ? "no value a day before" : arrow + signed(change) + " since previous day" }),
        el("div", { class: "sub", text: `24 h to ${when(cur.window_end)} UTC · ${cur.final ? "final" : "still open"}` }),
        el("div", { class: "sub" + (cur.sparse ? " sparse" : ""),
          text: `${cur.n_category} of ${cur.evidence ?? cur.n_total} items in the category${interval(cur)}${cur.sparse ? " · too few items to read as a level" : ""}` }));
    }
    card.append(el("div", { class: "sub", text: !d.current ? "" : hasItems(d.current) ? `daily ${fmt(d.current.index)} (${d.change === null ? "–" : signed(d.change)})` : "daily: no items" }));
    box.append(card);
  }
}

// ---------------------------------------------------------------- cues in words
// A cue is (phrase, category, direction, weight); the classifier's internal names
// ("learned:…", "rules.de") become what they mean to a reader.
const DIRECTION_WORDS = { escalation: "points to escalation", deescalation: "points to de-escalation", neutral: "marks the topic" };
function cueText(c) {
  let phrase = c.phrase || "", source = "keyword";
  if (phrase.startsWith("learned:")) { phrase = phrase.slice(8); source = "learned from the corpus"; }
  if (phrase.startsWith("rules.")) phrase = { "rules.de": "the rules' de-escalation reading", "rules.esc": "the rules' escalation reading",
    "rules.tension": "the rules' tension score" }[phrase] || "the rules' reading";
  else phrase = `“${phrase}”`;
  const w = Math.abs(Number(c.weight) || 0), strength = w >= 2 ? "strong" : w >= 1 ? "moderate" : "weak";
  const topic = c.category ? ` ${label(c.category)},` : "";
  return `${phrase} (${source}) —${topic} ${DIRECTION_WORDS[c.direction] || c.direction}; ${strength} cue`;
}

// ---------------------------------------------------------------- items behind a point
async function showPoint(category, kind, p) {
  if (Charts.has(category)) Charts.select(category, kind, p);
  const body = $("details-body");
  $("details-hint").hidden = true;
  body.replaceChildren(el("p", { class: "muted", text: "loading…" }));
  let data;
  try { data = await api("/api/point", { category, kind, window_start: p.window_start }); }
  catch (err) { body.replaceChildren(el("p", { class: "error", text: messageFor(err) })); return; }
  const head = el("div", { class: "window", text: `${label(category)} · ${kind === "hopping" ? "24 h" : "daily"} window ` +
    `${when(data.window_start)} → ${when(data.window_end)} UTC · index ${fmt(data.index)}${interval(data)} (${data.final ? "final" : "still open"})` });
  const counts = el("div", { class: "muted", text: `${data.n_category} of ${data.n_total} items in the category; ` +
    `${data.n_escalating} escalating, ${data.n_deescalating} de-escalating` +
    (data.sparse ? "; too few items in the window to read the index as a level" : "") });
  const list = el("ul", { id: "items" });
  for (const it of data.items) {
    const t = it.tension, dir = t > 0 ? "up" : t < 0 ? "down" : "";
    const title = /^https?:\/\//.test(it.url || "") ? el("a", { href: it.url, target: "_blank", rel: "noopener noreferrer", text: it.title }) : it.title;
    const cues = el("ul", { class: "cues" });
    const strongest = (it.cues || []).slice().sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight));
    if (strongest.length > MAX_CUES) cues.dataset.more = String(strongest.length - MAX_CUES);
    for (const c of strongest.slice(0, MAX_CUES)) cues.append(el("li", { text: cueText(c) }));
    list.append(el("li", { class: "item" },
      el("div", { class: "title" }, title),
      el("div", {}, ...(it.categories || []).map((c) => el("span", { class: "chip", text: c })),
        el("span", { class: "tension " + dir, text: "tension " + signed(t, 2) }),
        " · " + (DIRECTION_WORDS[it.direction] || it.direction).replace("points to ", "").replace("marks the topic", "neutral") +
        " · " + when(it.published_at) + " UTC"),
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
    const li = el("li", { class: fresh ? "new" : "", "data-id": a.id, "data-category": a.category,
      "data-window-start": a.window_start, tabindex: "0", title: "show this window on its chart" },
      el("strong", { text: label(a.category) + ": " }), a.message,
      el("div", { class: "window", text: `24 h window ${when(a.window_start)} → ${when(a.window_end)} UTC` }),
      el("div", { class: "muted", text: `${a.rule} · value ${fmt(a.value)} (threshold ${fmt(a.threshold)}) · raised ${when(a.created_at)} UTC` }));
    list.prepend(li);
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
// "Custom": window starts in [from, to), both read as UTC.
function rangeParams(overview) {
  if (state.range === "custom") return { since: state.from, until: state.to };
  if (state.range === "all") return {};
  let latest = 0;
  for (const e of overview.categories) if (e.hopping.newest_window_end) latest = Math.max(latest, Date.parse(e.hopping.newest_window_end));
  return latest ? { since: new Date(latest - Number(state.range) * DAY - overview.window_size_s * 1000 + 1).toISOString() } : {};
}

async function fetchAll() {
  const category = state.wanted ? state.wanted.join(",") : null;
  // Without a relative range the series does not depend on the overview: fetch both at once.
  const early = state.range === "all" || state.range === "custom" ? api("/api/series", { category, ...rangeParams(null) }) : null;
  if (early) early.catch(() => {});  // awaited below; no unhandled rejection meanwhile
  const overview = await api("/api/overview");
  state.known = overview.categories.map((e) => e.category);  // the filter needs them even if the series fails
  const data = await (early || api("/api/series", { category, ...rangeParams(overview) }));
  return { overview, data };
}

function renderCharts() {
  Charts.render($("charts"), state.series, state.sizeMs / 1000, state.showDaily, label);
}

function draw({ overview, data }) {
  state.overview = overview;
  renderLevels(overview);
  renderFilter();
  state.series = data.series;
  state.sizeMs = data.window_size_s * 1000;
  for (const c of Object.values(state.series)) for (const pts of Object.values(c)) for (const p of pts) {
    p.t0 = Date.parse(p.window_start); p.t1 = p.t0 + state.sizeMs;  // parsed once, used by every redraw
  }
  renderCharts();
  if (data.truncated) showMessage("Too many windows for one page: showing the oldest ones only; narrow the time range.");
}

// An alert names its category and 24 h window: select that point (showing its category and
// the whole time range first if the filters hide it), zoomed to it when outside the zoom.
async function jumpToAlert(li) {
  const category = li.dataset.category, start = li.dataset.windowStart;
  const find = () => ((state.series[category] || {}).hopping || []).find((p) => p.window_start === start);
  if (!find()) {
    if (state.wanted && !state.wanted.includes(category)) state.wanted = [...state.wanted, category];
    if (!state.known.includes(category)) return;
    state.range = "all"; $("range").value = "all"; showCustom();
    syncUrl(); await refresh(true);
  }
  const p = find();
  if (!p) { $("details-hint").hidden = false; $("details-hint").textContent = "The window of this alert is not in the store."; return; }
  document.querySelectorAll("#alerts li.selected").forEach((x) => x.classList.remove("selected"));
  li.classList.add("selected");
  await showPoint(category, "hopping", p);
}

function showZoom(z) {
  $("zoom").textContent = z ? `zoomed: ${when(new Date(z.min * 1e3).toISOString())} → ${when(new Date(z.max * 1e3).toISOString())} UTC` : "drag across a chart to zoom";
  $("zoom-reset").hidden = !z;
}

function showCustom() {
  const on = state.range === "custom";
  $("custom-range").hidden = !on;
  if (on) { $("from").value = (state.from || "").slice(0, 16); $("to").value = (state.to || "").slice(0, 16); }
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
  if (state.range === "custom") { if (state.from) q.set("from", state.from); if (state.to) q.set("to", state.to); }
  history.replaceState(null, "", location.pathname + (q.toString() ? "?" + q : ""));
}

// datetime-local gives "YYYY-MM-DDTHH:MM" without a zone: the page reads it as UTC (labelled so).
const utcInput = (v) => (v ? v + ":00.000Z" : null);

function init() {
  const q = new URLSearchParams(location.search);
  if (q.get("category")) state.wanted = q.get("category").split(",").filter(Boolean);
  if (q.get("range") && [...$("range").options].some((o) => o.value === q.get("range"))) state.range = q.get("range");
  if (state.range === "custom") { state.from = q.get("from"); state.to = q.get("to"); }
  $("range").value = state.range;
  showCustom();
  $("range").addEventListener("change", (e) => {
    state.range = e.target.value; showCustom();
    if (state.range !== "custom") { syncUrl(); refresh(true); }
  });
  $("apply-range").addEventListener("click", () => {
    state.from = utcInput($("from").value); state.to = utcInput($("to").value);
    if (state.from && state.to && state.from >= state.to) { showMessage("The range's end must be after its start."); return; }
    Charts.setZoom(null); syncUrl(); refresh(true);
  });
  $("show-daily").addEventListener("change", (e) => { state.showDaily = e.target.checked; renderCharts(); });
  $("category-filter").addEventListener("change", () => {
    const on = [...$("category-filter").querySelectorAll("input:checked")].map((i) => i.value);
    state.wanted = on.length === state.known.length ? null : on;
    if (state.overview) renderLevels(state.overview);  // the cards follow the filter at once
    syncUrl(); refresh(true);
  });
  $("zoom-reset").addEventListener("click", () => Charts.setZoom(null));
  Charts.onZoom = showZoom;
  Charts.onPick = (category, kind, p) => showPoint(category, kind, p);
  showZoom(null);
  const alerts = $("alerts");
  alerts.addEventListener("click", (e) => { const li = e.target.closest("li[data-id]"); if (li) jumpToAlert(li); });
  alerts.addEventListener("keydown", (e) => { const li = e.target.closest("li[data-id]"); if (li && e.key === "Enter") jumpToAlert(li); });
  if (typeof uPlot === "undefined") {
    showMessage("The chart library is not installed: run `make setup` (it installs uPlot with npm into dashboard/node_modules).", "error");
    document.body.dataset.error = "no_chart_library";
    return;
  }
  refresh(true);
}

document.addEventListener("DOMContentLoaded", init);
