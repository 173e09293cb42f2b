// Owner upload: sends the recorder export with a progress bar; times are camera-local.
// On the owner link page (data-tus) the file goes by the tus protocol in chunks of one S3 part: a dropped
// connection is retried by the client from the server's offset, and after a page reload choosing the same file
// again picks the upload up where it stopped (its URL is kept in localStorage under the file's fingerprint).
// Elsewhere (the signed-in owner page, behind the session cookie) it is one streamed PUT.
(function () {
  "use strict";
  var CHUNK = 5 * 1024 * 1024; // one S3 part per request: each acknowledged request is kept by the server

  function show(form, bar, percent, result, loaded, total) {
    // 100 % only once the server has stored and checked the file (succeeded), not when the last byte left.
    var p = total ? Math.min(99, Math.floor((loaded / total) * 100)) : 0;
    bar.value = p;
    percent.textContent = p + "%";
  }

  function succeeded(form, bar, percent, result) {
    bar.value = 100;
    percent.textContent = "100%";
    result.textContent = form.dataset.done;
    result.className = "ok";
    // Show what was handed over (the page lists it) once the person has seen the message.
    if (form.dataset.reload) setTimeout(function () { window.location.reload(); }, 1500);
  }

  function failed(form, result, detail) {
    result.textContent = form.dataset.failed + " " + detail;
    result.className = "error";
  }

  function problemDetail(text, fallback) {
    try { return JSON.parse(text).detail || fallback; } catch (ignored) { return fallback; }
  }

  // What the owner filled in, only what they did: an empty field says nothing, so the server takes the time from
  // the file or its name, and the recorder's latest clock check, instead of an empty or made-up value.
  // Keys are the tus metadata names; the PUT sends each as its X- header.
  function stated(form, start, offset, vendor) {
    var out = {};
    // No offset in the value: the server reads it in the camera's time zone.
    if (start) out.recording_start = start;
    if (offset !== "") out.clock_offset_seconds = offset;
    if (vendor !== null) out.vendor_format = vendor;
    return out;
  }

  var HEADERS = {
    recording_start: "X-Recording-Start",
    clock_offset_seconds: "X-Clock-Offset-Seconds",
    vendor_format: "X-Vendor-Format"
  };

  function sendByTus(form, file, fields, bar, percent, result) {
    var metadata = { token: form.dataset.token, filename: file.name };
    Object.keys(fields).forEach(function (key) { metadata[key] = fields[key]; });
    var upload = new window.tus.Upload(file, {
      endpoint: form.dataset.tus,
      chunkSize: CHUNK,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000],
      removeFingerprintOnSuccess: true,
      metadata: metadata,
      onProgress: function (loaded, total) { show(form, bar, percent, result, loaded, total); },
      onSuccess: function () { succeeded(form, bar, percent, result); },
      onError: function (error) {
        var response = error && error.originalResponse;
        var detail = response ? problemDetail(response.getBody(), String(response.getStatus())) : "network";
        failed(form, result, detail);
      }
    });
    form.dataset.state = "uploading";
    upload.findPreviousUploads().then(function (previous) {
      if (previous.length) {
        form.dataset.resumed = "1";
        upload.resumeFromPreviousUpload(previous[0]);
      }
      upload.start();
    });
  }

  function sendByPut(form, file, fields, bar, percent, result) {
    var xhr = new XMLHttpRequest();
    xhr.open("PUT", form.dataset.url);
    xhr.setRequestHeader("X-Filename", encodeURIComponent(file.name));
    Object.keys(fields).forEach(function (key) {
      // a header carries Latin-1 only: a maker's name typed in Vietnamese goes percent-encoded
      xhr.setRequestHeader(HEADERS[key], key === "vendor_format" ? encodeURIComponent(fields[key]) : fields[key]);
    });
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    // Pages behind the session cookie also send the form's CSRF token (the one-time link needs none).
    if (form.dataset.csrf) xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) show(form, bar, percent, result, e.loaded, e.total);
    });
    xhr.addEventListener("load", function () {
      if (xhr.status >= 200 && xhr.status < 300) succeeded(form, bar, percent, result);
      else failed(form, result, problemDetail(xhr.responseText, xhr.statusText));
    });
    xhr.addEventListener("error", function () { failed(form, result, "network"); });
    xhr.send(file);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("upload-form");
    if (!form) return;
    var vendorCheck = document.getElementById("vendor-format-check");
    var vendorField = document.getElementById("vendor-format-field");
    var vendorName = document.getElementById("vendor-format-name");
    if (vendorCheck) {
      vendorCheck.addEventListener("change", function () { vendorField.hidden = !vendorCheck.checked; });
      vendorField.hidden = !vendorCheck.checked; // a reload keeps the box ticked
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = document.getElementById("upload-file").files[0];
      var start = document.getElementById("recording-start").value;
      var offset = document.getElementById("clock-offset").value.trim();
      var vendor = vendorCheck && vendorCheck.checked ? (vendorName.value.trim() || form.dataset.vendorUnknown) : null;
      var bar = document.getElementById("upload-progress");
      var percent = document.getElementById("upload-percent");
      var result = document.getElementById("upload-result");
      if (!file) return;
      if (start.length === 16) start += ":00";
      var resumable = form.dataset.tus && window.tus && window.tus.isSupported;
      (resumable ? sendByTus : sendByPut)(form, file, stated(form, start, offset, vendor), bar, percent, result);
    });
  });
})();
