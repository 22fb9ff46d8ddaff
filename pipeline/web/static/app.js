// callqa review: seek the redacted audio from evidence, turn times and the timeline, and keep
// the transcript's current turn highlighted. Plain JavaScript, no build step.
"use strict";

(function () {
  function turns() {
    return Array.prototype.slice.call(document.querySelectorAll("#transcript .turn[data-start]"))
      .filter(function (el) { return el.dataset.start !== ""; });
  }

  // The turn playing at time t: the last turn that started at or before it.
  function turnAt(t) {
    var found = null;
    turns().forEach(function (el) {
      if (parseFloat(el.dataset.start) <= t + 0.001) { found = el; }
    });
    return found;
  }

  function highlight(t, scroll) {
    var current = turnAt(t);
    turns().forEach(function (el) { el.classList.toggle("current", el === current); });
    if (current && scroll) { current.scrollIntoView({ block: "center" }); }
    return current;
  }

  function seek(t) {
    var player = document.getElementById("player");
    if (player) {
      player.currentTime = t;
    }
    highlight(t, true);
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-seek]");
    if (!target) { return; }
    var t = parseFloat(target.dataset.seek);
    if (!isNaN(t)) { seek(t); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var player = document.getElementById("player");
    if (player) {
      player.addEventListener("timeupdate", function () { highlight(player.currentTime, false); });
    }
  });
})();
