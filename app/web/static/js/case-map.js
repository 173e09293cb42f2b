// Case map: cameras near the incident, coloured by how soon the recorder overwrites the footage.
// Works without tiles (stations often have no internet): markers and the list still show.
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
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("map");
    if (!el || !window.L) return;
    var centre = [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)];
    var map = L.map(el).setView(centre, 16);
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { maxZoom: 19 }).addTo(map);
      // Leaflet reads an attribution as HTML: the configured text is escaped before it is handed over.
      map.attributionControl.setPrefix(false);
      map.attributionControl.addAttribution(escapeText(el.dataset.attribution || ""));
    }
    L.circleMarker(centre, { radius: 8, color: "#0b5cad", weight: 3, fillOpacity: 0.2 }).addTo(map);
    // A click on the map centres the area request there; the circle shows the radius the form will ask for.
    var form = document.getElementById("area-request");
    if (form) {
      var lat = form.querySelector("input[name=lat]");
      var lon = form.querySelector("input[name=lon]");
      var radius = form.querySelector("input[name=radius_m]");
      var area = null;
      var draw = function () {
        var point = [parseFloat(lat.value), parseFloat(lon.value)];
        var metres = parseFloat(radius.value);
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
    var list = document.querySelector("#camera-list tbody");
    fetch(el.dataset.cameras, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        (data.items || []).forEach(function (camera) {
          var marker = L.circleMarker([camera.lat, camera.lon], {
            radius: 7, color: colour(camera), fillColor: colour(camera), fillOpacity: 0.8,
          }).addTo(map);
          var text = camera.label + " — " + el.dataset.labelDeadline + ": " + camera.overwrite_deadline_local +
            " · " + el.dataset.labelConsent + ": " + camera.consent;
          // Labels come from owners and imports: shown as text, never parsed as HTML.
          var tip = document.createElement("span");
          tip.textContent = text;
          marker.bindTooltip(tip);
          var row = document.createElement("tr");
          row.className = "camera-row";
          row.dataset.cameraId = camera.id;
          var cell = document.createElement("td");
          cell.textContent = text;
          var pick = document.createElement("td");
          var button = document.createElement("button");
          button.type = "button";
          button.className = "secondary";
          button.textContent = el.dataset.labelChoose;
          button.addEventListener("click", function () {
            var input = document.getElementById("camera_id");
            if (input) { input.value = camera.id; input.focus(); }
          });
          pick.appendChild(button);
          row.appendChild(cell);
          row.appendChild(pick);
          list.appendChild(row);
        });
      });
  });
})();
