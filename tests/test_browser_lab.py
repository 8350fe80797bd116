"""The α explorer in JupyterLab, used the way a person uses it (Debian's Chromium driven by Playwright).

Starts JupyterLab on a free loopback port with a token (root dir `nbs/`, autosave off so the notebook on disk is
never touched), opens the explorer's notebook, runs all cells from the Run menu, drags the α slider and waits
for the readout text and the chart image to change. No request may leave the machine. Writes
screenshots/lab_slider_before.png and screenshots/lab_slider.png."""
import json, os, re, secrets, shutil, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path
from urllib.parse import urlparse
import pytest
from conftest import ROOT, NBS
from test_browser_site import launch, SHOTS

pytestmark = pytest.mark.browser

EXPLORER_CLASS = 'pf-alpha'          # the ipywidgets slider's CSS class; readout `pf-readout`, chart box `pf-chart`
TARGET_NB = '03_toy.ipynb'           # the notebook that shows the α explorer (built by powerflow_nb.toy.alpha_explorer)


def explorer_notebook():
    nb = NBS/TARGET_NB
    src = '\n'.join(''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code')
    assert 'alpha_explorer(' in src, f'{TARGET_NB} no longer shows the α explorer: update TARGET_NB in {__file__}'
    return nb


KERNEL_IDLE_JS = """() => { const k = window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel;
                            return k && k.status === 'idle'; }"""
# error outputs of the open notebook, from its model ("ename: evalue" of each)
ERROR_OUTPUTS_JS = """() => { const cells = window.jupyterapp.shell.currentWidget.content.model.cells, errs = [];
    for (let i = 0; i < cells.length; i++) { const c = cells.get(i); if (c.type !== 'code') continue;
      for (let j = 0; j < c.outputs.length; j++) { const o = c.outputs.get(j);
        if (o.type === 'error') errs.push(`cell ${i}: ${o.toJSON().ename}: ${o.toJSON().evalue}`); } }
    return errs; }"""


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


@pytest.fixture(scope='module')
def lab():
    "JupyterLab on 127.0.0.1 with a fresh token, settings and workspace; yields its base URL and token"
    port, token = free_port(), secrets.token_hex(16)
    tmp = Path(tempfile.mkdtemp(prefix='pf-lab-'))
    settings = tmp/'settings'/'@jupyterlab'/'docmanager-extension'
    settings.mkdir(parents=True)
    (settings/'plugin.jupyterlab-settings').write_text(json.dumps({'autosave': False}))  # never write the notebook
    notes = tmp/'settings'/'@jupyterlab'/'apputils-extension'
    notes.mkdir(parents=True)  # no "get Jupyter news?" toast over the widgets, no update checks
    (notes/'notification.jupyterlab-settings').write_text(json.dumps({'fetchNews': 'false', 'checkForUpdates': False}))
    nbset = tmp/'settings'/'@jupyterlab'/'notebook-extension'
    nbset.mkdir(parents=True)  # render every cell (no virtual scrolling): what the test reads is really in the page
    (nbset/'tracker.jupyterlab-settings').write_text(json.dumps({'windowingMode': 'none'}))
    cmd = [str(Path(sys.executable).parent/'jupyter'), 'lab', '--no-browser', '--allow-root', '--ip', '127.0.0.1',
           f'--port={port}', f'--ServerApp.root_dir={NBS}', f'--IdentityProvider.token={token}',
           '--ServerApp.port_retries=0', '--LabApp.expose_app_in_browser=True', f'--FileCheckpoints.root_dir={tmp/"checkpoints"}',
           f'--LabApp.user_settings_dir={tmp/"settings"}', f'--LabApp.workspaces_dir={tmp/"workspaces"}',
           '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate', '--LabApp.news_url=None']
    env = {**os.environ, 'JUPYTER_RUNTIME_DIR': str(tmp/'runtime'), 'PYTHONHASHSEED': '0'}
    log = open(tmp/'lab.log', 'w')
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}'
    try:
        deadline = time.time() + 90
        while True:
            if proc.poll() is not None: pytest.fail(f'JupyterLab exited with {proc.returncode}:\n{(tmp/"lab.log").read_text()[-3000:]}')
            try:
                with urllib.request.urlopen(f'{url}/api/status?token={token}', timeout=2) as r:
                    if r.status == 200: break
            except OSError: pass
            if time.time() > deadline: pytest.fail(f'JupyterLab did not answer in 90 s:\n{(tmp/"lab.log").read_text()[-3000:]}')
            time.sleep(0.5)
        yield url, token, tmp/'lab.log'
    finally:
        proc.terminate()  # the server shuts its kernels down on SIGTERM
        try: proc.wait(30)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def test_lab_alpha_explorer(lab):
    from playwright.sync_api import sync_playwright
    url, token, log = lab
    nb = explorer_notebook()
    mtime = nb.stat().st_mtime
    outside = []
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={'width': 1400, 'height': 1000})
        page.set_default_timeout(60_000)

        def route(r):
            if urlparse(r.request.url).hostname in ('127.0.0.1', 'localhost') or r.request.url.startswith(('data:', 'blob:')):
                return r.continue_()
            outside.append(r.request.url); return r.abort()
        page.route('**/*', route)

        page.goto(f'{url}/lab/tree/{nb.name}?token={token}')
        page.wait_for_function('() => window.jupyterapp && window.jupyterapp.shell.currentWidget'
                               ' && window.jupyterapp.shell.currentWidget.sessionContext', timeout=120_000)
        # the notebook carries a kernelspec: its kernel starts without a "Select Kernel" dialog
        page.wait_for_function('''() => { const w = window.jupyterapp.shell.currentWidget;
            return document.querySelector('.jp-Dialog') || (w.sessionContext.session && w.sessionContext.session.kernel); }''',
            timeout=120_000)
        if page.locator('.jp-Dialog').count():
            pytest.fail(f'{nb.name} opened with a dialog ({page.locator(".jp-Dialog").inner_text()[:200]!r}): '
                        'its metadata needs a kernelspec (tests/test_notebook_kernelspec.py)')
        page.wait_for_function(KERNEL_IDLE_JS, timeout=120_000)

        # Run > Run All Cells, from the menu bar as a person would
        page.locator('.lm-MenuBar-item', has_text=re.compile(r'^Run$')).click()
        page.locator('.lm-Menu-item:visible', has_text='Run All Cells').first.click()

        slider = page.locator(f'.{EXPLORER_CLASS}').first
        # all cells above the explorer have run, or one of them failed (then say which error)
        page.wait_for_function(f"() => document.querySelector('.{EXPLORER_CLASS}') || ({ERROR_OUTPUTS_JS})().length", timeout=300_000)
        if not slider.count():
            pytest.fail(f'{nb.name} failed under Run All Cells before the explorer appeared: {page.evaluate(ERROR_OUTPUTS_JS)}')
        slider.wait_for(state='visible')
        readout, chart_img = page.locator('.pf-readout').first, page.locator('.pf-chart img').first
        chart_img.wait_for(state='visible')
        page.wait_for_function(f"() => ({KERNEL_IDLE_JS})() && ![...document.querySelectorAll('.jp-InputArea-prompt')]"
                               ".some(e => e.textContent.includes('*'))", timeout=300_000)  # run-all done: nothing moves under us
        errors = page.evaluate(ERROR_OUTPUTS_JS)
        if errors:  # a later cell failed: tests/test_notebooks.py reports that; the explorer is still live
            print(f'note: {nb.name} has error outputs after Run All: {errors}', file=sys.stderr)
        slider.scroll_into_view_if_needed()
        text0, src0 = readout.text_content(), chart_img.get_attribute('src')
        page.locator('.jp-OutputArea-output', has=slider).first.screenshot(path=str(SHOTS/'lab_slider_before.png'))

        # drag the slider handle to the right, as a person would
        handle = slider.locator('.noUi-handle').first
        box = handle.bounding_box()
        track = slider.locator('.noUi-target, .slider-container').first.bounding_box()
        x0, y0 = box['x'] + box['width']/2, box['y'] + box['height']/2
        x1 = min(x0 + 60, track["x"] + track["width"] - 2)
        page.mouse.move(x0, y0); page.mouse.down()
        page.mouse.move(x1, y0, steps=12); page.mouse.up()

        page.wait_for_function('([el, t]) => el.textContent != t', arg=[readout.element_handle(), text0], timeout=60_000)
        page.wait_for_function('([el, s]) => el.getAttribute("src") != s', arg=[chart_img.element_handle(), src0], timeout=60_000)
        text1 = readout.text_content()
        page.wait_for_timeout(300)
        page.locator('.jp-OutputArea-output', has=slider).first.screenshot(path=str(SHOTS/'lab_slider.png'))
        browser.close()
    found = [re.search(r'α\s*=\s*([\d.]+)', t) for t in (text0, text1)]
    assert all(found), f'the readout should say "α = ...": before {text0!r}, after {text1!r}'
    a0, a1 = (float(m.group(1)) for m in found)
    assert a1 > a0, f'dragging right should raise α: {text0!r} -> {text1!r}'
    assert not outside, f'JupyterLab page requested non-loopback hosts: {outside}'
    assert nb.stat().st_mtime == mtime, f'{nb.name} was modified on disk by the test'
