// The redaction review: the clip with its boxes over it, each box where the service will render it at the frame
// shown (linear between keyframes; a found face also holds for one search interval beyond its ends). A box is
// moved or resized by dragging (mouse, pen or finger: pointer events), which sets a keyframe at that frame; boxes
// are added, ended and deleted with the buttons, saved with PUT, and the copy rendered with its progress polled.
(function () {
  "use strict";

  var section = document.getElementById("review");
  var video = document.getElementById("review-video");
  var overlay = document.getElementById("overlay");
  if (!section || !video || !overlay) return;
  var data = JSON.parse(document.getElementById("review-data").textContent);
  var d = section.dataset;
  var fps = Number(d.fps) || 25;
  var width = Number(d.width), height = Number(d.height), hold = Number(d.hold) || 0;
  var duration = Number(d.duration) || 0;
  var lastT = Math.max(0, Math.round((duration - 1 / fps) * 10000) / 10000);
  var editable = !overlay.dataset.locked;
  var tracks = data.tracks || [];
  var first = null;
  var selected = null;
  var dirty = false;
  var dragging = false;
  var message = document.getElementById("review-message");
  var seek = document.getElementById("seek");

  function say(text, isError) {
    message.textContent = text;
    message.className = isError ? "error" : "";
  }

  function frameIndex() {
    if (first === null) return 0;
    return Math.max(0, Math.floor((video.currentTime - first) * fps + 0.01));
  }
  function now() { return Math.round(frameIndex() / fps * 10000) / 10000; }
  function seekFrame(k) {
    if (first === null) return;
    var top = Math.max(0, Math.round(duration * fps) - 1);
    video.currentTime = first + Math.min(top, Math.max(0, k)) / fps + 0.001;
  }

  // The same rule as the service (app.footage.redaction.box_at).
  function boxAt(track, t) {
    var frames = track.keyframes;
    var ends = track.source === "auto" ? hold : 0;
    var a = frames[0], b = frames[frames.length - 1];
    if (t < a.t - ends - 1e-6 || t > b.t + ends + 1e-6) return null;
    if (t <= a.t) return { x: a.x, y: a.y, w: a.w, h: a.h };
    for (var i = 0; i + 1 < frames.length; i++) {
      var p = frames[i], q = frames[i + 1];
      if (p.t <= t && t <= q.t) {
        var f = (t - p.t) / (q.t - p.t);
        return {
          x: Math.round(p.x + (q.x - p.x) * f), y: Math.round(p.y + (q.y - p.y) * f),
          w: Math.round(p.w + (q.w - p.w) * f), h: Math.round(p.h + (q.h - p.h) * f)
        };
      }
    }
    return { x: b.x, y: b.y, w: b.w, h: b.h };
  }

  function clamp(box) {
    var w = Math.max(8, Math.min(width, Math.round(box.w)));
    var h = Math.max(8, Math.min(height, Math.round(box.h)));
    return {
      x: Math.max(0, Math.min(width - w, Math.round(box.x))), y: Math.max(0, Math.min(height - h, Math.round(box.y))),
      w: w, h: h
    };
  }

  function setKeyframe(track, t, box) {
    var k = { t: t, x: box.x, y: box.y, w: box.w, h: box.h };
    var frames = track.keyframes.filter(function (f) { return Math.abs(f.t - t) > 1e-4; });
    frames.push(k);
    frames.sort(function (p, q) { return p.t - q.t; });
    track.keyframes = frames;
    changed();
  }

  function changed() {
    dirty = true;
    say(d.msgUnsaved, false);
    draw();
  }

  function place(el, box) {
    el.style.left = (box.x / width * 100) + "%";
    el.style.top = (box.y / height * 100) + "%";
    el.style.width = (box.w / width * 100) + "%";
    el.style.height = (box.h / height * 100) + "%";
  }

  function draw() {
    if (dragging) return;
    var t = now();
    overlay.textContent = "";
    var shown = 0;
    tracks.forEach(function (track) {
      var box = boxAt(track, t);
      if (!box) return;
      shown += 1;
      var el = document.createElement("div");
      el.className = "box " + track.source + (track === selected ? " chosen" : "");
      el.title = track.source === "auto" ? d.msgAuto : d.msgManual;
      el.dataset.track = track.id;
      place(el, box);
      if (editable) {
        var handle = document.createElement("span");
        handle.className = "handle";
        el.appendChild(handle);
        el.addEventListener("pointerdown", function (event) { grab(event, track, box, el, event.target === handle); });
      }
      overlay.appendChild(el);
    });
    overlay.dataset.shown = String(shown);
    overlay.dataset.t = String(t);
    var out = document.getElementById("true-time");
    if (first !== null) {
      var ms = Number(d.trueStartMs) + Math.round(t * 1000);
      out.textContent = window.TrueTime.format(ms, d.zone, d.locale);
      out.dataset.ms = String(ms);
      if (duration) seek.value = String(Math.round(t / duration * 1000));
    }
    document.getElementById("box-count").dataset.count = String(tracks.length);
    document.getElementById("auto-count").textContent = String(tracks.filter(function (k) { return k.source === "auto"; }).length);
    document.getElementById("manual-count").textContent = String(tracks.filter(function (k) { return k.source === "manual"; }).length);
    ["end-box", "delete-box"].forEach(function (id) {
      var button = document.getElementById(id);
      if (button) button.disabled = selected === null;
    });
  }

  function grab(event, track, box, el, resize) {
    event.preventDefault();
    event.stopPropagation();
    video.pause();
    selected = track;
    var scale = width / overlay.clientWidth;
    var start = { x: event.clientX, y: event.clientY };
    var current = box;
    dragging = true;
    el.setPointerCapture(event.pointerId);
    el.classList.add("chosen");
    function move(e) {
      var dx = (e.clientX - start.x) * scale, dy = (e.clientY - start.y) * scale;
      current = clamp(resize ? { x: box.x, y: box.y, w: box.w + dx, h: box.h + dy }
        : { x: box.x + dx, y: box.y + dy, w: box.w, h: box.h });
      place(el, current);
    }
    function up() {
      el.removeEventListener("pointermove", move);
      el.removeEventListener("pointerup", up);
      el.removeEventListener("pointercancel", up);
      dragging = false;
      if (current !== box) setKeyframe(track, now(), current);
      else draw();
    }
    el.addEventListener("pointermove", move);
    el.addEventListener("pointerup", up);
    el.addEventListener("pointercancel", up);
  }

  overlay.addEventListener("pointerdown", function (event) {
    if (event.target === overlay && selected !== null) { selected = null; draw(); }
  });

  video.addEventListener("loadeddata", function () {
    if (first !== null) return;
    // 0 for a clip cut zero-based (the page says so); a clip cut before kept the original's timestamps
    first = d.firstPts !== undefined ? Number(d.firstPts) : video.currentTime;
    section.dataset.first = String(first);
    draw();
  });
  ["timeupdate", "seeked", "pause"].forEach(function (name) { video.addEventListener(name, draw); });
  if (video.requestVideoFrameCallback) {
    var onFrame = function () { draw(); video.requestVideoFrameCallback(onFrame); };
    video.requestVideoFrameCallback(onFrame);
  }
  video.addEventListener("pause", function () { if (first !== null && !video.seeking) seekFrame(frameIndex()); });
  document.getElementById("play-pause").addEventListener("click", function () {
    if (video.paused) video.play(); else video.pause();
  });
  document.getElementById("step-back").addEventListener("click", function () { video.pause(); seekFrame(frameIndex() - 1); });
  document.getElementById("step-forward").addEventListener("click", function () { video.pause(); seekFrame(frameIndex() + 1); });
  seek.addEventListener("input", function () {
    video.pause();
    seekFrame(Math.round(Number(seek.value) / 1000 * duration * fps));
  });

  function send(method, url, body) {
    var headers = { "X-CSRF-Token": d.csrf, "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: method, credentials: "same-origin", headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body)
    });
  }

  function explain(answer) {
    if (answer.status === 422) say(d.msgInvalid, true);
    else if (answer.status === 409) say(d.msgConflict, true);
    else say(d.msgFailed, true);
  }

  function save() {
    return send("PUT", d.boxesUrl, { tracks: tracks }).then(function (answer) {
      if (!answer.ok) { explain(answer); return false; }
      return answer.json().then(function (saved) {
        tracks = saved.tracks;
        selected = null;
        dirty = false;
        say(d.msgSaved, false);
        draw();
        return true;
      });
    }, function () { say(d.msgFailed, true); return false; });
  }

  var stateOut = document.getElementById("state");
  var progress = document.getElementById("progress");
  var stateWords = {
    detecting: d.msgDetecting, review: d.msgReview, rendering: d.msgRendering, ready: d.msgReady,
    failed: d.msgFailedState
  };

  function showState(state) {
    stateOut.dataset.status = state.status;
    stateOut.textContent = stateWords[state.status] || state.status;
    progress.value = state.progress;
    progress.hidden = !(state.status === "detecting" || state.status === "rendering");
  }

  function poll() {
    send("GET", d.statusUrl).then(function (answer) { return answer.ok ? answer.json() : null; }).then(function (state) {
      if (!state) { window.setTimeout(poll, 2000); return; }
      var before = stateOut.dataset.status;
      showState(state);
      if (state.status === "detecting" || state.status === "rendering") { window.setTimeout(poll, 1000); return; }
      if (before === "detecting" || state.status === "failed") { window.location.reload(); return; }
      if (state.status === "ready") {
        var result = document.getElementById("result");
        var copy = document.getElementById("result-video");
        result.hidden = false;
        copy.src = copy.dataset.src;
      }
    }, function () { window.setTimeout(poll, 2000); });
  }

  if (editable) {
    document.getElementById("add-box").addEventListener("click", function () {
      video.pause();
      var t = now();
      var box = clamp({ x: width * 0.4, y: height * 0.35, w: width * 0.2, h: height * 0.3 });
      var frames = [{ t: t, x: box.x, y: box.y, w: box.w, h: box.h }];
      if (lastT > t + 1e-4) frames.push({ t: lastT, x: box.x, y: box.y, w: box.w, h: box.h });
      var track = { id: "m" + Date.now().toString(36) + Math.floor(Math.random() * 1e6).toString(36), source: "manual", keyframes: frames };
      tracks.push(track);
      selected = track;
      changed();
    });
    document.getElementById("end-box").addEventListener("click", function () {
      if (selected === null) return;
      var t = now();
      var box = boxAt(selected, t);
      var kept = selected.keyframes.filter(function (f) { return f.t < t - 1e-4; });
      if (box) kept.push({ t: t, x: box.x, y: box.y, w: box.w, h: box.h });
      if (kept.length) selected.keyframes = kept;
      changed();
    });
    document.getElementById("delete-box").addEventListener("click", function () {
      if (selected === null) return;
      var gone = selected;
      tracks = tracks.filter(function (track) { return track !== gone; });
      selected = null;
      changed();
    });
    document.getElementById("save-boxes").addEventListener("click", function () { save(); });
    document.getElementById("render").addEventListener("click", function () {
      (dirty ? save() : Promise.resolve(true)).then(function (ok) {
        if (!ok) return;
        send("POST", d.renderUrl).then(function (answer) {
          if (!answer.ok) { explain(answer); return; }
          answer.json().then(function (state) {
            showState(state);
            editable = false;
            overlay.dataset.locked = "yes";
            document.getElementById("edit-controls").hidden = true;
            draw();
            poll();
          });
        }, function () { say(d.msgFailed, true); });
      });
    });
  }
  window.addEventListener("beforeunload", function (event) { if (dirty) event.preventDefault(); });
  if (data.status.status === "detecting" || data.status.status === "rendering") poll();
  draw();
})();
