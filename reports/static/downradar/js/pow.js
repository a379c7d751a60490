// Proof of work for the report form (reports.pow). When the server asks for it
// (POW_DIFFICULTY > 0), find a nonce such that sha256(challenge + nonce) starts with
// `difficulty` zero bits, put both in the form, then submit. Without JavaScript, or when
// proof of work is off, the form posts as it is.
(function () {
  "use strict";

  function zeroBits(bytes) {
    let bits = 0;
    for (const byte of bytes) {
      if (byte === 0) {
        bits += 8;
        continue;
      }
      return bits + Math.clz32(byte) - 24;
    }
    return bits;
  }

  async function solve(challenge, difficulty) {
    const encoder = new TextEncoder();
    for (let counter = 0; ; counter++) {
      const nonce = counter.toString(16);
      const digest = await crypto.subtle.digest("SHA-256", encoder.encode(challenge + nonce));
      if (zeroBits(new Uint8Array(digest)) >= difficulty) return nonce;
    }
  }

  document.querySelectorAll("form[data-pow-url]").forEach(function (form) {
    form.addEventListener("submit", async function (event) {
      if (form.dataset.powSolved) return;
      event.preventDefault();
      const button = event.submitter || form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      try {
        const answer = await fetch(form.dataset.powUrl, { headers: { Accept: "application/json" } });
        const issued = await answer.json();
        if (issued.difficulty > 0) {
          form.elements.pow_challenge.value = issued.challenge;
          form.elements.pow_nonce.value = await solve(issued.challenge, issued.difficulty);
        }
      } catch (error) {
        // Posted without proof: the server says so on the page when it needs one.
      }
      if (button) button.disabled = false;
      form.dataset.powSolved = "1";
      if (form.requestSubmit) form.requestSubmit(button || undefined);
      else form.submit();
      delete form.dataset.powSolved; // a challenge counts once: the next submit solves anew
    });
  });
})();
