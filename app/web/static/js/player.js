// The player page: the true time of the frame shown, and the recorder's clock at it, beside the video; frame
// stepping; and one report to the service when playback starts (the service writes it to the custody log).
// The first frame's true time comes with the page; the browser's own clock plays no part.
(function () {
  "use strict";

  var video = document.getElementById("player");
  var section = document.getElementById("playback");
  if (!video || !section) return;
  var trueStart = Number(section.dataset.trueStartMs);
  var offset = Number(section.dataset.offsetMs);
  var fps = Number(section.dataset.fps) || 25;
  var zone = section.dataset.zone;
  var locale = section.dataset.locale;
  var trueOut = document.getElementById("true-time");
  var recorderOut = document.getElementById("recorder-time");
  // The media time of the first frame: 0 for a clip cut zero-based (the page says so); a clip cut before kept its
  // timestamps from the original, and an original may start anywhere: there the video tells, once loaded.
  var recordedFirst = section.dataset.firstPts;
  var first = null;
  var shown = null; // the media time of the frame on screen, when the browser tells it

  function format(ms) { return window.TrueTime.format(ms, zone, locale); }

  // The frame on screen at media time t, counted from the first (a paused player stands on a whole frame).
  function frameIndex(t) { return Math.max(0, Math.floor((t - first) * fps + 0.01)); }
  function seekFrame(k) { video.currentTime = first + Math.max(0, k) / fps + 0.001; }

  function update() {
    if (first === null) return;
    var playing = !video.paused && !video.seeking;
    var media = playing && shown !== null ? shown : first + frameIndex(video.currentTime) / fps;
    var trueMs = trueStart + Math.round((media - first) * 1000);
    trueOut.textContent = format(trueMs);
    trueOut.dataset.ms = String(trueMs);
    recorderOut.textContent = format(trueMs + offset);
    recorderOut.dataset.ms = String(trueMs + offset);
  }

  function onFrame(now, metadata) {
    shown = metadata.mediaTime;
    update();
    video.requestVideoFrameCallback(onFrame);
  }

  // At "loadedmetadata" Chromium may still say 0; by "loadeddata" it stands on the first frame's media time.
  video.addEventListener("loadeddata", function () {
    if (first !== null) return;
    first = recordedFirst !== undefined ? Number(recordedFirst) : video.currentTime;
    section.dataset.first = String(first);
    update();
  });
  ["timeupdate", "seeked", "pause"].forEach(function (name) { video.addEventListener(name, update); });
  if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(onFrame);

  function step(frames) {
    if (first === null) return;
    video.pause();
    seekFrame(frameIndex(video.currentTime) + frames);
  }
  // Paused, the player moves onto the whole frame it stopped in, so the picture and the time agree.
  video.addEventListener("pause", function () {
    if (first !== null && !video.seeking) seekFrame(frameIndex(video.currentTime));
  });
  document.getElementById("step-back").addEventListener("click", function () { step(-1); });
  document.getElementById("step-forward").addEventListener("click", function () { step(1); });

  // The keyframe strip: a thumbnail goes to its keyframe (its time counted from the clip's first frame).
  Array.prototype.forEach.call(document.querySelectorAll("#keyframe-strip .keyframe"), function (button) {
    button.addEventListener("click", function () {
      if (first === null) return;
      video.pause();
      video.currentTime = first + Number(button.dataset.at) + 0.001;
    });
  });

  var reported = false;
  video.addEventListener("playing", function () {
    if (reported) return;
    reported = true;
    fetch(section.dataset.playedUrl, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": section.dataset.csrf }
    }).then(function (answer) { section.dataset.reported = answer.ok ? "yes" : "no"; });
  });
  video.addEventListener("error", function () {
    document.getElementById("player-error").hidden = false;
  });
})();
