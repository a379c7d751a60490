/* Spike maps (the /map/ page and the service page's small map): country outlines shipped
   with the site, an optional tile layer, one circle per city from /api/v1/map/ and, on
   request, a heat layer. With a country (data-country) the map opens on its cities and
   names them; otherwise it shows the world. */
(function () {
  "use strict";
  var D = window.Downradar;
  var L = window.L;
  if (!L) { return; }
  var outlinesCache = {};
  var WORLD = { center: [25, 10], zoom: 2 };
  // From this zoom (a country) the busiest cities carry their name; below, only on hover.
  var LABEL_ZOOM = 5;
  var LABELLED_CITIES = 12;

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

  // A city name is data, not markup: every label and tooltip gets it as a text node.
  function nameNode(props) { return D.el("span", null, props.name); }

  function outlineClass(feature) {
    return "country-outline country-" + String(feature.properties.name).toLowerCase().replace(/[^a-z0-9]+/g, "-");
  }

  function popupContent(props, labels) {
    var box = D.el("div", "map-popup");
    box.append(D.el("strong", null, props.name + " (" + props.country + ")"));
    var facts = D.el("p");
    facts.append(
      D.el("span", null, props.count_text), D.el("br"),
      D.el("span", null, labels.usual + ": " + D.number(Math.round(props.baseline * 10) / 10)), D.el("br"),
      D.el("span", null, props.ratio_text)
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
      usual: node.dataset.labelUsual || "usual",
      services: node.dataset.labelServices || "Services"
    };
    var map = L.map(node, { worldCopyJump: true, minZoom: 2, maxZoom: 10 }).setView(WORLD.center, WORLD.zoom);
    // Where the map looks, for people reading the page's state (and its browser tests).
    function noteView() {
      var center = map.getCenter();
      node.dataset.center = center.lat.toFixed(3) + "," + center.lng.toFixed(3);
      node.dataset.zoom = String(map.getZoom());
    }
    map.on("moveend", noteView);
    noteView();
    if (node.dataset.tiles) {
      L.tileLayer(node.dataset.tiles, { attribution: node.dataset.tilesAttribution || "" }).addTo(map);
    } else {
      map.attributionControl.addAttribution("Natural Earth");
    }
    // The outlines are the background: a pane of their own under the circles and the heat
    // layer (whose canvas would otherwise sit under the land's fill). See site.css.
    map.createPane("outlines");
    var countryShape = null;  // the selected country's outline, once drawn
    var cities = [];
    outlines(node.dataset.outlines).then(function (geo) {
      var drawn = L.geoJSON(geo, {
        interactive: false,
        pane: "outlines",
        style: function (feature) {
          return {
            color: "#8c959f", weight: 0.8, fillColor: "#eef1f4", fillOpacity: node.dataset.tiles ? 0 : 1,
            className: outlineClass(feature)
          };
        }
      }).addTo(map);
      drawn.eachLayer(function (shape) {
        if (node.dataset.country && shape.feature.properties.iso === node.dataset.country) { countryShape = shape; }
      });
      node.dataset.outlines = "drawn";
      if (!cities.length) { openView(); }
    }).catch(function () { /* circles still work without outlines */ });

    var circles = L.layerGroup().addTo(map);
    var list = node.dataset.controls ? document.getElementById("map-list") : null;
    var status = document.getElementById("map-status");
    var updated = list && document.getElementById("map-updated");
    var times = updated && D.zoned(updated);
    var fitted = false;
    var heat = null;
    var heatToggle = document.querySelector('input[data-heat-for="' + node.id + '"]');

    function heatPoints() {
      var busiest = cities.reduce(function (most, x) { return Math.max(most, x.props.count); }, 1);
      return cities.map(function (x) {
        var at = x.marker.getLatLng();
        return [at.lat, at.lng, x.props.count / busiest];
      });
    }

    // maxZoom 0: leaflet.heat would otherwise halve every intensity per zoom level below its
    // maxZoom, and a country's busiest city would barely show.
    function showHeat(on) {
      if (on && !heat) { heat = L.heatLayer(heatPoints(), { radius: 25, blur: 18, max: 1, maxZoom: 0, minOpacity: 0.25 }).addTo(map); }
      if (!on && heat) { map.removeLayer(heat); heat = null; }
    }

    if (heatToggle && L.heatLayer) {
      heatToggle.closest(".heat-toggle").hidden = false;
      heatToggle.addEventListener("change", function () { showHeat(heatToggle.checked); });
    }

    // Names stay on the map at a country's zoom, for the busiest cities; a hover shows the rest.
    function label(x, permanent) {
      if (x.named === permanent) { return; }  // a closed tooltip fades out: rebinding would double it
      x.named = permanent;
      x.marker.unbindTooltip();
      x.marker.bindTooltip(nameNode(x.props), permanent ? { permanent: true, direction: "right", className: "city-label" } : {});
    }

    function labelCities() {
      var named = map.getZoom() >= LABEL_ZOOM;
      cities.forEach(function (x, i) { label(x, named && i < LABELLED_CITIES); });
    }
    map.on("zoomend", labelCities);

    // The selected service's or country's cities with reports, else the country's outline's
    // box; the world with neither.
    function openView() {
      if (!node.dataset.country && !node.dataset.service) { return; }
      var fit = { maxZoom: 6, animate: false };
      if (cities.length) {
        map.fitBounds(L.featureGroup(cities.map(function (x) { return x.marker; })).getBounds().pad(0.3), fit);
      } else if (countryShape) {
        map.fitBounds(countryShape.getBounds(), fit);
      }
    }

    function load() {
      var url = node.dataset.api + "?minutes=" + encodeURIComponent(node.dataset.minutes) +
        (node.dataset.service ? "&service=" + encodeURIComponent(node.dataset.service) : "") +
        (node.dataset.country ? "&country=" + encodeURIComponent(node.dataset.country) : "");
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
          }).bindPopup(popupContent(props, labels));
          circles.addLayer(marker);
          byId.push({ marker: marker, props: props, level: lvl });
        });
        cities = byId;
        if (!fitted) {
          openView();
          fitted = true;
        }
        labelCities();
        if (heat) { heat.setLatLngs(heatPoints()); }
        node.dataset.circles = String(data.features.length);
        if (list) {
          list.replaceChildren.apply(list, byId.slice(0, 15).map(function (x) {
            var li = D.el("li");
            var button = D.el("button", "link-button", x.props.name + " (" + x.props.country + ")");
            button.type = "button";
            button.addEventListener("click", function () {
              node.scrollIntoView({ block: "nearest" });
              map.setView(x.marker.getLatLng(), Math.max(map.getZoom(), 6), { animate: false });
              x.marker.openPopup();
            });
            li.append(button, " ", D.el("span", "count", x.props.count_text),
              " ", D.el("span", "level level-" + x.level.name, x.props.ratio_text));
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
        var country = new URLSearchParams(location.search).get("country");
        if (country !== null) { query.set("country", country); }
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
