// The goods-in page of the wipeproof register: each scan (a barcode scanner types the tag and
// Enter within a few milliseconds) is taken from the field at once, shown in the list, and
// sent to the register in the order it was made, one request at a time; the register's answer
// replaces "sending" in its line. Scans made while a request is on its way wait in a queue:
// none is lost and none is sent twice. Nothing here builds HTML from text (textContent only).
(function () {
  "use strict";
  var form = document.getElementById("scan-form");
  var field = document.getElementById("scan");
  var list = document.getElementById("answers");
  var state = document.getElementById("scan-state");
  if (!form || !field || !list) {
    return;
  }
  var endpoint = form.getAttribute("data-endpoint");
  var csrf = form.getAttribute("data-csrf") || "";
  var queue = [];
  var sending = false;
  var answered = 0;
  var mostQueued = 0;

  var words = {
    received: ["received", "good"],
    already_received: ["already received", "neutral"],
    other_collection: ["other collection", "bad"],
    extra: ["extra recorded", "warn"],
    extra_again: ["extra, again", "neutral"],
    empty: ["empty", "neutral"],
    refused: ["refused", "bad"],
    error: ["not recorded", "bad"]
  };

  function say() {
    var waiting = queue.length + (sending ? 1 : 0);
    state.textContent = waiting > 0
      ? "Sending: " + waiting + " scan(s) waiting for an answer. Keep scanning."
      : "Ready. " + answered + " scan(s) answered on this page.";
  }

  function show(row, outcome, message) {
    var w = words[outcome] || [outcome, "neutral"];
    row.setAttribute("data-outcome", outcome);
    row.className = "answer " + w[1];
    row.querySelector(".badge").textContent = w[0];
    row.querySelector(".badge").className = "badge " + w[1];
    row.querySelector(".message").textContent = message;
  }

  function line(scanned) {
    var row = document.createElement("li");
    row.className = "answer pending";
    row.setAttribute("data-outcome", "sending");
    var badge = document.createElement("span");
    badge.className = "badge neutral";
    badge.textContent = "sending";
    var what = document.createElement("code");
    what.className = "scanned";
    // A runaway scan (a stuck key, a paste) is shown shortened; the register refuses it.
    what.textContent = scanned.length > 64
      ? scanned.slice(0, 40) + "\u2026 (" + scanned.length + " characters)"
      : scanned;
    row.setAttribute("data-scanned", scanned);
    var message = document.createElement("span");
    message.className = "message";
    row.appendChild(badge);
    row.appendChild(what);
    row.appendChild(message);
    list.insertBefore(row, list.firstChild);
    return row;
  }

  function failed(row, why) {
    show(row, "error", "not recorded: " + why + ". Scan it again.");
  }

  function send(item) {
    return fetch(endpoint, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ scan: item.scanned })
    }).then(function (r) {
      if (r.type === "opaqueredirect") {
        failed(item.row, "the session has ended; sign in again and reload this page");
        return;
      }
      return r.json().then(function (doc) {
        if (doc && doc.outcome && doc.message) {
          show(item.row, doc.outcome, doc.message);
        } else {
          failed(item.row, (doc && doc.error) || "the register answered " + r.status);
        }
      }, function () {
        failed(item.row, "the register answered " + r.status + " without an answer to the scan");
      });
    }, function (e) {
      failed(item.row, "the register could not be reached (" + e.message + ")");
    });
  }

  function next() {
    if (sending) {
      return;
    }
    var item = queue.shift();
    if (!item) {
      say();
      return;
    }
    sending = true;
    say();
    send(item).then(function () {
      answered += 1;
      sending = false;
      next();
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    // Taken and cleared at once, before anything waits: the scanner's next keys go into an
    // empty field.
    var scanned = field.value;
    field.value = "";
    if (scanned.trim() === "") {
      return;
    }
    queue.push({ scanned: scanned, row: line(scanned) });
    mostQueued = Math.max(mostQueued, queue.length);
    form.setAttribute("data-most-queued", String(mostQueued));
    next();
  });

  // The field keeps the focus: a click elsewhere on the page gives it back, so the next scan
  // is not typed into nowhere. Another field or button keeps it while it is used.
  field.addEventListener("blur", function () {
    window.setTimeout(function () {
      var a = document.activeElement;
      if (!a || a === document.body || a === document.documentElement) {
        field.focus();
      }
    }, 0);
  });
  document.addEventListener("click", function (event) {
    var t = event.target;
    if (!t.closest || !t.closest("a, button, input, select, textarea, label")) {
      field.focus();
    }
  });
  field.focus();
  say();
})();
