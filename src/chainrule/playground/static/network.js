// chainrule playground: the network column. The diagram (features, hidden neurons with their
// heat maps, outputs, one link per weight), the weight and bias editor, and the typed
// network definition (ConvNetJS style). Loaded before app.js, which owns `state`.
"use strict";

const NODE = 40;                  // size of a neuron's heat map on the page (px)
const COL_GAP = { most: 110, least: 64 };  // horizontal distance between two layers (px)

let layout = null;

// One activation name per hidden layer (the config holds a name, or a list of them).
function layerActivations(c) {
  return Array.isArray(c.activation) ? c.activation : c.hidden.map(() => c.activation);
}

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
  const rowGap = 52, left = 56, top = 44;
  // The layers share the column's width: a 6-layer net fits without scrolling.
  const room = $("network-box").clientWidth - left - NODE - 20;
  const colGap = Math.max(COL_GAP.least, Math.min(COL_GAP.most,
    Math.floor(room / Math.max(1, columns.length - 1))));
  const height = Math.max(...columns) * rowGap + top;
  const width = left + (columns.length - 1) * colGap + NODE + 20;
  const net = $("network");
  net.style.width = `${width}px`;
  net.style.height = `${height}px`;
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  layout = { columns: [], enabled, colGap };
  const acts = layerActivations(c);
  columns.forEach((count, col) => {
    const x = left + col * colGap;
    const offset = top + ((Math.max(...columns) - count) * rowGap) / 2;
    const entries = [];
    for (let j = 0; j < count; j++) entries.push({ x, y: offset + j * rowGap });
    layout.columns.push(entries);
    if (col > 0 && col < columns.length - 1) addLayerButtons(nodes, x, col - 1, acts[col - 1]);
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
  // hidden neurons: a maxout unit has one weight vector and bias per piece
  c.hidden.forEach((count, layer) => {
    const pieces = acts[layer] === "maxout" ? 2 : 1;
    for (let j = 0; j < count; j++) {
      const node = makeNode(nodes, layout.columns[layer + 1][j], "neuron", `neuron-${layer}-${j}`);
      node.title = `neuron ${j + 1} of layer ${layer + 1} (${acts[layer]}): hover to see it on the plot`;
      hoverable(node, { kind: "neuron", layer, row: j });
      for (let p = 0; p < pieces; p++) addBiasHandle(node, layer, j * pieces + p, p, pieces);
    }
  });
  // outputs
  layout.columns[columns.length - 1].forEach((pos, j) => {
    const node = makeNode(nodes, pos, "output", `output-${j}`);
    node.style.background = c.problem === "classification" ? PALETTE[j] : "#0877bd";
    node.title = c.problem === "classification" ? `score of class ${j}` : "predicted value";
    addBiasHandle(node, c.hidden.length, j, 0, 1);
  });
  updateNetwork();
}

function addLayerButtons(parent, x, layer, activation) {
  const box = document.createElement("div");
  box.className = "layer-buttons";
  box.style.left = `${x - 6}px`;
  const plus = document.createElement("button");
  plus.textContent = "+";
  plus.title = "Add a neuron";
  plus.id = `add-neuron-${layer}`;
  const minus = document.createElement("button");
  minus.innerHTML = "&minus;";
  minus.title = "Remove a neuron";
  minus.id = `remove-neuron-${layer}`;
  const count = document.createElement("span");
  count.id = `layer-label-${layer}`;
  count.textContent = `${state.config.hidden[layer]} ${activation}`;
  count.title = `${state.config.hidden[layer]} neurons, ${activation}`;
  const change = (delta) => {
    const hidden = [...state.config.hidden];
    hidden[layer] = Math.max(1, Math.min(state.limits.max_neurons, hidden[layer] + delta));
    configure({ hidden });
  };
  plus.addEventListener("click", () => change(1));
  minus.addEventListener("click", () => change(-1));
  const row = document.createElement("div");
  row.append(plus, minus);
  box.append(row, count);
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

function addBiasHandle(node, layer, row, piece, pieces) {
  const handle = document.createElement("div");
  handle.className = "bias editable";
  handle.style.left = `${-6 + 11 * piece}px`;
  const which = pieces > 1 ? ` (piece ${piece + 1} of ${pieces})` : "";
  handle.addEventListener("mouseenter", (e) => {
    const b = state.frame && state.frame.biases[layer] ? state.frame.biases[layer][row] : null;
    tooltip(e, `bias ${b == null ? "" : b.toFixed(3)}${which}`);
  });
  handle.addEventListener("mouseleave", hideTooltip);
  handle.addEventListener("click", (e) => {
    const b = state.frame.biases[layer][row];
    const unit = Math.floor(row / pieces);
    openEditor(e, `Bias of neuron ${unit + 1} in layer ${layer + 1}${which}`, b,
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
    if (!to || W.length % to.length !== 0) return;  // a frame of an older network
    const pieces = W.length / to.length;             // 2 for a maxout layer
    W.forEach((row, r) => row.forEach((w, i) => {
      const j = Math.floor(r / pieces), piece = r % pieces;
      const a = from[i], b = to[j];
      if (!a || !b) return;
      const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
      const dy = pieces > 1 ? (piece - (pieces - 1) / 2) * 8 : 0;
      const x1 = a.x + NODE, y1 = a.y + half, x2 = b.x, y2 = b.y + half + dy, mx = (x1 + x2) / 2;
      path.setAttribute("d", `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`);
      const color = w >= 0 ? POSITIVE : NEGATIVE;
      path.setAttribute("stroke", `rgb(${color.join(",")})`);
      path.setAttribute("stroke-width", String(Math.min(8, 0.5 + Math.abs(w) * 2.5)));
      path.setAttribute("stroke-opacity", String(Math.min(1, 0.3 + Math.abs(w))));
      path.setAttribute("class", "link editable");
      path.id = `link-${l}-${r}-${i}`;
      const which = pieces > 1 ? ` (piece ${piece + 1} of ${pieces})` : "";
      path.addEventListener("mouseenter", (e) => tooltip(e, `weight ${w.toFixed(3)}${which}`));
      path.addEventListener("mouseleave", hideTooltip);
      path.addEventListener("click", (e) => openEditor(e,
        `Weight from ${l === 0 ? state.choices.features[layout.enabled[i]] : `neuron ${i + 1}`} ` +
        `to ${l + 1 === f.weights.length ? "output" : "neuron"} ${j + 1}${which}`, w,
        (value) => send({ type: "set_weight", layer: l, row: r, col: i, value })));
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

// ---------------------------------------------------------------- the typed definition
// The box shows the setup as short lines (input, one fc line per hidden layer, the output);
// Apply sends the text as a `network` change, which the server checks line by line.
function networkText(c) {
  const acts = layerActivations(c);
  const lines = [`input ${c.features.length}`];
  c.hidden.forEach((h, l) => lines.push(`fc ${h} ${acts[l]}`));
  lines.push(c.problem === "classification" ? `${c.loss} ${c.num_classes}` : "regression 1");
  return lines.join("\n");
}

function syncDefinition() {
  const box = $("definition");
  if (!state.definition.dirty) box.value = networkText(state.config);
}

function applyDefinition() {
  state.definition.pending = true;
  $("definition-error").textContent = "";
  configure({ network: $("definition").value });
}

// The server's answer to an Apply: a new config (accepted) or an error naming the line.
function definitionAnswered(error) {
  if (!state.definition.pending) return false;
  state.definition.pending = false;
  if (error) {
    $("definition-error").textContent = error.replace(/^config: /, "");
    return true;
  }
  state.definition.dirty = false;
  return false;
}

function bindDefinition() {
  const box = $("definition");
  box.addEventListener("input", () => { state.definition.dirty = true; });
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); applyDefinition(); }
  });
  $("definition-apply").addEventListener("click", applyDefinition);
  $("definition-reset").addEventListener("click", () => {
    state.definition.dirty = false;
    $("definition-error").textContent = "";
    syncDefinition();
  });
}
