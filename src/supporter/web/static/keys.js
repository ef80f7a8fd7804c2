// Keyboard shortcuts: in the queue j/k move and Enter opens; on a ticket a approves,
// r goes to the reason to reject, Esc goes back. Never while typing in a field.
(function () {
  "use strict";
  function typing(event) {
    var tag = event.target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-href]"));
  var current = -1;
  function select(index) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (row, i) { row.classList.toggle("selected", i === current); });
    rows[current].querySelector("a").focus();
  }
  document.addEventListener("keydown", function (event) {
    if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) return;
    var form = document.getElementById("review");
    if (rows.length && event.key === "j") { select(current + 1); event.preventDefault(); }
    else if (rows.length && event.key === "k") { select(current - 1); event.preventDefault(); }
    else if (form && event.key === "a") { form.querySelector("button.approve").click(); }
    else if (form && event.key === "r") { document.getElementById("reason").focus(); event.preventDefault(); }
    else if (form && event.key === "Escape") { window.location.href = "/"; }
  });
  var reason = document.getElementById("reason");
  if (reason) {
    reason.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); document.querySelector("button.reject").click(); }
    });
  }
})();
