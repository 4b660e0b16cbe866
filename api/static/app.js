// spinecontext page helpers: copy and print buttons, and a file-size check before an
// upload (each file input of a form) (the server answers an over-limit upload with the same message when this file
// does not run). The page works without this file; the buttons stay hidden until it
// runs. No network calls.
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
  // every form that takes a file (the patient form, and the compare form with a file per report)
  document.querySelectorAll("form").forEach(function (form) {
    var limit = parseInt(form.getAttribute("data-max-file-bytes") || "0", 10);
    var inputs = Array.prototype.slice.call(form.querySelectorAll("input[type=file]"));
    var tooLarge = function (fileInput) {
      var fileError = document.getElementById(fileInput.getAttribute("data-error") || "file-error");
      var file = fileInput.files && fileInput.files[0];
      if (!file || !limit || file.size <= limit) {
        if (fileError) { fileError.hidden = true; fileError.textContent = ""; }
        return null;
      }
      if (fileError) {
        fileError.textContent = "The file is too large to upload: it is " + (file.size / 1e6).toFixed(1) +
          " MB and the limit is " + Math.round(limit / 1e6) + " MB. Try a smaller file, or take the photo " +
          "again at a lower size, or paste the text instead.";
        fileError.hidden = false;
      }
      return fileError || fileInput;
    };
    inputs.forEach(function (fileInput) {
      fileInput.addEventListener("change", function () { tooLarge(fileInput); });
    });
    form.addEventListener("submit", function (event) {
      var first = null;
      inputs.forEach(function (fileInput) { var shown = tooLarge(fileInput); if (shown && !first) { first = shown; } });
      if (first) { event.preventDefault(); first.focus(); return; }
      var submit = form.querySelector("button[type=submit]");
      if (submit) { submit.setAttribute("aria-busy", "true"); submit.textContent = "Working…"; }
    });
  });
});
