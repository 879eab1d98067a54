// tension-stream dashboard: one uPlot chart per category (uPlot is installed from npm by
// `make setup` and served by the dashboard itself from /vendor/: no CDN, works offline).
// dashboard.js owns the data and the side panels; this file turns a category's series
// into a chart: the 24 h index with its interval as a band, the daily index as steps, the
// baseline 100, drag-to-zoom shared by every chart, and the selected point.
"use strict";

const Charts = (() => {
  const HEIGHT = 200;
  const BAND = "rgb(198, 216, 240)";  // opaque on purpose: the browser test counts its pixels
  const COLORS = { hop: "#2b6cb0", day: "#d97706", base: "#111", sel: "#7c3aed" };
  const S = { hi: 1, lo: 2, final: 3, open: 4, day: 5, base: 6 };  // series indices (0 is x)
  const charts = new Map();  // category -> {u, data, section}
  let zoom = null;           // {min, max} in seconds, or null: the whole loaded range
  let onZoom = () => {}, onPick = () => {};
  const utc = (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC");

  // One x array per chart: the hopping windows' ends (where a 24 h value is drawn) and the
  // daily windows' hours; every series is null where it has no value, so gaps stay gaps.
  function columns(data, sizeS, showDaily) {
    const hop = data.hopping || [], day = data.tumbling || [];
    const xs = new Set(hop.map((p) => p.t1 / 1e3));
    const dayAt = new Map();
    for (const p of day) {
      if (p.index === null) continue;
      for (let t = p.t0 / 1e3; t <= p.t1 / 1e3; t += 3600) { xs.add(t); if (t < p.t1 / 1e3 || !dayAt.has(t)) dayAt.set(t, p); }
    }
    const x = [...xs].sort((a, b) => a - b);
    const at = new Map(x.map((t, i) => [t, i]));
    const col = () => new Array(x.length).fill(null);
    const hi = col(), lo = col(), fin = col(), open = col(), daily = col(), base = col().fill(100);
    const hopAt = new Array(x.length).fill(null);
    let prev = null;
    for (const p of hop) {
      const i = at.get(p.t1 / 1e3);
      hopAt[i] = p;
      if (p.index === null) { prev = null; continue; }
      hi[i] = p.index_high; lo[i] = p.index_low;
      if (p.final) fin[i] = p.index; else open[i] = p.index;
      // the dashed line of still-open windows starts at the last final one before them
      if (!p.final && prev && prev.final && p.t0 - prev.t0 <= sizeS * 500) open[at.get(prev.t1 / 1e3)] = prev.index;
      prev = p;
    }
    if (showDaily) for (const [t, p] of dayAt) daily[at.get(t)] = p.index;
    return { x, hopAt, dayAt, cols: [x, hi, lo, fin, open, daily, base] };
  }

  function options(category, width) {
    return {
      width, height: HEIGHT, tzDate: utc,
      scales: { x: { time: true }, y: { range: (u, min, max) => [Math.min(0, min), Math.max(110, max * 1.08)] } },
      series: [
        { label: "window end (UTC)", value: "{YYYY}-{MM}-{DD} {HH}:{mm}" },
        { label: "upper bound", stroke: "rgba(0,0,0,0)", points: { show: false }, value: (u, v) => fmtNum(v) },
        { label: "lower bound", stroke: "rgba(0,0,0,0)", points: { show: false }, value: (u, v) => fmtNum(v) },
        { label: "24 h index (final)", stroke: COLORS.hop, width: 1.5, value: (u, v) => fmtNum(v),
          points: { size: 4, fill: COLORS.hop } },
        { label: "24 h index (open)", stroke: COLORS.hop, width: 1.5, dash: [4, 3], value: (u, v) => fmtNum(v),
          points: { size: 4, fill: "#fff" } },
        { label: "daily index", stroke: COLORS.day, width: 2.5, paths: uPlot.paths.stepped({ align: 1 }),
          points: { show: false }, value: (u, v) => fmtNum(v) },
        { label: "baseline", stroke: COLORS.base, width: 1, dash: [2, 3], points: { show: false }, value: () => "100" },
      ],
      bands: [{ series: [S.hi, S.lo], fill: BAND }],
      axes: [{ label: "time (UTC)", labelSize: 18, size: 44, values: utcTicks }, { size: 44 }],
      cursor: { drag: { x: true, y: false, setScale: false }, points: { size: 7 } },
      legend: { live: true },
      hooks: {
        setSelect: [(u) => {
          if (u.select.width < 8) return;
          const min = u.posToVal(u.select.left, "x"), max = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          setZoom({ min, max });
        }],
        draw: [(u) => drawSelected(u, category)],
      },
    };
  }

  // Tick labels in UTC and 24 h time: days as MM-DD, hours as HH:MM (with the day at midnight).
  function utcTicks(u, splits, axisIdx, space, incr) {
    return splits.map((t) => {
      const iso = new Date(t * 1e3).toISOString();
      if (incr >= 86400) return iso.slice(5, 10);
      return iso.slice(11, 16) === "00:00" ? iso.slice(11, 16) + "\n" + iso.slice(5, 10) : iso.slice(11, 16);
    });
  }

  const fmtNum = (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(1));

  function drawSelected(u, category) {
    const c = charts.get(category);
    if (!c || !c.selected) return;
    const { t, value } = c.selected;
    if (value === null || t < u.scales.x.min || t > u.scales.x.max) return;
    const x = u.valToPos(t, "x", true), y = u.valToPos(value, "y", true), r = 6 * devicePixelRatio;
    const ctx = u.ctx;
    ctx.save();
    ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.lineWidth = 3 * devicePixelRatio; ctx.strokeStyle = COLORS.sel; ctx.stroke();
    ctx.restore();
  }

  // Every chart shows the same time span: a drag on one zooms all; null = everything loaded.
  function setZoom(z) {
    zoom = z;
    for (const { u, x } of charts.values()) applyZoom(u, x);
    onZoom(zoom);
  }

  function applyZoom(u, x) {
    const full = { min: x.length ? x[0] : 0, max: x.length ? x[x.length - 1] : 1 };
    u.setScale("x", zoom || full);
  }

  // The scales on the element: what the zoom shows, and (with the plot area, .u-over) where a
  // window is drawn — linear in both axes, so a test can aim at a point.
  function stamp(section, u) {
    const d = section.dataset;
    d.xMin = new Date(u.scales.x.min * 1e3).toISOString();
    d.xMax = new Date(u.scales.x.max * 1e3).toISOString();
    d.yMin = String(u.scales.y.min); d.yMax = String(u.scales.y.max);
  }

  // A click (not a drag) picks the nearest window: the 24 h one, or the daily one when the
  // pointer is nearer the daily step than the 24 h line.
  function wireClicks(u, category) {
    let down = null;
    u.over.addEventListener("mousedown", (e) => { down = [e.clientX, e.clientY]; });
    u.over.addEventListener("click", (e) => {
      if (down && Math.hypot(e.clientX - down[0], e.clientY - down[1]) > 4) return;
      const c = charts.get(category), i = u.cursor.idx;
      if (i === null || i === undefined) return;
      const yVal = u.posToVal(u.cursor.top, "y");
      const hop = c.hopAt[i], day = c.dayAt.get(c.x[i]);
      const hopDist = hop && hop.index !== null ? Math.abs(hop.index - yVal) : Infinity;
      const dayDist = day && c.showDaily ? Math.abs(day.index - yVal) : Infinity;
      if (hopDist === Infinity && dayDist === Infinity) return;
      if (dayDist < hopDist) onPick(category, "tumbling", day); else onPick(category, "hopping", hop);
    });
  }

  function render(box, series, sizeS, showDaily, label) {
    for (const { u } of charts.values()) u.destroy();
    charts.clear();
    box.replaceChildren();
    const width = Math.max(320, box.clientWidth - 20);
    for (const category of Object.keys(series)) {
      const data = series[category], hop = data.hopping || [], nDay = (data.tumbling || []).length;
      const open = hop.filter((p) => !p.final).length;
      const section = document.createElement("section");
      section.className = "chart"; section.dataset.category = category;
      const h3 = document.createElement("h3");
      h3.textContent = label(category);
      const info = document.createElement("span");
      info.className = "muted";
      info.textContent = `${hop.length} hourly windows (${open} still open) · ${nDay} days`;
      h3.append(info); section.append(h3); box.append(section);
      if (!hop.length && !nDay) {
        const p = document.createElement("p"); p.className = "empty"; p.textContent = "No windows in this time range.";
        section.append(p); section.dataset.points = "0"; continue;
      }
      const built = columns(data, sizeS, showDaily);
      const u = new uPlot(options(category, width), built.cols, section);
      const c = { u, section, showDaily, selected: null, ...built };
      charts.set(category, c);
      u.hooks.setScale = [(uu) => stamp(section, uu)];
      applyZoom(u, built.x);
      stamp(section, u);
      Object.assign(section.dataset, { points: String(hop.length), open: String(open), days: String(nDay) });
      section.dataset.band = String(built.cols[S.lo].filter((v, i) => v !== null && built.cols[S.hi][i] !== null).length);
      wireClicks(u, category);
    }
  }

  // Mark the window (category, kind, window_start) on its chart; zoom to it when it is outside.
  function select(category, kind, p) {
    for (const [name, c] of charts) {
      const mine = name === category;
      c.selected = mine ? { t: (kind === "hopping" ? p.t1 : (p.t0 + p.t1) / 2) / 1e3, value: p.index } : null;
      if (mine) { c.section.dataset.selected = p.window_start; c.section.dataset.selectedKind = kind; }
      else { delete c.section.dataset.selected; delete c.section.dataset.selectedKind; }
      c.u.redraw(false);
    }
    const c = charts.get(category);
    if (c && zoom && (c.selected.t < zoom.min || c.selected.t > zoom.max)) {
      const half = (zoom.max - zoom.min) / 2;
      setZoom({ min: c.selected.t - half, max: c.selected.t + half });
    }
    if (c) c.section.scrollIntoView({ block: "nearest" });
  }

  return {
    render, select, setZoom,
    has: (category) => charts.has(category),
    get zoom() { return zoom; },
    set onZoom(f) { onZoom = f; },
    set onPick(f) { onPick = f; },
  };
})();
