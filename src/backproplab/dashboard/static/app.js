/* backproplab dashboard: one page for live runs, the playground and offline replays.
   No build step, no network access beyond the page's own server (none at all for a replay). */
(function () {
  "use strict";
  var CONFIG = JSON.parse(document.getElementById("bp-config").textContent);
  var INLINE = JSON.parse(document.getElementById("bp-data").textContent);
  var S = {meta: {}, series: {}, frames: [], findings: [], status: {}, index: -1, follow: true,
           colour: "weight", scale: "log", hist: "weights", unit: null, dirty: true};
  var charts = {};
  var $ = function (id) { return document.getElementById(id); };

  // ------------------------------------------------------------------ formatting (3 significant digits)
  function num(x) {
    if (x === null || x === undefined) return "–";
    if (typeof x !== "number") return String(x);
    if (!isFinite(x)) return isNaN(x) ? "nan" : (x > 0 ? "inf" : "-inf");
    if (x === 0) return "0";
    if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
    var a = Math.abs(x);
    if (a >= 1e-3 && a < 1e5) return String(Number(x.toPrecision(3)));
    return x.toExponential(2);
  }
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]; }); }
  function banner(text, kind) {
    var b = $("banner");
    if (!text) { b.hidden = true; return; }
    b.hidden = false; b.className = kind || ""; b.textContent = text;
  }

  // ------------------------------------------------------------------ page parameters (validated like any input)
  function readParams() {
    var q = new URLSearchParams(window.location.search), problems = [];
    var allowed = {colour: ["weight", "gradient", "update"], scale: ["log", "linear"], hist: ["weights", "gradients", "acts"]};
    Object.keys(allowed).forEach(function (key) {
      if (!q.has(key)) return;
      var v = q.get(key);
      if (allowed[key].indexOf(v) < 0) problems.push("page parameter " + key + "=" + JSON.stringify(v) + " is not one of " + allowed[key].join(", ") + "; using " + S[key]);
      else S[key] = v;
    });
    if (q.has("frame")) {
      var f = q.get("frame");
      if (!/^[0-9]{1,7}$/.test(f)) problems.push("page parameter frame=" + JSON.stringify(f) + " must be a whole number from 0; showing the newest frame");
      else { S.index = parseInt(f, 10); S.follow = false; }
    }
    if (problems.length) banner(problems.join(". "));
    $("colour").value = S.colour; $("lossscale").value = S.scale; $("histkind").value = S.hist;
    $("follow").checked = S.follow;
  }

  // ------------------------------------------------------------------ data in
  function decode(frames) {
    // the decision surface arrives as 8-bit codes over [lo, hi]; 255 marks a non-finite value
    frames.forEach(function (f) {
      var g = f.grid;
      if (g && g.codes) f.grid = g.codes.map(function (c) { return c === 255 ? null : g.lo + c / 254 * (g.hi - g.lo); });
    });
    return frames;
  }
  function load(state) {
    S.meta = state.meta || {}; S.frames = decode(state.frames || []); S.findings = state.findings || [];
    S.status = state.status || {}; S.series = state.series || {};
    if (S.index < 0 || S.index >= S.frames.length || S.follow) S.index = S.frames.length - 1;
    S.dirty = true;
  }
  function apply(update) {
    if (update.reset) { S.frames = []; S.series = {}; S.unit = null; }
    if (update.meta) S.meta = update.meta;
    if (update.status) S.status = update.status;
    if (update.findings) S.findings = update.findings;
    if (update.series) {
      Object.keys(update.series).forEach(function (name) {
        var u = update.series[name], pts = u.points;
        if (u.replace || !S.series[name]) S.series[name] = [pts[0].slice(), pts[1].slice()];
        else { S.series[name][0] = S.series[name][0].concat(pts[0]); S.series[name][1] = S.series[name][1].concat(pts[1]); }
      });
    }
    if (update.frames) {
      var keep = {};
      (update.keep || []).forEach(function (s) { keep[s] = true; });
      var frames = update.keep ? S.frames.filter(function (f) { return keep[f.seq]; }) : S.frames;
      var have = {};
      frames.forEach(function (f) { have[f.seq] = true; });
      S.frames = frames.concat(decode(update.frames.filter(function (f) { return !have[f.seq]; })));
    }
    if (S.follow || S.index >= S.frames.length) S.index = S.frames.length - 1;
    S.dirty = true;
  }
  function api(path) { return path + (path.indexOf("?") < 0 ? "?" : "&") + "token=" + encodeURIComponent(CONFIG.token || ""); }
  function connect() {
    fetch(api("/api/state")).then(function (r) {
      if (!r.ok) throw new Error("the server refused the page (" + r.status + "): open the URL printed in the terminal");
      return r.json();
    }).then(function (state) {
      load(state);
      var source = new EventSource(api("/api/stream"));
      source.addEventListener("update", function (e) { apply(JSON.parse(e.data)); });
      source.onerror = function () { $("status").textContent = "disconnected from the training process (the run is not affected)"; };
    }).catch(function (err) { banner(String(err.message || err)); });
  }
  function control(action, params) {
    return fetch(api("/api/control"), {method: "POST", headers: {"Content-Type": "application/json"},
                 body: JSON.stringify({action: action, params: params || {}})})
      .then(function (r) { return r.json().then(function (body) { return {ok: r.ok, body: body}; }); })
      .then(function (res) {
        if (!res.ok) banner(res.body.error || "the request failed");
        else if (res.body.message) banner(res.body.message, "info");
        else banner("");
        return res;
      });
  }

  // ------------------------------------------------------------------ charts (uPlot)
  function logSafe(values) { return values.map(function (v) { return (v === null || !(v > 0)) ? null : v; }); }
  function merged(list) {
    // series with their own x: one shared x axis, null where a series has no point
    var xs = {}, i, j;
    list.forEach(function (s) { s[0].forEach(function (x) { xs[x] = true; }); });
    var x = Object.keys(xs).map(Number).sort(function (a, b) { return a - b; }), pos = {};
    x.forEach(function (v, k) { pos[v] = k; });
    var data = [x];
    for (i = 0; i < list.length; i++) {
      var col = new Array(x.length).fill(null);
      for (j = 0; j < list[i][0].length; j++) col[pos[list[i][0][j]]] = list[i][1][j];
      data.push(col);
    }
    return data;
  }
  var PALETTE = ["#2f6fd0", "#e8731a", "#1e9b5a", "#9b3fc0", "#c0392b", "#17a2b8", "#7f6a00", "#555"];
  function markFrame(u) {
    // the selected frame's step as a thin red line on every chart over time
    var f = S.frames[S.index];
    if (!f) return;
    var x = u.valToPos(f.step, "x", true), g = u.ctx;
    if (!(x >= u.bbox.left && x <= u.bbox.left + u.bbox.width)) return;
    g.save(); g.strokeStyle = "rgba(192,57,43,0.8)"; g.lineWidth = 1; g.beginPath();
    g.moveTo(x, u.bbox.top); g.lineTo(x, u.bbox.top + u.bbox.height); g.stroke(); g.restore();
  }
  function noChart(key, el, message) {
    if (charts[key]) { charts[key].plot.destroy(); charts[key] = null; }
    el.innerHTML = '<p class="muted">' + esc(message) + "</p>";
  }
  function lineChart(key, el, names, data, opts) {
    opts = opts || {};
    var width = Math.max(el.clientWidth || 400, 240), sig = key + names.join("|") + (opts.log ? "L" : "N");
    var c = charts[key];
    if (!c || c.sig !== sig) {
      if (c) c.plot.destroy();
      el.innerHTML = "";
      var series = [{label: opts.xlabel || "step"}];
      names.forEach(function (n, k) {
        series.push({label: n, stroke: (opts.colours || PALETTE)[k % 8], width: 1.5, spanGaps: true,
                     dash: opts.dashes && opts.dashes[k] ? [5, 4] : undefined, points: {show: false}});
      });
      var plot = new uPlot({width: width, height: opts.height || 200, series: series,
        scales: {x: {time: false}, y: opts.log ? {distr: 3} : {}},
        axes: [{label: opts.xlabel || "step", size: 40}, {label: opts.ylabel || "", size: 60, values: function (u, v) { return v.map(num); }}],
        legend: {live: false}, hooks: {draw: [markFrame]}}, data, el);
      charts[key] = c = {plot: plot, sig: sig};
    } else {
      c.plot.setData(data);
    }
    if (c.plot.width !== width) c.plot.setSize({width: width, height: opts.height || 200});
  }

  function renderLoss() {
    var log = S.scale === "log", names = [], list = [], dashes = [];
    var add = function (key, label, dash) {
      var s = S.series[key];
      if (s && s[0].length) { names.push(label); list.push([s[0], log ? logSafe(s[1]) : s[1]]); dashes.push(dash); }
    };
    add("loss", "training loss (per step)", false);
    add("epoch_loss", "training loss (per epoch)", false);
    add("val_loss", "validation loss", true);
    if (!list.length) { noChart("loss", $("losschart"), "no loss recorded yet"); return; }
    var data = merged(list);
    lineChart("loss", $("losschart"), names, data, {log: log, ylabel: "loss", dashes: dashes});
    $("p-loss").dataset.points = String(data[0].length);  // a stable hook for tests: points drawn
    var metrics = Object.keys(S.series).filter(function (k) { return ["loss", "epoch_loss", "val_loss"].indexOf(k) < 0; });
    if (metrics.length) {
      lineChart("metrics", $("metricchart"), metrics.map(function (m) { return m.replace(/_/g, " "); }),
                merged(metrics.map(function (m) { return S.series[m]; })), {ylabel: "metric", height: 150});
    }
  }
  function layerNames() { return (S.meta.layers || []).map(function (l) { return l.name; }).concat(S.meta.arrays || []); }
  function frameLayers(f) { return (f && f.layers) || []; }
  function renderTimeCharts() {
    if (!S.frames.length) { noChart("flow", $("flowchart"), "no frames yet"); noChart("update", $("updatechart"), "no frames yet"); return; }
    var names = frameLayers(S.frames[S.frames.length - 1]).map(function (l) { return l.name; });
    var x = S.frames.map(function (f) { return f.step; });
    var pick = function (key) {
      return names.map(function (n, k) { return S.frames.map(function (f) { var l = frameLayers(f)[k]; return l && l[key] > 0 ? l[key] : null; }); });
    };
    lineChart("flow", $("flowchart"), names.map(function (n) { return n + " ||∂L/∂W||"; }), [x].concat(pick("grad_norm")), {log: true, ylabel: "||∂L/∂W||", height: 180});
    var ratios = pick("update_ratio"), has = ratios.some(function (r) { return r.some(function (v) { return v !== null; }); });
    if (has) {
      lineChart("update", $("updatechart"), names.concat(["1e-3 rule of thumb"]),
                [x].concat(ratios, [x.map(function () { return 1e-3; })]),
                {log: true, ylabel: "||ΔW|| / ||W||", height: 200, dashes: names.map(function () { return false; }).concat([true]),
                 colours: PALETTE.slice(0, names.length).concat(["#999"])});
    } else noChart("update", $("updatechart"), "no update ratios recorded in this run");
  }

  // ------------------------------------------------------------------ gradient-flow bars
  function renderBars(frame) {
    var cv = $("flowbars"), g = cv.getContext("2d"), layers = frameLayers(frame);
    g.clearRect(0, 0, cv.width, cv.height);
    var values = [];
    layers.forEach(function (l) { [l.grad_norm, l.mean_abs_delta].forEach(function (v) { if (v > 0) values.push(v); }); });
    if (!values.length) { $("flowratio").textContent = "no gradients recorded at this frame"; return; }
    var lo = Math.floor(Math.log10(Math.min.apply(null, values))) , hi = Math.ceil(Math.log10(Math.max.apply(null, values)));
    if (hi <= lo) hi = lo + 1;
    var left = 60, bottom = cv.height - 30, top = 10, w = (cv.width - left - 10) / Math.max(layers.length, 1);
    var y = function (v) { return bottom - (Math.log10(v) - lo) / (hi - lo) * (bottom - top); };
    g.strokeStyle = "#ccc"; g.fillStyle = "#555"; g.font = "10px sans-serif"; g.textAlign = "right";
    for (var e = lo; e <= hi; e++) { g.beginPath(); g.moveTo(left, y(Math.pow(10, e))); g.lineTo(cv.width - 10, y(Math.pow(10, e))); g.stroke(); g.fillText("1e" + e, left - 4, y(Math.pow(10, e)) + 3); }
    g.textAlign = "center";
    layers.forEach(function (l, k) {
      var x0 = left + k * w + w * 0.15, bw = w * 0.33;
      [[l.grad_norm, PALETTE[0]], [l.mean_abs_delta, PALETTE[1]]].forEach(function (pair, j) {
        if (pair[0] > 0) { g.fillStyle = pair[1]; var yy = y(pair[0]); g.fillRect(x0 + j * bw, yy, bw - 2, bottom - yy); }
      });
      g.fillStyle = "#333"; g.fillText(l.name, left + k * w + w / 2, bottom + 14);
    });
    g.textAlign = "left"; g.fillStyle = PALETTE[0]; g.fillText("■ ||∂L/∂W||", left + 4, top + 8); g.fillStyle = PALETTE[1]; g.fillText("■ mean |δ|", left + 80, top + 8);
    g.save(); g.translate(12, (top + bottom) / 2); g.rotate(-Math.PI / 2); g.fillStyle = "#555"; g.textAlign = "center"; g.fillText("log scale", 0, 0); g.restore();
    var first = layers[0].grad_norm, last = layers[layers.length - 1].grad_norm;
    $("flowratio").innerHTML = layers.length > 1 && first > 0 && last > 0
      ? "first / last layer ||∂L/∂W|| = <b>" + num(first / last) + "</b>" + (first / last < 1e-2 ? " — vanishing: the first layer barely learns" : first / last > 1e2 ? " — growing towards the input" : "")
      : "";
  }

  // ------------------------------------------------------------------ network diagram (SVG)
  function colourOf(v, scale) {
    var t = Math.max(-1, Math.min(1, scale ? v / scale : 0));
    return t >= 0 ? "rgba(232,115,26," + (0.15 + 0.85 * t) + ")" : "rgba(47,111,208," + (0.15 - 0.85 * t) + ")";
  }
  function unitFill(act, activation) {
    if (act === null || act === undefined) return "#fff";
    var t = activation === "tanh" ? (act + 1) / 2 : activation === "sigmoid" || activation === "softmax" ? act : Math.tanh(Math.abs(act));
    t = Math.max(0, Math.min(1, t));
    var c = Math.round(255 - 200 * t);
    return "rgb(" + c + "," + c + ",255)";
  }
  function renderNetwork(frame) {
    var box = $("netbox"), sizes = S.meta.sizes || [], layers = frameLayers(frame);
    if (!sizes.length || !layers.length || !layers[0].W) {
      box.innerHTML = '<p class="muted">' + (S.meta.source === "probe" && !layers.some(function (l) { return l.W; })
        ? "the probe recorded norms only at this frame; the diagram needs weights (a snapshot step)"
        : "no weights recorded at this frame") + "</p>";
      return;
    }
    var cap = 16, W = 440, H = 260, cols = sizes.length, pad = 30;
    var shown = sizes.map(function (n) { return Math.min(n, cap); });
    var xy = function (c, i) { var n = shown[c]; return [pad + c * (W - 2 * pad) / Math.max(cols - 1, 1), n === 1 ? H / 2 : 20 + i * (H - 40) / (n - 1)]; };
    var key = {weight: "W", gradient: "gW", update: "dW"}[S.colour], parts = [];
    layers.forEach(function (l, c) {
      var M = l[key] || [], scale = 0;
      M.forEach(function (row) { row.forEach(function (v) { if (v !== null) scale = Math.max(scale, Math.abs(v)); }); });
      M.forEach(function (row, i) {
        row.forEach(function (v, j) {
          var a = xy(c, i), b = xy(c + 1, j), width = scale ? 0.4 + 3 * Math.abs(v) / scale : 0.5;
          parts.push('<line x1="' + a[0] + '" y1="' + a[1] + '" x2="' + b[0] + '" y2="' + b[1] + '" stroke="' + colourOf(v || 0, scale) + '" stroke-width="' + width.toFixed(2) + '"/>');
        });
      });
    });
    for (var c = 0; c < cols; c++) {
      var l = c > 0 ? layers[c - 1] : null, activation = c > 0 ? (S.meta.layers[c - 1] || {}).activation : "input";
      for (var i = 0; i < shown[c]; i++) {
        var p = xy(c, i), act = l && l.act_mean ? l.act_mean[i] : null;
        var dead = l && l.dead && l.dead[i], sat = l && l.saturated && l.saturated[i] > 0.5;
        var sel = S.unit && S.unit[0] === c && S.unit[1] === i ? " selected" : "";
        parts.push('<circle class="unit' + sel + '" data-layer="' + c + '" data-unit="' + i + '" cx="' + p[0] + '" cy="' + p[1] + '" r="8" fill="' + (dead ? "#bbb" : unitFill(act, activation)) + '" stroke="' + (sat ? "#e8731a" : "#456") + '" stroke-width="' + (sat ? 3 : 1) + '"><title>' + (c === 0 ? "input " + (i + 1) : esc(l.name) + " unit " + (i + 1) + ": mean a = " + num(act) + (dead ? " (dead)" : "") + (sat ? " (saturated)" : "")) + '</title></circle>');
        if (dead) parts.push('<path d="M' + (p[0] - 5) + " " + (p[1] - 5) + "l10 10m0 -10l-10 10" + '" stroke="#222" stroke-width="1.5" pointer-events="none"/>');
      }
      if (sizes[c] > cap) parts.push('<text x="' + xy(c, 0)[0] + '" y="' + (H - 2) + '" text-anchor="middle">+' + (sizes[c] - cap) + " more</text>");
      parts.push('<text x="' + xy(c, 0)[0] + '" y="10" text-anchor="middle">' + (c === 0 ? "inputs" : esc(activation)) + "</text>");
    }
    box.innerHTML = '<svg viewBox="0 0 ' + W + " " + H + '" width="100%" height="' + H + '" role="img" aria-label="network diagram">' + parts.join("") + "</svg>";
    renderInspector(frame);
  }
  function renderInspector(frame) {
    var box = $("inspector");
    if (!S.unit) return;
    var c = S.unit[0], j = S.unit[1], layers = frameLayers(frame);
    if (c === 0) { box.innerHTML = "input " + (j + 1) + ": x = " + num(((S.meta.data || {}).x0 || [])[j]) + " on sample row 0"; return; }
    var l = layers[c - 1], prev = c > 1 ? layers[c - 2] : null;
    if (!l || !l.W) return;
    var a = prev ? prev.a0 : (S.meta.data || {}).x0, rows = [], z = l.b ? l.b[j] : 0, complete = true;
    for (var i = 0; i < l.W.length; i++) {
      var w = l.W[i][j], ai = a ? a[i] : null, g = l.gW ? l.gW[i][j] : null;
      if (ai === null || ai === undefined) complete = false; else z += w * ai;
      rows.push("<tr><td>" + (i + 1) + "</td><td>" + num(w) + "</td><td>" + num(ai) + "</td><td>" + num(g) + "</td><td>" + (l.dW ? num(l.dW[i][j]) : "–") + "</td></tr>");
    }
    var fan = (S.meta.layers[c - 1] || {}).in || l.W.length;
    var zline = complete && fan === l.W.length
      ? "z = Σ w·a + b = " + num(z) + (l.z0 ? " (recorded " + num(l.z0[j]) + ")" : "")
      : "z (recorded) = " + num(l.z0 ? l.z0[j] : null) + (fan > l.W.length ? " — the table shows the first " + l.W.length + " of " + fan + " inputs" : "");
    box.innerHTML = "<b>" + esc(l.name) + ", unit " + (j + 1) + "</b> (" + esc((S.meta.layers[c - 1] || {}).activation || "") + ")<br>" +
      zline + "; a = f(z) = " + num(l.a0 ? l.a0[j] : null) + "; b = " + num(l.b ? l.b[j] : null) +
      "; mean |δ| = " + num(l.unit_delta ? l.unit_delta[j] : null) +
      '<table><thead><tr><th>from</th><th>w</th><th>a (row 0)</th><th>∂L/∂w</th><th>Δw</th></tr></thead><tbody>' + rows.join("") + "</tbody></table>";
  }

  // ------------------------------------------------------------------ the data panel
  function ramp(t) {
    t = Math.max(0, Math.min(1, t));
    var a = [47, 111, 208], m = [245, 245, 245], b = [232, 115, 26], u = t < 0.5 ? t * 2 : (t - 0.5) * 2, p = t < 0.5 ? a : m, q = t < 0.5 ? m : b;
    return "rgb(" + [0, 1, 2].map(function (k) { return Math.round(p[k] + (q[k] - p[k]) * u); }).join(",") + ")";
  }
  function renderData(frame) {
    var cv = $("datacanvas"), g = cv.getContext("2d"), d = S.meta.data;
    g.clearRect(0, 0, cv.width, cv.height);
    g.font = "11px sans-serif"; g.fillStyle = "#555";
    if (!d) { $("datanote").textContent = "no data recorded in this run (pass Dashboard(data=(X, y)) to see it)"; return; }
    if (d.view === "other") return renderOther(g, cv, d, frame);
    var L = 64, T = 10, R = cv.width - 60, B = cv.height - 40, e = d.extent, n = d.grid;
    var sx = function (v) { return L + (v - e[0]) / (e[1] - e[0]) * (R - L); }, sy = function (v) { return B - (v - e[2]) / (e[3] - e[2]) * (B - T); };
    var classes = S.meta.task === "classification", grid = frame && frame.grid, lo = 0, hi = 1, multi = false;
    if (grid) {
      var finite = grid.filter(function (v) { return v !== null; });
      if (!finite.length) { grid = null; }
    }
    if (grid) {
      multi = (S.meta.sizes || [])[S.meta.sizes.length - 1] > 2;
      if (!classes || multi) { lo = Math.min.apply(null, finite); hi = Math.max.apply(null, finite); if (hi <= lo) hi = lo + 1; }
      var cw = (R - L) / n, ch = (B - T) / n;
      for (var r = 0; r < n; r++) for (var c = 0; c < n; c++) {
        var v = grid[r * n + c];
        g.fillStyle = v === null ? "#000" : multi ? PALETTE[Math.round(v) % 8] + "55" : ramp((v - lo) / (hi - lo));
        g.fillRect(L + c * cw, B - (r + 1) * ch, cw + 1, ch + 1);
      }
    }
    var labels = d.labels || [];
    d.points.forEach(function (p, k) {
      var y = labels[k];
      g.beginPath(); g.arc(sx(p[0]), sy(p[1]), 3.2, 0, 2 * Math.PI);
      g.fillStyle = y === undefined ? "#777" : classes && multi ? PALETTE[y % 8] : ramp(classes ? y : (y - lo) / (hi - lo));
      g.fill(); g.strokeStyle = "#222"; g.lineWidth = 0.6; g.stroke();
    });
    g.strokeStyle = "#999"; g.strokeRect(L, T, R - L, B - T); g.fillStyle = "#333"; g.textAlign = "center";
    g.fillText(d.axes[0], (L + R) / 2, B + 30);
    [e[0], (e[0] + e[1]) / 2, e[1]].forEach(function (v) { g.fillText(num(v), sx(v), B + 14); });
    g.save(); g.translate(10, (T + B) / 2); g.rotate(-Math.PI / 2); g.fillText(d.axes[1], 0, 0); g.restore();
    g.textAlign = "right"; [e[2], (e[2] + e[3]) / 2, e[3]].forEach(function (v) { g.fillText(num(v), L - 4, sy(v) + 3); });
    if (!multi) {  // colour bar
      for (var k = 0; k < 100; k++) { g.fillStyle = ramp(k / 99); g.fillRect(R + 18, B - (k + 1) * (B - T) / 100, 12, (B - T) / 100 + 1); }
      g.textAlign = "left"; g.fillStyle = "#333"; g.fillText(num(hi), R + 33, T + 8); g.fillText(num(lo), R + 33, B);
      g.save(); g.translate(R + 54, (T + B) / 2); g.rotate(-Math.PI / 2); g.textAlign = "center"; g.fillText(classes ? "P(class 1)" : "prediction", 0, 0); g.restore();
    }
    $("datanote").textContent = (d.view === "projection" ? "3-D inputs shown on the plane of their two principal axes; " : "") +
      d.points.length + " of " + d.rows + " rows" + (grid ? "" : frame && frame.grid ? "; the network's output is not finite anywhere on the plane at this frame" : "; no surface recorded at this frame") + (labels.length ? "; dots coloured by the true label" : "; no labels recorded");
  }
  function renderOther(g, cv, d, frame) {
    var pred = frame && frame.pred, labels = d.labels || [];
    if (!pred || !labels.length) { $("datanote").textContent = d.n_inputs + "-D inputs: predictions need a frame and labels"; return; }
    var L = 50, T = 14, R = cv.width - 20, B = cv.height - 40;
    g.fillStyle = "#333"; g.textAlign = "center";
    if (S.meta.task === "classification") {
      var k = Math.max(pred[0].length, 2), m = [], i, j, n = k;
      for (i = 0; i < n; i++) { m.push(new Array(n).fill(0)); }
      pred.forEach(function (p, r) {
        var guess = p.length === 1 ? (p[0] > 0.5 ? 1 : 0) : p.indexOf(Math.max.apply(null, p));
        var truth = Math.round(labels[r]); if (truth >= 0 && truth < n) m[truth][guess] += 1;
      });
      var size = Math.min(R - L, B - T) / n, most = Math.max.apply(null, m.map(function (row) { return Math.max.apply(null, row); })) || 1;
      for (i = 0; i < n; i++) for (j = 0; j < n; j++) {
        g.fillStyle = "rgba(47,111,208," + (0.08 + 0.9 * m[i][j] / most) + ")"; g.fillRect(L + j * size, T + i * size, size - 2, size - 2);
        g.fillStyle = m[i][j] / most > 0.5 ? "#fff" : "#111"; g.fillText(String(m[i][j]), L + j * size + size / 2, T + i * size + size / 2 + 4);
      }
      g.fillStyle = "#333"; g.fillText("predicted class", L + n * size / 2, T + n * size + 16);
      g.save(); g.translate(18, T + n * size / 2); g.rotate(-Math.PI / 2); g.fillText("true class", 0, 0); g.restore();
      $("datanote").textContent = "confusion matrix on " + pred.length + " sample rows (rows: true class, columns: predicted)";
      return;
    }
    var xs = pred.map(function (p) { return p[0]; }), lo = Math.min.apply(null, labels.concat(xs)), hi = Math.max.apply(null, labels.concat(xs));
    if (hi <= lo) hi = lo + 1;
    var sx = function (v) { return L + (v - lo) / (hi - lo) * (R - L); }, sy = function (v) { return B - (v - lo) / (hi - lo) * (B - T); };
    g.strokeStyle = "#bbb"; g.beginPath(); g.moveTo(sx(lo), sy(lo)); g.lineTo(sx(hi), sy(hi)); g.stroke();
    g.fillStyle = PALETTE[0];
    labels.forEach(function (y, r) { g.beginPath(); g.arc(sx(y), sy(xs[r]), 2.5, 0, 2 * Math.PI); g.fill(); });
    g.fillStyle = "#333"; g.fillText("true value", (L + R) / 2, B + 28);
    g.save(); g.translate(14, (T + B) / 2); g.rotate(-Math.PI / 2); g.fillText("predicted (first output)", 0, 0); g.restore();
    g.strokeStyle = "#999"; g.strokeRect(L, T, R - L, B - T);
    $("datanote").textContent = "predicted against true on " + labels.length + " sample rows; the grey line is a perfect fit";
  }

  // ------------------------------------------------------------------ histograms over time
  function histOf(l, kind) { return kind === "acts" ? l.hist_acts : (l.hist || {})[kind]; }
  function renderHists() {
    var box = $("hists"), names = S.frames.length ? frameLayers(S.frames[S.frames.length - 1]).map(function (l) { return l.name; }) : [];
    if (!names.length) { box.innerHTML = '<p class="muted">nothing recorded yet</p>'; return; }
    if (box.childElementCount !== names.length || box.dataset.sig !== names.join("|")) {
      box.dataset.sig = names.join("|");
      box.innerHTML = names.map(function (n, k) { return '<div class="hist"><span class="name">' + esc(n) + '</span><canvas id="hist' + k + '" width="560" height="90"></canvas><span class="muted" id="histr' + k + '"></span></div>'; }).join("");
    }
    names.forEach(function (n, k) {
      var cv = $("hist" + k), g = cv.getContext("2d"), lo = Infinity, hi = -Infinity, T = S.frames.length;
      g.clearRect(0, 0, cv.width, cv.height);
      S.frames.forEach(function (f) { var h = frameLayers(f)[k] && histOf(frameLayers(f)[k], S.hist); if (h) { lo = Math.min(lo, h[0]); hi = Math.max(hi, h[1]); } });
      if (!isFinite(lo)) { $("histr" + k).textContent = "not recorded"; return; }
      if (hi <= lo) hi = lo + 1;
      var W = 400, H = cv.height - 14, cw = W / T, y = function (v) { return H - (v - lo) / (hi - lo) * H; };
      S.frames.forEach(function (f, t) {
        var h = frameLayers(f)[k] && histOf(frameLayers(f)[k], S.hist); if (!h) return;
        var most = Math.max.apply(null, h[2]) || 1, step = (h[1] - h[0]) / h[2].length;
        h[2].forEach(function (count, b) {
          if (!count) return;
          g.fillStyle = "rgba(29,35,48," + (0.1 + 0.9 * count / most) + ")";
          var top = y(h[0] + (b + 1) * step), bottom = y(h[0] + b * step);
          g.fillRect(t * cw, top, Math.max(cw, 1), Math.max(bottom - top, 1));
        });
      });
      g.strokeStyle = "#c0392b"; g.strokeRect(S.index * cw, 0, Math.max(cw, 1), H);
      var cur = S.frames[S.index] && frameLayers(S.frames[S.index])[k] && histOf(frameLayers(S.frames[S.index])[k], S.hist);
      if (cur) {
        var most = Math.max.apply(null, cur[2]) || 1, bh = (y(cur[0]) - y(cur[1])) / cur[2].length;
        cur[2].forEach(function (count, b) { g.fillStyle = PALETTE[0]; g.fillRect(W + 10, y(cur[0]) - (b + 1) * bh, 140 * count / most, Math.max(bh - 1, 1)); });
      }
      g.fillStyle = "#555"; g.font = "10px sans-serif"; g.fillText("step " + num(S.frames[0].step) + " … " + num(S.frames[T - 1].step), 2, cv.height - 2);
      $("histr" + k).textContent = "range " + num(lo) + " … " + num(hi);
    });
  }

  // ------------------------------------------------------------------ findings
  function renderFindings() {
    var box = $("findinglist"), list = S.findings || [], presets = S.meta.presets || [];
    $("headline").textContent = S.meta.headline || "";
    if (!list.length) { box.innerHTML = '<p class="muted">no findings' + (S.frames.length ? ": nothing looks wrong so far" : " yet") + "</p>"; }
    else box.innerHTML = list.map(function (f) {
      var ev = Object.keys(f.evidence || {}).map(function (k) { return "<dt>" + esc(k) + "</dt><dd>" + esc(f.evidence[k]) + "</dd>"; }).join("");
      return '<div class="finding ' + esc(f.severity) + '" data-code="' + esc(f.code) + '"><span class="code">' + esc(f.code) + "</span> · " + esc(f.severity) +
        (f.source === "diagnosis" ? " · full diagnosis" : " · live rule") + (f.because_of ? " · because of " + esc(f.because_of) : "") +
        "<p>" + esc(f.message) + "</p><dl>" + ev + '</dl><p class="remedy"><b>Remedy:</b> ' + esc(f.suggestion) + "</p></div>";
    }).join("");
    var codes = list.map(function (f) { return f.code; });
    presets.forEach(function (p) {
      var el = document.querySelector('[data-expect="' + p.name + '"]');
      if (el) { var hit = codes.indexOf(p.expect) >= 0 && S.meta.preset === p.name; el.className = "expect" + (hit ? " hit" : ""); el.textContent = (hit ? "✓ " : "→ ") + p.expect; }
    });
  }

  // ------------------------------------------------------------------ playground controls
  function fillSelect(id, options, value) {
    var el = $(id);
    if (el.dataset.sig !== options.join("|")) { el.innerHTML = options.map(function (o) { return "<option>" + esc(o) + "</option>"; }).join(""); el.dataset.sig = options.join("|"); }
    if (value !== undefined && document.activeElement !== el) el.value = value;
  }
  function renderControls() {
    var choices = S.meta.choices, cfg = S.meta.config || {};
    if (!choices) return;
    ["dataset", "activation", "init", "loss", "output", "optimizer"].forEach(function (k) { fillSelect("c-" + k, choices[k], cfg[k]); });
    [["c-layers", "layers"], ["c-lr", "lr"], ["c-batch", "batch_size"]].forEach(function (pair) {
      var el = $(pair[0]); if (document.activeElement !== el && cfg[pair[1]] !== undefined) el.value = String(cfg[pair[1]]);
    });
    var box = $("presets");
    if (box.dataset.sig !== (S.meta.presets || []).map(function (p) { return p.name; }).join("|")) {
      box.dataset.sig = (S.meta.presets || []).map(function (p) { return p.name; }).join("|");
      box.innerHTML = "<b>Break it:</b> " + (S.meta.presets || []).map(function (p) {
        return '<span><button data-preset="' + esc(p.name) + '" title="' + esc(p.description) + '">' + esc(p.title) + '</button> <span class="expect" data-expect="' + esc(p.name) + '">→ ' + esc(p.expect) + "</span></span>";
      }).join(" ");
    }
    var current = (S.meta.presets || []).filter(function (p) { return p.name === S.meta.preset; })[0];
    $("c-note").innerHTML = current ? "preset <b>" + esc(current.title) + "</b>: " + esc(current.description) + ' <button id="c-fix" data-fix="' + esc(current.name) + '">fix: ' + esc(current.fix_title) + "</button>" : "";
  }
  function readConfig() {
    return {dataset: $("c-dataset").value, layers: $("c-layers").value, activation: $("c-activation").value, init: $("c-init").value,
            loss: $("c-loss").value, output: $("c-output").value, optimizer: $("c-optimizer").value, lr: $("c-lr").value, batch_size: $("c-batch").value};
  }
  function checkConfig(c) {
    // the server validates too; checking here first keeps a typo from costing a request
    var lr = Number(c.lr), batch = Number(c.batch_size);
    if (!/^\s*[0-9.eE+-]+\s*$/.test(c.lr) || !isFinite(lr) || lr < 1e-6 || lr > 100) return "lr must be a number from 1e-06 to 100; got " + JSON.stringify(c.lr);
    if (!/^\s*[0-9]+\s*$/.test(c.batch_size) || batch < 1 || batch > 1000) return "batch_size must be a whole number from 1 to 1000; got " + JSON.stringify(c.batch_size);
    var parts = c.layers.trim() ? c.layers.split(",").map(function (p) { return p.trim(); }) : [];
    if (parts.length > 10 || !parts.every(function (p) { return /^[0-9]+$/.test(p) && +p >= 1 && +p <= 64; })) return "layers must be up to 10 comma-separated widths from 1 to 64, e.g. 6,6; got " + JSON.stringify(c.layers);
    return "";
  }
  function wireControls() {
    $("c-start").onclick = function () { control("start"); };
    $("c-pause").onclick = function () { control("pause"); };
    $("c-step").onclick = function () { control("step"); };
    $("c-reset").onclick = function () { control("reset"); };
    $("c-apply").onclick = function () {
      var c = readConfig(), problem = checkConfig(c);
      if (problem) banner(problem); else control("config", c);
    };
    document.addEventListener("click", function (e) {
      var t = e.target;
      if (t.dataset && t.dataset.preset) control("preset", {name: t.dataset.preset});
      if (t.dataset && t.dataset.fix) control("fix", {name: t.dataset.fix});
    });
  }

  // ------------------------------------------------------------------ render loop
  function render() {
    requestAnimationFrame(render);
    if (!S.dirty) return;
    S.dirty = false;
    var n = S.frames.length, sc = $("scrubber");
    sc.max = String(Math.max(n - 1, 0));
    if (S.index >= n) S.index = n - 1;
    if (document.activeElement !== sc) sc.value = String(Math.max(S.index, 0));
    var frame = S.frames[S.index];
    var step = CONFIG.mode === "replay" || !S.follow ? (frame ? frame.step : 0) : (S.status.step || (frame ? frame.step : 0));
    $("step").textContent = String(step);
    $("frameinfo").textContent = n ? "frame " + (S.index + 1) + " of " + n + " · step " + (frame ? frame.step : "–") + " · loss " + num(frame ? frame.loss : null) : "no frames yet";
    var st = S.status || {};
    $("status").textContent = [st.state, st.stop_reason ? "stopped: " + st.stop_reason : "", st.message || ""].filter(Boolean).join(" · ");
    $("mode").textContent = CONFIG.mode;
    if (S.meta.title) { $("title").textContent = S.meta.title; }
    try {
      renderLoss(); renderTimeCharts(); renderBars(frame); renderNetwork(frame); renderData(frame); renderHists(); renderFindings(); renderControls();
    } catch (err) { banner("could not draw a panel: " + err.message); throw err; }
  }
  function wire() {
    $("scrubber").addEventListener("input", function (e) {
      S.index = parseInt(e.target.value, 10); S.follow = S.index === S.frames.length - 1 && CONFIG.mode !== "replay"; $("follow").checked = S.follow; S.dirty = true;
    });
    $("follow").addEventListener("change", function (e) { S.follow = e.target.checked; if (S.follow) S.index = S.frames.length - 1; S.dirty = true; });
    $("colour").addEventListener("change", function (e) { S.colour = e.target.value; S.dirty = true; });
    $("lossscale").addEventListener("change", function (e) { S.scale = e.target.value; S.dirty = true; });
    $("histkind").addEventListener("change", function (e) { S.hist = e.target.value; S.dirty = true; });
    $("netbox").addEventListener("click", function (e) {
      var t = e.target;
      if (t.dataset && t.dataset.layer !== undefined) { S.unit = [parseInt(t.dataset.layer, 10), parseInt(t.dataset.unit, 10)]; S.dirty = true; }
    });
    $("diagnose").onclick = function () { $("diagnose").disabled = true; banner("running the full diagnosis on a copy of the network…", "info"); control("diagnose").then(function () { $("diagnose").disabled = false; }); };
    window.addEventListener("resize", function () { S.dirty = true; });
  }

  wire();
  readParams();
  if (CONFIG.mode === "replay") {
    $("followbox").hidden = true; S.follow = S.index < 0;
    if (INLINE) load(INLINE); else banner("this replay holds no data");
    if (S.index < 0) S.index = S.frames.length - 1;
  } else {
    $("diagnose").hidden = false;
    if (CONFIG.mode === "playground") { $("controls").hidden = false; wireControls(); }
    connect();
  }
  requestAnimationFrame(render);
})();
