// Case map: cameras near the incident, coloured by how soon the recorder overwrites the footage; and the place
// picker of the new-case form. Works without tiles (stations often have no internet): markers and lists still show.
// Every label comes from owners and imports: set with textContent, never parsed as HTML.
(function () {
  "use strict";
  function colour(camera) {
    if (camera.overwritten) return "#6e7781";
    var hours = (new Date(camera.overwrite_deadline) - new Date()) / 3600000;
    if (hours < 48) return "#cf222e";
    if (hours < 168) return "#bc4c00";
    return "#1a7f37";
  }
  function escapeText(value) {
    var span = document.createElement("span");
    span.textContent = value;
    return span.innerHTML;
  }
  function baseMap(el, zoom) {
    var centre = [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)];
    var map = L.map(el).setView(centre, zoom);
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { maxZoom: 19 }).addTo(map);
      // Leaflet reads an attribution as HTML: the configured text is escaped before it is handed over.
      map.attributionControl.setPrefix(false);
      map.attributionControl.addAttribution(escapeText(el.dataset.attribution || ""));
    }
    return { map: map, centre: centre };
  }
  // "10.7769, 106.7009", "10,7769, 106,7009" or "10.7769 106.7009" → [lat, lon]; null when not two numbers.
  function parsePoint(text) {
    var found = /^\s*\(?\s*(-?\d+(?:[.,]\d+)?)\s*(?:[,;]\s*|\s+)(-?\d+(?:[.,]\d+)?)\s*\)?\s*$/.exec(text || "");
    if (!found) return null;
    return [parseFloat(found[1].replace(",", ".")), parseFloat(found[2].replace(",", "."))];
  }
  // The camera chosen for the one-camera request: the select's option, added when the list's page lacks it.
  function chooseCamera(id, name) {
    var select = document.getElementById("camera_id");
    if (!select) return false;
    var option = Array.prototype.find.call(select.options, function (o) { return o.value === id; });
    if (!option) {
      option = document.createElement("option");
      option.value = id;
      option.textContent = name;
      select.appendChild(option);
    }
    select.value = id;
    select.scrollIntoView({ block: "center" });
    select.focus();
    return true;
  }

  function casePage(el) {
    var made = baseMap(el, 16), map = made.map;
    L.circleMarker(made.centre, { radius: 8, color: "#0b5cad", weight: 3, fillOpacity: 0.2 }).addTo(map);
    // A click on the map centres the area request there; the circle shows the radius the form will ask for.
    var form = document.getElementById("area-request");
    if (form) {
      var lat = form.querySelector("input[name=lat]");
      var lon = form.querySelector("input[name=lon]");
      var radius = form.querySelector("input[name=radius_m]");
      var area = null;
      var number = function (input) { return parseFloat(String(input.value).replace(",", ".")); };
      var draw = function () {
        var point = [number(lat), number(lon)];
        var metres = number(radius);
        if (isNaN(point[0]) || isNaN(point[1]) || !(metres > 0)) return;
        if (area) { area.setLatLng(point).setRadius(metres); return; }
        area = L.circle(point, { radius: metres, color: "#0b5cad", weight: 2, dashArray: "6 4", fillOpacity: 0.08,
          className: "area-radius", interactive: false }).addTo(map);
      };
      map.on("click", function (event) {
        lat.value = event.latlng.lat.toFixed(6);
        lon.value = event.latlng.lng.toFixed(6);
        draw();
      });
      [lat, lon, radius].forEach(function (input) { input.addEventListener("input", draw); });
    }
    // The list's "use this camera" links fill the request form without leaving the page.
    Array.prototype.forEach.call(document.querySelectorAll("a.choose-camera"), function (link) {
      link.addEventListener("click", function (event) {
        var row = link.closest("tr");
        var name = row ? row.querySelector("td").textContent : "";
        if (chooseCamera(link.dataset.cameraId, name)) event.preventDefault();
      });
    });
    fetch(el.dataset.cameras + "?limit=1000", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        (data.items || []).forEach(function (camera) {
          var marker = L.circleMarker([camera.lat, camera.lon], {
            radius: 7, color: colour(camera), fillColor: colour(camera), fillOpacity: 0.8,
          }).addTo(map);
          var text = camera.name + " — " + camera.distance + " — " + el.dataset.labelDeadline + ": " +
            camera.overwrite_deadline_local + " · " + el.dataset.labelConsent + ": " + camera.consent_words;
          var tip = document.createElement("span");
          tip.textContent = text;
          marker.bindTooltip(tip);
          marker.on("click", function () { chooseCamera(camera.id, camera.name); });
        });
      });
  }

  function placePicker(el) {
    var made = baseMap(el, 13), map = made.map;
    var point = document.getElementById("incident_point");
    var lat = document.getElementById("incident_lat");
    var lon = document.getElementById("incident_lon");
    var marker = null;
    var place = function (latlng, pan) {
      if (marker) marker.setLatLng(latlng); else marker = L.marker(latlng, { keyboard: false }).addTo(map);
      if (pan) map.panTo(latlng);
    };
    map.on("click", function (event) {
      lat.value = event.latlng.lat.toFixed(6);
      lon.value = event.latlng.lng.toFixed(6);
      point.value = lat.value + ", " + lon.value;
      place(event.latlng, false);
    });
    point.addEventListener("input", function () {
      var parsed = parsePoint(point.value);
      if (!parsed) return;
      lat.value = String(parsed[0]);
      lon.value = String(parsed[1]);
      place(parsed, true);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.L) return;
    var el = document.getElementById("map");
    if (el) casePage(el);
    var picker = document.getElementById("place-map");
    if (picker) placePicker(picker);
  });
})();
