"""The documentation site in a real browser (Debian's Chromium driven by Playwright; `make test` installs it).

Builds the site (`powerflow docs`) unless a build newer than every notebook exists, serves it on a free loopback
port, and loads every page: no console errors, no failed requests, and no request at all to a non-loopback host.
Every Vega-Lite chart with a slider must react to it; the target page (the α explorer's notebook) must have one.
Writes screenshots/site_home.png and screenshots/site_slider.png."""
import functools, http.server, socket, sys, threading, time
from pathlib import Path
from urllib.parse import urlparse
import pytest
from conftest import ROOT

pytestmark = pytest.mark.browser

CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                 '--disable-dev-shm-usage']
SHOTS = ROOT/'screenshots'
# pages that must carry an interactive α-slider chart (page name = nbdev output-file); others are tested if they have one
SLIDER_PAGES = ['target', 'toy_lab']


def launch(playwright):
    if not Path(CHROMIUM).exists(): pytest.fail(f'{CHROMIUM} missing: `make test` installs Debian chromium (apt-get install chromium)')
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


@pytest.fixture(scope='module')
def site():
    from powerflow_nb.docs import build_site, site_is_fresh
    out = ROOT/'docs'/'_build'/'html'
    if not site_is_fresh(out):
        t = time.time()
        build_site(out)
        print(f'site built in {time.time()-t:.0f}s', file=sys.stderr)
    return out


def test_every_notebook_has_its_api_docs(site):
    "nbdev could run every notebook's exported and show_doc cells (else its page lacks the API docs)"
    from powerflow_nb.docs import proc_errors
    errors = proc_errors(ROOT)
    assert not errors, 'pages rendered without API docs (fix the notebook so its exported cells run on their own):\n' + \
        '\n'.join(f'{k}: {v[-600:]}' for k, v in errors.items())


@pytest.fixture(scope='module')
def server(site):
    handler = functools.partial(Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}'
    httpd.shutdown(); httpd.server_close()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass


class Watch:
    "Everything that goes wrong in a tab: console errors, page errors, failed and non-loopback requests"
    def __init__(self, page):
        self.problems, self.current = [], None  # (page being visited, problem); late events are kept, not lost
        page.on('console', lambda m: m.type == 'error' and self.add(f'console error: {m.text} at {m.location.get("url")}'))
        page.on('pageerror', lambda e: self.add(f'page error: {e}'))
        page.on('requestfailed', lambda r: self.add(f'request failed: {r.url} ({r.failure})'))
        page.on('response', lambda r: r.status >= 400 and self.add(f'HTTP {r.status}: {r.url}'))
        page.route('**/*', self.route)

    def add(self, msg): self.problems.append((self.current, msg))

    def route(self, route):
        url = route.request.url
        host = urlparse(url).hostname
        if url.startswith(('data:', 'blob:', 'about:')) or host in ('127.0.0.1', 'localhost'): return route.continue_()
        self.add(f'request to a non-loopback host: {url}')
        return route.abort()


def chart_svg(page, chart):
    return chart.locator('.pf-vegalite-view svg').first.inner_html()


def test_site_pages(site, server):
    from playwright.sync_api import sync_playwright
    pages = sorted(p.name for p in site.glob('*.html'))
    assert 'index.html' in pages and len(pages) > 3, pages
    names = {Path(p).stem for p in pages}
    missing = [n for n in SLIDER_PAGES if n not in names]
    assert not missing, f'pages missing from the site: {missing}'
    problems, sliders = {}, {}
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = launch(pw)
        ctx = browser.new_context(viewport={'width': 1280, 'height': 900})
        page = ctx.new_page()
        watch = Watch(page)
        for name in pages:
            watch.current = name
            page.goto(f'{server}/{name}', wait_until='load')
            n_charts = page.locator('div.pf-vegalite').count()
            if n_charts:  # every saved chart must come alive (the PNG fallback is hidden then)
                page.wait_for_function(f"document.querySelectorAll('div.pf-vegalite.pf-vegalite-live').length == {n_charts}", timeout=30_000)
            if page.locator('mjx-container').count() == 0 and page.locator('.math').count():
                page.wait_for_selector('mjx-container', timeout=20_000)  # MathJax typeset from the local copy
            page.wait_for_load_state('networkidle')
            if name == 'index.html': page.screenshot(path=str(SHOTS/'site_home.png'), full_page=False)
            # every chart with a slider: moving it redraws the chart
            charts = page.locator('div.pf-vegalite:has(input[type=range])')
            for i in range(charts.count()):
                chart = charts.nth(i)
                slider = chart.locator('input[type=range]').first
                before, v0 = chart_svg(page, chart), slider.input_value()
                slider.focus()
                for _ in range(10): page.keyboard.press('ArrowLeft')   # a user's key presses: 'input' events
                page.wait_for_function('([el, v]) => el.value != v', arg=[slider.element_handle(), v0])
                page.wait_for_timeout(300)  # let vega's dataflow re-render the SVG
                after = chart_svg(page, chart)
                sliders.setdefault(Path(name).stem, []).append((v0, slider.input_value(), before != after))
                if i == 0 and Path(name).stem == SLIDER_PAGES[0]:
                    chart.scroll_into_view_if_needed()
                    chart.screenshot(path=str(SHOTS/'site_slider.png'))
        # search works (Sphinx's index, served locally)
        watch.current = 'search.html?q=alpha'
        page.goto(f'{server}/search.html?q=alpha', wait_until='load')
        page.wait_for_selector('#search-results li, ul.search li', timeout=30_000)
        n_hits = page.locator('ul.search li').count()
        page.wait_for_timeout(500)  # late console messages (favicon, fonts) still count
        browser.close()
    for where, msg in watch.problems: problems.setdefault(where, []).append(msg)
    assert not problems, f'pages with problems: {problems}'
    assert n_hits > 0, 'search for "alpha" found nothing'
    for name in SLIDER_PAGES: assert name in sliders, f'{name}.html has no Vega-Lite chart with a slider'
    stuck = {n: s for n, s in sliders.items() if not all(changed for *_, changed in s)}
    assert not stuck, f'charts that did not change when their slider moved (before, after, changed): {stuck}'


# a progress bar as tqdm draws it: "42%|████▏     | 18/45 [01:02<01:33,  3.47s/it]"
_TQDM = __import__('re').compile(r'\d+%\|[^|\n]{0,60}\|\s*[\d.]+[kMG]?/[\d.]+[kMG]?\s*\[')


def test_pages_show_results_not_run_residue(site):
    "No cell output on any page is a widget placeholder, a widget view or a progress bar (they are dropped at build)"
    from bs4 import BeautifulSoup
    residue = {}
    for page in sorted(site.glob('*.html')):
        soup = BeautifulSoup(page.read_text(encoding='utf-8'), 'html.parser')
        for out in soup.select('div.cell_output'):
            text = out.get_text(' ')
            found = [w for w, bad in (('progress bar', _TQDM.search(text)), ('widget placeholder', 'interactive widget' in text.lower()),
                                      ('widget view', out.find('script', type='application/vnd.jupyter.widget-view+json'))) if bad]
            if found: residue.setdefault(page.name, []).extend(found)
    assert not residue, f'pages with run residue in their outputs: {residue}'


def test_progress_bar_pattern():
    assert _TQDM.search('Loading weights: 100%|██████████| 272/272 [00:01<00:00, 224.55it/s]')
    assert not _TQDM.search('accuracy 100%| done | 3/4 of the problems')
