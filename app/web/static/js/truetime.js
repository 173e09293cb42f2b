// A true instant (milliseconds since the epoch) written in a camera's time zone to the millisecond, labelled with
// the zone, in the page's language order: "14:05:07.040 25/11/2026 (Asia/Ho_Chi_Minh)" or "2026-11-25 14:05:07.040
// (Asia/Ho_Chi_Minh)". Shared by the player and the case timeline.
(function () {
  "use strict";

  function pad(n, width) { n = String(n); while (n.length < width) n = "0" + n; return n; }

  function format(ms, zone, locale) {
    var parts = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit"
    }).formatToParts(new Date(ms));
    var f = {};
    parts.forEach(function (p) { f[p.type] = p.value; });
    var clock = f.hour + ":" + f.minute + ":" + f.second + "." + pad(((ms % 1000) + 1000) % 1000, 3);
    var date = locale === "vi" ? f.day + "/" + f.month + "/" + f.year : f.year + "-" + f.month + "-" + f.day;
    return (locale === "vi" ? clock + " " + date : date + " " + clock) + " (" + zone + ")";
  }

  window.TrueTime = { format: format };
})();
