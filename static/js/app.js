// Small progressive enhancements; every page works without them. The live parts of the pages are htmx's (a
// poller asks for a partial and morphs it in), so the handlers here are delegated: they keep working on cards
// that arrive later.
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

  // A form marked data-once cannot be sent twice by a double click; data-confirm asks first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = (event.submitter && event.submitter.dataset.confirm) || form.dataset.confirm;
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    if (form.hasAttribute("data-once")) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.disabled = true;
        if (button.dataset.busyLabel) button.textContent = button.dataset.busyLabel;
      });
    }
  });

  // Copy one bio, or all of a persona's. While a button says "Copied" the live update leaves it alone.
  function copied(button, text) {
    var label = button.textContent;
    navigator.clipboard.writeText(text).then(function () {
      button.setAttribute("hx-morph-skip", "");
      button.textContent = "Copied";
      button.classList.add("copied");
      setTimeout(function () {
        button.textContent = label;
        button.classList.remove("copied");
        button.removeAttribute("hx-morph-skip");
      }, 3000);
    });
  }
  document.addEventListener("click", function (event) {
    var one = event.target.closest("button[data-copy]");
    if (one) { copied(one, document.getElementById(one.dataset.copy).textContent.trim()); return; }
    var all = event.target.closest("button[data-copy-all]");
    if (all) {
      var parts = [];
      document.getElementById(all.dataset.copyAll).querySelectorAll(".bio-text").forEach(function (bio) {
        parts.push(bio.dataset.platform + ":\n" + bio.textContent.trim());
      });
      copied(all, parts.join("\n\n"));
    }
  });

  // Bios drawers: a dialog per persona. A click on the backdrop closes any dialog.
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open]");
    if (opener) { document.getElementById(opener.dataset.open).showModal(); return; }
    if (event.target.tagName === "DIALOG") event.target.close();
    // An open "More" menu closes when the click lands elsewhere, or on one of its links (a download).
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target) || event.target.closest(".menu-items a")) menu.removeAttribute("open");
    });
  });

  // Larger view of an image, with previous/next (buttons and arrow keys), download and "Regenerate this photo".
  var lightbox = document.getElementById("lightbox");
  if (lightbox) {
    var current = 0;
    var links = function () { return Array.prototype.slice.call(document.querySelectorAll("#gallery a[data-lightbox]")); };
    var show = function (index) {
      var all = links();
      if (!all.length) return;
      current = (index + all.length) % all.length;
      var link = all[current];
      var image = lightbox.querySelector("img");
      image.src = link.href;
      image.alt = link.querySelector("img") ? link.querySelector("img").alt : "";
      lightbox.querySelector(".lightbox-caption").textContent = link.dataset.caption || "";
      lightbox.querySelector(".lightbox-verdict").textContent = link.dataset.verdict || "";
      lightbox.querySelector(".lightbox-count").textContent = (current + 1) + " / " + all.length;
      lightbox.querySelector("[data-lightbox-download]").href = link.href;
      var regenerate = lightbox.querySelector("[data-lightbox-regenerate]");
      var owner = link.closest("[data-regenerate]");
      regenerate.hidden = !owner;
      if (owner) {
        regenerate.action = owner.dataset.regenerate;
        regenerate.querySelector("[name=position]").value = link.dataset.position;
      }
    };
    document.addEventListener("click", function (event) {
      var link = event.target.closest("a[data-lightbox]");
      if (!link) return;
      event.preventDefault();
      show(links().indexOf(link));
      if (!lightbox.open) lightbox.showModal();
    });
    lightbox.querySelector("[data-lightbox-prev]").addEventListener("click", function () { show(current - 1); });
    lightbox.querySelector("[data-lightbox-next]").addEventListener("click", function () { show(current + 1); });
    lightbox.addEventListener("keydown", function (event) {
      if (event.key === "ArrowLeft") { event.preventDefault(); show(current - 1); }
      if (event.key === "ArrowRight") { event.preventDefault(); show(current + 1); }
    });
  }

  // A long description is clamped, with "Show more".
  document.querySelectorAll("[data-expand]").forEach(function (button) {
    var box = document.getElementById(button.dataset.expand);
    if (box.scrollHeight <= box.clientHeight + 2) return;
    box.classList.add("clamped");
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = box.classList.toggle("expanded");
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.textContent = open ? "Show less" : "Show more";
    });
  });

  // An opt-in browser notification when the task on this page ends.
  var status = function () { return document.getElementById("status-bar"); };
  var notify = document.querySelector("[data-notify]");
  if (notify && status() && "Notification" in window) {
    notify.hidden = false;
    var wanted = false;
    notify.addEventListener("click", function () {
      Notification.requestPermission().then(function (answer) {
        wanted = answer === "granted";
        notify.textContent = wanted ? "You will be notified" : "Notifications are blocked";
        notify.disabled = true;
      });
    });
    var finished = status().dataset.finished === "true";
    new MutationObserver(function () {
      var bar = status();
      if (!bar || finished || bar.dataset.finished !== "true") return;
      finished = true;
      notify.hidden = true;
      if (wanted) {
        var title = document.getElementById("live").dataset.taskTitle;
        new Notification("Task " + bar.querySelector("[data-status-badge]").textContent.trim(), { body: title });
      }
    }).observe(document.getElementById("live"), { subtree: true, attributes: true, attributeFilter: ["data-finished"] });
  }
})();
