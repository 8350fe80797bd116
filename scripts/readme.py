"""README.md from nbs/index.ipynb (what `make readme` runs): nbconvert's markdown, with the links and pictures that
the home page gives relative to nbs/ (`02_target.ipynb`, `learning_path.svg`) made relative to the repository root.

Usage: python scripts/readme.py [OUT_DIR]   (default: the repository root)"""
import re, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_LINK = re.compile(r'(\]\()(?![a-z][\w+.-]*:|/|#|nbs/)([\w.-]+\.(?:ipynb|svg|png|jpe?g|gif)\b)')


def relink(md):
    "Markdown links relative to nbs/ made relative to the repository root"
    return _LINK.sub(r'\1nbs/\2', md)


def main(out_dir=ROOT):
    jupyter = Path(sys.executable).parent/'jupyter'
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([str(jupyter), 'nbconvert', '--to', 'markdown', str(ROOT/'nbs'/'index.ipynb'), '--output-dir', tmp,
                        '--output', 'README', '--log-level', 'WARN'], check=True)
        text = relink((Path(tmp)/'README.md').read_text(encoding='utf-8'))
    out = Path(out_dir)/'README.md'
    out.write_text(text, encoding='utf-8')
    return out


if __name__ == '__main__': print(main(*sys.argv[1:2]))
