// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Length counter under the persona description.
  document.querySelectorAll("textarea[data-counter]").forEach(function (area) {
    var counter = document.getElementById(area.dataset.counter);
    if (!counter) return;
    var max = parseInt(counter.dataset.max, 10);
    function update() {
      counter.textContent = area.value.length + " / " + max;
      counter.classList.toggle("over", area.value.length > max);
    }
    area.addEventListener("input", update);
    update();
  });

  // A form marked data-once cannot be sent twice by a double click.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.disabled = true;
        if (button.dataset.busyLabel) button.textContent = button.dataset.busyLabel;
      });
    });
  });

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  // Copy buttons next to bios (delegated, so refreshed galleries keep working).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) return;
    var text = document.getElementById(button.dataset.copy).textContent;
    navigator.clipboard.writeText(text).then(function () {
      button.textContent = "Copied";
      button.classList.add("copied");
      setTimeout(function () { button.textContent = "Copy"; button.classList.remove("copied"); }, 1500);
    });
  });

  // Larger view of an image in a dialog.
  var lightbox = document.getElementById("lightbox");
  if (lightbox) {
    document.addEventListener("click", function (event) {
      var link = event.target.closest("a[data-lightbox]");
      if (!link) return;
      event.preventDefault();
      var image = lightbox.querySelector("img");
      image.src = link.href;
      image.alt = link.querySelector("img") ? link.querySelector("img").alt : "";
      lightbox.querySelector(".lightbox-caption").textContent = link.dataset.caption || "";
      lightbox.showModal();
    });
    lightbox.addEventListener("click", function (event) { if (event.target === lightbox) lightbox.close(); });
  }

  // The task page follows its task while it runs, without a full reload.
  var panel = document.getElementById("progress");
  if (panel && panel.dataset.finished !== "true") {
    var shown = { with_data: null, with_images: null };
    var refreshGallery = function () {
      var page = new URLSearchParams(window.location.search).get("page") || "1";
      return fetch(panel.dataset.galleryUrl + "?page=" + encodeURIComponent(page), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) { if (html !== null) document.getElementById("gallery").innerHTML = html; });
    };
    var poll = function () {
      fetch(panel.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
        .then(function (state) {
          ["with_data", "with_images"].forEach(function (key) {
            panel.querySelector('[data-bar="' + key + '"]').value = state[key];
            panel.querySelector('[data-count="' + key + '"]').textContent = state[key] + " / " + state.asked;
          });
          panel.querySelector('[data-count="failed_units"]').textContent = state.failed_units;
          panel.querySelector("[data-duration]").textContent = state.duration;
          panel.querySelector("[data-duration-label]").textContent = state.duration_label;
          panel.querySelector("[data-genders]").textContent = state.women + " / " + state.men;
          document.querySelectorAll("[data-status-badge]").forEach(function (badge) {
            badge.textContent = state.status_label;
            badge.className = "badge badge-" + state.status;
          });
          var changed = shown.with_data !== state.with_data || shown.with_images !== state.with_images;
          shown = { with_data: state.with_data, with_images: state.with_images };
          var next = changed ? refreshGallery() : Promise.resolve();
          if (state.finished) {
            panel.dataset.finished = "true";
            panel.querySelector("[data-live-note]").textContent = "Finished: " + state.status_label + ".";
            document.querySelectorAll("[data-cancel]").forEach(function (b) { b.closest("form").remove(); });
            next.then(refreshGallery);
          } else {
            setTimeout(poll, 2000);
          }
        })
        .catch(function () { setTimeout(poll, 5000); });
    };
    setTimeout(poll, 1000);
  }
})();
