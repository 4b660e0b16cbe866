"""``spinecontext bench-ocr``: how well photos of paper reports are read.

Each report of a gold corpus (our own synthetic reports, ``corpora/*.jsonl``)
is typeset onto a page image (DejaVu Sans, the font matplotlib ships; lines
wrapped at 90 characters as a printed report would be), then degraded as a
phone photo is: rotated by a few degrees, blurred, given sensor noise and saved
as a low-quality JPEG. The JPEG goes through the same OCR as an upload
(:mod:`spinecontext.ocr`), and the recognised text through the pipeline. The
pair F1 against the gold is compared with the pair F1 of the same reports as
text. Everything is seeded: the same command gives the same images.
"""

from __future__ import annotations

import io
import random
import statistics
import textwrap
import time
from pathlib import Path
from typing import Optional

from .evaluate import Evaluation, GoldReport, read_gold

WIDTH = 1700          # pixels: an A4/Letter page photographed at about 200 dpi
MARGIN = 90
FONT_PX = 26          # about 10-11 pt at that resolution
LINE_PX = 38
WRAP = 90


def _font(size: int):
    from PIL import ImageFont
    import matplotlib

    path = Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
    return ImageFont.truetype(str(path), size)


def page_lines(text: str) -> list[str]:
    lines: list[str] = []
    for para in text.split("\n"):
        lines += textwrap.wrap(para, WRAP, break_long_words=False, break_on_hyphens=False) or [""]
    return lines


def render_page(text: str, *, seed: int, rotate: float = 2.5, blur: float = 0.9, noise: float = 10.0,
                quality: int = 60) -> bytes:
    """The report as a JPEG 'photo': typeset, rotated, blurred, noisy, compressed."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    lines = page_lines(text)
    img = Image.new("L", (WIDTH, 2 * MARGIN + LINE_PX * len(lines)), 255)
    draw = ImageDraw.Draw(img)
    font = _font(FONT_PX)
    for i, line in enumerate(lines):
        draw.text((MARGIN, MARGIN + i * LINE_PX), line, fill=25, font=font)
    angle = rng.uniform(-rotate, rotate)
    img = img.rotate(angle, expand=True, fillcolor=235, resample=Image.BICUBIC)
    img = img.filter(ImageFilter.GaussianBlur(blur))
    arr = np.asarray(img, dtype=np.float32)
    arr = arr + np.random.default_rng(seed).normal(0.0, noise, arr.shape)
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).convert("RGB")
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def run(corpora: list[Path], *, limit: Optional[int] = None, seed: int = 0, nlp=None) -> dict:
    from . import load
    from .ocr import engine, read_image_bytes
    from .result import from_doc
    from . import make_doc

    nlp = nlp or load()
    engine()  # load the models before timing
    out = {"corpora": [], "seed": seed}
    for path in corpora:
        gold: list[GoldReport] = read_gold(path)
        if limit:
            gold = gold[:limit]
        as_text, as_photo = Evaluation(), Evaluation()
        seconds: list[float] = []
        photo_bytes: list[int] = []
        for i, g in enumerate(gold):
            jpeg = render_page(g.text, seed=seed * 100_003 + i)
            photo_bytes.append(len(jpeg))
            t0 = time.perf_counter()
            text = read_image_bytes(jpeg)
            seconds.append(time.perf_counter() - t0)
            as_text.add(g, from_doc(nlp(make_doc(nlp, g.text, g.age)), report_id=g.id))
            as_photo.add(g, from_doc(nlp(make_doc(nlp, text, g.age)), report_id=g.id))
        st, sp = as_text.summary(), as_photo.summary()
        out["corpora"].append({
            "corpus": str(path), "reports": len(gold),
            "text_pair_f1": st["pair"]["f1"], "photo_pair_f1": sp["pair"]["f1"],
            "ratio": sp["pair"]["f1"] / st["pair"]["f1"] if st["pair"]["f1"] else None,
            "text_report_f1": st["report"]["f1"], "photo_report_f1": sp["report"]["f1"],
            "photo_negation_errors": sp["negation"]["errors"], "text_negation_errors": st["negation"]["errors"],
            "red_flags_found_photo": sp["red_flags"]["found"], "red_flags_found_text": st["red_flags"]["found"],
            "red_flags_gold": sp["red_flags"]["gold"],
            "seconds_per_page_median": statistics.median(seconds),
            "seconds_per_page_max": max(seconds),
            "photo_kib_median": statistics.median(photo_bytes) / 1024,
        })
    return out


def format_table(res: dict) -> str:
    rows = ["| corpus | reports | pair F1, text | pair F1, photo | photo / text | report F1 text / photo "
            "| negation errors text / photo | red flags found text / photo | s per page (median, max) |",
            "|---|---|---|---|---|---|---|---|---|"]
    for c in res["corpora"]:
        rows.append(
            f"| `{c['corpus']}` | {c['reports']} | {c['text_pair_f1']:.3f} | {c['photo_pair_f1']:.3f} "
            f"| **{c['ratio']:.3f}** | {c['text_report_f1']:.3f} / {c['photo_report_f1']:.3f} "
            f"| {c['text_negation_errors']} / {c['photo_negation_errors']} "
            f"| {c['red_flags_found_text']} / {c['red_flags_found_photo']} of {c['red_flags_gold']} "
            f"| {c['seconds_per_page_median']:.2f}, {c['seconds_per_page_max']:.2f} |")
    return "\n".join(rows)
