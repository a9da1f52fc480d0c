// chainrule playground: the page. It draws what the server's chainrule session sends over
// the WebSocket and turns the user's clicks into JSON messages. No build step, no imports:
// draw.js (pictures) and network.js (the network column) are loaded first.
"use strict";

const state = {
  socket: null, sid: null, limits: null, choices: null, config: null, playing: false,
  data: null, frame: null, history: [], lastEpoch: -1,
  ui: { show_test: false, discretize: false, click_class: 0 },
  backprop: { on: false, index: null },
  transform: { on: false, layer: 0, x: 0, y: 1 },
  definition: { dirty: false, pending: false },
  pendingHash: null, frames: 0, pongs: 0, hover: null,
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- URL (the whole setup)
const LIST_KEYS = ["features", "hidden"];  // and activation, when it names one per layer
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
    else if (key === "activation" && value.includes(",")) out.config.activation = value.split(",");
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
    if (LIST_KEYS.includes(key) || Array.isArray(value)) parts.push(`${key}=${value.join(",")}`);
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
  socket.onclose = () => showStatus("Disconnected from the server. Reload the page to start again.",
    "sticky");
}

// What the user does (not what the page sends by itself): a new action retires the error
// toast of an older one.
const USER_ACTIONS = ["config", "play", "pause", "step", "reset", "regenerate", "add_point",
  "remove_point", "csv", "set_weight", "set_bias"];

function send(msg) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    if (USER_ACTIONS.includes(msg.type)) hideStatus("error");
    state.socket.send(JSON.stringify(msg));
  }
}

function configure(changes) { send({ type: "config", changes }); }

// A toast at the bottom: errors go after 8 s or at the user's next action, notes after 4 s;
// a sticky one (the connection is lost) stays.
function showStatus(text, kind) {
  const el = $("status");
  el.textContent = text;
  el.className = kind === true || kind === "error" ? "error" : kind === "sticky" ? "sticky" : "note";
  clearTimeout(showStatus.timer);
  if (el.className !== "sticky") {
    showStatus.timer = setTimeout(() => el.classList.add("hidden"), el.className === "error" ? 8000 : 4000);
  }
}

function hideStatus(kind) {
  const el = $("status");
  if (!el.classList.contains("hidden") && el.classList.contains(kind)) el.classList.add("hidden");
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
    definitionAnswered(null);
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
  error(msg) { if (!definitionAnswered(msg.message)) showStatus(msg.message, "error"); },
  expired(msg) { state.playing = false; syncPlay(); showStatus(msg.message, "sticky"); },
  // the reply to a ping comes after the replies to everything sent before it
  pong() { state.pongs += 1; },
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
    const value = Array.isArray(c[key]) ? "per-layer" : String(c[key]);  // activation per layer
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
  syncDefinition();
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
  spiral: "Spiral", cs231n_spiral: "Spiral (CS231n)", plane: "Plane",
  multigauss: "Multi Gaussian" };

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
  bindDefinition();
  let resizing = null;  // the network column shares its width among the layers
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(drawNetwork, 100);
  });
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
      if (raw === "per-layer") return;
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

// ---------------------------------------------------------------- start
bindControls();
connect();
window.playground = state;  // for the browser tests and the curious
