/* Shared helpers for the Downradar pages: locale-aware formatting in the page's zone and a
   polite refresh loop. */
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  // Grouping always, as the server writes numbers (Django's intcomma): Italian CLDR would leave
  // 1251 ungrouped but write 12.510, so a refreshed number would change its look.
  var numberFormat = new Intl.NumberFormat(lang, { useGrouping: "always" });

  function part(format, date, type) {
    var found = format.formatToParts(date).filter(function (p) { return p.type === type; })[0];
    return found ? found.value : "";
  }

  // Times in the page's zone, never the browser's: node's data-timezone (IANA) and
  // data-timezone-names ({UTC offset in minutes: abbreviation}), both written by
  // outages.display_time, so a label reads like the server's text ("17:00 CET").
  // Intl names the zone itself only where the server gave no name for that offset.
  function zoned(node) {
    var zone = node.dataset.timezone;
    var names = JSON.parse(node.dataset.timezoneNames || "{}");
    var clock = new Intl.DateTimeFormat(lang, { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    var offset = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" });
    var short = new Intl.DateTimeFormat(lang, { timeZone: zone, timeZoneName: "short" });

    function zoneName(date) {
      var match = /GMT([+-])(\d\d):(\d\d)/.exec(part(offset, date, "timeZoneName"));
      var minutes = match ? (match[1] === "-" ? -1 : 1) * (60 * Number(match[2]) + Number(match[3])) : 0;
      return names[minutes] || part(short, date, "timeZoneName");
    }

    return {
      zone: zone,
      time: function (moment) {
        var date = new Date(moment);
        return clock.format(date) + " " + zoneName(date);
      }
    };
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { throw new Error(url + " answered " + response.status); }
      return response.json();
    });
  }

  // Calls fn every `seconds` while the page is visible, and once when it becomes visible again.
  function every(seconds, fn) {
    var ms = Math.max(5, Number(seconds) || 60) * 1000;
    var last = Date.now();
    function tick() {
      if (document.visibilityState === "visible") { last = Date.now(); fn(); }
    }
    setInterval(tick, ms);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && Date.now() - last > ms) { tick(); }
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  window.Downradar = {
    lang: lang,
    number: function (value) { return numberFormat.format(value); },
    zoned: zoned,
    getJSON: getJSON,
    every: every,
    el: el
  };
})();
