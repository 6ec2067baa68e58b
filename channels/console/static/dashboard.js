// The supervisors' dashboard: a period's figures per language and channel, drawn as labelled
// bars (each bar's number is written beside it, so nothing depends on seeing the bar).
(function () {
  "use strict";

  var ui = window.CitybotUi;  // ui.js: what the console shares
  var $ = ui.$, pickLang = ui.pickLang, stored = ui.stored, store = ui.store, el = ui.el, clear = ui.clear;
  var LANGS = ui.LANGS, LOCALES = ui.LOCALES, STORE_LANG = ui.STORE_LANG;
  var CHANNELS = ["webchat", "telegram", "whatsapp"];
  // The figures drawn per language and per channel: [key, kind]; a "share" is 0..1.
  var METRICS = [["conversations", "count"], ["containment", "share"], ["handoff_rate", "share"],
    ["fallback_rate", "share"], ["median_wait_seconds", "seconds"], ["csat", "share"]];

  var state = { lang: "en", strings: {}, report: null };

  function t(key, params) { return ui.translate(state.strings, state.lang, key, params); }

  function format(value, kind) {
    if (value === null || value === undefined) return t("dashboard_no_data");
    var locale = LOCALES[state.lang];
    if (kind === "share") return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }).format(value);
    if (kind === "rating") return t("dashboard_mean_rating", { score: new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(value) });
    if (kind === "seconds") {
      var s = Math.round(value);
      if (value < 10) return t("duration_seconds", { s: new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(value) });
      return s < 60 ? t("duration_seconds", { s: s }) : t("duration_minutes", { m: Math.floor(s / 60), s: (s % 60 < 10 ? "0" : "") + (s % 60) });
    }
    return new Intl.NumberFormat(locale).format(value);
  }

  function applyLanguage() {
    document.documentElement.lang = state.lang;
    $("ui-language").value = state.lang;
    document.title = t("dashboard_title") + " – Citybot";
    document.querySelectorAll("[data-i18n]").forEach(function (node) { node.textContent = t(node.dataset.i18n); });
    render();
  }

  // One chart: a heading and a list of labelled bars, longest = the largest value.
  function chart(titleKey, rows, kind) {
    var figure = el("figure", { class: "chart" });
    var id = "chart-" + Math.random().toString(36).slice(2);
    figure.appendChild(el("figcaption", { id: id }, t(titleKey)));
    var list = el("ul", { class: "bars", "aria-labelledby": id });
    var top = Math.max.apply(null, rows.map(function (r) { return r.value || 0; }).concat([kind === "share" ? 1 : 0]));
    rows.forEach(function (row) {
      var li = el("li", { class: "bar-row" });
      li.appendChild(el("span", { class: "bar-label", lang: row.lang || null }, row.label));
      var track = el("span", { class: "bar-track", "aria-hidden": "true" });
      var bar = el("span", { class: "bar" });
      bar.style.width = (top > 0 && row.value ? Math.max(1, (row.value / top) * 100) : 0) + "%"; // CSSOM: allowed by the CSP
      track.appendChild(bar);
      li.appendChild(track);
      li.appendChild(el("span", { class: "bar-value" }, format(row.value, kind)));
      list.appendChild(li);
    });
    figure.appendChild(list);
    return figure;
  }

  function metricCharts(target, slices, names) {
    clear(target);
    METRICS.forEach(function (metric) {
      var rows = Object.keys(slices).map(function (code) {
        return { label: names(code), value: slices[code][metric[0]] };
      });
      target.appendChild(chart("metric_" + metric[0], rows, metric[1]));
    });
  }

  function render() {
    var report = state.report;
    if (!report) return;
    $("figures").hidden = false;
    var summary = $("summary");
    clear(summary);
    METRICS.concat([["mean_rating", "rating"]]).forEach(function (metric) {
      var tile = el("div", { class: "tile" });
      tile.appendChild(el("dt", null, t("metric_" + metric[0])));
      var value = report.total[metric[0]];
      tile.appendChild(el("dd", null, format(value, metric[1])));
      summary.appendChild(tile);
    });
    var byLanguage = {};
    LANGS.forEach(function (code) { if (report.by_language[code]) byLanguage[code] = report.by_language[code]; });
    metricCharts($("by-language"), byLanguage, function (code) { return t("lang_" + code); });
    var byChannel = {};
    CHANNELS.forEach(function (code) { if (report.by_channel[code]) byChannel[code] = report.by_channel[code]; });
    metricCharts($("by-channel"), byChannel, function (code) { return t("channel_" + code); });
    var days = $("per-day");
    clear(days);
    days.appendChild(chart("metric_conversations", report.days.map(function (d) {
      var date = new Date(d.day + "T12:00:00");
      return { label: new Intl.DateTimeFormat(LOCALES[state.lang], { weekday: "short", day: "numeric", month: "numeric" }).format(date), value: d.conversations };
    }), "count"));
    var unanswered = $("unanswered");
    clear(unanswered);
    LANGS.forEach(function (code) {
      var items = (report.unanswered || {})[code] || [];
      var section = el("div", { class: "unanswered-language" });
      var id = "unanswered-" + code;
      section.appendChild(el("h3", { id: id }, t("lang_" + code)));
      if (!items.length) section.appendChild(el("p", { class: "muted" }, t("dashboard_unanswered_none")));
      else {
        var list = el("ol", { "aria-labelledby": id });
        items.forEach(function (item) {
          var li = el("li");
          li.appendChild(el("q", { lang: code }, item.text));
          li.appendChild(document.createTextNode(" " + t("dashboard_times", { count: item.count })));
          list.appendChild(li);
        });
        section.appendChild(list);
      }
      unanswered.appendChild(section);
    });
  }

  function load() {
    var from = $("from").value, to = $("to").value;
    $("period-status").textContent = t("dashboard_loading");
    var query = from && to ? "?from=" + encodeURIComponent(from) + "&to=" + encodeURIComponent(to) : "";
    return fetch("/console/api/stats" + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) { return { status: response.status, body: body }; });
      }).then(function (answer) {
        if (answer.status === 401 || answer.status === 403) { refuse(answer.status); return; }
        if (answer.status !== 200) { $("period-status").textContent = periodRefused(answer.body); return; }
        state.report = answer.body;
        $("from").value = answer.body.from;
        $("to").value = answer.body.to;
        $("period-status").textContent = t("dashboard_period", { from: answer.body.from, to: answer.body.to });
        render();
      }).catch(function () { $("period-status").textContent = t("dashboard_failed"); });
  }

  // Why the server would not show a period, in the page's language (its own words otherwise).
  function periodRefused(body) {
    var key = "dashboard_period_" + (body.code || "");
    if (!Object.prototype.hasOwnProperty.call(state.strings, key)) return t("dashboard_bad_period", { why: body.error || "" });
    return t(key, { first: body.first || "", last: body.last || "" });
  }

  function refuse(status) {
    $("period").hidden = true;
    $("figures").hidden = true;
    var box = $("refused");
    box.hidden = false;
    clear(box);
    box.appendChild(document.createTextNode(t(status === 401 ? "dashboard_sign_in" : "dashboard_supervisors_only") + " "));
    box.appendChild(el("a", { href: "/console/" }, t("dashboard_back")));
  }

  function boot() {
    state.lang = pickLang(stored(STORE_LANG)) || pickLang(navigator.language) || "en";
    $("ui-language").addEventListener("change", function () {
      state.lang = pickLang($("ui-language").value) || "en";
      store(STORE_LANG, state.lang);
      applyLanguage();
    });
    $("period").addEventListener("submit", function (event) { event.preventDefault(); load(); });
    fetch("/console/strings.json", { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error("strings " + response.status);
      return response.json();
    }).then(function (strings) {
      state.strings = strings;
      $("boot").hidden = true;
      $("period").hidden = false;
      applyLanguage();
      return load();
    }).catch(function () {
      $("boot").hidden = true;
      $("boot-error").hidden = false;
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
