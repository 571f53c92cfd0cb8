/* Keystead dashboard behaviours, wired by data-* attributes (no inline script: CSP).
   [data-chart]        uPlot chart from /ui/data/... JSON {x, series: [{label, values}], unit}
   [data-chart-inline] the same chart from that JSON held in the attribute itself
   [data-copy]         copy the value of the element whose id it names; announce "Copied"
   form[data-confirm]  confirm in a <dialog> before submitting
   form[data-autosubmit] submit on load
   htmx requests carry X-CSRF-Token from <meta name="csrf-token">. */
(function () {
  "use strict";

  var PALETTE = ["#2457c5", "#b3261e", "#1e6b34", "#7a4d00", "#6a3bb5", "#00727a", "#a3367c", "#525a66"];

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function announce(text) {
    var live = document.getElementById("live");
    if (!live) return;
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 50);
  }

  /* ---- copy ---- */
  function copyValue(button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target) return;
    var value = "value" in target ? target.value : target.textContent;
    var done = function () { announce("Copied"); button.textContent = "Copied"; };
    var failed = function () { announce("Copy failed: select the value and copy it"); };
    if (selectAndCopy(target)) { done(); return; }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(value).then(done, failed);
    } else {
      failed();
    }
  }

  function selectAndCopy(target) {
    if (target.select) target.select();
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }

  /* ---- confirm dialog ---- */
  function confirmDialog(text, danger, onConfirm) {
    var dialog = document.createElement("dialog");
    dialog.setAttribute("aria-labelledby", "confirm-text");
    var p = document.createElement("p");
    p.id = "confirm-text";
    p.textContent = text;
    var actions = document.createElement("div");
    actions.className = "actions";
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = "Cancel";
    var ok = document.createElement("button");
    ok.type = "button";
    ok.className = danger ? "danger" : "primary";
    ok.textContent = "Confirm";
    actions.append(cancel, ok);
    dialog.append(p, actions);
    document.body.appendChild(dialog);
    var close = function () { dialog.close(); dialog.remove(); };
    cancel.addEventListener("click", close);
    dialog.addEventListener("cancel", function () { dialog.remove(); });
    ok.addEventListener("click", function () { close(); onConfirm(); });
    dialog.showModal();
    cancel.focus();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) return;
    if (form.dataset.confirmed === "1") { delete form.dataset.confirmed; return; }
    event.preventDefault();
    event.stopImmediatePropagation();
    var submitter = event.submitter || null;
    var danger = !!form.querySelector("button.danger");
    confirmDialog(form.getAttribute("data-confirm"), danger, function () {
      form.dataset.confirmed = "1";
      if (form.requestSubmit) form.requestSubmit(submitter); else form.submit();
    });
  }, true);

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
    if (button) { copyValue(button); return; }
    var gran = event.target instanceof Element ? event.target.closest("button[data-granularity]") : null;
    if (gran) {
      var figure = gran.closest("[data-chart]");
      if (!figure) return;
      figure.setAttribute("data-granularity-current", gran.getAttribute("data-granularity"));
      figure.querySelectorAll("button[data-granularity]").forEach(function (b) {
        b.setAttribute("aria-pressed", b === gran ? "true" : "false");
      });
      loadChart(figure);
    }
  });

  /* ---- charts ---- */
  function chartUrl(figure) {
    var url = new URL(figure.getAttribute("data-chart"), window.location.href);
    var gran = figure.getAttribute("data-granularity-current");
    if (gran) url.searchParams.set("granularity", gran);
    return url.toString();
  }

  function formatValue(unit) {
    return function (u, v) {
      if (v == null) return "—";
      var text = Math.abs(v) >= 1000 ? v.toLocaleString() : String(Math.round(v * 100) / 100);
      return unit ? text + " " + unit : text;
    };
  }

  function draw(figure, payload) {
    var holder = figure.querySelector(".chart-canvas") || figure;
    if (figure._plot) { figure._plot.destroy(); figure._plot = null; }
    holder.textContent = "";
    if (!payload.x || payload.x.length === 0) {
      var empty = document.createElement("p");
      empty.className = "chart-empty";
      empty.textContent = "No data in this range.";
      holder.appendChild(empty);
      return;
    }
    if (typeof window.uPlot !== "function") return;
    var unit = payload.unit || figure.getAttribute("data-unit") || "";
    var bars = figure.getAttribute("data-kind") === "bars";
    var series = [{ label: "Time" }];
    var data = [payload.x];
    payload.series.forEach(function (s, i) {
      var colour = PALETTE[i % PALETTE.length];
      var spec = { label: s.label, stroke: colour, width: 2, value: formatValue(unit) };
      if (bars && window.uPlot.paths && window.uPlot.paths.bars) {
        spec.paths = window.uPlot.paths.bars({ size: [0.8, 40] });
        spec.fill = colour;
        spec.width = 0;
      }
      series.push(spec);
      data.push(s.values);
    });
    var width = Math.max(280, holder.clientWidth || figure.clientWidth || 600);
    var opts = {
      width: width,
      height: 220,
      series: series,
      cursor: { drag: { x: true, y: false, setScale: true } },
      axes: [{}, { values: function (u, vals) { return vals.map(function (v) { return v >= 1000 ? (v / 1000) + "k" : v; }); } }],
      legend: { show: true, live: true },
    };
    figure._plot = new window.uPlot(opts, data, holder);
  }

  function loadChart(figure) {
    fetch(chartUrl(figure), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 401) {
          window.location.assign(window.location.pathname.indexOf("/portal") === 0 ? "/portal/" : "/ui/sign-in?expired=1");
          throw new Error("signed out");
        }
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (payload) { draw(figure, payload); figure.setAttribute("data-chart-ready", "1"); })
      .catch(function () {
        var holder = figure.querySelector(".chart-canvas") || figure;
        holder.textContent = "The chart could not be loaded.";
      });
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(function () {
      document.querySelectorAll("[data-chart], [data-chart-inline]").forEach(function (figure) {
        if (!figure._plot) return;
        var holder = figure.querySelector(".chart-canvas") || figure;
        figure._plot.setSize({ width: Math.max(280, holder.clientWidth), height: 220 });
      });
    }, 150);
  });

  /* ---- wiring ---- */
  function drawInline(figure) {
    try {
      draw(figure, JSON.parse(figure.getAttribute("data-chart-inline")));
      figure.setAttribute("data-chart-ready", "1");
    } catch (e) {
      (figure.querySelector(".chart-canvas") || figure).textContent = "The chart could not be drawn.";
    }
  }

  /* A chart is fetched and drawn when it comes near the viewport: drawing is the
     page's main script work, and charts further down need not hold up the first paint. */
  var chartWatcher = "IntersectionObserver" in window
    ? new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          if (!entry.isIntersecting) return;
          chartWatcher.unobserve(entry.target);
          loadChart(entry.target);
        });
      }, { rootMargin: "200px 0px" })
    : null;

  function watchChart(figure) {
    if (chartWatcher) chartWatcher.observe(figure); else loadChart(figure);
  }

  function init(root) {
    if (root.matches && root.matches("[data-chart]")) watchChart(root);
    root.querySelectorAll("[data-chart]").forEach(watchChart);
    if (root.matches && root.matches("[data-chart-inline]")) drawInline(root);
    root.querySelectorAll("[data-chart-inline]").forEach(drawInline);
    root.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      if (form.dataset.submitted) return;
      form.dataset.submitted = "1";
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    });
  }

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  document.addEventListener("htmx:load", function (event) {
    if (event.target !== document.body) init(event.target);
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();
