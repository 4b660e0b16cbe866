// spinecontext page helpers: copy and print buttons. The page works without this
// file; the buttons stay hidden until it runs. No network calls.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy-target"));
      var status = document.getElementById(button.getAttribute("data-status"));
      var done = function (ok) {
        if (status) status.textContent = ok ? "Copied to the clipboard." : "Select the text and copy it (Ctrl+C).";
      };
      var fallback = function () {
        source.focus();
        source.select();
        var ok = false;
        try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
        done(ok);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(source.value).then(function () { done(true); }, fallback);
      } else {
        fallback();
      }
    });
  });
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  var form = document.getElementById("explain-form") || document.getElementById("appendix-form");
  if (form) {
    form.addEventListener("submit", function () {
      var submit = form.querySelector("button[type=submit]");
      if (submit) { submit.setAttribute("aria-busy", "true"); submit.textContent = "Working…"; }
    });
  }
});
