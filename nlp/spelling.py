"""Misspellings: read a report word that is a typing slip away from a rule word as that word.

Real transcribed reports hold typos no list of alternatives anticipates
("sesiccation", "protursion", "biltaral"). The first component of the
pipeline, ``spinecontext_spelling``, reads each word of the report against
the lexicon of ``patterns/spelling.yaml`` (the words the rules are written
with) and, when a word is a clear misspelling of exactly one lexicon word,
gives every later component the report with that word corrected:

* only words of letters, at least ``min_length`` long, that are neither
  English (the dictionary shipped in the symspellpy wheel) nor lexicon words
  nor listed in ``never`` are candidates;
* the lexicon words within the allowed distance (insertions, deletions,
  substitutions, adjacent transpositions; more for longer words) are found
  with a precomputed delete index (symspellpy's SymSpell); exactly one must
  be closest, and no English word may be closer;
* the correction keeps the word's case pattern.

The corrected text goes where every component reads the text
(:data:`base.TEXT_KEY`); the original and the corrections go to
``doc.user_data[SPELLING_KEY]``. The last component, ``spinecontext_finish``,
maps every stored offset back to the original report, so output offsets
always slice the original text, takes finding texts from it, rebuilds the
span groups, marks the mentions read through a correction
(``attributes["spelling"]``) and drops the per-report caches. A report with
no correction is never copied or remapped.

Cost: one regular-expression pass and one set test per report; each new
word is looked up once and remembered (a bounded cache shared by all reports).
"""

import re
from bisect import bisect_left, bisect_right
from operator import itemgetter
from importlib.util import find_spec
from pathlib import Path
from typing import Iterable, Optional, Union

import numpy
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Doc

from . import extensions as ext
from . import rules
from .base import CACHE_KEYS, SPANS_KEY, SPELLING_KEY, TEXT_KEY, ErrorHandling, RuleComponent, doc_text, drop_caches, set_entities
from .sentences import FEW_SENTENCES

__all__ = ["SPELLING_KEY", "Speller", "OffsetMap", "restore", "load_speller"]
#: Words remembered per speller before its caches start again (a few MiB at most).
CACHE_LIMIT = 50_000
#: Longer whitespace-separated pieces are read every time, not remembered.
MAX_CACHED_PIECE = 64
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
_first = itemgetter(0)


class DictionaryError(rules.RuleFileError):
    """The English word list named in spelling.yaml cannot be found."""


_ENGLISH: dict[Path, frozenset[str]] = {}


def dictionary_path(spec: rules.SpellingDictionary) -> Path:
    """The word list inside the installed package (found without importing it)."""
    found = find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        raise DictionaryError(f"spelling.yaml: dictionary package {spec.package!r} is not installed")
    for folder in found.submodule_search_locations:
        path = Path(folder) / spec.file
        if path.is_file():
            return path
    raise DictionaryError(f"spelling.yaml: {spec.file!r} is not in package {spec.package!r}")


def english_words(spec: rules.SpellingDictionary) -> frozenset[str]:
    """The dictionary's words, lower case (read once per process)."""
    path = dictionary_path(spec)
    words = _ENGLISH.get(path)
    if words is None:
        with path.open(encoding="utf-8") as handle:
            content = handle.read()
        if not content.islower():
            content = content.lower()
        fields = content.split()
        # one word a line, or "word count" pairs: then every other field is a word
        has_counts = len(fields) > 1 and fields[1].isdigit()
        words = _ENGLISH[path] = frozenset(fields[::2] if has_counts else fields)
    return words


def in_case_of(word: str, fix: str) -> str:
    """``fix`` written in the case pattern of ``word`` (lower, UPPER or Capitalised)."""
    if word.islower():
        return fix
    if word.isupper():
        return fix.upper()
    if word[0].isupper():
        return fix[0].upper() + fix[1:]
    return fix


class Speller:
    """Corrections of report words to lexicon words, with caches shared by all reports.

    Reports are read by their whitespace-separated pieces ("L4-L5:", "bulge,"):
    a piece seen before with no correction in it is skipped with one set test,
    so a report whose pieces are all known costs one ``str.split`` and one
    ``issuperset``. Every cache is bounded (:data:`CACHE_LIMIT` entries).
    """

    def __init__(self, data: rules.SpellingFile, english: frozenset[str]) -> None:
        from symspellpy import SymSpell, Verbosity

        self.data = data
        self.english = english
        self.lexicon = frozenset(data.lexicon)
        self._max_len = 64
        self._distance = [data.distance_for(n) for n in range(self._max_len + 1)]
        max_d = max(self._distance)
        self._verbosity = Verbosity.ALL
        # the delete index covers whole words (prefix_length above the longest word),
        # so a lookup finds every lexicon word within the distance
        self._index = SymSpell(max_dictionary_edit_distance=max(1, max_d),
                               prefix_length=max(len(w) for w in data.lexicon) + 1)
        for w in data.lexicon:
            self._index.create_dictionary_entry(w, 1)
        #: words never corrected: English, lexicon, never
        self._known = english | self.lexicon | frozenset(data.never)
        #: other words found to have no correction, and words -> correction (lower case)
        self._plain: set[str] = set()
        self._fixes: dict[str, str] = {}
        #: whitespace-separated pieces with no correction in them, and those with some
        self._ok_pieces: set[str] = set()
        self._bad_pieces: dict[str, list[tuple[int, int, str, str]]] = {}
        self._words = re.compile(rf"\b[A-Za-z]{{{data.min_length},}}\b")
        #: no lexicon word is within the distance of a longer word
        self._longest = max(len(w) for w in data.lexicon) + max_d

    # -- words --------------------------------------------------------------------
    def correction(self, word: str) -> Optional[str]:
        """The lexicon word that ``word`` (any case) is read as, lower case, or None."""
        w = word.lower()
        if not (w.isascii() and w.isalpha()) or w in self._known or w in self._plain:
            return None
        return self._lookup(w)

    def _lookup(self, w: str) -> Optional[str]:
        if len(w) > self._longest:
            return None
        fix = self._fixes.get(w)
        if fix is not None:
            return fix
        fix = self._best(w)
        if fix is None:
            if len(self._plain) >= CACHE_LIMIT:
                self._plain.clear()
            self._plain.add(w)
        else:
            if len(self._fixes) >= CACHE_LIMIT:
                self._fixes.clear()
            self._fixes[w] = fix
        return fix

    def _best(self, w: str) -> Optional[str]:
        d = self._distance[min(len(w), self._max_len)]
        if d == 0:
            return None
        found = self._index.lookup(w, self._verbosity, max_edit_distance=d)
        if not found:
            return None
        best = min(s.distance for s in found)
        top = [s.term for s in found if s.distance == best]
        if len(top) != 1 or best == 0:
            return None  # a tie between lexicon words: no correction
        if best > 1 and self._english_near(w):
            return None  # an English word is closer ("materail": material, not lateral)
        return top[0]

    def _english_near(self, w: str) -> bool:
        """Is an English word one edit from ``w``?"""
        english = self.english
        for i in range(len(w) + 1):
            head, tail = w[:i], w[i:]
            if tail and head + tail[1:] in english:
                return True
            if len(tail) > 1 and head + tail[1] + tail[0] + tail[2:] in english:
                return True
            for c in _ALPHABET:
                if tail and c != tail[0] and head + c + tail[1:] in english:
                    return True
                if head + c + tail in english:
                    return True
        return False

    # -- reports ------------------------------------------------------------------
    def _piece_fixes(self, piece: str) -> Optional[list[tuple[int, int, str, str]]]:
        """Corrections inside one whitespace-separated piece: (start, end, word, read_as), or None."""
        out = None
        known, plain = self._known, self._plain
        for m in self._words.finditer(piece):
            word = m.group()
            w = word.lower()
            if w in known or w in plain:
                continue
            fix = self._lookup(w)
            if fix is not None:
                if out is None:
                    out = []
                out.append((m.start(), m.end(), word, in_case_of(word, fix)))
        return out

    def correct(self, text: str) -> Optional[tuple[str, list[list]]]:
        """(corrected text, fixes) for a report, or None when nothing is corrected.

        Each fix is [orig_start, orig_end, new_start, new_end, word, read_as].
        """
        pieces = text.split()
        ok = self._ok_pieces
        if ok.issuperset(pieces):
            return None  # the usual case: every piece was seen before, with nothing to correct
        bad = self._bad_pieces
        with_fixes = []
        for piece in set(pieces).difference(ok):
            fx = bad.get(piece)
            if fx is None:
                fx = self._piece_fixes(piece)
                keep = len(piece) <= MAX_CACHED_PIECE
                if fx is None:
                    if keep:
                        if len(ok) >= CACHE_LIMIT:
                            ok.clear()
                        ok.add(piece)
                    continue
                if keep:
                    if len(bad) >= CACHE_LIMIT:
                        bad.clear()
                    bad[piece] = fx
            with_fixes.append((piece, fx))
        if not with_fixes:
            return None
        found = []
        n = len(text)
        for piece, fx in with_fixes:  # every whitespace-bounded occurrence of the piece
            size = len(piece)
            pos = text.find(piece)
            while pos != -1:
                end = pos + size
                if (pos == 0 or text[pos - 1].isspace()) and (end == n or text[end].isspace()):
                    found.extend((pos + a, pos + b, word, read_as) for a, b, word, read_as in fx)
                pos = text.find(piece, end)
        found.sort()
        parts: list[str] = []
        fixes: list[list] = []
        pos = shift = 0
        for start, end, word, read_as in found:
            parts.append(text[pos:start])
            parts.append(read_as)
            fixes.append([start, end, start + shift, start + shift + len(read_as), word, read_as])
            shift += len(read_as) - (end - start)
            pos = end
        parts.append(text[pos:])
        return "".join(parts), fixes


@rules.cached("spelling.yaml")
def load_speller(directory: Path) -> Speller:
    """The speller of a rule folder (one per folder and file version, shared by its pipelines)."""
    data = rules.load_spelling(directory)
    return Speller(data, english_words(data.dictionary))


class OffsetMap:
    """Offsets in the corrected text -> offsets in the original report.

    ``fixes``: [orig_start, orig_end, new_start, new_end, ...] in text order.
    Offsets outside corrected words move by the length change of the
    corrections before them; one inside a corrected word stays inside the
    original word. The map never decreases, so spans stay spans. Offsets up
    to ``stable`` (the start of the first correction that changes the length;
    None when none does) do not move. ``table[p]`` is the original offset of
    corrected offset ``p`` (0 <= p <= length of the corrected text).
    """

    def __init__(self, fixes: list[list], length: int) -> None:
        self.fixes = fixes
        self.stable = next((f[2] for f in fixes if f[1] - f[0] != f[3] - f[2]), None)
        table: list[int] = []
        extend = table.extend
        pos = 0  # next corrected offset to map
        for f in fixes:
            o0, o1, n0, n1 = f[0], f[1], f[2], f[3]
            extend(range(pos + (o0 - n0), o0))  # the stretch before the word, shifted
            if n1 - n0 <= o1 - o0:  # inside the word: o0 + min(i, o1 - o0)
                extend(range(o0, o0 + (n1 - n0)))
            else:
                extend(range(o0, o1))
                extend([o1] * ((n1 - n0) - (o1 - o0)))
            pos = n1
        last = fixes[-1] if fixes else None
        delta = last[1] - last[3] if last else 0
        extend(range(pos + delta, length + delta + 1))
        self.table = table

    def __call__(self, pos: int) -> int:
        return self.table[pos]


def restore(doc: Doc, record: dict) -> None:
    """Map every stored offset of a corrected report back to the original text.

    Finding texts are taken from the original and each mention read through a
    correction gets ``attributes["spelling"]``; when the corrections change
    the length of the text, sections, sentences (and token sentence starts),
    levels, the report age and the summary move too. The finding spans are
    built here (``base.set_finding_spans`` leaves them to this step).
    """
    text, fixes = record["text"], record["fixes"]
    new_sents = ext.get(doc, "spine_sentences") or []
    findings = ext.get(doc, "spine_findings") or []
    stable = next((f[2] for f in fixes if f[1] - f[0] != f[3] - f[2]), None)
    m = OffsetMap(fixes, len(record["corrected"])).table if stable is not None else None
    fix_starts = [f[2] for f in fixes]
    n_sents = len(new_sents)
    for f in findings:
        fs, fe = f["start"], f["end"]
        si = f.get("sentence")
        s0, s1 = new_sents[si] if si is not None and si < n_sents else (fs, fe)
        lo = bisect_left(fix_starts, s0 if s0 < fs else fs)
        hi = bisect_left(fix_starts, s1 if s1 > fe else fe)
        if lo < hi:
            near = fixes[lo:hi]
            inside = [fx for fx in near if fx[2] < fe and fs < fx[3]]
            attrs = f.get("attributes")
            if attrs is None:
                attrs = f["attributes"] = {}
            attrs["spelling"] = {
                "read_as": f["text"],
                "words": [_word(fx) for fx in inside],
                "sentence": [_word(fx) for fx in near if fx not in inside],
            }
        if m is not None and fe > stable:
            fs = f["start"] = m[fs]
            fe = f["end"] = m[fe]
        if m is not None:
            for c in f.get("context") or ():
                if c[1] > stable:
                    c[0], c[1] = m[c[0]], m[c[1]]
        f["text"] = text[fs:fe]
    if m is not None:
        for sec in ext.get(doc, "spine_sections") or []:
            if sec["end"] > stable:
                sec["start"], sec["end"] = m[sec["start"]], m[sec["end"]]
                if sec.get("header_end") is not None:
                    sec["header_end"] = m[sec["header_end"]]
        if new_sents and new_sents[-1][1] > stable:
            sents = [[m[a], m[b]] for a, b in new_sents]
            ext.put(doc, "spine_sentences", sents)
            if sents[-1][0] > stable:
                _fix_sentence_starts(doc, new_sents, sents, len(text))
        for g in ext.get(doc, "spine_levels") or []:
            if g["end"] > stable or (g.get("scope_end") or 0) > stable:
                g["start"], g["end"] = m[g["start"]], m[g["end"]]
                if g.get("scope_end") is not None:
                    g["scope_end"] = m[g["scope_end"]]
        age = ext.get(doc, "spine_age")
        if age and age.get("end") is not None and age["end"] > stable:
            age["start"], age["end"] = m[age["start"]], m[age["end"]]
        for entry in ext.get(doc, "spine_summary") or []:
            entry["mentions"] = [[m[a], m[b]] for a, b in entry.get("mentions") or []]
    spans = ext.record_spans(doc, findings, "finding")
    doc.spans["spine_findings"] = spans
    doc.user_data[SPANS_KEY] = spans


def _word(fix: list) -> dict:
    """A correction as stored on a mention: the original word, its reading and offsets."""
    o0, o1, _, _, word, read_as = fix
    return {"word": word, "read_as": read_as, "start": o0, "end": o1}


def _fix_sentence_starts(doc: Doc, new_sents: list[list[int]], sents: list[list[int]], length: int) -> None:
    """Token sentence starts from the original offsets ``sents``.

    The sentences component set them from the corrected offsets
    ``new_sents``, the way it sets them for the original text: token by token
    for a few sentences (often the same tokens: a shift of a character or two
    stays in the token or its trailing space), one array write for many.
    """
    n = len(doc)
    if not n:
        return
    if len(sents) > FEW_SENTENCES:
        idx = doc.to_array("IDX").astype(numpy.int64)
        flags = numpy.zeros(n, dtype=numpy.uint64)
        flags[0] = 1
        first = numpy.searchsorted(idx, numpy.array([a for a, _ in sents], dtype=numpy.int64))
        flags[first[first < n]] = 1
        doc.from_array([SENT_START], flags.reshape(-1, 1))
        return
    rows = doc.to_array(["IDX", "SPACY"]).tolist()  # tokens tile the text: [start, trailing space]

    def token(a: int, b: int) -> Optional[int]:
        """The token the sentences component marks for [a, b): that of doc.char_span(a, b, "expand")."""
        if a < 0 or b - 1 >= length or b <= a:
            return None
        t = bisect_right(rows, a, key=_first) - 1
        if a == (rows[t + 1][0] if t + 1 < n else length) - rows[t][1]:
            t += 1  # in the token's trailing space: the next token
        return t if 0 < t < n else None

    wrong = {token(a, b) for (a, b), new in zip(new_sents, sents) if [a, b] != new} - {None}
    right = {token(a, b) for (a, b), old in zip(sents, new_sents) if [a, b] != old} - {None}
    if wrong == right:
        return
    kept = {token(a, b) for (a, b), old in zip(sents, new_sents) if [a, b] == old} - {None}
    for t in wrong - right - kept:
        doc[t].is_sent_start = None
    for t in right:
        doc[t].is_sent_start = True


class SpellingCorrector(RuleComponent):
    kind = "spelling"

    def _load(self, directory: Path) -> None:
        self.speller = load_speller(directory)

    def __call__(self, doc: Doc) -> Doc:
        text = doc_text(doc)
        done = self.speller.correct(text)
        if done is None:
            return doc
        corrected, fixes = done
        user = doc.user_data
        user[TEXT_KEY] = corrected
        user[SPELLING_KEY] = {"text": text, "corrected": corrected, "fixes": fixes}
        for key in CACHE_KEYS[1:]:  # word starts of the original text, if any
            user.pop(key, None)
        return doc


class Finisher(ErrorHandling):
    """The last component: offsets back to the original report, then drop the caches."""

    def __init__(self, nlp: Language, name: str) -> None:
        ext.register()
        self.name = name

    def __call__(self, doc: Doc) -> Doc:
        record = doc.user_data.pop(SPELLING_KEY, None)
        if record is not None:
            restore(doc, record)
        set_entities(doc)
        drop_caches(doc)
        return doc

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = ()) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = ()) -> "Finisher":
        return self


@Language.factory(
    "spinecontext_spelling",
    default_config={"patterns_dir": None},
    assigns=[],
)
def make_spelling(nlp: Language, name: str, patterns_dir: Optional[str]) -> SpellingCorrector:
    """Read misspelt rule words as the lexicon word (patterns/spelling.yaml); offsets stay the report's.

    patterns_dir: folder of rule files to use instead of the packaged ones.
    """
    return SpellingCorrector(nlp, name, patterns_dir=patterns_dir)


@Language.factory(
    "spinecontext_finish",
    default_config={},
    assigns=["doc._.spine_findings", "doc.spans", "doc.ents"],
)
def make_finish(nlp: Language, name: str) -> Finisher:
    """Map offsets back to the original report after spelling corrections, set ``doc.ents``, drop per-report caches."""
    return Finisher(nlp, name)
