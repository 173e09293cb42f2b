// Names the file(s) chosen in a page's own file field (templates/_file_picker.html), in the page's language.
(function () {
  "use strict";
  function show(input) {
    var out = document.querySelector('.file-chosen[data-for="' + input.id + '"]');
    if (!out) return;
    var files = input.files || [];
    if (files.length === 0) out.textContent = out.dataset.none;
    else if (files.length === 1) out.textContent = files[0].name;
    else out.textContent = out.dataset.many.replace("{n}", String(files.length));
  }
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.type === "file") show(input);
  });
  document.addEventListener("reset", function (event) {
    window.setTimeout(function () {
      Array.prototype.forEach.call(event.target.querySelectorAll("input[type=file]"), show);
    }, 0);
  });
})();
