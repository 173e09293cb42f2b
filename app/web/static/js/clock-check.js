// The recorder's clock, measured (owner link page): a ticking clock of the true time in the camera's zone, and
// one reading of the recorder screen posted as a clock check. The true time is the server's (sent with the
// page), carried forward by this device's clock, so a phone whose own clock is wrong still shows the right time.
(function () {
  "use strict";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // Calendar fields of an instant in a time zone: {y, m, d, h, mi, s}.
  function fieldsIn(tz, ms) {
    var parts = new Intl.DateTimeFormat("en-GB", {
      timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit"
    }).formatToParts(new Date(ms));
    var f = {};
    parts.forEach(function (p) { f[p.type] = parseInt(p.value, 10); });
    return { y: f.year, m: f.month, d: f.day, h: f.hour % 24, mi: f.minute, s: f.second };
  }

  function unit(section, n, one, many) {
    return n + " " + (n === 1 ? section.dataset[one] : section.dataset[many]);
  }

  // "2 phút 5 giây" / "2 minutes 5 seconds": whole seconds, largest unit first, zero parts left out.
  function duration(section, seconds) {
    var total = Math.round(Math.abs(seconds));
    var h = Math.floor(total / 3600), mi = Math.floor((total % 3600) / 60), s = total % 60;
    var out = [];
    if (h) out.push(unit(section, h, "hour", "hours"));
    if (mi) out.push(unit(section, mi, "minute", "minutes"));
    if (s || !out.length) out.push(unit(section, s, "second", "seconds"));
    return out.join(" ");
  }

  function sentence(section, offset, uncertainty) {
    var text;
    if (Math.abs(offset) < 1) text = section.dataset.exact;
    else text = (offset > 0 ? section.dataset.fast : section.dataset.slow).replace("{duration}", duration(section, offset));
    if (uncertainty) text += " " + section.dataset.margin.replace("{duration}", duration(section, uncertainty));
    return text;
  }

  // "20:14:05", "20.14.05", "201405" (a phone's number pad has no colon) or "20:14" -> "20:14:05"; else null.
  function readTime(text) {
    var m = text.trim().match(/^(\d{1,2})\D*(\d{2})(?:\D*(\d{2}))?$/);
    if (!m) return null;
    var h = parseInt(m[1], 10), mi = parseInt(m[2], 10), s = m[3] ? parseInt(m[3], 10) : 0;
    if (h > 23 || mi > 59 || s > 59) return null;
    return pad(h) + ":" + pad(mi) + ":" + pad(s);
  }

  // "23/11/2026", "23112026" (day first, as dates are written in Vietnam) or "2026-11-23" -> "2026-11-23";
  // "" when none is typed; null when it is no date.
  function readDate(text) {
    text = text.trim();
    if (!text) return "";
    var iso = text.match(/^(\d{4})-(\d{1,2})-(\d{1,2})$/);
    var dmy = text.match(/^(\d{1,2})\D*(\d{1,2})\D*(\d{4})$/);
    var y, m, d;
    if (iso) { y = +iso[1]; m = +iso[2]; d = +iso[3]; } else if (dmy) { y = +dmy[3]; m = +dmy[2]; d = +dmy[1]; } else return null;
    var day = new Date(Date.UTC(y, m - 1, d));
    if (day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) return null;
    return y + "-" + pad(m) + "-" + pad(d);
  }

  // The reading as the recorder shows it (naive, camera-local). Without a date typed, the day is the one that
  // puts the reading nearest the true time (a reading of 23:59:58 just after midnight is of yesterday).
  function displayed(time, date, tz, trueMs) {
    if (date) return date + "T" + time;
    var now = fieldsIn(tz, trueMs);
    var hms = time.split(":").map(function (v) { return parseInt(v, 10); });
    var nowNaive = Date.UTC(now.y, now.m - 1, now.d, now.h, now.mi, now.s);
    var best = null;
    [-1, 0, 1].forEach(function (shift) {
      var candidate = Date.UTC(now.y, now.m - 1, now.d + shift, hms[0], hms[1], hms[2] || 0);
      if (best === null || Math.abs(candidate - nowNaive) < Math.abs(best - nowNaive)) best = candidate;
    });
    var day = new Date(best);
    return day.getUTCFullYear() + "-" + pad(day.getUTCMonth() + 1) + "-" + pad(day.getUTCDate()) + "T" + time;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var section = document.getElementById("clock-check");
    if (!section) return;
    var tz = section.dataset.tz;
    var skew = parseInt(section.dataset.serverNow, 10) - Date.now();
    var trueNow = function () { return Date.now() + skew; };
    var face = document.getElementById("true-clock");
    var dayFirst = section.dataset.locale === "vi"; // as the pages write dates: 23/11/2026 or 2026-11-23
    function tick() {
      var f = fieldsIn(tz, trueNow());
      var day = dayFirst ? pad(f.d) + "/" + pad(f.m) + "/" + f.y : f.y + "-" + pad(f.m) + "-" + pad(f.d);
      face.textContent = pad(f.h) + ":" + pad(f.mi) + ":" + pad(f.s) + " " + day;
    }
    tick();
    setInterval(tick, 250);

    var latest = document.getElementById("clock-latest");
    if (latest && section.dataset.latestOffset) {
      latest.textContent = sentence(
        section, parseFloat(section.dataset.latestOffset), parseFloat(section.dataset.latestUncertainty)
      );
    }

    var form = document.getElementById("clock-check-form");
    var input = document.getElementById("clock-displayed");
    var result = document.getElementById("clock-result");
    var readAt = null; // when the person began typing what they read: the moment of the reading
    input.addEventListener("input", function () { if (readAt === null) readAt = performance.now(); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var time = readTime(input.value);
      var date = readDate(document.getElementById("clock-date").value);
      if (time === null || date === null) {
        result.textContent = section.dataset.invalid;
        result.className = "error";
        input.focus();
        return;
      }
      var body = { displayed: displayed(time, date, tz, trueNow()) };
      // Measured by this device's elapsed-time clock, which its wall clock's error does not touch.
      var ago = readAt === null ? null : (performance.now() - readAt) / 1000;
      if (ago !== null && ago >= 0 && ago <= 600) body.read_ago_s = Math.round(ago * 10) / 10;
      var button = document.getElementById("clock-record");
      button.disabled = true;
      fetch(section.dataset.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(body)
      }).then(function (response) {
        return response.json().then(function (answer) { return { ok: response.ok, status: response.status, answer: answer }; });
      }).then(function (reply) {
        if (reply.ok) {
          result.textContent = sentence(section, reply.answer.offset_seconds, reply.answer.uncertainty_s);
          result.className = "ok";
          result.dataset.offset = reply.answer.offset_seconds;
          // The upload form's offset field, when the page has one, carries the measured offset with the file.
          var offsetField = document.getElementById("clock-offset");
          if (offsetField) offsetField.value = Math.round(reply.answer.offset_seconds);
        } else if (reply.status === 422) {
          result.textContent = section.dataset.invalid;
          result.className = "error";
        } else {
          result.textContent = section.dataset.failed + " " + (reply.answer.detail || reply.status);
          result.className = "error";
        }
        readAt = null;
      }).catch(function () {
        result.textContent = section.dataset.network;
        result.className = "error";
      }).then(function () { button.disabled = false; });
    });
  });
})();
