// exlic progressive enhancement. Every flow works without this file; it adds live totals,
// confirmation dialogs and upload progress.
(function () {
  "use strict";
  // Confirmation before irreversible actions: <form data-confirm="message">.
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    var msg = f.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { ev.preventDefault(); }
  });
  // Live totals on the application form: quantity × unit price per row and the sum.
  function dec(s) { var n = Number(String(s || "").trim()); return isFinite(n) ? n : NaN; }
  function totals() {
    var rows = document.querySelectorAll("[data-goods-row]");
    if (!rows.length) { return; }
    var sum = 0, qty = 0, ok = true;
    rows.forEach(function (r) {
      var q = dec(r.querySelector("[data-q]").value), p = dec(r.querySelector("[data-p]").value);
      var out = r.querySelector("[data-amount]");
      if (!isNaN(q) && !isNaN(p) && r.querySelector("[data-q]").value !== "") {
        var a = Math.round(q * p * 100) / 100; out.textContent = a.toFixed(2); sum += a; qty += q;
      } else { out.textContent = ""; }
    });
    var t = document.querySelector("[data-total]"); if (t) { t.textContent = sum.toFixed(2); }
    var tq = document.querySelector("[data-total-qty]"); if (tq) { tq.textContent = String(qty); }
  }
  document.addEventListener("input", function (ev) {
    if (ev.target.closest && ev.target.closest("[data-goods-row]")) { totals(); }
  });
  // Upload progress for <form data-upload>: sends with XHR, shows a progress bar.
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (!f.hasAttribute("data-upload") || ev.defaultPrevented || !window.FormData) { return; }
    ev.preventDefault();
    var bar = f.querySelector("progress"), out = f.querySelector("[data-upload-status]");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", f.action);
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable && bar) { bar.hidden = false; bar.max = e.total; bar.value = e.loaded; }
      if (out && e.lengthComputable) { out.textContent = Math.round(100 * e.loaded / e.total) + "%"; }
    };
    xhr.onload = function () { window.location.href = xhr.responseURL || window.location.href; };
    xhr.onerror = function () { if (out) { out.textContent = f.getAttribute("data-upload-error") || "upload failed"; } };
    xhr.send(new FormData(f));
  });
  // Copy a licence number: <button data-copy="text" hidden>, shown only where the
  // browser can copy (without JavaScript there is no dead button; the number is text).
  document.addEventListener("DOMContentLoaded", function () {
    if (!navigator.clipboard) { return; }
    document.querySelectorAll("button[data-copy]").forEach(function (b) { b.hidden = false; });
  });
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("[data-copy]");
    if (b && navigator.clipboard) { navigator.clipboard.writeText(b.getAttribute("data-copy")); b.setAttribute("aria-pressed", "true"); }
  });
  // Print: <button data-print> (the print stylesheet hides navigation and buttons).
  document.addEventListener("click", function (ev) {
    if (ev.target.closest && ev.target.closest("[data-print]")) { window.print(); }
  });
  document.addEventListener("DOMContentLoaded", totals);
})();
