// MathJax settings for pymdownx.arithmatex (generic mode): $...$ and $$...$$.
// Loaded before the MathJax shipped with the site (vendor/mathjax/tex-svg.js): no
// network is needed to render a formula, and nothing is fetched on demand.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
    // the assistive tools would load extra modules from a CDN when switched on
    enableMenu: false,
  },
  svg: {
    fontCache: "global",
  },
};

// mkdocs-material's instant navigation swaps pages without reloading them: typeset each
// (MathJax typesets the first page itself once it has loaded)
if (typeof document$ !== "undefined") {
  document$.subscribe(() => {
    if (MathJax.typesetPromise) {
      MathJax.typesetPromise();
    }
  });
}
