// The public appeal page: the area on a map, a pin for where the file was taken, and the upload itself — the raw
// file as the request body (streamed by the browser), with progress. Texts come from the page (its language).
(function () {
  "use strict";
  function baseMap(el, zoom) {
    var centre = [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)];
    var map = L.map(el).setView(centre, zoom);
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { maxZoom: 19 }).addTo(map);
      var span = document.createElement("span");
      span.textContent = el.dataset.attribution || "";
      map.attributionControl.setPrefix(false);
      map.attributionControl.addAttribution(span.innerHTML);
    }
    return { map: map, centre: centre };
  }
  function word(key) {
    var el = document.querySelector('#appeal-words');
    var found = el && el.content.querySelector('[data-key="' + key + '"]');
    return found ? found.textContent : key;
  }
  function init() {
    var area = document.getElementById("appeal-area");
    if (area && window.L) {
      var a = baseMap(area, 15);
      L.circle(a.centre, { radius: parseFloat(area.dataset.radius), color: "#0b5cad" }).addTo(a.map);
    }
    var form = document.getElementById("appeal-form");
    if (!form) return;
    var messages = JSON.parse(form.dataset.messages || "{}");
    var statusEl = document.getElementById("appeal-status");
    var pinText = document.getElementById("pin-text");
    var latEl = document.getElementById("pin-lat"), lonEl = document.getElementById("pin-lon");
    var marker = null, pinMap = null;
    function setPin(lat, lon) {
      latEl.value = lat.toFixed(6);
      lonEl.value = lon.toFixed(6);
      pinText.textContent = word("pin").replace("{place}", latEl.value + ", " + lonEl.value);
      if (pinMap) {
        if (marker) marker.setLatLng([lat, lon]); else marker = L.marker([lat, lon]).addTo(pinMap);
      }
    }
    var pinEl = document.getElementById("pin-map");
    if (pinEl && window.L) {
      pinMap = baseMap(pinEl, 16).map;
      pinMap.on("click", function (e) { setPin(e.latlng.lat, e.latlng.lng); });
    }
    document.getElementById("use-location").addEventListener("click", function () {
      if (!navigator.geolocation) { pinText.textContent = word("nolocation"); return; }
      navigator.geolocation.getCurrentPosition(function (p) {
        setPin(p.coords.latitude, p.coords.longitude);
        if (pinMap) pinMap.setView([p.coords.latitude, p.coords.longitude], 17);
      }, function () { pinText.textContent = word("nolocation"); }, { timeout: 10000 });
    });
    function refusal(xhr) {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
      if (xhr.status === 413) return messages[form.dataset.tooLarge] || word("general");
      if (xhr.status === 503) return word("busy");
      var said = (body.errors && body.errors.length) ? body.errors[0].message : body.detail;
      return messages[said] || word("general");
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = document.getElementById("appeal-file").files[0];
      if (!file) return;
      if (file.size > parseInt(form.dataset.maxBytes, 10)) {
        statusEl.textContent = messages[form.dataset.tooLarge];
        statusEl.className = "error";
        return;
      }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.url);
      xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-Filename", encodeURIComponent(file.name));
      xhr.setRequestHeader("X-Attestation", document.getElementById("attest").checked ? form.dataset.attestation : "");
      var taken = document.getElementById("taken-at").value;
      if (taken) xhr.setRequestHeader("X-Taken-At", taken);
      if (latEl.value) { xhr.setRequestHeader("X-Lat", latEl.value); xhr.setRequestHeader("X-Lon", lonEl.value); }
      var texts = { "X-Contact-Name": "contact-name", "X-Contact-Phone": "contact-phone", "X-Description": "description" };
      Object.keys(texts).forEach(function (header) {
        var value = document.getElementById(texts[header]).value.trim();
        if (value) xhr.setRequestHeader(header, encodeURIComponent(value));
      });
      var progress = document.getElementById("appeal-progress");
      var button = document.getElementById("appeal-send");
      progress.hidden = false; progress.value = 0; button.disabled = true;
      statusEl.textContent = word("sending"); statusEl.className = "hint";
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) progress.value = Math.round((e.loaded / e.total) * 100);
      });
      xhr.onload = function () {
        button.disabled = false;
        if (xhr.status === 202 || xhr.status === 201) {
          var receipt = JSON.parse(xhr.responseText);
          progress.value = 100;
          document.getElementById("receipt-reference").textContent = receipt.reference;
          document.getElementById("receipt-hash").textContent = receipt.sha256;
          form.hidden = true; statusEl.textContent = "";
          document.getElementById("appeal-done").hidden = false;
        } else {
          progress.hidden = true;
          statusEl.textContent = refusal(xhr); statusEl.className = "error";
        }
      };
      xhr.onerror = function () {
        button.disabled = false; progress.hidden = true;
        statusEl.textContent = word("general"); statusEl.className = "error";
      };
      xhr.send(file);
    });
    document.getElementById("send-another").addEventListener("click", function () {
      form.reset(); form.hidden = false; latEl.value = ""; lonEl.value = "";
      document.getElementById("appeal-progress").hidden = true;
      document.getElementById("appeal-done").hidden = true;
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
