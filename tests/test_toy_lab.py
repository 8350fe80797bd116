"""The toy lab beyond its notebook: variants of training that must reach the same exact fixed points, the saved
sweep chart working offline, and the `powerflow toy-sweep` command. (The Figure-3 claims are asserted inline in
nbs/05_toy_lab.ipynb; the exact gradient identities in nbs/04_objectives.ipynb.)"""
import json, math, re, subprocess, sys
from pathlib import Path
import pytest, torch
from conftest import ROOT
from powerflow_nb.toy import ToyLM
from powerflow_nb.lab import ToyTask, train_toy, sweep_chart, load_sweep, SWEEP_DIR
from powerflow_nb.charts import SLIDER, COLUMN_PX, chart_width

torch.set_num_threads(1)


@pytest.fixture(scope='module')
def small_task(): return ToyTask(ToyLM.random(2, 6, seed=3), 4.)


@pytest.mark.parametrize('kw', [dict(log_z='group'), dict(updates_per_batch=2), dict(log_z='scalar', logz_lr_mult=30.)])
def test_powerflow_variants_reach_pi_star(small_task, kw):
    "π* is the fixed point whether log Z' is learned or the group estimate, and with importance-weighted reuse"
    r = train_toy(small_task, 'powerflow', steps=250, eval_every=250, seed=1, **kw)
    assert r.final['kl_star'] < 0.05, (kw, r.final)
    assert abs(r.final['length']/small_task.reference()['pi_star']['length'] - 1) < 0.05


def test_tb_traj_with_group_log_z_reaches_p_alpha(small_task):
    r = train_toy(small_task, 'tb_traj', log_z='group', steps=250, eval_every=250, seed=2)
    assert r.final['kl_alpha'] < 0.05, r.final


def test_train_toy_is_reproducible(small_task):
    a, b = (train_toy(small_task, 'tb_token', steps=20, eval_every=20, seed=5).final for _ in range(2))
    assert a == pytest.approx(b, nan_ok=True)


def test_saved_sweep_spec_is_offline_and_has_an_alpha_slider():
    spec_path = SWEEP_DIR/'sweep_chart.vl.json'
    text = spec_path.read_text()
    spec = json.loads(text)
    urls = set(re.findall(r'https?://[^"\s]+', text))
    assert urls <= {spec['$schema']}, f'the chart must not load anything from the network: {urls}'
    assert spec.get('datasets'), 'data must be inlined'
    params = [p for p in spec.get('params', []) if p.get('name') == SLIDER]
    assert params and params[0]['bind']['input'] == 'range'
    # the browser prints the slider's value next to it: grid points of log2 α, not 0.3010299956639812
    assert all(float(v) * 2 == int(float(v) * 2) for v in (params[0]['value'], *[params[0]['bind'][k] for k in ('min', 'max', 'step')]))


def test_sweep_chart_fits_the_text_column():
    assert chart_width(json.loads((SWEEP_DIR/'sweep_chart.vl.json').read_text())) <= COLUMN_PX


def _label_at(spec, log2_alpha):
    import vl_convert
    spec = json.loads(json.dumps(spec))
    for p in spec['params']:
        if p['name'] == SLIDER: p['value'] = log2_alpha
    svg = vl_convert.vegalite_to_svg(spec)
    return re.search(r'α = ([0-9.]+)', svg).group(1)


def test_slider_moves_the_chart():
    "Setting the Vega-Lite parameter (what the slider does in a browser) changes what is drawn"
    spec = json.loads((SWEEP_DIR/'sweep_chart.vl.json').read_text())
    assert float(_label_at(spec, math.log2(0.5))) == pytest.approx(0.5)
    assert float(_label_at(spec, math.log2(4.))) == pytest.approx(4.)


def test_sweep_chart_matches_saved_rows():
    "The shipped spec is what `sweep_chart` makes of the shipped JSONL (no stale chart)"
    rows = load_sweep()
    assert json.loads((SWEEP_DIR/'sweep_chart.vl.json').read_text())['datasets'] == sweep_chart(rows).to_dict()['datasets']


def test_cli_help():
    res = subprocess.run([str(Path(sys.executable).parent/'powerflow'), 'toy-sweep', '--help'], capture_output=True, text=True)
    assert res.returncode == 0 and '--alphas' in res.stdout and '--out' in res.stdout


def test_cli_rejects_bad_alpha(tmp_path):
    res = subprocess.run([str(Path(sys.executable).parent/'powerflow'), 'toy-sweep', '--alphas', '-1', '--out', str(tmp_path)],
                         capture_output=True, text=True)
    assert res.returncode != 0 and 'alpha must be > 0' in res.stderr


@pytest.mark.browser
def test_static_html_slider_works_offline(tmp_path):
    "The self-contained page `powerflow toy-sweep` writes: no request leaves the file, and the α slider redraws the chart"
    import vl_convert
    from playwright.sync_api import sync_playwright
    chromium = Path('/usr/bin/chromium')
    if not chromium.exists(): pytest.fail(f'{chromium} missing: `make test` installs Debian chromium')
    page_path = tmp_path/'sweep_chart.html'
    page_path.write_text(vl_convert.vegalite_to_html(json.loads((SWEEP_DIR/'sweep_chart.vl.json').read_text()), bundle=True))
    outside = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True, args=[
            '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-dev-shm-usage'])
        page = browser.new_page()
        page.route('**/*', lambda route: route.continue_() if route.request.url.startswith('file://')
                   else (outside.append(route.request.url), route.abort()))
        page.goto(page_path.as_uri())
        page.wait_for_selector('input[type=range]', timeout=60_000)
        label = lambda: re.search(r'α = ([0-9.]+)', page.inner_text('body') + page.inner_html('body')).group(1)
        assert float(label()) == pytest.approx(4.)
        page.eval_on_selector('input[type=range]', "el => { el.value = el.min; el.dispatchEvent(new Event('input')); }")
        page.wait_for_timeout(500)
        assert float(label()) == pytest.approx(0.5)
        browser.close()
    assert outside == [], f'the page tried to reach the network: {outside}'
