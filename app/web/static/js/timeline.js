// The case timeline: one true-time axis for every camera. Clicking the axis (or a lane, or a marker) chooses a true
// instant; each camera's video is moved onto its frame at that instant and labelled with its true time and the
// recorder's clock. The first frame's true time of each clip comes with the page; the device's clock plays no part.
// Camera labels come from owners and imports: set with textContent, never parsed as HTML.
(function () {
  "use strict";

  var section = document.getElementById("timeline");
  if (!section) return;
  var start = Number(section.dataset.startMs);
  var end = Number(section.dataset.endMs);
  var zone = section.dataset.zone;
  var locale = section.dataset.locale;
  var instantOut = document.getElementById("instant");
  var markerAt = document.getElementById("marker-at");
  var markerClip = document.getElementById("marker-clip");
  var chosen = null;

  function format(ms) { return window.TrueTime.format(ms, zone, locale); }

  var tiles = Array.prototype.map.call(document.querySelectorAll("#frames .tile"), function (el) {
    var tile = {
      el: el,
      video: el.querySelector("video"),
      clip: el.dataset.clip,
      start: Number(el.dataset.startMs),
      end: Number(el.dataset.endMs),
      offset: Number(el.dataset.offsetMs),
      fps: Number(el.dataset.fps) || 25,
      first: null,
      retries: 0
    };
    // The media time of the clip's first frame: 0 for a clip cut zero-based (the page says so); a clip cut before
    // kept the original's timestamps, and at "loadeddata" its video stands on its first frame's media time.
    tile.video.addEventListener("loadeddata", function () {
      if (tile.first !== null) return;
      tile.first = el.dataset.firstPts !== undefined ? Number(el.dataset.firstPts) : tile.video.currentTime;
      el.dataset.first = String(tile.first);
      if (chosen !== null) place(tile, chosen);
    });
    // The frame actually on screen, as the browser reports it: a seek the decoder answered with a neighbouring
    // frame (or overtook with a newer seek) is asked again, so the picture always matches the label.
    function presented(now, metadata) {
      if (tile.first !== null) {
        var frame = Math.floor((metadata.mediaTime - tile.first) * tile.fps + 0.01);
        el.dataset.presented = String(frame);
        var wanted = el.dataset.frame;
        if (wanted !== "" && wanted !== undefined && Number(wanted) !== frame && !tile.video.seeking && tile.retries < 3) {
          tile.retries += 1;
          tile.video.currentTime = tile.first + Number(wanted) / tile.fps + 0.001;
        }
      }
      tile.video.requestVideoFrameCallback(presented);
    }
    if (tile.video.requestVideoFrameCallback) tile.video.requestVideoFrameCallback(presented);
    return tile;
  });

  function place(tile, ms) {
    var inside = ms >= tile.start && ms < tile.end;
    tile.el.querySelector(".tile-none").hidden = inside;
    tile.el.classList.toggle("outside", !inside);
    var trueOut = tile.el.querySelector(".true-time");
    var recorderOut = tile.el.querySelector(".recorder-time");
    if (!inside) {
      trueOut.textContent = "—";
      recorderOut.textContent = "—";
      tile.el.dataset.frame = "";
      return;
    }
    // The frame shown at the instant: the last one that began at or before it.
    var frame = Math.floor(((ms - tile.start) / 1000) * tile.fps + 1e-6);
    var frameMs = tile.start + Math.round((frame * 1000) / tile.fps);
    trueOut.textContent = format(frameMs);
    trueOut.dataset.ms = String(frameMs);
    recorderOut.textContent = format(frameMs + tile.offset);
    tile.el.dataset.frame = String(frame);
    if (tile.first === null) return;
    tile.retries = 0;
    tile.video.pause();
    tile.video.currentTime = tile.first + frame / tile.fps + 0.001;
  }

  function choose(ms) {
    ms = Math.max(start, Math.min(end, Math.round(ms)));
    chosen = ms;
    instantOut.textContent = format(ms);
    instantOut.dataset.ms = String(ms);
    var left = ((ms - start) / Math.max(1, end - start)) * 100 + "%";
    Array.prototype.forEach.call(document.querySelectorAll(".cursor"), function (c) {
      c.style.left = left;
      c.hidden = false;
    });
    document.getElementById("axis").setAttribute("aria-valuenow", String(ms));
    tiles.forEach(function (tile) { place(tile, ms); });
    if (markerAt) markerAt.value = String(ms);
    if (markerClip) {
      var covering = tiles.filter(function (t) { return ms >= t.start && ms < t.end; })[0];
      if (covering) markerClip.value = covering.clip;
    }
  }

  function fromClick(event) {
    var box = event.currentTarget.getBoundingClientRect();
    choose(start + ((event.clientX - box.left) / box.width) * (end - start));
  }
  document.getElementById("axis").addEventListener("click", fromClick);
  Array.prototype.forEach.call(document.querySelectorAll(".lane-track"), function (track) {
    track.addEventListener("click", fromClick);
  });
  document.getElementById("axis").addEventListener("keydown", function (event) {
    var step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (step) { event.preventDefault(); choose((chosen === null ? start : chosen) + step * 1000); }
  });
  function frameStep(frames) {
    var fps = tiles.length ? tiles[0].fps : 25;
    choose((chosen === null ? start : chosen) + (frames * 1000) / fps);
  }
  document.getElementById("instant-back").addEventListener("click", function () { frameStep(-1); });
  document.getElementById("instant-forward").addEventListener("click", function () { frameStep(1); });
  Array.prototype.forEach.call(document.querySelectorAll(".marker-go"), function (button) {
    button.addEventListener("click", function () { choose(Number(button.dataset.atMs)); });
  });

  // The map: each camera of the timeline, and the incident, with or without tiles.
  var mapEl = document.getElementById("timeline-map");
  if (mapEl && window.L) {
    var centre = [parseFloat(mapEl.dataset.lat), parseFloat(mapEl.dataset.lon)];
    var map = L.map(mapEl).setView(centre, 17);
    if (mapEl.dataset.tiles) {
      L.tileLayer(mapEl.dataset.tiles, { maxZoom: 19 }).addTo(map);
      map.attributionControl.setPrefix(false);
      var span = document.createElement("span");
      span.textContent = mapEl.dataset.attribution || "";
      map.attributionControl.addAttribution(span.innerHTML);
    }
    var points = [centre];
    L.circleMarker(centre, { radius: 6, color: "#cf222e" }).addTo(map).bindTooltip(document.createTextNode(mapEl.dataset.incident));
    Array.prototype.forEach.call(document.querySelectorAll(".lane"), function (lane) {
      var point = [parseFloat(lane.dataset.lat), parseFloat(lane.dataset.lon)];
      points.push(point);
      var label = document.createElement("span");
      label.textContent = lane.dataset.label;
      L.circleMarker(point, { radius: 8, color: "#0969da" }).addTo(map).bindTooltip(label, { permanent: true });
    });
    if (points.length > 1) map.fitBounds(points, { padding: [30, 30], maxZoom: 18 });
  }

  var asked = new URLSearchParams(window.location.search).get("at");
  choose(asked ? Number(asked) : start + (end - start) / 2);
})();
