/* Service and incident pages: the 15-minute chart with the usual range as a band, and a
   refresh of every number on the service page each minute. */
(function () {
  "use strict";
  var D = window.Downradar;
  var canvas = document.getElementById("chart");
  var source = document.getElementById("timeseries-data");
  if (!canvas || !source || !window.Chart) { return; }
  var series = JSON.parse(source.textContent);
  var times = D.zoned(canvas);  // the page's zone, as the server's text
  var hasBand = series.length > 0 && series[0].baseline !== undefined;
  var styles = getComputedStyle(document.documentElement);
  var accent = styles.getPropertyValue("--accent").trim() || "#0b5cad";
  var muted = styles.getPropertyValue("--muted").trim() || "#57606a";

  function datasets(rows) {
    var sets = [];
    if (hasBand) {
      sets.push({
        label: canvas.dataset.labelBaseline, data: rows.map(function (r) { return r.baseline; }),
        borderColor: muted, borderDash: [4, 4], borderWidth: 1, pointRadius: 0, fill: false
      });
      sets.push({
        label: canvas.dataset.labelUpper, data: rows.map(function (r) { return r.upper; }),
        borderColor: "rgba(87, 96, 106, 0.35)", borderWidth: 1, pointRadius: 0,
        backgroundColor: "rgba(87, 96, 106, 0.15)", fill: "-1"
      });
    }
    sets.push({
      label: canvas.dataset.labelReports, data: rows.map(function (r) { return r.count; }),
      borderColor: accent, backgroundColor: "rgba(11, 92, 173, 0.12)", borderWidth: 2,
      pointRadius: 0, pointHitRadius: 6, fill: "origin", tension: 0.2
    });
    return sets;
  }

  var chart = new window.Chart(canvas, {
    type: "line",
    data: { labels: series.map(function (r) { return times.time(r.start); }), datasets: datasets(series) },
    options: {
      animation: false,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: function (item) {
          return item.dataset.label + ": " + D.number(Math.round(item.parsed.y * 10) / 10);
        } } }
      },
      scales: {
        x: { ticks: { maxTicksLimit: canvas.clientWidth < 500 ? 4 : 8, maxRotation: 0, autoSkipPadding: 12 } },
        y: { beginAtZero: true, ticks: { precision: 0, callback: function (v) { return D.number(v); } } }
      },
      locale: D.lang
    }
  });
  canvas.dataset.points = String(series.length);
  canvas.dataset.reports = String(series.reduce(function (sum, r) { return sum + r.count; }, 0));

  var page = document.getElementById("service-page");
  if (!page || !page.dataset.url) { return; }

  function fillList(list, rows, render) {
    if (!rows.length) { return; }
    list.replaceChildren.apply(list, rows.map(render));
  }

  function refresh() {
    D.getJSON(page.dataset.url).then(function (data) {
      var headline = document.getElementById("headline");
      if (headline) { headline.textContent = data.headline; }
      var banner = document.getElementById("status-banner");
      banner.className = "banner status-" + data.status.code;
      banner.querySelector(".status-icon").textContent = data.status.icon;
      banner.querySelector(".status-text").textContent = data.status.text;
      banner.querySelector(".banner-reason").textContent = data.status.reason_text;
      banner.querySelector(".banner-detail").textContent = data.status.window_text;
      var official = document.getElementById("official");
      if (official && data.official) {
        var o = data.official;
        official.className = "official official-" + (o.problem || o.state || "unknown");
        official.querySelector(".official-text").textContent = o.text;
        official.querySelector(".official-since").textContent = o.changed_text;
        [[".official-lead", o.lead_text], [".official-record", o.record.text]].forEach(function (pair) {
          var line = official.querySelector(pair[0]);
          line.textContent = pair[1];
          line.hidden = !pair[1];
        });
      }
      document.getElementById("count-last-hour").textContent = D.number(data.count_last_hour);
      document.getElementById("count-last-day").textContent = D.number(data.count_last_day);
      chart.data.labels = data.timeseries.map(function (r) { return times.time(r.start); });
      chart.data.datasets = datasets(data.timeseries);
      chart.update();
      fillList(document.getElementById("chart-rows"), data.timeseries, function (r) {
        var start = D.el("time", null, times.time(r.start));
        start.dateTime = r.start;
        var cell = D.el("td");
        cell.append(start);
        var row = D.el("tr");
        row.append(cell, D.el("td", null, D.number(r.count)));
        return row;
      });
      canvas.dataset.reports = String(data.timeseries.reduce(function (sum, r) { return sum + r.count; }, 0));
      function problemRow(p) {
        var li = D.el("li");
        var meter = D.el("meter");
        meter.min = 0; meter.max = 100; meter.value = p.percent; meter.setAttribute("aria-hidden", "true");
        li.append(D.el("span", "label", p.label), " ", D.el("span", "percent", p.percent + "%"), " ", meter);
        return li;
      }
      fillList(document.getElementById("problems"), data.problems, problemRow);
      var incidentProblems = document.getElementById("incident-problems");
      if (incidentProblems) { fillList(incidentProblems, data.incident_problems, problemRow); }
      var cities = document.getElementById("cities");
      if (data.cities.length) {
        cities.hidden = false;
        var noCity = document.getElementById("cities-empty");
        if (noCity) { noCity.hidden = true; }
      }
      fillList(cities, data.cities, function (c) {
        var li = D.el("li");
        li.append(D.el("span", "label", c.city), " ", D.el("span", "country", "(" + c.country + ")"), " ",
          D.el("span", "count", D.number(c.count)));
        return li;
      });
    }).catch(function () { /* keep the numbers we have; try again next minute */ });
  }

  D.every(page.dataset.refresh, refresh);

  // Share: the system's share sheet where there is one, else copy the address.
  var share = document.querySelector("a.share");
  if (share) {
    share.addEventListener("click", function (event) {
      event.preventDefault();
      if (navigator.share) {
        navigator.share({ title: document.title, url: share.href }).catch(function () {});
      } else if (navigator.clipboard) {
        navigator.clipboard.writeText(share.href).then(function () {
          share.textContent = share.dataset.copied || share.textContent;
        }).catch(function () {});
      }
    });
  }
})();
