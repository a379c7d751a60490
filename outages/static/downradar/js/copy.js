/* The embed code page's "Copy" buttons: each copies its snippet to the clipboard, or, where the
   browser will not (no Clipboard API, an insecure origin, permission refused), selects the
   snippet so a keyboard shortcut copies it. The buttons stay hidden without JavaScript. */
(function () {
  "use strict";

  function select(text) {
    text.focus();
    text.select();
  }

  function say(button, message) {
    var label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    button.textContent = message;
    clearTimeout(Number(button.dataset.timer));
    button.dataset.timer = String(setTimeout(function () { button.textContent = label; }, 2500));
  }

  document.querySelectorAll("button.copy").forEach(function (button) {
    var text = document.getElementById(button.dataset.target);
    if (!text) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      function fallBack() {
        select(text);
        say(button, button.dataset.selected);
      }
      if (!navigator.clipboard || !window.isSecureContext) { fallBack(); return; }
      navigator.clipboard.writeText(text.value).then(function () {
        say(button, button.dataset.copied);
      }, fallBack);
    });
  });
})();
