// chainrule playground: the page. It draws what the server's chainrule session sends over
// the WebSocket and turns the user's clicks into JSON messages. No build step, no imports.
"use strict";

const PALETTE = ["#0877bd", "#f59322", "#2ca02c", "#9467bd", "#d62728", "#8c564b"];
const POSITIVE = [8, 119, 189];   // blue
const NEGATIVE = [245, 147, 34];  // orange
const NODE = 40;                  // size of a neuron's heat map on the page (px)
const PLOT = 300;                 // size of the output plot (px)

const state = {
  socket: null, sid: null, limits: null, choices: null, config: null, playing: false,
  data: null, frame: null, history: [], lastEpoch: -1,
  ui: { show_test: false, discretize: false, click_class: 0 },
  backprop: { on: false, index: null },
  transform: { on: false, layer: 0, x: 0, y: 1 },
  pendingHash: null, frames: 0, hover: null,
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- URL (the whole setup)
const LIST_KEYS = ["features", "hidden"];
const NUM_KEYS = ["num_classes", "noise", "num_points", "train_ratio", "seed", "batch_size",
  "learning_rate", "reg_rate", "steps_per_frame"];

function parseHash() {
  const out = { config: {}, ui: {} };
  const text = location.hash.replace(/^#/, "");
  if (!text) return null;
  for (const part of text.split("&")) {
    const [key, raw] = part.split("=");
    if (!key || raw === undefined) continue;
    const value = decodeURIComponent(raw);
    if (key === "show_test" || key === "discretize") out.ui[key] = value === "1";
    else if (key === "click_class") out.ui[key] = Number(value);
    else if (key === "hidden") out.config.hidden = value === "" ? [] : value.split(",").map(Number);
    else if (key === "features") out.config.features = value.split(",").filter(Boolean);
    else if (NUM_KEYS.includes(key)) out.config[key] = Number(value);
    else out.config[key] = value;
  }
  if (out.config.dataset === "custom") delete out.config.dataset;  // uploaded points are not in the URL
  return out;
}

function writeHash() {
  if (!state.config) return;
  const parts = [];
  for (const [key, value] of Object.entries(state.config)) {
    if (LIST_KEYS.includes(key)) parts.push(`${key}=${value.join(",")}`);
    else parts.push(`${key}=${encodeURIComponent(value)}`);
  }
  parts.push(`show_test=${state.ui.show_test ? 1 : 0}`);
  parts.push(`discretize=${state.ui.discretize ? 1 : 0}`);
  parts.push(`click_class=${state.ui.click_class}`);
  history.replaceState(null, "", "#" + parts.join("&"));
}

// ---------------------------------------------------------------- socket
function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${proto}://${location.host}/ws`);
  state.socket = socket;
  socket.onmessage = (event) => {
    let msg;
    try { msg = JSON.parse(event.data); } catch (e) { return; }
    const handler = HANDLERS[msg.type];
    if (handler) handler(msg);
  };
  socket.onclose = () => showStatus("Disconnected from the server. Reload the page to start again.");
}

function send(msg) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify(msg));
  }
}

function configure(changes) { send({ type: "config", changes }); }

function showStatus(text, isError) {
  const el = $("status");
  el.textContent = text;
  el.className = isError ? "error" : "";
  clearTimeout(showStatus.timer);
  if (isError) showStatus.timer = setTimeout(() => el.classList.add("hidden"), 6000);
}

const HANDLERS = {
  hello(msg) {
    state.sid = msg.session;
    state.limits = msg.limits;
    state.choices = msg.choices;
    $("export-checkpoint").href = `/export/${msg.session}/checkpoint`;
    $("export-data").href = `/export/${msg.session}/data`;
    $("export-script").href = `/export/${msg.session}/script`;
    buildDatasetButtons();
    const fromUrl = parseHash();
    if (fromUrl) {
      Object.assign(state.ui, fromUrl.ui);
      if (Object.keys(fromUrl.config).length) state.pendingHash = fromUrl.config;
    }
  },
  config(msg) {
    const first = state.config === null;
    state.config = msg.config;
    state.playing = msg.playing;
    if (msg.rebuilt === "data" || msg.rebuilt === "net") resetChart();
    if (first && state.pendingHash) {
      const changes = state.pendingHash;
      state.pendingHash = null;
      configure(changes);
    }
    syncControls();
    writeHash();
  },
  status(msg) { state.playing = msg.playing; syncPlay(); },
  data(msg) {
    state.data = msg;
    if (state.backprop.index !== null && state.backprop.index >= msg.x.length) {
      state.backprop.index = null;
    }
    drawPoints();
  },
  frame(msg) {
    if (msg.epoch < state.lastEpoch || (msg.epoch === 0 && state.lastEpoch !== 0)) resetChart();
    state.frame = msg;
    state.frames += 1;
    const row = { epoch: msg.epoch, train_loss: msg.train_loss, test_loss: msg.test_loss,
      train_acc: msg.train_acc, test_acc: msg.test_acc };
    if (state.history.length && state.history[state.history.length - 1].epoch === msg.epoch) {
      state.history[state.history.length - 1] = row;
    } else {
      state.history.push(row);
      if (state.history.length > 2000) state.history = state.history.filter((_, i) => i % 2 === 0);
    }
    state.lastEpoch = msg.epoch;
    drawFrame();
  },
  backprop(msg) { drawBackprop(msg); },
  error(msg) { showStatus(msg.message, true); },
  expired(msg) { state.playing = false; syncPlay(); showStatus(msg.message, false); },
  pong() {},
};

function resetChart() { state.history = []; state.lastEpoch = -1; }

// ---------------------------------------------------------------- controls
const SELECTS = ["learning_rate", "activation", "optimizer", "regularization", "reg_rate",
  "problem", "loss"];
const SLIDERS = { num_classes: "", train_ratio: "%", noise: "", batch_size: "", num_points: "",
  steps_per_frame: "" };

function syncControls() {
  const c = state.config;
  for (const key of SELECTS) {
    const el = $(key);
    const value = String(c[key]);
    if (![...el.options].some((o) => (o.value || o.text) === value)) {
      el.add(new Option(value, value));
    }
    el.value = value;
  }
  for (const [key, unit] of Object.entries(SLIDERS)) {
    $(key).value = c[key];
    $(`${key}_v`).textContent = `${c[key]}${unit}`;
  }
  $("show_test").checked = state.ui.show_test;
  $("discretize").checked = state.ui.discretize;
  document.body.classList.toggle("regression", c.problem === "regression");
  for (const btn of document.querySelectorAll("#datasets button")) {
    btn.classList.toggle("selected", btn.dataset.dataset === c.dataset);
    btn.classList.toggle("hidden", !familyOf(c.problem).includes(btn.dataset.dataset));
  }
  const sel = $("click_class");
  sel.innerHTML = "";
  if (c.problem === "classification") {
    for (let k = 0; k < c.num_classes; k++) sel.add(new Option(`class ${k}`, String(k)));
    state.ui.click_class = Math.min(state.ui.click_class, c.num_classes - 1);
  } else {
    for (const v of [1, 0.5, 0, -0.5, -1]) sel.add(new Option(`value ${v}`, String(v)));
    if (Math.abs(state.ui.click_class) > 1) state.ui.click_class = 1;
  }
  sel.value = String(state.ui.click_class);
  const n = c.hidden.length;
  $("layers-label").textContent = `${n} hidden layer${n === 1 ? "" : "s"}`;
  syncPlay();
  drawLegend();
  drawNetwork();
  syncTransform();
}

function fillSelect(sel, count, prefix) {
  const value = Number(sel.value);
  sel.innerHTML = "";
  for (let k = 0; k < count; k++) sel.add(new Option(`${prefix}${k + 1}`, String(k)));
  return value;
}

function syncTransform() {
  const hidden = state.config.hidden, t = state.transform;
  $("transform").disabled = hidden.length === 0;
  if (hidden.length === 0) {
    t.on = false;
    $("transform").checked = false;
    $("transform-panel").classList.add("hidden");
    return;
  }
  t.layer = Math.min(t.layer, hidden.length - 1);
  const width = hidden[t.layer];
  t.x = Math.min(t.x, width - 1);
  t.y = Math.min(t.y, width - 1);
  fillSelect($("transform-layer"), hidden.length, "layer ");
  fillSelect($("transform-x"), width, "neuron ");
  fillSelect($("transform-y"), width, "neuron ");
  $("transform-layer").value = String(t.layer);
  $("transform-x").value = String(t.x);
  $("transform-y").value = String(t.y);
  if (t.on) sendTransform();
}

function sendTransform() {
  const t = state.transform;
  send(t.on ? { type: "transform", layer: t.layer, x: t.x, y: t.y }
    : { type: "transform", layer: null });
}

function syncPlay() {
  const btn = $("play");
  btn.innerHTML = state.playing ? "&#x275A;&#x275A;" : "&#x25B6;";
  btn.classList.toggle("playing", state.playing);
}

function familyOf(problem) {
  if (!state.choices) return [];
  return problem === "classification" ? state.choices.classification_datasets
    : state.choices.regression_datasets;
}

const DATASET_LABELS = { circle: "Circle", xor: "Exclusive or", gauss: "Gaussian",
  spiral: "Spiral", plane: "Plane", multigauss: "Multi Gaussian" };

function buildDatasetButtons() {
  const box = $("datasets");
  box.innerHTML = "";
  const all = [...state.choices.classification_datasets, ...state.choices.regression_datasets];
  for (const name of all) {
    const btn = document.createElement("button");
    btn.dataset.dataset = name;
    btn.textContent = DATASET_LABELS[name] || name;
    btn.addEventListener("click", () => configure({ dataset: name }));
    box.appendChild(btn);
  }
}

function bindControls() {
  $("play").addEventListener("click", () => send({ type: state.playing ? "pause" : "play" }));
  $("step").addEventListener("click", () => send({ type: "step" }));
  $("reset").addEventListener("click", () => { resetChart(); send({ type: "reset" }); });
  $("regenerate").addEventListener("click", () => {
    resetChart();
    send({ type: "regenerate", seed: Math.floor(Math.random() * 1e6) });
  });
  for (const key of SELECTS) {
    $(key).addEventListener("change", (e) => {
      const raw = e.target.value;
      const numeric = key === "learning_rate" || key === "reg_rate";
      const changes = { [key]: numeric ? Number(raw) : raw };
      if (key === "problem") {
        changes.dataset = raw === "classification" ? "circle" : "plane";
      }
      configure(changes);
    });
  }
  for (const [key, unit] of Object.entries(SLIDERS)) {
    const el = $(key);
    el.addEventListener("input", () => { $(`${key}_v`).textContent = `${el.value}${unit}`; });
    el.addEventListener("change", () => configure({ [key]: Number(el.value) }));
  }
  $("show_test").addEventListener("change", (e) => {
    state.ui.show_test = e.target.checked; drawPoints(); writeHash();
  });
  $("discretize").addEventListener("change", (e) => {
    state.ui.discretize = e.target.checked; drawFrame(); writeHash();
  });
  $("click_class").addEventListener("change", (e) => {
    state.ui.click_class = Number(e.target.value); writeHash();
  });
  $("add-layer").addEventListener("click", () => {
    const hidden = state.config.hidden;
    if (hidden.length < state.limits.max_layers) configure({ hidden: [...hidden, 2] });
  });
  $("remove-layer").addEventListener("click", () => {
    const hidden = state.config.hidden;
    if (hidden.length > 0) configure({ hidden: hidden.slice(0, -1) });
  });
  $("csv").addEventListener("change", (e) => {
    const file = e.target.files[0];
    if (!file) return;
    if (file.size > state.limits.max_csv_bytes) {
      showStatus(`The file is larger than ${state.limits.max_csv_bytes} bytes.`, true);
      return;
    }
    file.text().then((text) => { resetChart(); send({ type: "csv", text }); });
    e.target.value = "";
  });
  $("share").addEventListener("click", () => {
    writeHash();
    const done = () => showStatus("Link copied: it reproduces this setup.", false);
    const manual = () => showStatus("The address bar holds the link to this setup.", false);
    if (navigator.clipboard) navigator.clipboard.writeText(location.href).then(done, manual);
    else manual();
  });
  $("backprop").addEventListener("change", (e) => {
    state.backprop.on = e.target.checked;
    if (!state.backprop.on) {
      send({ type: "backprop", index: null });
      $("backprop-graph").innerHTML = "";
      return;
    }
    if (state.backprop.index === null) state.backprop.index = firstTrainIndex();
    send({ type: "backprop", index: state.backprop.index });
  });
  $("transform").addEventListener("change", (e) => {
    state.transform.on = e.target.checked;
    $("transform-panel").classList.toggle("hidden", !state.transform.on);
    if (state.transform.on && state.config.hidden[0] > 1 && state.transform.x === state.transform.y) {
      state.transform.y = state.transform.x === 0 ? 1 : 0;
    }
    syncTransform();
    if (!state.transform.on) sendTransform();
  });
  for (const key of ["layer", "x", "y"]) {
    $(`transform-${key}`).addEventListener("change", (e) => {
      state.transform[key] = Number(e.target.value);
      syncTransform();
    });
  }
  const points = $("points");
  points.addEventListener("click", onPlotClick);
  points.addEventListener("mousemove", (e) => {
    const [x, y] = plotToData(e);
    points.title = `(${x.toFixed(2)}, ${y.toFixed(2)})`;
  });
  $("editor-ok").addEventListener("click", commitEdit);
  $("editor-value").addEventListener("keydown", (e) => {
    if (e.key === "Enter") commitEdit();
    if (e.key === "Escape") $("editor").classList.add("hidden");
  });
  document.addEventListener("click", (e) => {
    const editor = $("editor");
    if (!editor.contains(e.target) && !e.target.classList.contains("editable")) {
      editor.classList.add("hidden");
    }
  });
}

function firstTrainIndex() {
  if (!state.data) return 0;
  const i = state.data.train.indexOf(1);
  return i < 0 ? 0 : i;
}

function plotToData(e) {
  const rect = $("points").getBoundingClientRect();
  const d = state.limits ? state.limits.domain : 6;
  const x = ((e.clientX - rect.left) / rect.width) * 2 * d - d;
  const y = d - ((e.clientY - rect.top) / rect.height) * 2 * d;
  return [Math.max(-d, Math.min(d, x)), Math.max(-d, Math.min(d, y))];
}

function onPlotClick(e) {
  const [x, y] = plotToData(e);
  if (e.shiftKey) { send({ type: "remove_point", x, y }); return; }
  if (e.altKey && state.data) {
    let best = 0, bestD = Infinity;
    state.data.x.forEach((p, i) => {
      const d = (p[0] - x) ** 2 + (p[1] - y) ** 2;
      if (d < bestD) { bestD = d; best = i; }
    });
    state.backprop.index = best;
    if (!state.backprop.on) { state.backprop.on = true; $("backprop").checked = true; }
    send({ type: "backprop", index: best });
    drawPoints();
    return;
  }
  send({ type: "add_point", x, y, label: state.ui.click_class });
}

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

// ---------------------------------------------------------------- the network diagram
let layout = null;

function drawNetwork() {
  const c = state.config, choices = state.choices;
  if (!c || !choices) return;
  const nodes = $("nodes"), svg = $("links");
  nodes.innerHTML = "";
  state.hover = null;  // the hovered node, if any, is gone
  const featureNames = Object.keys(choices.features);
  const enabled = featureNames.filter((f) => c.features.includes(f));
  const outputs = c.problem === "classification" ? c.num_classes : 1;
  const columns = [featureNames.length, ...c.hidden, outputs];
  const colGap = 110, rowGap = 52, left = 56, top = 40;
  const height = Math.max(...columns) * rowGap + top;
  const width = left + (columns.length - 1) * colGap + NODE + 20;
  const net = $("network");
  net.style.width = `${width}px`;
  net.style.height = `${height}px`;
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  layout = { columns: [], enabled };
  columns.forEach((count, col) => {
    const x = left + col * colGap;
    const offset = top + ((Math.max(...columns) - count) * rowGap) / 2;
    const entries = [];
    for (let j = 0; j < count; j++) entries.push({ x, y: offset + j * rowGap });
    layout.columns.push(entries);
    if (col > 0 && col < columns.length - 1) addLayerButtons(nodes, x, col - 1);
  });
  // inputs
  featureNames.forEach((name, j) => {
    const pos = layout.columns[0][j];
    const on = enabled.includes(name);
    const node = makeNode(nodes, pos, `feature ${on ? "on" : "off"}`, `feature-${name}`);
    node.title = on ? `${choices.features[name]}: click to switch off` : `${choices.features[name]}: click to use`;
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = choices.features[name];
    node.appendChild(label);
    if (on) hoverable(node, { kind: "feature", name });
    node.addEventListener("click", () => {
      const next = on ? c.features.filter((f) => f !== name) : [...c.features, name];
      if (next.length) configure({ features: next });
    });
  });
  // hidden neurons
  c.hidden.forEach((count, layer) => {
    for (let j = 0; j < count; j++) {
      const node = makeNode(nodes, layout.columns[layer + 1][j], "neuron", `neuron-${layer}-${j}`);
      node.title = `neuron ${j + 1} of layer ${layer + 1}: hover to see it on the plot`;
      hoverable(node, { kind: "neuron", layer, row: j });
      addBiasHandle(node, layer, j);
    }
  });
  // outputs
  layout.columns[columns.length - 1].forEach((pos, j) => {
    const node = makeNode(nodes, pos, "output", `output-${j}`);
    node.style.background = c.problem === "classification" ? PALETTE[j] : "#0877bd";
    node.title = c.problem === "classification" ? `score of class ${j}` : "predicted value";
    addBiasHandle(node, c.hidden.length, j);
  });
  updateNetwork();
}

function addLayerButtons(parent, x, layer) {
  const box = document.createElement("div");
  box.className = "layer-buttons";
  box.style.left = `${x - 10}px`;
  const plus = document.createElement("button");
  plus.textContent = "+";
  plus.title = "Add a neuron";
  plus.id = `add-neuron-${layer}`;
  const minus = document.createElement("button");
  minus.innerHTML = "&minus;";
  minus.title = "Remove a neuron";
  minus.id = `remove-neuron-${layer}`;
  const count = document.createElement("span");
  count.textContent = `${state.config.hidden[layer]} neurons`;
  const change = (delta) => {
    const hidden = [...state.config.hidden];
    hidden[layer] = Math.max(1, Math.min(state.limits.max_neurons, hidden[layer] + delta));
    configure({ hidden });
  };
  plus.addEventListener("click", () => change(1));
  minus.addEventListener("click", () => change(-1));
  box.append(plus, minus, count);
  parent.appendChild(box);
}

function makeNode(parent, pos, cls, id) {
  const node = document.createElement("div");
  node.className = `node ${cls}`;
  node.id = id;
  node.style.left = `${pos.x}px`;
  node.style.top = `${pos.y}px`;
  const canvas = document.createElement("canvas");
  canvas.width = 25; canvas.height = 25;
  node.appendChild(canvas);
  parent.appendChild(node);
  return node;
}

function addBiasHandle(node, layer, row) {
  const handle = document.createElement("div");
  handle.className = "bias editable";
  handle.addEventListener("mouseenter", (e) => {
    const b = state.frame && state.frame.biases[layer] ? state.frame.biases[layer][row] : null;
    tooltip(e, `bias ${b == null ? "" : b.toFixed(3)}`);
  });
  handle.addEventListener("mouseleave", hideTooltip);
  handle.addEventListener("click", (e) => {
    const b = state.frame.biases[layer][row];
    openEditor(e, `Bias of neuron ${row + 1} in layer ${layer + 1}`, b,
      (value) => send({ type: "set_bias", layer, row, value }));
  });
  node.appendChild(handle);
}

function updateNetwork() {
  const f = state.frame, c = state.config;
  if (!f || !layout || !c) return;
  const featureNames = Object.keys(state.choices.features);
  layout.enabled.forEach((name, k) => {
    const node = $(`feature-${name}`);
    if (node && f.inputs[k]) paintNeuron(node.querySelector("canvas"), f.inputs[k]);
  });
  f.neurons.forEach((layer, l) => layer.forEach((b64, j) => {
    const node = $(`neuron-${l}-${j}`);
    if (node) paintNeuron(node.querySelector("canvas"), b64);
  }));
  // links: one path per weight, width and color by the weight
  const svg = $("links");
  svg.innerHTML = "";
  const half = NODE / 2;
  f.weights.forEach((W, l) => {
    const from = l === 0 ? layout.enabled.map((n) => layout.columns[0][featureNames.indexOf(n)])
      : layout.columns[l];
    const to = layout.columns[l + 1];
    if (!to || W.length !== to.length) return;
    W.forEach((row, j) => row.forEach((w, i) => {
      const a = from[i], b = to[j];
      if (!a || !b) return;
      const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
      const x1 = a.x + NODE, y1 = a.y + half, x2 = b.x, y2 = b.y + half, mx = (x1 + x2) / 2;
      path.setAttribute("d", `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`);
      const color = w >= 0 ? POSITIVE : NEGATIVE;
      path.setAttribute("stroke", `rgb(${color.join(",")})`);
      path.setAttribute("stroke-width", String(Math.min(8, 0.5 + Math.abs(w) * 2.5)));
      path.setAttribute("stroke-opacity", String(Math.min(1, 0.3 + Math.abs(w))));
      path.setAttribute("class", "link editable");
      path.id = `link-${l}-${j}-${i}`;
      path.addEventListener("mouseenter", (e) => tooltip(e, `weight ${w.toFixed(3)}`));
      path.addEventListener("mouseleave", hideTooltip);
      path.addEventListener("click", (e) => openEditor(e,
        `Weight from ${l === 0 ? state.choices.features[layout.enabled[i]] : `neuron ${i + 1}`} ` +
        `to ${l + 1 === f.weights.length ? "output" : "neuron"} ${j + 1}`, w,
        (value) => send({ type: "set_weight", layer: l, row: j, col: i, value })));
      svg.appendChild(path);
    }));
  });
}

function tooltip(e, text) {
  const el = $("tooltip");
  el.textContent = text;
  el.style.left = `${e.pageX + 12}px`;
  el.style.top = `${e.pageY - 10}px`;
  el.classList.remove("hidden");
}

function hideTooltip() { $("tooltip").classList.add("hidden"); }

let editCommit = null;

function openEditor(e, label, value, commit) {
  e.stopPropagation();
  const el = $("editor");
  $("editor-label").textContent = label;
  $("editor-value").value = Number(value).toFixed(3);
  el.style.left = `${e.pageX + 8}px`;
  el.style.top = `${e.pageY + 8}px`;
  el.classList.remove("hidden");
  editCommit = commit;
  $("editor-value").focus();
  $("editor-value").select();
}

function commitEdit() {
  const value = Number($("editor-value").value);
  if (Number.isFinite(value) && editCommit) editCommit(value);
  $("editor").classList.add("hidden");
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

// ---------------------------------------------------------------- start
bindControls();
connect();
window.playground = state;  // for the browser tests and the curious
