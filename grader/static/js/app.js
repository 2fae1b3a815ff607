// autograde pages: poll a submission's status until it is graded (saying each change in a
// live region), copy snippets, and refresh a regrade report in place while it runs.
// Loaded with `defer`; no inline script anywhere (CSP).
(function () {
  "use strict";

  var LABELS = { queued: "Waiting", running: "Grading…", graded: "Graded",
    not_gradable: "Not gradable", grader_error: "Grader problem" };

  function setText(id, text) {
    var node = document.getElementById(id);
    // Only on change: a live region re-announces whatever is written into it.
    if (node && text && node.textContent !== text) { node.textContent = text; }
  }

  function pollStatus(box) {
    var statusUrl = box.getAttribute("data-status-url");
    var resultsUrl = box.getAttribute("data-results-url");
    var delay = 1000;
    function tick() {
      fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (doc) {
          box.setAttribute("data-status", doc.status);
          var badge = document.getElementById("status-badge");
          if (badge.textContent !== (LABELS[doc.status] || doc.status)) {
            badge.innerHTML = "";
            var span = document.createElement("span");
            span.className = "badge badge-" + doc.status;
            span.textContent = LABELS[doc.status] || doc.status;
            badge.appendChild(span);
          }
          if (!doc.done) {
            setText("status-text", doc.message);
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
          setText("attempt-note", doc.attempt ? "Attempt " + doc.attempt : "No attempt charged");
          return fetch(resultsUrl, { credentials: "same-origin" })
            .then(function (r) { return r.text(); })
            .then(function (html) {
              // Server-rendered, escaped HTML of our own results fragment.
              document.getElementById("results").innerHTML = html;
              // Said once the results are there to read.
              setText("status-text", doc.message);
            });
        })
        .catch(function () { window.setTimeout(tick, 5000); });
    }
    window.setTimeout(tick, 600);
  }

  function fmt(x) {
    return (Math.round(x * 100) / 100).toString();
  }

  // A regrade report: fetch the page again and swap the report in, keeping focus and scroll.
  function refreshReport(section) {
    window.setTimeout(function () {
      fetch(window.location.href, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById(section.id);
          if (!fresh) { return; }
          section.innerHTML = fresh.innerHTML;
          if (fresh.hasAttribute("data-reload-while-pending")) { refreshReport(section); }
          else { section.removeAttribute("data-reload-while-pending"); }
        })
        .catch(function () { refreshReport(section); });
    }, 2000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy-target]") : null;
    if (!button) { return; }
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    if (!target || !navigator.clipboard) { return; }
    navigator.clipboard.writeText(target.textContent).then(function () {
      button.textContent = "Copied";
      var said = document.getElementById("copy-status");
      if (said) { said.textContent = "Copied to the clipboard."; }
      window.setTimeout(function () {
        button.textContent = "Copy";
        if (said) { said.textContent = ""; }
      }, 1500);
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("status");
    var status = box && box.getAttribute("data-status");
    if (box && (status === "queued" || status === "running")) { pollStatus(box); }
    var report = document.querySelector("[data-reload-while-pending]");
    if (report && report.id) { refreshReport(report); }
  });
})();
