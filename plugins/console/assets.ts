/**
 * The console's only script: a Copy button for a newly issued key. Every page works without
 * it; nothing is stored in the browser.
 */
export const SCRIPT = `"use strict";
document.addEventListener("click", function (event) {
  var button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
  if (!button || !navigator.clipboard) return;
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (!source) return;
  navigator.clipboard.writeText(source.textContent || "").then(function () { button.textContent = "Copied"; });
});
`
