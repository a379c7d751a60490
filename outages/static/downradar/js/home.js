/* Home: refresh each service's status and sparkline every minute. */
(function () {
  "use strict";
  var D = window.Downradar;
  var list = document.getElementById("services");
  if (!list || !list.dataset.url) { return; }
  var updated = document.getElementById("updated-at");
  var times = updated && D.zoned(updated);
  var WIDTH = 120, HEIGHT = 28;  // as outages.sparkline (HOME_WIDTH, HOME_HEIGHT)

  function points(values) {
    var top = Math.max.apply(null, values.concat([1]));
    var step = WIDTH / Math.max(values.length - 1, 1);
    return values.map(function (value, index) {
      return (index * step).toFixed(1) + "," + (HEIGHT - 2 - (HEIGHT - 4) * value / top).toFixed(1);
    }).join(" ");
  }

  function refresh() {
    D.getJSON(list.dataset.url).then(function (data) {
      data.services.forEach(function (service) {
        var row = list.querySelector('[data-slug="' + service.slug + '"]');
        if (!row) { return; }
        var status = row.querySelector(".status");
        status.className = "status status-" + service.status.code;
        status.querySelector(".status-icon").textContent = service.status.icon;
        status.querySelector(".status-text").textContent = service.status.text;
        row.querySelector(".sparkline polyline").setAttribute("points", points(service.sparkline));
      });
      if (updated) {
        var now = new Date();
        updated.dateTime = now.toISOString();
        updated.textContent = times.time(now);
      }
    }).catch(function () { /* keep the numbers we have; try again next minute */ });
  }

  D.every(list.dataset.refresh, refresh);
})();
