// albicilla-view: copy buttons and a small poll that says when the page has newer data.
"use strict";
(function () {
  function show(text, href) {
    var live = document.getElementById("live");
    if (!live) return;
    live.textContent = text + " ";
    var a = document.createElement("a");
    a.href = href || window.location.href;
    a.textContent = "reload";
    live.appendChild(a);
    live.hidden = false;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent;
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { select(source); });
    } else {
      select(source);
    }
  });

  function select(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function poll(url, field, message) {
    var first = null;
    function tick() {
      fetch(url, { credentials: "same-origin" }).then(function (r) {
        return r.ok ? r.json() : null;
      }).then(function (data) {
        if (!data) return;
        var value = String(data[field]);
        if (first === null) first = value;
        else if (value !== first) { show(message); return; }
        setTimeout(tick, 2000);
      }).catch(function () { setTimeout(tick, 5000); });
    }
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var version = document.body.getAttribute("data-poll-version");
    if (version) poll(version, "version", "New records in this session.");
    var status = document.querySelector("[data-poll-status]");
    if (status) poll(status.getAttribute("data-poll-status"), "generation", "The index has grown.");
  });
})();
