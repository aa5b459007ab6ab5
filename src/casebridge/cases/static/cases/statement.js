/* The settlement statement's Print button ([data-print]): a file, not an inline onclick,
   for the Content-Security-Policy. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target.closest("[data-print]") : null;
    if (target) {
      event.preventDefault();
      window.print();
    }
  });
})();
