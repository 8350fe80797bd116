/* Render every saved Vega-Lite chart of the page (div.pf-vegalite, written by powerflow_nb.docs.vegalite_html)
   with the site's own Vega bundle. The PNG fallback stays visible until the live chart has rendered. */
(function () {
  function render(el) {
    var specEl = el.querySelector('script.pf-vegalite-spec');
    var view = el.querySelector('.pf-vegalite-view');
    if (!specEl || !view) return;
    if (typeof window.vegaEmbed !== 'function') { console.error('pf-charts: vega bundle missing'); return; }
    window.vegaEmbed(view, JSON.parse(specEl.textContent), {actions: false, renderer: 'svg'})
      .then(function () { el.classList.add('pf-vegalite-live'); })
      .catch(function (err) { console.error('pf-charts: chart failed to render', err); });
  }
  function renderAll() { document.querySelectorAll('div.pf-vegalite').forEach(render); }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', renderAll);
  else renderAll();
})();
