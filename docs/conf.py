"""Sphinx configuration of the powerflow_nb site: `make docs` / `powerflow docs` (see nbs/98_docs.ipynb).

Sources are the cleaned `_proc/` notebooks in docs/_build/src; their saved outputs are rendered, never re-executed.
Everything a page loads is served by the site itself (local MathJax, one Vega bundle), so it works offline."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_nbdev = tomllib.loads((ROOT/'pyproject.toml').read_text())['tool']['nbdev']

project = _nbdev.get('title', 'powerflow_nb')
author = 'powerflow_nb developers'
copyright = f'2026, {author}'

extensions = ['myst_nb']
nb_execution_mode = 'off'                 # saved outputs only
nb_render_markdown_format = 'myst'        # show_doc output: tables, math, links
nb_ipywidgets_js = {}                     # never pull the widget manager from a CDN
myst_enable_extensions = ['dollarmath', 'amsmath', 'colon_fence']
myst_heading_anchors = 3
suppress_warnings = ['myst.header', 'mystnb.unknown_mime_type']

html_theme = 'furo'
html_title = project
html_static_path = ['_static', '_build/static']      # _build/static: MathJax and the Vega bundle, made by the build
html_css_files = ['pf.css']
html_favicon = '_static/pf-favicon.svg'   # else browsers ask for /favicon.ico and log a 404
html_js_files = ['vega-bundle.js', 'pf-charts.js']
mathjax_path = 'mathjax/tex-chtml.js'
html_copy_source = False
html_show_sourcelink = False
