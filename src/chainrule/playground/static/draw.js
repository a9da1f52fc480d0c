// chainrule playground: drawing what the server sends. Heat maps (the output and every
// neuron's), the data points, the loss chart, the legend, the hidden-layer view and the
// backprop view. Loaded before app.js, which owns `state`.
"use strict";

const PALETTE = ["#0877bd", "#f59322", "#2ca02c", "#9467bd", "#d62728", "#8c564b"];
const POSITIVE = [8, 119, 189];   // blue
const NEGATIVE = [245, 147, 34];  // orange

// ---------------------------------------------------------------- colors and heat maps
function decode(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function hexRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function mix(rgb, t) {  // white -> rgb as t goes 0 -> 1
  return [255 + (rgb[0] - 255) * t, 255 + (rgb[1] - 255) * t, 255 + (rgb[2] - 255) * t];
}

function diverging(u8, discretize) {  // byte 0..255 for [-1, 1]
  let v = u8 / 127.5 - 1;
  if (discretize) v = v >= 0 ? 1 : -1;
  return mix(v >= 0 ? POSITIVE : NEGATIVE, Math.min(1, Math.abs(v)) * 0.85);
}

function paint(canvas, size, colorAt) {
  const ctx = canvas.getContext("2d");
  if (canvas.width !== size) { canvas.width = size; canvas.height = size; }
  const img = ctx.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    const [r, g, b] = colorAt(i);
    img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

function paintNeuron(canvas, b64) {
  const size = state.limits.neuron_grid;
  const values = decode(b64);
  paint(canvas, size, (i) => diverging(values[i], state.ui.discretize));
}

function drawFrame() {
  const f = state.frame;
  if (!f || !state.limits) return;
  $("epoch").textContent = String(f.epoch).padStart(6, "0");
  $("train-loss").textContent = f.diverged ? "NaN" : fmt(f.train_loss);  // training paused
  $("test-loss").textContent = f.diverged ? "NaN" : fmt(f.test_loss);
  $("train-acc").textContent = f.train_acc == null ? "" : `accuracy ${(100 * f.train_acc).toFixed(1)}%`;
  $("test-acc").textContent = f.test_acc == null ? "" : `accuracy ${(100 * f.test_acc).toFixed(1)}%`;
  const g = state.limits.grid;
  const hovered = hoveredMap(f);
  if (hovered) {
    paintNeuron($("heatmap"), hovered);
  } else if (f.problem === "classification") {
    const cls = decode(f.heat_class), conf = decode(f.heat_conf);
    const colors = PALETTE.map(hexRgb);
    paint($("heatmap"), g, (i) => mix(colors[cls[i]],
      state.ui.discretize ? 0.6 : 0.12 + 0.6 * (conf[i] / 255)));
  } else {
    const values = decode(f.heat_value);
    paint($("heatmap"), g, (i) => diverging(values[i], state.ui.discretize));
  }
  $("epoch-ms").textContent = f.epoch_ms ? f.epoch_ms.toFixed(1) : "–";
  drawChart();
  updateNetwork();
  if (state.transform.on && f.transform) drawTransform(f.transform);
}

function drawTransform(t) {
  const canvas = $("transform-canvas"), ctx = canvas.getContext("2d");
  const s = canvas.width, pad = 10;
  ctx.clearRect(0, 0, s, s);
  let lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
  const extend = (p) => {
    for (const k of [0, 1]) { lo[k] = Math.min(lo[k], p[k]); hi[k] = Math.max(hi[k], p[k]); }
  };
  t.lines.forEach((line) => line.forEach(extend));
  t.points.forEach(extend);
  const span = [Math.max(hi[0] - lo[0], 1e-6), Math.max(hi[1] - lo[1], 1e-6)];
  const px = (p) => [pad + ((p[0] - lo[0]) / span[0]) * (s - 2 * pad),
    s - pad - ((p[1] - lo[1]) / span[1]) * (s - 2 * pad)];
  ctx.lineWidth = 1;
  ctx.strokeStyle = "rgba(0, 0, 0, 0.25)";
  for (const line of t.lines) {
    ctx.beginPath();
    line.forEach((p, k) => { const [x, y] = px(p); if (k) ctx.lineTo(x, y); else ctx.moveTo(x, y); });
    ctx.stroke();
  }
  const data = state.data;
  t.points.forEach((p, i) => {
    if (!data || data.x.length !== t.points.length) return;
    const [x, y] = px(p);
    let fill;
    if (data.problem === "classification") fill = PALETTE[data.y[i]];
    else { const c = mix(data.y[i] >= 0 ? POSITIVE : NEGATIVE, Math.abs(data.y[i])); fill = `rgb(${c.map(Math.round)})`; }
    ctx.beginPath();
    ctx.arc(x, y, 2.5, 0, 2 * Math.PI);
    ctx.fillStyle = fill;
    ctx.fill();
  });
  ctx.fillStyle = "#555";
  ctx.font = "11px sans-serif";
  ctx.fillText(`layer ${t.layer + 1}: neuron ${t.x + 1} (x) vs neuron ${t.y + 1} (y)`, 6, 12);
}

// Hovering a neuron (or a feature) shows its heat map on the big plot, as the
// TensorFlow Playground does.
function hoveredMap(f) {
  const h = state.hover;
  if (!h) return null;
  if (h.kind === "feature") {
    const k = layout ? layout.enabled.indexOf(h.name) : -1;
    return k >= 0 ? f.inputs[k] : null;
  }
  return f.neurons[h.layer] ? f.neurons[h.layer][h.row] || null : null;
}

function hoverable(node, target) {
  node.addEventListener("mouseenter", () => { state.hover = target; drawFrame(); });
  node.addEventListener("mouseleave", () => { state.hover = null; drawFrame(); });
}

function fmt(v) { return v == null ? "–" : v.toFixed(3); }

function drawPoints() {
  const canvas = $("points"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const data = state.data;
  if (!data || !state.limits) return;
  const d = state.limits.domain, s = canvas.width;
  const px = (v) => ((v + d) / (2 * d)) * s, py = (v) => ((d - v) / (2 * d)) * s;
  data.x.forEach((p, i) => {
    const isTrain = data.train[i] === 1;
    if (!isTrain && !state.ui.show_test) return;
    let fill;
    if (data.problem === "classification") fill = PALETTE[data.y[i]];
    else { const c = mix(data.y[i] >= 0 ? POSITIVE : NEGATIVE, Math.abs(data.y[i])); fill = `rgb(${c.map(Math.round)})`; }
    ctx.beginPath();
    ctx.arc(px(p[0]), py(p[1]), 3.5, 0, 2 * Math.PI);
    ctx.fillStyle = fill;
    ctx.fill();
    ctx.lineWidth = 1;
    ctx.strokeStyle = isTrain ? "#fff" : "#000";
    ctx.stroke();
  });
  if (state.backprop.on && state.backprop.index !== null && data.x[state.backprop.index]) {
    const p = data.x[state.backprop.index];
    ctx.beginPath();
    ctx.arc(px(p[0]), py(p[1]), 8, 0, 2 * Math.PI);
    ctx.lineWidth = 2.5;
    ctx.strokeStyle = "#000";
    ctx.stroke();
  }
}

function drawLegend() {
  const c = state.config, box = $("legend");
  box.innerHTML = "";
  if (c.problem === "classification") {
    for (let k = 0; k < c.num_classes; k++) {
      const item = document.createElement("span");
      item.innerHTML = `<i style="background:${PALETTE[k]}"></i>class ${k}`;
      box.appendChild(item);
    }
  } else {
    box.innerHTML = '<span><i style="background:#f59322"></i>-1</span>' +
      '<span><i style="background:#fff"></i>0</span><span><i style="background:#0877bd"></i>+1</span>';
  }
}

function drawChart() {
  const canvas = $("chart"), ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const hist = state.history;
  if (hist.length < 2) return;
  const first = hist[0].epoch, last = hist[hist.length - 1].epoch;
  const span = Math.max(1, last - first);
  let top = 0;
  for (const r of hist) top = Math.max(top, r.train_loss || 0, r.test_loss || 0);
  top = top || 1;
  const line = (key, color, scale, dash) => {
    ctx.beginPath();
    ctx.setLineDash(dash);
    let started = false;
    for (const r of hist) {
      if (r[key] == null) continue;
      const x = ((r.epoch - first) / span) * (w - 2) + 1;
      const y = h - 2 - (r[key] / scale) * (h - 4);
      if (started) ctx.lineTo(x, y); else { ctx.moveTo(x, y); started = true; }
    }
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.stroke();
  };
  line("train_loss", "#999", top, []);
  line("test_loss", "#000", top, []);
  if (state.config.problem === "classification") {
    line("train_acc", "#9ecae1", 1, [3, 3]);
    line("test_acc", "#0877bd", 1, [3, 3]);
  }
  ctx.setLineDash([]);
}

// ---------------------------------------------------------------- backprop view
function drawBackprop(msg) {
  if (!state.backprop.on) return;
  const box = $("backprop-graph");
  const blob = new Blob([msg.svg], { type: "image/svg+xml" });
  const url = URL.createObjectURL(blob);
  let img = box.querySelector("img");
  if (!img) { img = document.createElement("img"); img.alt = "computational graph"; box.appendChild(img); }
  const old = img.src;
  img.src = url;
  if (old) URL.revokeObjectURL(old);
  const label = typeof msg.label === "number" && !Number.isInteger(msg.label) ? msg.label.toFixed(2) : msg.label;
  $("backprop-info").textContent = `Point #${msg.index} at (${msg.point.map((v) => v.toFixed(2)).join(", ")}), ` +
    `label ${label}: loss ${msg.loss.toFixed(4)}. Alt-click another point to follow it.`;
  drawPoints();
}
