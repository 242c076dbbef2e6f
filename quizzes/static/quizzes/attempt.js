// The attempt page: autosave and a live countdown. Without this file everything still works by
// plain form posts (every button saves the page's answers; the server closes late attempts).
(function () {
  "use strict";
  var form = document.getElementById("attempt-form");
  if (!form) { return; }
  var status = document.getElementById("autosave-status");
  var timer = null;
  var pending = false;
  var leaving = false;

  function save() {
    timer = null;
    if (leaving) { return; }
    pending = true;
    if (status) { status.textContent = form.dataset.saving || ""; }
    fetch(form.dataset.autosave, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": form.elements.csrf_token.value }
    }).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    }).then(function (result) {
      pending = false;
      var data = result.data || {};
      if (data.redirect) { leaving = true; window.location.assign(data.redirect); return; }
      if (status) { status.textContent = data.message || data.error || form.dataset.failed || ""; }
    }).catch(function () {
      pending = false;
      if (status) { status.textContent = form.dataset.failed || ""; }
    });
  }

  function later() {
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(save, 1500);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
  form.addEventListener("submit", function () {
    leaving = true;
    if (timer) { window.clearTimeout(timer); timer = null; }
  });

  // -- countdown ------------------------------------------------------------------------------
  var box = document.getElementById("quiz-timer");
  if (!box || !box.dataset.deadline) { return; }
  var left = document.getElementById("quiz-timer-left");
  var alertBox = document.getElementById("quiz-timer-alert");
  var deadline = Date.parse(box.dataset.deadline);
  var skew = Date.parse(box.dataset.now) - Date.now();  // the server's clock, not the phone's
  var warned = false;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    var ms = deadline - (Date.now() + skew);
    if (ms <= 0) {
      if (left) { left.textContent = (box.dataset.label || "") + " 00:00"; }
      if (!leaving) {
        leaving = true;
        document.getElementById("attempt-timeup").value = "1";
        form.submit();
      }
      return;
    }
    var seconds = Math.floor(ms / 1000);
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    if (left) { left.textContent = (box.dataset.label || "") + " " + (h ? h + ":" + pad(m) : pad(m)) + ":" + pad(s); }
    if (seconds < 60 && !warned) {
      warned = true;
      box.classList.add("lms-quiz-timer-low");
      if (alertBox) { alertBox.textContent = box.dataset.warning || ""; }
    }
    window.setTimeout(tick, 1000 - (ms % 1000) + 5);
  }
  tick();
}());
