// chainrule explainer: step through a trace, forward over every value, then backward over
// every gate (downstream = local x upstream). Everything is looked up inside `root`, so
// several steppers can live on one page (a notebook); `root.dataset.page` is set on the
// standalone page, which also takes the arrow keys anywhere and mirrors the step on <body>.
function chainruleStepper(root) {
  "use strict";
  var page = root.getAttribute("data-page") === "1";
  var steps = JSON.parse(root.querySelector("script[type='application/json']").textContent);
  var graph = root.querySelector(".cr-graph");  // the plain drawing and the full one
  var labels = Array.prototype.slice.call(graph.querySelectorAll(".fwd, .bwd"));
  var find = function (cls) { return root.querySelector("." + cls); };
  var revealF = {}, revealB = {};
  steps.forEach(function (s, i) {
    s.wires.forEach(function (w) {
      if (s.phase === "forward") { revealF[w] = i; } else { revealB[w] = i; }
    });
  });
  var current = 0;
  function show(i) {
    current = Math.max(0, Math.min(steps.length - 1, i));
    var s = steps[current];
    labels.forEach(function (el) {
      var w = el.getAttribute("data-wire");
      var table = el.classList.contains("fwd") ? revealF : revealB;
      var at = Object.prototype.hasOwnProperty.call(table, w) ? table[w] : 0;
      el.classList.toggle("hidden", at > current);
      el.classList.toggle("current", s.wires.indexOf(Number(w)) >= 0);
    });
    graph.querySelectorAll(".current").forEach(function (el) {
      if (!el.classList.contains("fwd") && !el.classList.contains("bwd")) {
        el.classList.remove("current");
      }
    });
    graph.querySelectorAll("[data-node='" + s.node + "']:not(.output)").forEach(function (el) {
      el.classList.add("current");
      if (page && el.scrollIntoView && el.getBoundingClientRect().width > 0) {
        el.scrollIntoView({block: "nearest", inline: "nearest"});
      }
    });
    s.wires.forEach(function (w) {
      graph.querySelectorAll(".wire-w" + w).forEach(function (el) { el.classList.add("current"); });
    });
    root.classList.toggle("cr-forward", s.phase === "forward");
    root.classList.toggle("cr-backward", s.phase === "backward");
    find("cr-title").textContent = s.title;
    find("cr-lines").textContent = s.lines.join("\n");
    find("cr-counter").textContent = "step " + (current + 1) + " / " + steps.length;
    find("cr-prev").disabled = current === 0;
    find("cr-first").disabled = current === 0;
    find("cr-next").disabled = current === steps.length - 1;
    find("cr-last").disabled = current === steps.length - 1;
    root.setAttribute("data-step", String(current));
    root.setAttribute("data-node", String(s.node));
    if (page) {
      document.body.className = "phase-" + s.phase;
      document.body.setAttribute("data-step", String(current));
      document.body.setAttribute("data-node", String(s.node));
    }
  }
  function key(e) {
    var to = null;
    if (e.key === "ArrowRight" || e.key === "ArrowDown") { to = current + 1; }
    else if (e.key === "ArrowLeft" || e.key === "ArrowUp") { to = current - 1; }
    else if (e.key === "Home") { to = 0; }
    else if (e.key === "End") { to = steps.length - 1; }
    if (to !== null) { show(to); e.preventDefault(); e.stopPropagation(); }
  }
  find("cr-prev").addEventListener("click", function () { show(current - 1); });
  find("cr-next").addEventListener("click", function () { show(current + 1); });
  find("cr-first").addEventListener("click", function () { show(0); });
  find("cr-last").addEventListener("click", function () { show(steps.length - 1); });
  ["local", "check"].forEach(function (name) {
    var box = find("cr-toggle-" + name);
    var sync = function () { root.classList.toggle("cr-show-" + name, box.checked); };
    box.addEventListener("change", sync);
    sync();
  });
  (page ? document : root).addEventListener("keydown", key);
  root.classList.add("cr-live");
  show(0);
}
