/* climbench leaderboard: sortable tables and score charts, no libraries, no network.
 *
 * Data come from <script type="application/json" id="chart-data"> (parsed with JSON.parse,
 * never evaluated); every text is set with textContent, never innerHTML, so a model name
 * is shown as text whatever it contains. */
"use strict";

(function () {
  var SVG = "http://www.w3.org/2000/svg";
  // Okabe & Ito's colour-blind-safe palette
  var COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

  /* ---- sortable tables: <th><button> toggles; aria-sort says the order ---- */
  function cellValue(row, index) {
    var cell = row.cells[index];
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    var num = parseFloat(raw);
    return raw.trim() !== "" && isFinite(num) && String(num) !== "NaN" && /^[\s\d.eE+-]+$/.test(raw)
      ? { n: num } : { s: raw.trim().toLowerCase() };
  }

  function compare(a, b) {
    if (a.n !== undefined && b.n !== undefined) return a.n - b.n;
    if (a.n !== undefined) return -1;
    if (b.n !== undefined) return 1;
    return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
  }

  function sortBy(table, index, th) {
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) {
      var c = compare(cellValue(r1, index), cellValue(r2, index));
      return ascending ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  function makeSortable(table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      var button = th.querySelector("button");
      if (!button) return;
      button.addEventListener("click", function () { sortBy(table, index, th); });
    });
  }

  /* ---- charts ---- */
  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, content, attrs) {
    var t = el("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    t.textContent = content;
    return t;
  }

  function option(select, value, label) {
    var o = document.createElement("option");
    o.value = value;
    o.textContent = label;
    select.appendChild(o);
  }

  function fmt(v) {
    if (v === null || !isFinite(v)) return "";
    var a = Math.abs(v);
    return a !== 0 && (a >= 1e4 || a < 1e-2) ? v.toExponential(1) : String(+v.toPrecision(3));
  }

  function ticks(lo, hi, n) {
    var span = hi - lo || Math.abs(hi) || 1;
    var step = Math.pow(10, Math.floor(Math.log10(span / n)));
    [1, 2, 5, 10].some(function (m) { if (span / (step * m) <= n) { step *= m; return true; } return false; });
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) out.push(v);
    return out;
  }

  function drawChart(data, box, field, metric, relative) {
    while (box.firstChild) box.removeChild(box.firstChild);
    var W = 860, H = 360, L = 70, R = 190, T = 16, B = 44;
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, "data-field": field, "data-metric": metric }, box);
    var ref = null;
    if (relative) {
      data.models.forEach(function (m) { if (m.id === relative) ref = m; });
    }
    var leads = data.leads || [null];
    function pointsOf(m) {  // [lead, value, low, high] per lead, from the page's columns
      var s = m.series[field] && m.series[field][metric];
      if (!s) return null;
      return leads.map(function (h, k) { return [h, s.v[k], s.lo[k], s.hi[k]]; })
        .filter(function (p) { return p[1] !== null; });
    }
    var refPoints = ref && pointsOf(ref);
    function transform(points) {
      if (!refPoints) return points;
      var byLead = {};
      refPoints.forEach(function (p) { byLead[String(p[0])] = p[1]; });
      return points.map(function (p) {
        var r = byLead[String(p[0])];
        if (r === undefined || r === null || r === 0) return [p[0], null, null, null];
        return [p[0], 100 * (p[1] / r - 1), p[2] === null ? null : 100 * (p[2] / r - 1),
                p[3] === null ? null : 100 * (p[3] / r - 1)];
      });
    }
    var series = [];
    data.models.forEach(function (m, i) {
      var pts = pointsOf(m);
      if (!pts) return;
      series.push({ model: m, points: transform(pts), colour: COLOURS[i % COLOURS.length] });
    });
    if (!series.length) {
      text(svg, L, T + 20, "no scores for this field and metric");
      return;
    }
    var hasLeads = data.leads !== null;
    var ys = [];
    series.forEach(function (s) {
      s.points.forEach(function (p) { [p[1], p[2], p[3]].forEach(function (v) { if (v !== null && isFinite(v)) ys.push(v); }); });
    });
    var ylo = Math.min.apply(null, ys), yhi = Math.max.apply(null, ys);
    var pad = (yhi - ylo) * 0.06 || 1;
    ylo -= pad; yhi += pad;
    var xs = hasLeads ? data.leads.map(function (h) { return h / 24; }) : series.map(function (_, i) { return i; });
    var xlo = Math.min.apply(null, xs), xhi = Math.max.apply(null, xs);
    if (!hasLeads) { xlo -= 0.5; xhi += 0.5; }
    if (xhi === xlo) { xhi += 1; }
    function X(v) { return L + (v - xlo) / (xhi - xlo) * (W - L - R); }
    function Y(v) { return T + (yhi - v) / (yhi - ylo) * (H - T - B); }
    var axes = el("g", { class: "axes", stroke: "#888" }, svg);
    el("line", { x1: L, y1: H - B, x2: W - R, y2: H - B }, axes);
    el("line", { x1: L, y1: T, x2: L, y2: H - B }, axes);
    ticks(ylo, yhi, 6).forEach(function (v) {
      el("line", { x1: L, x2: W - R, y1: Y(v), y2: Y(v), stroke: "#eee" }, svg);
      text(svg, L - 6, Y(v) + 4, fmt(v), { "text-anchor": "end" });
    });
    if (hasLeads) {
      ticks(xlo, xhi, 10).forEach(function (v) { text(svg, X(v), H - B + 16, fmt(v), { "text-anchor": "middle" }); });
      text(svg, (L + W - R) / 2, H - 6, "lead time (days)", { "text-anchor": "middle" });
    }
    text(svg, 14, (T + H - B) / 2, refPoints ? metric + " (% vs " + ref.name + ")" : metric,
         { transform: "rotate(-90 14 " + (T + H - B) / 2 + ")", "text-anchor": "middle" });
    var legendY = T + 6;
    series.forEach(function (s, i) {
      var g = el("g", { class: "series", "data-model": s.model.id }, svg);
      var pts = s.points.filter(function (p) { return p[1] !== null; });
      var floor = s.model.status === "noise-floor";
      if (hasLeads && !floor) {
        var band = pts.filter(function (p) { return p[2] !== null && p[3] !== null; });
        if (band.length > 1) {
          var d = band.map(function (p) { return X(p[0] / 24) + "," + Y(p[3]); })
            .concat(band.slice().reverse().map(function (p) { return X(p[0] / 24) + "," + Y(p[2]); }));
          el("polygon", { points: d.join(" "), fill: s.colour, "fill-opacity": 0.18, stroke: "none" }, g);
        }
        el("polyline", { points: pts.map(function (p) { return X(p[0] / 24) + "," + Y(p[1]); }).join(" "),
                          fill: "none", stroke: s.colour, "stroke-width": 2 }, g);
      } else if (floor) {
        pts.forEach(function (p) {
          el("line", { x1: L, x2: W - R, y1: Y(p[1]), y2: Y(p[1]), stroke: "#333", "stroke-dasharray": "6 4",
                       "stroke-width": 1.5, class: "floor" }, g);
        });
      } else {
        pts.forEach(function (p) {
          var x = X(i);
          if (p[2] !== null && p[3] !== null) el("line", { x1: x, x2: x, y1: Y(p[2]), y2: Y(p[3]), stroke: s.colour, "stroke-width": 2 }, g);
          el("circle", { cx: x, cy: Y(p[1]), r: 5, fill: s.colour }, g);
        });
      }
      el("rect", { x: W - R + 12, y: legendY - 8, width: 14, height: 4, fill: floor ? "#333" : s.colour }, g);
      var label = s.model.name + (s.model.rank ? " (#" + s.model.rank + ")" : floor ? " (noise floor)" : "");
      text(g, W - R + 32, legendY - 3, label.length > 26 ? label.slice(0, 25) + "…" : label);
      legendY += 17;
      var title = el("title", {}, g);
      title.textContent = s.model.name;
    });
  }

  function setupChart() {
    var source = document.getElementById("chart-data");
    var box = document.getElementById("chart");
    if (!source || !box) return;
    var data = JSON.parse(source.textContent);
    var fieldSel = document.getElementById("chart-field");
    var metricSel = document.getElementById("chart-metric");
    var relSel = document.getElementById("chart-relative");
    data.fields.forEach(function (f) { option(fieldSel, f, f); });
    data.metrics.forEach(function (m) { option(metricSel, m, m); });
    data.models.forEach(function (m) { if (m.status !== "noise-floor") option(relSel, m.id, m.name); });
    fieldSel.value = data.headline.field;
    metricSel.value = data.metrics.indexOf(data.headline.metric) >= 0 ? data.headline.metric : data.metrics[0];
    function redraw() { drawChart(data, box, fieldSel.value, metricSel.value, relSel.value); }
    [fieldSel, metricSel, relSel].forEach(function (s) { s.addEventListener("change", redraw); });
    redraw();
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
    setupChart();
  });
})();
