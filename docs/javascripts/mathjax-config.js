// MathJax 3 renders the pages' TeX in the browser. It is served with the site
// (docs/javascripts/mathjax/tex-svg.js, MathJax 3.2.2's self-contained SVG build
// from the npm package `mathjax`, Apache-2.0, see LICENSE beside it), so the
// math renders on a machine with no internet. To update it:
//   npm pack mathjax@3 && tar xzf mathjax-3.*.tgz package/es5/tex-svg.js package/LICENSE
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  svg: {
    fontCache: "global",
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
};
document$.subscribe(() => {
  if (window.MathJax && MathJax.typesetPromise) MathJax.typesetPromise();
});
