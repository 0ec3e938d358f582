// Language switcher: go to the same page of the other edition *and the same section*.
// Section ids are identical in both editions. Runs in the capture phase and takes over the
// navigation, so the theme's own switcher logic (which needs an absolute site_url) stays out.
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("a.report-alternate");
  if (!link || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  event.stopPropagation();
  window.location.href = link.href.split("#")[0] + window.location.hash;
}, true);

// Material's search dialog has no accessible name (axe: aria-dialog-name): name it after its input.
document.querySelectorAll("[role=dialog]:not([aria-label])").forEach(function (dialog) {
  var input = dialog.querySelector("input");
  if (input) dialog.setAttribute("aria-label", input.getAttribute("aria-label") || input.placeholder);
});

// The hreflang alternates in the head are for search engines. Material's script reads every
// <link rel=alternate> once, on DOMContentLoaded, then requests a sitemap.xml next to each (a
// request that fails on every page) and takes over clicks on links below them. This script runs
// before that event: the links are out of its sight while it starts, and back right after.
(function () {
  var alternates = document.querySelectorAll("link[rel=alternate][hreflang]");
  alternates.forEach(function (link) { link.setAttribute("rel", "report-alternate"); });
  document.addEventListener("DOMContentLoaded", function () {
    alternates.forEach(function (link) { link.setAttribute("rel", "alternate"); });
  });
})();
