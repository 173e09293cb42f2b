// Owner upload: streams the recorder export to the API with a progress bar; times are camera-local.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("upload-form");
    if (!form) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = document.getElementById("upload-file").files[0];
      var start = document.getElementById("recording-start").value;
      var offset = document.getElementById("clock-offset").value || "0";
      var bar = document.getElementById("upload-progress");
      var percent = document.getElementById("upload-percent");
      var result = document.getElementById("upload-result");
      if (!file || !start) return;
      if (start.length === 16) start += ":00";
      var xhr = new XMLHttpRequest();
      xhr.open("PUT", form.dataset.url);
      xhr.setRequestHeader("X-Filename", encodeURIComponent(file.name));
      // No offset in the value: the server reads it in the camera's time zone.
      xhr.setRequestHeader("X-Recording-Start", start);
      xhr.setRequestHeader("X-Clock-Offset-Seconds", offset);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      // Pages behind the session cookie also send the form's CSRF token (the one-time link needs none).
      if (form.dataset.csrf) xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          var p = Math.floor((e.loaded / e.total) * 100);
          bar.value = p;
          percent.textContent = p + "%";
        }
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) {
          bar.value = 100;
          percent.textContent = "100%";
          result.textContent = form.dataset.done;
          result.className = "ok";
          // Show what was handed over (the page lists it) once the person has seen the message.
          if (form.dataset.reload) setTimeout(function () { window.location.reload(); }, 1500);
        } else {
          var detail = xhr.statusText;
          try { detail = JSON.parse(xhr.responseText).detail; } catch (ignored) {}
          result.textContent = form.dataset.failed + " " + detail;
          result.className = "error";
        }
      });
      xhr.addEventListener("error", function () {
        result.textContent = form.dataset.failed + " network";
        result.className = "error";
      });
      xhr.send(file);
    });
  });
})();
