/* Spike maps (the /map/ page and the service page's small map): country outlines shipped
   with the site, an optional tile layer, and one circle per city from /api/v1/map/. */
(function () {
  "use strict";
  var D = window.Downradar;
  var L = window.L;
  if (!L) { return; }
  var outlinesCache = {};

  // Colour and a word for the same thing: how unusual the count is for that city.
  function level(ratio) {
    if (ratio >= 4) { return { name: "spike", color: "#b42318" }; }
    if (ratio >= 1.5) { return { name: "high", color: "#d97706" }; }
    return { name: "normal", color: "#0b5cad" };
  }

  function radius(count) { return Math.min(40, 4 + 2.5 * Math.sqrt(count)); }

  function outlines(url) {
    if (!outlinesCache[url]) { outlinesCache[url] = D.getJSON(url); }
    return outlinesCache[url];
  }

  // English and Italian both use the singular for exactly one.
  function reportsWord(count, labels) { return count === 1 ? labels.report : labels.reports; }

  function popupContent(props, labels) {
    var box = D.el("div", "map-popup");
    box.append(D.el("strong", null, props.name + " (" + props.country + ")"));
    var facts = D.el("p");
    facts.append(
      D.el("span", null, D.number(props.count) + " " + reportsWord(props.count, labels)), D.el("br"),
      D.el("span", null, labels.usual + ": " + D.number(Math.round(props.baseline * 10) / 10)), D.el("br"),
      D.el("span", null, D.number(Math.round(props.ratio * 10) / 10) + " " + labels.ratio)
    );
    box.append(facts);
    if (props.services.length) {
      box.append(D.el("span", null, labels.services + ":"));
      var list = D.el("ul");
      props.services.forEach(function (s) { list.append(D.el("li", null, s.name + ": " + D.number(s.count))); });
      box.append(list);
    }
    return box;
  }

  function setup(node) {
    var labels = {
      reports: node.dataset.labelReports || "reports", report: node.dataset.labelReport || "report",
      usual: node.dataset.labelUsual || "usual",
      ratio: node.dataset.labelRatio || "×", services: node.dataset.labelServices || "Services"
    };
    var map = L.map(node, { worldCopyJump: true, minZoom: 2, maxZoom: 10 }).setView([42.5, 12.5], 5);
    if (node.dataset.tiles) {
      L.tileLayer(node.dataset.tiles, { attribution: node.dataset.tilesAttribution || "" }).addTo(map);
    } else {
      map.attributionControl.addAttribution("Natural Earth");
    }
    outlines(node.dataset.outlines).then(function (geo) {
      L.geoJSON(geo, {
        interactive: false,
        style: { color: "#8c959f", weight: 0.8, fillColor: "#eef1f4", fillOpacity: node.dataset.tiles ? 0 : 1 }
      }).addTo(map).bringToBack();
    }).catch(function () { /* circles still work without outlines */ });

    var circles = L.layerGroup().addTo(map);
    var list = node.dataset.controls ? document.getElementById("map-list") : null;
    var status = document.getElementById("map-status");
    var updated = list && document.getElementById("map-updated");
    var times = updated && D.zoned(updated);
    var fitted = false;

    function load() {
      var url = node.dataset.api + "?minutes=" + encodeURIComponent(node.dataset.minutes) +
        (node.dataset.service ? "&service=" + encodeURIComponent(node.dataset.service) : "");
      return D.getJSON(url).then(function (data) {
        circles.clearLayers();
        var byId = [];
        data.features.forEach(function (feature) {
          var props = feature.properties;
          var c = feature.geometry.coordinates;
          var lvl = level(props.ratio);
          var marker = L.circleMarker([c[1], c[0]], {
            radius: radius(props.count), color: lvl.color, weight: 1, fillColor: lvl.color, fillOpacity: 0.55,
            className: "city-circle level-" + lvl.name
          }).bindPopup(popupContent(props, labels)).bindTooltip(D.el("span", null, props.name));  // as text: a city name is data, not markup
          circles.addLayer(marker);
          byId.push({ marker: marker, props: props, level: lvl });
        });
        node.dataset.circles = String(data.features.length);
        if (!fitted && byId.length) {
          map.fitBounds(L.featureGroup(byId.map(function (x) { return x.marker; })).getBounds().pad(0.3), { maxZoom: 6 });
          fitted = true;
        }
        if (list) {
          list.replaceChildren.apply(list, byId.slice(0, 15).map(function (x) {
            var li = D.el("li");
            var button = D.el("button", "link-button", x.props.name + " (" + x.props.country + ")");
            button.type = "button";
            button.addEventListener("click", function () {
              map.setView(x.marker.getLatLng(), Math.max(map.getZoom(), 6));
              x.marker.openPopup();
            });
            li.append(button, " ", D.el("span", "count", D.number(x.props.count) + " " + reportsWord(x.props.count, labels)),
              " ", D.el("span", "level level-" + x.level.name, D.number(Math.round(x.props.ratio * 10) / 10) + " " + labels.ratio));
            return li;
          }));
        }
        if (updated) {
          updated.dateTime = data.generated_at;
          updated.textContent = times.time(data.generated_at);
        }
        if (status) { status.textContent = ""; }
      }).catch(function () { if (status) { status.textContent = "…"; } });
    }

    var controls = node.dataset.controls && document.getElementById(node.dataset.controls);
    if (controls) {
      controls.addEventListener("change", function () {
        var form = new FormData(controls);
        node.dataset.service = form.get("service") || "";
        node.dataset.minutes = form.get("minutes") || "60";
        var query = new URLSearchParams({ service: node.dataset.service, minutes: node.dataset.minutes });
        history.replaceState(null, "", "?" + query.toString());
        fitted = false;
        load();
      });
    }
    load();
    D.every(node.dataset.refresh, load);
  }

  document.querySelectorAll(".map[data-api]").forEach(setup);
})();
