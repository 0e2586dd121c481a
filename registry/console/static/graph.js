// The money graph of the address page, drawn with Cytoscape.js (shipped in the package, no CDN).
// Nodes are wallets, coloured by what the registry knows of them (listed, exposed, licensed service); edges are as
// thick as the value they carried. Expanding a node adds its counterparties, up to the hop limit; a trace adds
// every address the money reached forward or backward. The list under the canvas holds the same nodes, with the
// same actions, for keyboards and screen readers.
(function () {
  "use strict";

  var box = document.getElementById("graph");
  if (!box || !window.cytoscape) { return; }
  var chain = box.dataset.chain;
  var origin = box.dataset.address;
  var api = box.dataset.api;
  var list = document.getElementById("graph-nodes");
  var status = document.getElementById("graph-status");
  var hopSelect = document.getElementById("hop-limit");
  var hops = {};
  var expanded = {};
  var busy = 0;

  var COLOURS = {
    origin: "#12263f", severe: "#6d0a0a", high: "#d32f2f", medium: "#f48fb1", exposed: "#ef8f00",
    licensed: "#2e7d32", other: "#9aa3ad"
  };
  var RANK = { severe: 3, high: 2, medium: 1, low: 1 };
  var categories = JSON.parse(box.dataset.categories || "{}");  // name -> {label, severity}

  function severity(listed) {
    var best = "medium";
    listed.forEach(function (c) {
      var s = (categories[c] || {}).severity || "medium";
      if (RANK[s] > RANK[best]) { best = s; }
    });
    return best === "low" ? "medium" : best;
  }

  function names(listed) { return listed.map(function (c) { return (categories[c] || {}).label || c; }); }

  function kind(d) {
    if (d.address === origin) { return "origin"; }
    if (d.listed && d.listed.length) { return severity(d.listed); }
    if (d.licensed) { return "licensed"; }
    if (d.exposed) { return "exposed"; }
    return "other";
  }

  function short(a) { return a.length > 14 ? a.slice(0, 6) + "…" + a.slice(-4) : a; }

  function maxValue() {
    var m = 0;
    cy.edges().forEach(function (e) { m = Math.max(m, e.data("value") || 0); });
    return m;
  }

  var cy = window.cytoscape({
    container: box,
    elements: [],
    minZoom: 0.2,
    maxZoom: 4,
    wheelSensitivity: 0.3,
    style: [
      { selector: "node", style: {
        "background-color": function (n) { return COLOURS[n.data("kind")]; },
        "label": "data(label)", "font-size": 10, "color": "#1b1f24", "text-valign": "bottom", "text-margin-y": 3,
        "width": function (n) { return n.data("kind") === "origin" ? 26 : 18; },
        "height": function (n) { return n.data("kind") === "origin" ? 26 : 18; },
        "border-width": 1, "border-color": "#333" } },
      { selector: "node:selected", style: { "border-width": 4, "border-color": "#f0a500" } },
      { selector: "edge", style: {
        "width": function (e) {
          var m = maxValue();
          return m > 0 ? 1 + 9 * Math.log(1 + (e.data("value") || 0)) / Math.log(1 + m) : 1;
        },
        "line-color": "#7a828e", "target-arrow-color": "#7a828e", "target-arrow-shape": "triangle",
        "curve-style": "bezier", "opacity": 0.8 } }
    ],
    layout: { name: "preset" }
  });

  function limit() { return parseInt(hopSelect ? hopSelect.value : "3", 10); }

  function say(text) { if (status) { status.textContent = text; } }

  function addNode(info, hop) {
    var id = info.address;
    if (hops[id] === undefined || hop < hops[id]) { hops[id] = hop; }
    var data = {
      id: id, address: id, hop: hops[id],
      label: info.entity ? info.entity.name : short(id),
      listed: info.listed || [], licensed: !!info.licensed, exposed: !!info.exposed,
      risk: info.risk || null
    };
    data.kind = kind(data);
    var found = cy.getElementById(id);
    if (found.nonempty()) { found.data(data); } else { cy.add({ group: "nodes", data: data }); }
  }

  function addEdge(from, to, value, transfers) {
    var id = from + ">" + to;
    var found = cy.getElementById(id);
    if (found.nonempty()) {
      found.data("value", Math.max(found.data("value"), value));
    } else if (cy.getElementById(from).nonempty() && cy.getElementById(to).nonempty()) {
      cy.add({ group: "edges", data: { id: id, source: from, target: to, value: value, transfers: transfers } });
    }
  }

  function relayout() {
    cy.layout({
      name: "concentric", animate: false, minNodeSpacing: 30,
      concentric: function (n) { return 10 - (n.data("hop") || 0); },
      levelWidth: function () { return 1; }
    }).run();
    box.dataset.nodes = String(cy.nodes().length);
    box.dataset.edges = String(cy.edges().length);
    renderList();
  }

  function fetchJson(url) {
    busy += 1;
    box.setAttribute("aria-busy", "true");
    say(box.dataset.loading);
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } }).then(function (r) {
      if (r.status === 401) { window.location.href = "/console/signin"; throw new Error("signed out"); }
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).finally(function () {
      busy -= 1;
      if (!busy) { box.removeAttribute("aria-busy"); box.dataset.busy = "0"; }
    });
  }

  function base(address) { return api + "/" + encodeURIComponent(chain) + "/" + encodeURIComponent(address); }

  function expand(address) {
    var hop = hops[address] || 0;
    if (hop >= limit()) { say(box.dataset.limit); return Promise.resolve(); }
    return fetchJson(base(address) + "/counterparties?limit=25").then(function (data) {
      data.items.forEach(function (cp) {
        addNode({
          address: cp.address, entity: cp.entity, risk: cp.risk,
          listed: cp.listing ? cp.listing.categories : [],
          licensed: cp.entity ? cp.entity.licensed : false,
          exposed: !cp.listing && cp.risk && cp.risk.level !== "low"
        }, hop + 1);
        if (cp.direction === "out") { addEdge(address, cp.address, cp.value, cp.transfers); }
        else { addEdge(cp.address, address, cp.value, cp.transfers); }
      });
      expanded[address] = true;
      relayout();
      say("");
    }).catch(function () { say(box.dataset.failed); });
  }

  function trace(direction) {
    return fetchJson(base(origin) + "/trace?direction=" + direction + "&hops=" + limit()).then(function (data) {
      data.nodes.forEach(function (n) { addNode(n, n.hops); });
      data.edges.forEach(function (e) { addEdge(e.from, e.to, e.value, e.transfers); });
      relayout();
      say("");
    }).catch(function () { say(box.dataset.failed); });
  }

  function open(address) { window.location.href = "/console/addresses/" + encodeURIComponent(chain) + "/" + encodeURIComponent(address); }

  function renderList() {
    if (!list) { return; }
    list.textContent = "";
    cy.nodes().sort(function (a, b) { return a.data("hop") - b.data("hop"); }).forEach(function (n) {
      var d = n.data();
      var li = document.createElement("li");
      li.dataset.address = d.address;
      li.dataset.kind = d.kind;
      var text = document.createElement("span");
      text.className = "mono";
      text.textContent = d.address + " · " + d.hop + (d.listed.length ? " · " + names(d.listed).join(", ") : "");
      li.appendChild(text);
      var exp = document.createElement("button");
      exp.type = "button";
      exp.textContent = box.dataset.expand;
      exp.dataset.expand = d.address;
      exp.disabled = !!expanded[d.address] || d.hop >= limit();
      exp.addEventListener("click", function () { expand(d.address); });
      li.appendChild(document.createTextNode(" "));
      li.appendChild(exp);
      if (d.address !== origin) {
        var a = document.createElement("a");
        a.href = "/console/addresses/" + encodeURIComponent(chain) + "/" + encodeURIComponent(d.address);
        a.textContent = box.dataset.open;
        li.appendChild(document.createTextNode(" "));
        li.appendChild(a);
      }
      list.appendChild(li);
    });
  }

  // A click selects a node and offers its page (a link in the status line); a double click expands it; a
  // right click opens its page at once.
  cy.on("tap", "node", function (evt) {
    var d = evt.target.data();
    if (!status) { return; }
    status.textContent = (d.listed.length ? names(d.listed).join(", ") + " · " : "");
    var a = document.createElement("a");
    a.href = "/console/addresses/" + encodeURIComponent(chain) + "/" + encodeURIComponent(d.address);
    a.textContent = box.dataset.open + " " + d.address;
    status.appendChild(a);
  });
  cy.on("dbltap", "node", function (evt) { expand(evt.target.id()); });
  cy.on("cxttap", "node", function (evt) { open(evt.target.id()); });

  function bind(id, fn) { var el = document.getElementById(id); if (el) { el.addEventListener("click", fn); } }
  bind("trace-forward", function () { trace("forward"); });
  bind("trace-backward", function () { trace("backward"); });
  bind("graph-reset", function () { cy.elements().remove(); hops = {}; expanded = {}; start(); });
  if (hopSelect) { hopSelect.addEventListener("change", renderList); }

  function start() {
    addNode({ address: origin }, 0);
    relayout();
    return expand(origin);
  }

  window.moneyGraph = { cy: cy, expand: expand, trace: trace };
  start();
})();
