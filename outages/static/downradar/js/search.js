/* The search field's suggestions, from GET /api/v1/services/?q= (names, slugs and aliases),
   shown in a <datalist>: the browser's own list, with its keyboard handling. Picking a
   suggestion opens that service's page. */
(function () {
  "use strict";
  var D = window.Downradar;
  var input = document.querySelector("input[data-suggest]");
  if (!input) { return; }
  var list = document.getElementById(input.getAttribute("list"));
  var pageOf = {};  // suggested name -> service page
  var timer = null, asked = "";

  function suggest() {
    var query = input.value.trim();
    if (query.length < 2 || query === asked) { return; }
    asked = query;
    D.getJSON(input.dataset.suggest + "?q=" + encodeURIComponent(query)).then(function (data) {
      var services = (Array.isArray(data) ? data : data.results || data.services || []).slice(0, 8);
      pageOf = {};
      list.replaceChildren.apply(list, services.map(function (service) {
        var option = document.createElement("option");
        option.value = service.name;
        pageOf[service.name] = input.dataset.servicePage.replace("__slug__", encodeURIComponent(service.slug));
        return option;
      }));
    }).catch(function () { /* no suggestions: the search still works */ });
  }

  input.addEventListener("input", function (event) {
    // A suggestion picked from the list (not a name typed out in full) opens its page.
    var picked = !event.inputType || event.inputType === "insertReplacementText";
    if (picked && pageOf[input.value]) { window.location.assign(pageOf[input.value]); return; }
    clearTimeout(timer);
    timer = setTimeout(suggest, 150);
  });
})();
