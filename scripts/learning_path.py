"""Draw the learning path of the home page (nbs/index.ipynb) as an SVG: `python scripts/learning_path.py`.

Plain Python, no network: three rows of lessons in reading order, joined by arrows, and the infrastructure pages
apart in a dashed row. tests/test_learning_path.py checks that the committed picture is what this script draws."""
from pathlib import Path
from xml.sax.saxutils import escape

# next to the notebooks: nbdev's docs processing copies only the top level of nbs/ (`recursive = false`)
OUT = Path(__file__).resolve().parents[1]/'nbs'/'learning_path.svg'

STAGES = [  # (label, fill, stroke, [(notebook number, name, what it teaches)])
    ('1 · the idea, computed exactly', '#dbe9f6', '#4c78a8', [
        ('00', 'paper', 'formulas, numbers'), ('02', 'target', 'α-power target'),
        ('03', 'toy', 'exact toy model'), ('04', 'objectives', 'the five losses'),
        ('05', 'toy lab', 'length collapse')]),
    ('2 · real models and their parts', '#e0f0dc', '#54a24b', [
        ('06', 'tinylm', 'our 1.8M model'), ('06a', 'smollm', 'a real 135M model'),
        ('07', 'prompts', 'chat templates'), ('08', 'rollout', 'sampling, scoring'),
        ('09', 'answers', 'right or wrong?'), ('10', 'eval', 'avg@k, pass@k')]),
    ("3 · training and the paper's claims", '#fde7cf', '#f58518', [
        ('11', 'trainer', 'the training loop'), ('11a', 'demo', 'the main job'),
        ('12', 'references', 'no training'), ('13', 'compare', 'vs the baselines'),
        ('14', 'creativity', 'α = 0.5')]),
]
INFRA = ('infrastructure (read when you need it)', '#f4f4f4', '#9a9a9a', [
    ('01', 'charts', 'charts, sliders'), ('01a', 'command', 'CLI plumbing'), ('15', 'scale', 'GPU recipes'),
    ('98', 'docs', 'this website'), ('99', 'cli', 'powerflow CLI')])
MAIN_JOB = '11a'

W, BOX_W, BOX_H, GAP, LABEL_H, ROW_GAP, PAD = 740, 114, 50, 10, 22, 22, 8


def _box(x, y, num, name, what, fill, stroke, dashed=False, bold=False):
    dash = ' stroke-dasharray="5 3"' if dashed else ''
    sw = 3 if bold else 1.5
    return (f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{sw}"{dash}/>'
            f'<text x="{x + BOX_W / 2}" y="{y + 21}" text-anchor="middle" font-size="13" font-weight="bold">'
            f'{escape(num)} {escape(name)}</text>'
            f'<text x="{x + BOX_W / 2}" y="{y + 39}" text-anchor="middle" font-size="11" fill="#333">{escape(what)}</text>')


def _row_xs(n):
    "Left edges of n boxes, centred in the picture"
    total = n * BOX_W + (n - 1) * GAP
    x0 = (W - total) / 2
    return [x0 + i * (BOX_W + GAP) for i in range(n)]


def learning_path_svg():
    "The SVG text of the learning path"
    parts, y, prev_last = [], PAD, None
    for label, fill, stroke, items in STAGES:
        xs = _row_xs(len(items))
        by = y + LABEL_H
        if prev_last is not None:  # from the previous row's last box down, across, and down into this row's first box
            px, py = prev_last
            parts.append(f'<path d="M{px} {py} V{py + 8} H{xs[0] + 12} V{by - 2}" fill="none" stroke="#555" '
                         f'stroke-width="1.5" marker-end="url(#arrow)"/>')
        parts.append(f'<text x="{xs[0] + 24}" y="{y + 15}" font-size="13" fill="{stroke}" font-weight="bold">{escape(label)}</text>')
        for i, (x, (num, name, what)) in enumerate(zip(xs, items)):
            parts.append(_box(x, by, num, name, what, fill, stroke, bold=num == MAIN_JOB))
            if i: parts.append(f'<line x1="{x - GAP}" y1="{by + BOX_H / 2}" x2="{x - 2}" y2="{by + BOX_H / 2}" '
                               f'stroke="#555" stroke-width="1.5" marker-end="url(#arrow)"/>')
        prev_last = (xs[-1] + BOX_W / 2, by + BOX_H)
        y = by + BOX_H + ROW_GAP
    label, fill, stroke, items = INFRA
    xs = _row_xs(len(items))
    y += 6
    parts.append(f'<line x1="{PAD}" y1="{y - 12}" x2="{W - PAD}" y2="{y - 12}" stroke="#ccc" stroke-dasharray="4 4"/>')
    parts.append(f'<text x="{xs[0]}" y="{y + 15}" font-size="13" fill="#777" font-weight="bold">{escape(label)}</text>')
    by = y + LABEL_H
    for x, (num, name, what) in zip(xs, items): parts.append(_box(x, by, num, name, what, fill, stroke, dashed=True))
    h = by + BOX_H + PAD
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {h}" width="{W}" height="{h}" '
            f'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" role="img" '
            f'aria-label="The learning path: lessons 00 to 14 in three rows, then the infrastructure pages">'
            '<title>The learning path of powerflow_nb</title>'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#555"/></marker></defs>'
            f'<rect width="{W}" height="{h}" fill="white"/>')
    return head + '\n'.join(parts) + '</svg>\n'


if __name__ == '__main__':
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(learning_path_svg(), encoding='utf-8')
    print(OUT)
