"""Read the text of a photo or scan of a paper report (offline OCR).

The engine is RapidOCR (``rapidocr-onnxruntime``): PP-OCRv4 detection and
recognition models run by ONNX Runtime. Its models ship inside its wheel, so
nothing is downloaded, ever; :func:`model_paths` says where they are (inside
site-packages) and the tests run OCR with networking blocked.

Everything happens in memory: the image bytes are decoded with Pillow, the
engine gets an array, the text comes back as a string. Nothing is written to
disk and nothing is logged.

Recognised text is rebuilt into lines (boxes on the same row joined left to
right, a blank line where the page has a gap) and then tidied where the
recognition model is known to slip on English reports: it often drops the
space between words ("discbulge", "atL4-L5") and reads the digit 1 as the
letter l in levels ("Ll", "Sl"). The tidy-up only inserts spaces and mends
level spellings; it never changes a word. The page always shows the result
for the patient to check against the paper before anything is explained.
"""

from __future__ import annotations

import io
import math
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Optional

#: Images larger than this (pixels) are refused before decoding (decompression bombs).
MAX_PIXELS = 60_000_000
#: The longer side of the image the engine sees: larger photos are scaled down
#: (recognition does not gain from more, and time grows with the area).
MAX_SIDE = 2400

_LOCK = threading.Lock()
_ENGINE = None


class OcrError(ValueError):
    """The image could not be read; the message names the problem (never the text)."""


def model_paths() -> list[Path]:
    """The model files the engine loads (all inside the installed rapidocr_onnxruntime package)."""
    import yaml
    from importlib.util import find_spec

    spec = find_spec("rapidocr_onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        raise OcrError("The OCR engine (rapidocr-onnxruntime) is not installed.")
    root = Path(list(spec.submodule_search_locations)[0])
    config = yaml.safe_load((root / "config.yaml").read_text(encoding="utf-8"))
    return [root / config[part]["model_path"] for part in ("Det", "Cls", "Rec")]


def engine():
    """The OCR engine, loaded once per process (about 0.2 s; thread-safe)."""
    global _ENGINE
    if _ENGINE is None:
        with _LOCK:
            if _ENGINE is None:
                import logging

                try:
                    from rapidocr_onnxruntime import RapidOCR
                except ImportError as exc:  # OpenCV needs libGL and GLib from the system
                    raise OcrError("The OCR engine could not start (missing system library: "
                                   f"{exc.name or exc}); on Debian or Ubuntu: apt-get install libgl1 libglib2.0-0") from None

                for path in model_paths():
                    if not path.is_file():
                        raise OcrError(f"The OCR model file {path.name} is missing from the installed package.")
                _ENGINE = RapidOCR(print_verbose=False)
                # its logger would print timings and, at debug level, recognised text
                logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    return _ENGINE


def open_image(data: bytes):
    """A Pillow image from bytes (JPEG, PNG, HEIC when pillow-heif is installed), upright, RGB."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:  # HEIC/HEIF photos (iPhone): pillow-heif registers a Pillow opener
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:
        pass
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        img = Image.open(io.BytesIO(data))
        if img.width * img.height > MAX_PIXELS:
            raise OcrError(f"The image is {img.width}x{img.height} pixels; the limit is {MAX_PIXELS:,} pixels.")
        img = ImageOps.exif_transpose(img)  # phone photos carry their rotation in EXIF
        img.load()
    except OcrError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise OcrError("The image could not be read (damaged or not an image).") from None
    if img.mode not in ("RGB", "L"):
        background = Image.new("RGB", img.size, "white")
        rgba = img.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        img = background
    scale = MAX_SIDE / max(img.size)
    if scale < 1:
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.LANCZOS)
    return img.convert("RGB")


def skew_angle(img, *, limit: float = 6.0, step: float = 0.25) -> float:
    """The angle (degrees) that makes the text lines of a page level: the rotation at which
    the rows of dark pixels are most sharply separated (projection profile), searched
    within +-``limit`` degrees on a small copy of the page."""
    import numpy as np
    from PIL import Image, ImageOps

    small = ImageOps.grayscale(img)
    scale = 800 / max(small.size)
    if scale < 1:
        small = small.resize((max(1, round(small.width * scale)), max(1, round(small.height * scale))), Image.BILINEAR)
    arr = np.asarray(small, dtype=np.float32)
    ink = Image.fromarray(((arr < arr.mean() - 2 * arr.std() / 3) * 255).astype(np.uint8))
    best, best_score = 0.0, -1.0
    n = int(limit / step)
    for k in range(-n, n + 1):
        angle = k * step
        rows = np.asarray(ink.rotate(angle, resample=Image.NEAREST, fillcolor=0), dtype=np.float32).sum(axis=1)
        score = float(np.square(np.diff(rows)).sum())
        if score > best_score:
            best, best_score = angle, score
    return best


def deskew(img):
    """The page turned so its lines are level (photos are rarely held perfectly straight;
    tilted lines make the detector merge neighbouring lines)."""
    from PIL import Image

    angle = skew_angle(img)
    if abs(angle) < 0.3:
        return img
    return img.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=(255, 255, 255))


def image_to_text(img) -> str:
    """The text of one page image (a Pillow image), as lines."""
    import numpy as np

    img = deskew(img)
    array = np.asarray(img)[:, :, ::-1].copy()  # the engine expects OpenCV's BGR order
    result, _ = engine()(array)
    return tidy(lines_from_boxes(result or []))


def read_image_bytes(data: bytes) -> str:
    return image_to_text(open_image(data))


# --- from boxes to lines -----------------------------------------------------------

def lines_from_boxes(result: list) -> str:
    """Join recognised boxes into lines: same row (vertical centres within half a
    box height, after allowing for a slight tilt of the page), left to right; a
    blank line where the gap to the next row is over 1.6 line heights."""
    boxes = []
    for box, text, _score in result:
        xs = [p[0] for p in box]
        ys = [p[1] for p in box]
        # the left and right mid-points give the line's slope
        left = ((box[0][0] + box[3][0]) / 2, (box[0][1] + box[3][1]) / 2)
        right = ((box[1][0] + box[2][0]) / 2, (box[1][1] + box[2][1]) / 2)
        boxes.append({"x0": min(xs), "x1": max(xs), "cy": (min(ys) + max(ys)) / 2,
                      "h": max(1.0, (math.dist(box[0], box[3]) + math.dist(box[1], box[2])) / 2),
                      "left": left, "right": right, "text": text.strip()})
    if not boxes:
        return ""
    # the page's tilt: median slope of the wider boxes
    slopes = sorted((b["right"][1] - b["left"][1]) / (b["right"][0] - b["left"][0])
                    for b in boxes if b["right"][0] - b["left"][0] > 3 * b["h"])
    slope = slopes[len(slopes) // 2] if slopes else 0.0
    for b in boxes:  # vertical position with the tilt taken out
        b["y"] = b["cy"] - slope * (b["x0"] + b["x1"]) / 2
    boxes.sort(key=lambda b: b["y"])
    rows: list[list[dict]] = []
    for b in boxes:
        if rows:
            last = rows[-1]
            ry = sum(x["y"] for x in last) / len(last)
            rh = sum(x["h"] for x in last) / len(last)
            if abs(b["y"] - ry) < 0.5 * min(rh, b["h"]) + 0.1 * rh:
                last.append(b)
                continue
        rows.append([b])
    ys = [sum(b["y"] for b in row) / len(row) for row in rows]
    gaps = sorted(b - a for a, b in zip(ys, ys[1:]))
    pitch = gaps[len(gaps) // 4] if gaps else 0.0  # the usual line pitch (blank lines are the rarer, larger gaps)
    out: list[str] = []
    for i, row in enumerate(rows):
        row.sort(key=lambda b: b["x0"])
        if i and ys[i] - ys[i - 1] > 1.6 * pitch:
            out.append("")
        out.append("  ".join(b["text"] for b in row if b["text"]))
    return "\n".join(out)


# --- tidying the recognition model's slips ------------------------------------------

_LEVEL_ONE = [
    # "Ll", "LI", "L|" for L1 (before a dash, slash, space, punctuation or the end)
    (re.compile(r"(?<![A-Za-z0-9])L[lI|](?![A-Za-z0-9])"), "L1"),
    # "Sl" for S1 ("SI" is left alone: it is also the sacroiliac joint)
    (re.compile(r"(?<![A-Za-z0-9])S[l|](?![A-Za-z0-9])"), "S1"),
    # "Tl2", "TI1" for T12, T11; "Tl" for T1
    (re.compile(r"(?<![A-Za-z0-9])T[lIi|](?=[0-2]?(?![A-Za-z0-9]))"), "T1"),
    # a lower-case s in a level: "L5-s1"
    (re.compile(r"(?<=[LT]\d[-/])s(?=1(?![0-9]))"), "S"),
    # glued to the words around it: "rightSlnerve" -> "rightS1nerve" (spaces come below)
    (re.compile(r"(?<=[a-z\-/])([LS])[l|](?=[a-z]{3})"), r"\g<1>1"),
    (re.compile(r"(?<=[a-z])S[l|](?![A-Za-z0-9])"), "S1"),
    (re.compile(r"(?<=[a-z])T[lIi|](?=[0-2](?![A-Za-z0-9]))"), "T1"),
]
# a numbered item glued to its text: "2.L4-L5 annular fissure" -> "2. L4-L5 annular fissure"
_LIST_NUMBER = re.compile(r"^(\d{1,2}\.)(?=[A-Za-z])")
# a space where a level is glued to a word: "atL4-L5" -> "at L4-L5", "L5nerve" -> "L5 nerve"
_GLUE_BEFORE_LEVEL = re.compile(r"(?<=[a-z])(?=[LTS]\d)|(?<=[A-Z]{3})(?=[LTS]\d)|(?<=[LTS]\d)(?=[A-Z]{3})")
# a word in lower case glued to one in capitals: "mildDDD", "frommyMRI" -> "mild DDD", "frommy MRI"
_GLUE_CAMEL = re.compile(r"(?<=[a-z]{2})(?=[A-Z])")
_GLUE_AFTER_NUMBER = re.compile(r"(?<=\d)(?=(?!st\b|nd\b|rd\b|th\b|mm\b|cm\b|x\b)[a-z]{2,})|(?<=\d)(?=[A-Z][a-z]{2})")
# a word glued to a number: "type1" -> "type 1", "in2019" -> "in 2019" (levels are handled above)
_GLUE_BEFORE_NUMBER = re.compile(r"(?<=[a-z]{2})(?=\d)|(?<=\ba)(?=\d)")
# brackets glued to words: "fissure(high-intensity zone)at" -> "fissure (high-intensity zone) at";
# a possessive glued to the next word: "Schmorl'snodes" -> "Schmorl's nodes"
_GLUE_BRACKETS = re.compile(r"(?<=[A-Za-z0-9])(?=\([A-Za-z])|(?<=[a-z]\))(?=[A-Za-z])|(?<=[a-z]'s)(?=[a-z]{3})")
# a word in capitals with a letter or two read in lower case ("MRl", "TECHNlQUE", "IMPRESSiOn"):
# section titles must be read as such
_CAPS_WORD = re.compile(r"\b[A-Za-z|]{3,}\b")


def _caps(m: re.Match) -> str:
    w = m.group(0)
    upper = sum(c.isupper() for c in w)
    if upper >= 2 and upper >= 2 * (len(w) - upper) and not w[1:].islower():
        return w.replace("l", "I").replace("|", "I").upper()
    return w
# a space after sentence punctuation glued to the next word: "Maintained.No" -> "Maintained. No"
_GLUE_AFTER_PUNCT = re.compile(r"(?<=[a-z\)][.,;:])(?=[A-Za-z])|(?<=[A-Z\d][:;,])(?=[A-Za-z])|(?<=[A-Za-z][.,;:])(?=\d)"
                               r"|(?<=\d\.)(?=[A-Z][a-z])|(?<=[A-Z]{2}\.)(?=[A-Z]{2})")
_WORDS = re.compile(r"[A-Za-z]+")


_SHORT = frozenset("a an at of in on to or is no by as up it be".split())
#: report words missing from both the English dictionary and the rules' lexicon, so that
#: "marrowedema" splits into "marrow edema" (and not into four short words)
REPORT_WORDS = frozenset("""
edema radicular mri hyperintense hypointense laminectomy laminotomy hemilaminotomy discectomy
microdiscectomy postoperative preoperative gadolinium paraspinal neuroforaminal subarticular
medullaris conus cauda equina thecal sacroiliac enhancing enhancement degenerative endplate intradural
endplates intervertebral lumbosacral vertebral foraminal spondylosis hemangioma schmorl tarlov
""".split())


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[dict[str, float], int]:
    """Word costs for splitting run-together words: the English frequency dictionary
    shipped in the symspellpy wheel (as the speller uses) and the rules' lexicon."""
    from .nlp import rules
    from .nlp.spelling import dictionary_path

    spelling = rules.load_spelling(rules.default_patterns_dir())
    counts: dict[str, int] = {}
    with dictionary_path(spelling.dictionary).open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                counts[parts[0].lower()] = int(parts[1])
    total = sum(counts.values())
    top = max(counts.values())
    # pieces a split may produce: dictionary words of 5+ letters, words of 3-4 letters
    # seen at least a million times (rarer short entries such as "hes", "orly" would chop
    # unknown words into nonsense), the rules' lexicon, and a few common short words
    cost = {w: -math.log(c / total) for w, c in counts.items()
            if w.isalpha() and (len(w) >= 5 or (len(w) >= 3 and c >= 1_000_000) or w in _SHORT)}
    for w in [*spelling.lexicon, *spelling.never, *REPORT_WORDS]:
        # report words are as likely as the commonest English words
        cost[w] = min(cost.get(w, math.inf), -math.log(top / total) + 1.0)
    longest = max(len(w) for w in cost)
    return cost, longest


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    """Every dictionary and lexicon word: these are never split."""
    from .nlp import rules
    from .nlp.spelling import english_words

    spelling = rules.load_spelling(rules.default_patterns_dir())
    return (english_words(spelling.dictionary) | frozenset(spelling.lexicon) | frozenset(spelling.never)
            | REPORT_WORDS)


def _near_known(low: str) -> bool:
    """True when ``low`` is one edit (a letter dropped, added, changed or two swapped)
    from a known word of 6+ letters: a misspelling ("compresion"), which the pipeline's
    speller may still read, not words run together."""
    known = _known()
    letters = "abcdefghijklmnopqrstuvwxyz"
    n = len(low)
    for i in range(n + 1):
        if i < n and len(low) > 6 and low[:i] + low[i + 1:] in known:
            return True
        if i < n - 1 and low[:i] + low[i + 1] + low[i] + low[i + 2:] in known:
            return True
        for c in letters:
            if low[:i] + c + low[i:] in known:
                return True
            if i < n and c != low[i] and low[:i] + c + low[i + 1:] in known:
                return True
    return False


#: the cost of a piece that is no known word (a misspelling or a rare term inside a long
#: run of words: "milddiscdessicationat"); high, so a known split always wins where there is one
UNKNOWN_PIECE = 40.0
#: a run this long may hold unknown pieces, if known words make up most of its letters
LONG_RUN = 15
KNOWN_SHARE = 0.7


def _best_split(word: str, low: str, *, unknown: bool) -> Optional[list[int]]:
    """Cut positions of the cheapest split of ``low`` into known words (and, with
    ``unknown``, pieces that are no known word), or None."""
    cost, longest = _vocabulary()
    n = len(low)
    best: list[tuple[float, int, int]] = [(0.0, 0, 0)] + [(math.inf, 0, 0)] * n  # cost, start, known letters
    for end in range(1, n + 1):
        for start in range(max(0, end - longest) if not unknown else 0, end):
            piece = low[start:end]
            c = cost.get(piece) if end - start <= longest else None
            if c is None and piece == "i" and word[start] == "I":  # "gradeI", "ThereisagradeIdegenerative"
                c = cost.get("a", 8.0)
            known = end - start if c is not None else 0
            if c is None and unknown and end - start >= 2:
                c = UNKNOWN_PIECE + 3.0 * (end - start)  # the more letters left unknown, the worse
            if c is not None and best[start][0] + c + 4.0 < best[end][0]:  # 4.0: each extra word costs
                best[end] = (best[start][0] + c + 4.0, start, best[start][2] + known)
    if math.isinf(best[n][0]):
        return None
    if unknown and best[n][2] < KNOWN_SHARE * n:
        return None
    cuts, end = [], n
    while end > 0:
        start = best[end][1]
        cuts.append(start)
        end = start
    return sorted(c for c in cuts if c > 0) or None


def split_words(word: str) -> str:
    """``word`` with spaces where it is two or more known words run together
    ("discherniation" -> "disc herniation"); unchanged when it is a known word, a
    misspelling of one, or no split into known words exists (a run of 15 letters or
    more may keep an unknown piece when known words make up 70% of its letters). The
    letters and their case are kept."""
    cost, _ = _vocabulary()
    low = word.lower()
    if len(low) < 4 or low in cost or low in _known():
        return word
    if len(low) >= 6 and _near_known(low):
        return word
    cuts = _best_split(word, low, unknown=False)
    if cuts is None and len(low) >= LONG_RUN:
        cuts = _best_split(word, low, unknown=True)
    if not cuts:
        return word
    out, prev = [], 0
    for c in cuts + [len(low)]:
        out.append(word[prev:c])
        prev = c
    return " ".join(out)


def tidy(text: str) -> str:
    """Insert the spaces the recogniser dropped and mend level spellings (see module doc)."""
    lines = []
    for line in text.split("\n"):
        for rx, repl in _LEVEL_ONE:
            line = rx.sub(repl, line)
        line = _CAPS_WORD.sub(_caps, line)
        line = _LIST_NUMBER.sub(r"\1 ", line)
        line = _GLUE_AFTER_PUNCT.sub(" ", line)
        line = _GLUE_CAMEL.sub(" ", line)
        line = _GLUE_BEFORE_LEVEL.sub(" ", line)
        line = _GLUE_AFTER_NUMBER.sub(" ", line)
        line = _GLUE_BEFORE_NUMBER.sub(" ", line)
        line = _GLUE_BRACKETS.sub(" ", line)
        line = _WORDS.sub(lambda m: split_words(m.group(0)), line)
        lines.append(line)
    return join_wrapped(lines)


def join_wrapped(lines: list[str]) -> str:
    """Lines the page wrapped joined back: a line that does not end a sentence or a
    heading, followed by one that starts in lower case, carries on ("no disc bulge or" +
    "extrusion."). A report's own line breaks (headings, levels, lists) stay."""
    out: list[str] = []
    for line in lines:
        if (out and out[-1].strip() and line[:1].islower()
                and not out[-1].rstrip().endswith((".", ":", ";", "!", "?"))):
            out[-1] = out[-1].rstrip() + " " + line.lstrip()
        else:
            out.append(line)
    return "\n".join(out)


def pdf_page_images(data: bytes, *, max_pages: int) -> list:
    """The images of a PDF that has no text layer (a scan): the largest image of
    each page, as Pillow images. Raises :class:`OcrError` when there is none."""
    from PIL import Image
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if len(reader.pages) > max_pages:
        raise OcrError(f"The scanned PDF has {len(reader.pages)} pages; up to {max_pages} pages are read from a scan.")
    pages = []
    for page in reader.pages:
        best = None
        try:
            images = list(page.images)
        except Exception:  # noqa: BLE001 - pypdf raises many types for odd image streams
            images = []
        for item in images:
            try:
                img = item.image
                if img is None:
                    continue
                if best is None or img.width * img.height > best.width * best.height:
                    best = img
            except Exception:  # noqa: BLE001
                continue
        if best is not None:
            if best.width * best.height > MAX_PIXELS:
                raise OcrError("An image in the PDF is too large to read.")
            if best.mode not in ("RGB", "L"):
                best = best.convert("RGB")
            scale = MAX_SIDE / max(best.size)
            if scale < 1:
                best = best.resize((round(best.width * scale), round(best.height * scale)), Image.LANCZOS)
            pages.append(best.convert("RGB"))
    if not pages:
        raise OcrError("The PDF has no text layer and no scanned page image to read.")
    return pages


def read_pdf_scan(data: bytes, *, max_pages: int) -> str:
    return "\n\n".join(image_to_text(img) for img in pdf_page_images(data, max_pages=max_pages)).strip("\n")
