// The console's small enhancements (the pages work without them): the live event list on the
// fleet page (polled every 3 s from the same origin, with the session cookie), and a question
// before a form marked data-confirm (report lost, cancel a voucher) is sent.
"use strict";

(function () {
  const events = document.getElementById("events");
  if (events && events.dataset.poll) {
    const refresh = async () => {
      try {
        const answer = await fetch(events.dataset.poll, { credentials: "same-origin", cache: "no-store" });
        if (answer.ok) {
          events.innerHTML = await answer.text(); // HQ's own escaped HTML fragment
          events.dataset.refreshed = String(Date.now());
        }
      } catch (e) {
        // HQ unreachable for a moment: keep the last list, try again on the next tick
      }
    };
    setInterval(refresh, 3000);
  }
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
})();
