// Keep the reader's section when switching edition: section ids are the same in both editions.
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("a.report-alternate");
  if (link && window.location.hash) {
    link.href = link.href.split("#")[0] + window.location.hash;
  }
}, true);
