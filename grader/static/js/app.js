// autograde pages: poll a submission's status until it is graded, copy snippets, and refresh
// a regrade report while it runs. Loaded with `defer`; no inline script anywhere (CSP).
(function () {
  "use strict";

  function pollStatus(box) {
    var statusUrl = box.getAttribute("data-status-url");
    var resultsUrl = box.getAttribute("data-results-url");
    var delay = 1000;
    function tick() {
      fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (doc) {
          box.setAttribute("data-status", doc.status);
          showQueue(doc);
          var badge = document.getElementById("status-badge");
          var label = { queued: "Waiting", running: "Grading…", graded: "Graded",
            not_gradable: "Not gradable", grader_error: "Grader problem" }[doc.status] || doc.status;
          badge.innerHTML = "";
          var span = document.createElement("span");
          span.className = "badge badge-" + doc.status;
          span.textContent = label;
          badge.appendChild(span);
          if (!doc.done) {
            delay = Math.min(delay * 1.3, 5000);
            window.setTimeout(tick, delay);
            return;
          }
          var score = document.getElementById("status-score");
          if (doc.score !== null) {
            score.innerHTML = "";
            var strong = document.createElement("strong");
            strong.textContent = fmt(doc.score);
            var max = document.createElement("span");
            max.className = "muted";
            max.textContent = " / " + fmt(doc.max_score);
            score.appendChild(strong);
            score.appendChild(max);
          }
          return fetch(resultsUrl, { credentials: "same-origin" })
            .then(function (r) { return r.text(); })
            .then(function (html) {
              // Server-rendered, escaped HTML of our own results fragment.
              document.getElementById("results").innerHTML = html;
            });
        })
        .catch(function () { window.setTimeout(tick, 5000); });
    }
    window.setTimeout(tick, 600);
  }

  // Where the submission stands in the grading queue, or that grading is delayed.
  function showQueue(doc) {
    var note = document.getElementById("queue-note");
    if (note) { note.textContent = doc.done ? "" : (doc.queue_message || ""); }
  }

  function fmt(x) {
    return (Math.round(x * 100) / 100).toString();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy-target]") : null;
    if (!button) { return; }
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    if (!target || !navigator.clipboard) { return; }
    navigator.clipboard.writeText(target.textContent).then(function () {
      button.textContent = "Copied";
      window.setTimeout(function () { button.textContent = "Copy"; }, 1500);
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("status");
    var status = box && box.getAttribute("data-status");
    if (box && (status === "queued" || status === "running")) { pollStatus(box); }
    if (document.querySelector("[data-reload-while-pending]")) {
      window.setTimeout(function () { window.location.reload(); }, 2000);
    }
  });
})();
