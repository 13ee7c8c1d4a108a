// Inlined on pages with widgets, between RequireJS and the widget manager (book/build.py).
// 1. Where the widget manager lives: it fetches its fonts from the folder RequireJS places its
//    module in, by default beside the page (404s). Found from require.js's own URL.
require.config({
  paths: {
    "@jupyter-widgets/html-manager/dist": new URL(
      "../html-manager/dist",
      document.querySelector('script[src*="_vendor/requirejs/require.js"]').src,
    ).href,
  },
});
// 2. The widgets typeset their labels with MathJax 2's MathJax.Hub.Queue, which MathJax 3 lacks
//    ("Cannot read properties of undefined (reading 'Queue')"): the same call, in MathJax 3.
//    MathJax (deferred) has replaced its configuration object by DOMContentLoaded, and the
//    widgets are drawn after this listener.
document.addEventListener("DOMContentLoaded", () => {
  if (window.MathJax && MathJax.startup && !MathJax.Hub) {
    MathJax.Hub = {
      Queue: ([, , element]) =>
        MathJax.startup.promise.then(() => MathJax.typesetPromise([element])),
    };
  }
});
