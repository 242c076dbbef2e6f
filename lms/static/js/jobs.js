// Follow a background job on its page: poll its status (same origin, JSON) and show progress;
// reload the page once it has finished so the result is rendered by the server. No inline
// script: the Content-Security-Policy allows scripts from this site only.
(function () {
  "use strict";
  var box = document.querySelector("[data-job-status]");
  if (!box || box.getAttribute("data-job-finished") === "true") { return; }
  var url = box.getAttribute("data-job-status");
  var bar = document.getElementById("job-progress");
  var count = document.getElementById("job-count");
  var delay = 1000;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) { delay = Math.min(delay * 2, 10000); return; }
        if (state.finished) { window.location.reload(); return; }
        if (bar && state.total) {
          bar.max = state.total;
          bar.value = state.done;
          bar.textContent = (state.percent || 0) + "%";
          if (count) { count.textContent = state.done + " / " + state.total; }
        }
      })
      .catch(function () { delay = Math.min(delay * 2, 10000); })
      .then(function () { window.setTimeout(poll, delay); });
  }
  window.setTimeout(poll, delay);
})();
