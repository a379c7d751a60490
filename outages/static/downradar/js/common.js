/* Shared helpers for the Downradar pages: locale-aware formatting and a polite refresh loop. */
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  var numberFormat = new Intl.NumberFormat(lang);
  var timeFormat = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
  var dateTimeFormat = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });

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
    time: function (iso) { return timeFormat.format(new Date(iso)); },
    dateTime: function (iso) { return dateTimeFormat.format(new Date(iso)); },
    getJSON: getJSON,
    every: every,
    el: el
  };
})();
