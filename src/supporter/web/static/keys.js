// Keyboard shortcuts: in the queue j/k move and Enter opens; on a ticket a asks to
// approve (it focuses Approve and says so) and a second a, or Enter, approves; r goes to
// the reason to reject, Esc cancels the approval asked for, else goes back. Never while
// typing in a field. One key press never approves: an approval can send the reply.
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
  var form = document.getElementById("review");
  var approve = form ? form.querySelector("button.approve") : null;
  var confirm = document.getElementById("confirm");
  var asked = false;
  function ask() {
    asked = true;
    approve.focus();
    confirm.textContent = "Approve this reply? Press a again or Enter to approve, Esc to cancel.";
  }
  function cancel() {
    asked = false;
    if (confirm) confirm.textContent = "";
  }
  if (approve) approve.addEventListener("blur", cancel);
  document.addEventListener("keydown", function (event) {
    if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) return;
    if (rows.length && event.key === "j") { select(current + 1); event.preventDefault(); }
    else if (rows.length && event.key === "k") { select(current - 1); event.preventDefault(); }
    else if (approve && event.key === "a") {
      event.preventDefault();
      if (asked && document.activeElement === approve) { cancel(); approve.click(); }
      else ask();
    }
    else if (form && event.key === "r") { document.getElementById("reason").focus(); event.preventDefault(); }
    else if (form && event.key === "Escape" && asked) { cancel(); event.preventDefault(); }
    else if (event.key === "Escape" && document.getElementById("draft-title")) { window.location.href = "/"; }
  });
  var reason = document.getElementById("reason");
  if (reason) {
    reason.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); document.querySelector("button.reject").click(); }
    });
  }
})();
