// Owner upload: sends the recorder export with a progress bar; times are camera-local.
// On the owner pages (data-tus) the file goes by the tus protocol in chunks of one S3 part: a dropped
// connection is retried by the client from the server's offset, and after a page reload choosing the same file
// again picks the upload up where it stopped (its URL is kept in localStorage under the file's fingerprint).
// The link page names its token in the upload's metadata (data-token); the signed-in owner's account page names
// the request (data-request) and sends its CSRF token (data-csrf) with every tus request and the completion.
// Where tus is not supported it is one streamed PUT.
// Both pages also take an export the recorder split into several files: they are listed (name, size,
// progress), sent one after the other by tus as files of one export (`export_part`), each resuming as above, and
// "All files sent" declares the export whole; the server's answer (the files' order on the real timeline, gaps
// and overlaps) is shown in the camera's time. One file alone keeps the one-step upload.
(function () {
  "use strict";
  // One S3 part of the server's (data-chunk) per request: each request ends on a part boundary, so what it
  // brought is acknowledged whole and nothing waits in the server's database for the next request.
  var DEFAULT_CHUNK = 8 * 1024 * 1024;

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

  // Pages behind the session cookie send the form's CSRF token with each request (the one-time link needs none).
  function csrfHeaders(form) {
    return form.dataset.csrf ? { "X-CSRF-Token": form.dataset.csrf } : {};
  }

  function tusError(form, error) {
    var response = error && error.originalResponse;
    return response ? problemDetail(response.getBody(), String(response.getStatus())) : form.dataset.network;
  }

  // One file by tus; `part` marks it as one file of an export in several. Callbacks: progress(loaded, total),
  // done(), fail(detail).
  function tusSend(form, file, fields, part, progress, done, fail) {
    // the account page names its request; the link page its token
    var metadata = form.dataset.request ? { request_id: form.dataset.request } : { token: form.dataset.token };
    metadata.filename = file.name;
    Object.keys(fields).forEach(function (key) { metadata[key] = fields[key]; });
    if (part) metadata.export_part = "true";
    var upload = new window.tus.Upload(file, {
      endpoint: form.dataset.tus,
      chunkSize: parseInt(form.dataset.chunk, 10) || DEFAULT_CHUNK,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000],
      removeFingerprintOnSuccess: true,
      metadata: metadata,
      headers: csrfHeaders(form),
      onProgress: progress,
      onSuccess: done,
      onError: function (error) { fail(tusError(form, error)); }
    });
    upload.findPreviousUploads().then(function (previous) {
      // only an upload begun the same way: a file of an export never resumes a one-step upload, nor the reverse
      previous = previous.filter(function (p) {
        return Boolean(p.metadata && p.metadata.export_part) === Boolean(part);
      });
      if (previous.length) {
        form.dataset.resumed = "1";
        upload.resumeFromPreviousUpload(previous[0]);
      }
      upload.start();
    });
    return upload;
  }

  function sendByTus(form, file, fields, bar, percent, result) {
    form.dataset.state = "uploading";
    tusSend(form, file, fields, false,
      function (loaded, total) { show(form, bar, percent, result, loaded, total); },
      function () { succeeded(form, bar, percent, result); },
      function (detail) { failed(form, result, detail); });
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
    xhr.addEventListener("error", function () { failed(form, result, form.dataset.network); });
    xhr.send(file);
  }

  // -- an export in several files (the owner pages) ---------------------------------------------------------------
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole;
    });
  }

  // As the page writes sizes: "1,5 MiB" in Vietnamese, "1.5 MiB" in English.
  function sizeText(bytes) {
    var units = ["byte", "KiB", "MiB", "GiB"];
    var value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    var lang = document.documentElement.lang || "vi";
    return value.toLocaleString(lang, { maximumFractionDigits: unit ? 1 : 0 }) + " " + units[unit];
  }

  // The camera's wall clock: ["20:12:05", "23/11/2026"].
  function localParts(iso, zone) {
    var parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"
    }).formatToParts(new Date(iso)).forEach(function (p) { parts[p.type] = p.value; });
    return [parts.hour + ":" + parts.minute + ":" + parts.second, parts.day + "/" + parts.month + "/" + parts.year];
  }

  // "20:12:05, 23/11/2026" (the zone is added once per sentence, as the page's other times name it).
  function localTime(iso, zone) {
    var p = localParts(iso, zone);
    return p[0] + ", " + p[1];
  }

  // A file's span as the page writes a window: "20:12:05 → 20:12:17, 23/11/2026 (zone)" on one day.
  function span(start, end, zone, note) {
    var a = localParts(start, zone), b = localParts(end, zone);
    if (a[1] === b[1]) return { from: a[0], to: b[0] + ", " + b[1] + " " + note };
    return { from: a[0] + " " + a[1], to: b[0] + " " + b[1] + " " + note };
  }

  function seconds(value) {
    return String(Math.round(value * 1000) / 1000);
  }

  function Several(form) {
    this.form = form;
    this.list = document.getElementById("upload-list");
    this.input = document.getElementById("upload-file");
    this.add = document.getElementById("upload-add");
    this.finish = document.getElementById("upload-finish");
    this.completeButton = document.getElementById("upload-complete");
    this.order = document.getElementById("upload-order");
    this.result = document.getElementById("upload-result");
    this.rows = [];
    this.sending = false;
    var self = this;
    // what the server already holds: files received (done) and uploads begun (to choose again)
    Array.prototype.forEach.call(this.list.querySelectorAll("li[data-server]"), function (li) {
      var remove = li.querySelector(".file-remove");
      if (remove) {  // a file begun and not found again: leave it out (the server drops it when it expires)
        remove.addEventListener("click", function () {
          self.rows = self.rows.filter(function (r) { return r.li !== li; });
          li.remove();
          self.layout();
        });
      }
      self.rows.push({
        li: li, file: null, name: li.dataset.name, size: Number(li.dataset.size),
        state: li.dataset.server === "done" ? "done" : "paused", server: true, part: li.dataset.part === "1"
      });
    });
    this.input.addEventListener("change", function () { self.choose(self.input.files); });
    if (this.add) this.add.addEventListener("click", function () { self.input.click(); });
    this.completeButton.addEventListener("click", function () { self.complete(); });
    this.layout();
  }

  Several.prototype.msg = function (key) { return this.form.dataset["msg" + key]; };

  Several.prototype.row = function (file) {
    var li = document.createElement("li");
    li.className = "file-row";
    var name = document.createElement("span"); name.className = "file-name"; name.textContent = file.name;
    var size = document.createElement("span"); size.className = "file-size"; size.textContent = sizeText(file.size);
    var bar = document.createElement("progress"); bar.max = 100; bar.value = 0;
    var state = document.createElement("span"); state.className = "file-state"; state.textContent = this.msg("Waiting");
    var remove = document.createElement("button");
    remove.type = "button"; remove.className = "link file-remove"; remove.textContent = this.msg("Remove");
    // a start typed for this file only, folded away: left empty, the file's own frames or name give it
    var start = document.createElement("details"); start.className = "file-start-field";
    var summary = document.createElement("summary"); summary.textContent = this.msg("Start");
    var startInput = document.createElement("input");
    startInput.type = "datetime-local"; startInput.step = "1"; startInput.className = "file-start";
    startInput.setAttribute("aria-label", this.msg("Start"));
    start.appendChild(summary);
    start.appendChild(startInput);
    [name, document.createTextNode(" "), size, bar, state, remove, start].forEach(function (n) { li.appendChild(n); });
    var entry = { li: li, file: file, name: file.name, size: file.size, state: "waiting", server: false,
                  bar: bar, label: state, start: startInput, removeButton: remove };
    var self = this;
    remove.addEventListener("click", function () {
      if (entry.state === "sending" || entry.state === "done") return;
      self.rows.splice(self.rows.indexOf(entry), 1);
      li.remove();
      self.layout();
    });
    return entry;
  };

  Several.prototype.choose = function (files) {
    var self = this;
    Array.prototype.forEach.call(files, function (file) {
      var same = self.rows.filter(function (r) { return r.name === file.name && r.size === file.size; })[0];
      if (same && (same.state === "done" || same.file)) {
        // received already (the server says so), or on the list: nothing to send again
        if (same.state === "done" && same.server) same.li.querySelector(".file-state").textContent = self.msg("Already");
        return;
      }
      var entry = self.row(file);
      if (same) {  // an upload begun before: this row takes its place and resumes it
        entry.part = same.part;
        self.list.replaceChild(entry.li, same.li);
        self.rows[self.rows.indexOf(same)] = entry;
        entry.bar.value = Number(same.li.querySelector("progress").value) || 0;
      } else {
        self.list.appendChild(entry.li);
        self.rows.push(entry);
      }
    });
    this.input.value = "";
    this.layout();
  };

  Several.prototype.several = function () {
    return this.rows.length > 1 || this.rows.some(function (r) { return r.part; });
  };

  // What the page offers follows the list: one file keeps the one-step form; several show a start under each
  // file, "add more", and "All files sent" once every listed file is received.
  Several.prototype.layout = function () {
    var several = this.several();
    document.getElementById("recording-start-field").hidden = several;
    document.getElementById("several-start-hint").hidden = !several;
    this.rows.forEach(function (r) {
      if (r.file) {
        r.li.querySelector(".file-start-field").hidden = !several || r.state === "done";
        r.removeButton.hidden = r.state === "sending" || r.state === "done";
      }
    });
    if (this.add) this.add.hidden = this.rows.length === 0;
    var received = this.rows.filter(function (r) { return r.state === "done"; }).length;
    var allIn = received > 0 && received === this.rows.length && several;
    this.finish.hidden = !allIn;
    this.completeButton.disabled = this.sending || !allIn;
  };

  Several.prototype.fields = function (entry, offset, vendor) {
    var start = this.several() ? entry.start.value : document.getElementById("recording-start").value;
    if (start && start.length === 16) start += ":00";
    return stated(this.form, start, offset, vendor);
  };

  Several.prototype.send = function (offset, vendor) {
    var self = this;
    var form = this.form;
    var result = this.result;
    var bar = document.getElementById("upload-progress");
    var percent = document.getElementById("upload-percent");
    var pending = this.rows.filter(function (r) { return r.file && r.state !== "done"; });
    if (!pending.length) {
      if (this.rows.some(function (r) { return r.state === "paused"; }) || !this.rows.length) {
        result.textContent = this.msg("Choose");
        result.className = "error";
      }
      this.layout();
      return;
    }
    if (!this.several()) {
      // one file: the one-step upload as ever (it completes the request at once)
      var only = pending[0];
      only.state = "sending";
      only.label.textContent = this.msg("Sending");
      this.sending = true;
      this.layout();
      form.dataset.state = "uploading";
      tusSend(form, only.file, this.fields(only, offset, vendor), false,
        function (loaded, total) {
          show(form, bar, percent, result, loaded, total);
          only.bar.value = bar.value;
        },
        function () {
          only.state = "done"; only.bar.value = 100; only.label.textContent = self.msg("Received"); only.li.classList.add("done");
          self.sending = false;
          succeeded(form, bar, percent, result);
          self.finish.hidden = true;
          self.done();
        },
        function (detail) {
          only.state = "failed"; only.label.textContent = detail;
          self.sending = false;
          failed(form, result, detail + " " + self.msg("Retry"));
          self.layout();
        });
      return;
    }
    // several files: one after the other, each as one file of the export
    this.sending = true;
    result.textContent = "";
    result.className = "";
    form.dataset.state = "uploading";
    var total = pending.reduce(function (n, r) { return n + r.size; }, 0);
    var before = 0;
    var next = function (index) {
      if (index >= pending.length) {
        self.sending = false;
        bar.value = 100;
        percent.textContent = "100%";
        result.textContent = self.msg("AllSent");
        result.className = "ok";
        self.layout();
        self.completeButton.focus();
        return;
      }
      var entry = pending[index];
      entry.state = "sending";
      entry.label.textContent = self.msg("Sending");
      self.layout();
      var wasResumed = form.dataset.resumed;
      tusSend(form, entry.file, self.fields(entry, offset, vendor), true,
        function (loaded, size) {
          if (form.dataset.resumed && !wasResumed) { entry.label.textContent = self.msg("Resumed"); wasResumed = "1"; }
          entry.bar.value = size ? Math.min(99, Math.floor((loaded / size) * 100)) : 0;
          show(form, bar, percent, result, before + loaded, total);
        },
        function () {
          entry.state = "done";
          entry.bar.value = 100;
          entry.label.textContent = self.msg("Received"); entry.li.classList.add("done");
          before += entry.size;
          next(index + 1);
        },
        function (detail) {
          entry.state = "failed";
          entry.label.textContent = detail;
          self.sending = false;
          failed(form, result, entry.name + ": " + detail + " " + self.msg("Retry"));
          self.layout();
        });
    };
    next(0);
  };

  // After the export is whole (or a single file completed it): nothing more to choose here.
  Several.prototype.done = function () {
    this.input.disabled = true;
    if (this.add) this.add.hidden = true;
    this.form.querySelector("button[type=submit]").hidden = true;
    this.rows.forEach(function (r) { if (r.removeButton) r.removeButton.hidden = true; });
  };

  Several.prototype.complete = function () {
    var self = this;
    var result = this.result;
    this.completeButton.disabled = true;
    result.textContent = this.msg("Completing");
    result.className = "";
    var headers = csrfHeaders(this.form);
    headers.Accept = "application/json";
    fetch(this.form.dataset.complete, { method: "POST", headers: headers, credentials: "same-origin" })
      .then(function (response) {
        return response.text().then(function (text) { return { ok: response.ok, status: response.status, text: text }; });
      })
      .then(function (answer) {
        if (!answer.ok) {
          failed(self.form, result, problemDetail(answer.text, String(answer.status)) + " " + self.msg("Retry"));
          self.layout();
          return;
        }
        self.showOrder(JSON.parse(answer.text));
        self.finish.hidden = true;
        result.textContent = "";
        self.done();
      })
      .catch(function () {
        failed(self.form, result, self.form.dataset.network);
        self.layout();
      });
  };

  // The server's answer: the files in order on the real timeline, then each gap and overlap in plain words.
  Several.prototype.showOrder = function (detail) {
    var form = this.form;
    var zone = form.dataset.tz;
    var note = form.dataset.zoneNote;
    var names = {};
    (detail.originals || []).forEach(function (o) { names[o.id] = o.filename; });
    var exported = detail.export || { files: [], gaps: [], overlaps: [] };
    var box = this.order;
    box.textContent = "";
    var head = document.createElement("p");
    head.className = "ok";
    head.id = "upload-order-head";
    head.textContent = fill(this.msg("Completed"), { n: exported.files.length });
    box.appendChild(head);
    var list = document.createElement("ol");
    exported.files.forEach(function (f, i) {
      var li = document.createElement("li");
      var when = span(f.start, f.end, zone, note);
      li.textContent = fill(form.dataset.msgFileLine, { n: i + 1, name: names[f.original_id] || "", from: when.from, to: when.to });
      list.appendChild(li);
    });
    box.appendChild(list);
    var self = this;
    var junction = function (kind, j) {
      var p = document.createElement("p");
      p.className = kind === "gap" ? "warn junction-gap" : "warn junction-overlap";
      p.textContent = fill(self.msg(kind === "gap" ? "Gap" : "Overlap"), {
        s: seconds(j.seconds), a: names[j.before_original_id] || "", b: names[j.after_original_id] || "",
        from: localTime(j.start, zone), to: localTime(j.end, zone) + " " + note
      });
      box.appendChild(p);
    };
    exported.gaps.forEach(function (j) { junction("gap", j); });
    exported.overlaps.forEach(function (j) { junction("overlap", j); });
    if (!exported.gaps.length && !exported.overlaps.length) {
      var none = document.createElement("p");
      none.textContent = this.msg("NoGaps");
      box.appendChild(none);
    }
    if ((detail.originals || []).some(function (o) { return o.needs_conversion; })) {
      var converted = document.createElement("p");
      converted.className = "hint";
      converted.textContent = this.msg("Converted");
      box.appendChild(converted);
    }
    var again = document.createElement("a");
    again.href = window.location.pathname;
    again.className = "button secondary";
    again.id = "upload-see-request";
    again.textContent = this.msg("See");
    box.appendChild(again);
    box.hidden = false;
    box.scrollIntoView({ block: "start" });
  };

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
    var resumable = form.dataset.tus && window.tus && window.tus.isSupported;
    var several = resumable && document.getElementById("upload-list") ? new Several(form) : null;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var start = document.getElementById("recording-start").value;
      var offset = document.getElementById("clock-offset").value.trim();
      var vendor = vendorCheck && vendorCheck.checked ? (vendorName.value.trim() || form.dataset.vendorUnknown) : null;
      if (several) {
        if (!several.sending) several.send(offset, vendor);
        return;
      }
      var file = document.getElementById("upload-file").files[0];
      var bar = document.getElementById("upload-progress");
      var percent = document.getElementById("upload-percent");
      var result = document.getElementById("upload-result");
      if (!file) return;
      if (start.length === 16) start += ":00";
      (resumable ? sendByTus : sendByPut)(form, file, stated(form, start, offset, vendor), bar, percent, result);
    });
  });
})();
