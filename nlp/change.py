"""Change over time: does the report say a finding is new, worse, better, unchanged or gone?

A ConText-style algorithm driven by ``patterns/change.yaml`` (cues with a
category, a direction and a scope in words, PSEUDO and TERMINATE rules,
sections whose words are not cues), evaluated on character offsets inside
each sentence, like :mod:`assertion`:

* cues are found in one scan of the report; PSEUDO rules ("no new", "new back
  pain") come first and hide what they cover; cues in the ignored sections
  (history, comparison, technique, exam) are dropped;
* a forward cue reaches findings after it, a backward one findings before it,
  up to ``max_scope`` words, within the sentence, and not over a TERMINATE
  rule that stops cues of that direction (an effect clause, "causing ...",
  stops forward cues only, so the cue of the cause does not reach its effect);
* each mention takes the **nearest** strong cue (NEW, WORSE, BETTER,
  UNCHANGED, RESOLVED) reaching it; else a PRIOR cue ("previously described
  X") gives ``unchanged``; else a GLOBAL statement of the report ("no other
  interval change", "otherwise stable") gives ``unchanged`` to present and
  possible mentions outside the ignored sections, except those sharing a
  sentence with a mention cued new or worse (what "otherwise" sets apart);
* a cue followed by "at <level>" ("increased at L4-5") covers only those
  levels of a mention at several levels (``attributes.change_levels``).

How assertion and change combine (README, "Change over time"):

* ``resolved`` means the finding is not there now: a present or possible
  mention with a resolved cue becomes ``absent`` (and loses its severity,
  which described the earlier state);
* an ``absent`` mention has change ``resolved`` when a RESOLVED cue reaches it,
  else null ("no new fracture" is absent with no change);
* a ``historical`` mention has no change;
* a ``possible`` mention keeps its cue ("possible new cyst" is possible, new).

Report level, ``doc._.spine_change``: ``{"compared": bool, "procedures":
[{"procedure", "levels", "section_name"}], "global_unchanged": bool}`` (no "section" key:
medspaCy's msgpack decoder would read such a dict as its Section) when the report states
a comparison with an earlier study (a comparison section that is not "none",
comparison wording, or any cue) or names a procedure ("status post L4-L5
laminectomy", "postoperative changes": not findings of the taxonomy, they
tell the reader why a finding may be gone); otherwise not set (null).

A report holding none of the strings the cue, comparison and procedure rules
need is left untouched, after one substring check per needed string.
"""


import re
from bisect import bisect_left, bisect_right
from pathlib import Path
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc

from . import extensions as ext
from . import rules
from .base import RuleComponent, doc_text, sentence_index
from .scan import Scanner, doc_word_starts, needed_literals, text_info

STRONG = ("NEW", "WORSE", "BETTER", "UNCHANGED", "RESOLVED")
CUES = STRONG + ("PRIOR", "GLOBAL")
_AT_LEVEL = re.compile(r"\b(?:at|in)\s+(?:the\s+)?$", re.IGNORECASE)
#: how far after a cue an "at <level>" may start
_AT_REACH = 12


#: Words most reports hold; a set of needed strings holding one of them does not tell
#: reports with change wording from others, so another set of the rule is used.
_COMMON = frozenset("""findings finding mild moderate severe small large marked narrow normal seen not from since
this as ha re on in of is are there have has interval patent only less more minimal present noted no
changes degenerative""".split())


def _commonness(alts) -> tuple:
    return (sum(3 if len(x) <= 2 else 1 for x in alts if x in _COMMON or len(x) <= 2), len(alts), -min(map(len, alts)))


def _trie(strings) -> str:
    """An expression matching any of ``strings``, factored by first characters."""
    by_first: dict[str, list[str]] = {}
    for s in strings:
        by_first.setdefault(s[0], []).append(s[1:])
    parts = []
    for c, rests in sorted(by_first.items()):
        if "" in rests:
            parts.append(re.escape(c))  # the shorter string matches wherever a longer one does
        else:
            parts.append(re.escape(c) + (_trie(rests) if len(rests) > 1 else re.escape(rests[0])))
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def _top_alternatives(rx: str) -> list[str]:
    """The top-level alternatives of an expression ("a|b(c|d)" -> ["a", "b(c|d)"]), so the
    strings a report must hold are chosen per alternative."""
    out, depth, cls, start, i = [], 0, False, 0, 0
    while i < len(rx):
        c = rx[i]
        if c == "\\":
            i += 2
            continue
        if cls:
            cls = c != "]"
        elif c == "[":
            cls = True
            if rx[i + 1:i + 2] == "]" or rx[i + 1:i + 3] == "^]":
                i += 2 if rx[i + 1] == "]" else 3
                continue
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            out.append(rx[start:i])
            start = i + 1
        i += 1
    out.append(rx[start:])
    return out


class ChangeDetector(RuleComponent):
    kind = "change"

    def _load(self, directory: Path) -> None:
        data = rules.load_change(directory)
        self.data = data
        self.rules = data.rules
        parts = [rules.expand(r.regex, directory, f"change.yaml rule {i}") for i, r in enumerate(data.rules)]
        # one scan a report finds the cues, the comparison wording and the procedures:
        # rule i < len(rules) is a cue rule, then comparison, then the procedures in order
        self.n_rules = len(parts)
        self.procedure_names = [p.name for p in data.procedures]
        extra = [data.comparison.stated] + [rules.expand(p.pattern, directory, f"change.yaml procedure {p.name}")
                                            for p in data.procedures]
        self.rx = Scanner(parts + extra, rules.FLAGS, "c")
        self.stops = [re.compile(r.stop, rules.FLAGS) if r.stop else None for r in data.rules]
        self.ignore = frozenset(data.ignore_sections)
        self.none = re.compile(data.comparison.none, rules.FLAGS)
        # the strings some cue, comparison or procedure rule needs: a report
        # holding none of them (and read exactly) has nothing to do here
        needles: set[str] = set()
        exprs = [p for p, r in zip(parts, data.rules) if r.category in CUES]
        exprs += [data.comparison.stated] + [p.pattern for p in data.procedures]
        for e in exprs:
            for alternative in _top_alternatives(rules.expand(e, directory)):
                n = needed_literals(alternative, rules.FLAGS, most=8)
                if n is None:
                    needles = None
                    break
                # any one set will do: the one least likely in a report
                needles.update(min(n, key=_commonness))
            if needles is None:
                break
        # a string holding another string of the set says nothing more
        self.needles = None if needles is None else tuple(sorted(
            n for n in needles if not any(m != n and m in n for m in needles)))
        #: the strings as one expression shaped as a trie (a first-character test at each
        #: position, then only the strings starting there), searched in the lowered text
        self.needle_rx = None if self.needles is None else re.compile(_trie(self.needles))

    # -- scanning -------------------------------------------------------------------
    def may_have_cues(self, text: str) -> bool:
        """False only when the report (read exactly) holds none of the strings the rules need."""
        return self.cue_positions(text) != []

    def cue_positions(self, text: str) -> Optional[list[int]]:
        """Where the strings the rules need occur (lowered text), or None when every
        position must be read (a text not read exactly, or a rule needing no string)."""
        if self.needles is None:
            return None
        exact, low = text_info(text)
        if not exact:
            return None
        return [m.start() for m in self.needle_rx.finditer(low)]

    def cues(self, text: str, doc: Doc, sections: list[dict], extra: Optional[list] = None,
             span: Optional[list[int]] = None) -> list[tuple[int, int, rules.ChangeRule, int]]:
        """(start, end, rule, rule index) of every cue and TERMINATE outside the ignored sections
        (in ``span`` = [start, end] only, if given); comparison wording and procedures go to
        ``extra`` as (start, index past the rules)."""
        section_starts = [s["start"] for s in sections]
        out = []
        pos, end = span if span is not None else (0, None)
        for m in self.rx.finditer(text, pos, end, starts=doc_word_starts(doc, True)):
            i = int(m.lastgroup[1:])
            if i >= self.n_rules:
                if extra is not None:
                    extra.append((m.start(), i - self.n_rules))
                continue
            rule = self.rules[i]
            if rule.category == "PSEUDO":
                continue
            if sections and self.ignore:
                sec = sections[max(0, bisect_right(section_starts, m.start()) - 1)]
                if sec["kind"] in self.ignore and sec["start"] <= m.start() < sec["end"]:
                    continue
            out.append((m.start(), m.end(), rule, i))
        return out

    # -- one mention ------------------------------------------------------------------
    def reach(self, f: dict, sent: list[int], cues: list, starts: list[int], words: list[int],
              term_fwd: list[int], term_bwd: list[int], text: str, relatives: list[int] = (),
              next_start: Optional[int] = None) -> list[tuple[int, str, int]]:
        """(distance in characters, category, cue index) of every cue reaching the mention.

        relatives: offsets of RELATIVE words; next_start: where the next mention of the
        sentence starts (a backward cue over a relative word reaches only the mention
        right before it)."""
        s0, s1 = sent
        fs, fe = f["start"], f["end"]
        out = []
        for k in range(bisect_left(starts, s0), bisect_left(starts, s1)):
            a, b, rule, _ = cues[k]
            if rule.category == "GLOBAL":
                direction, scope = "bidirectional", 12
            else:
                direction, scope = rule.direction, rule.max_scope
            if b <= fs and direction in ("forward", "bidirectional"):
                lo, hi, terms = b, fs, term_fwd
            elif a >= fe and direction in ("backward", "bidirectional"):
                lo, hi, terms = fe, a, term_bwd
            else:
                continue
            t = bisect_left(terms, lo)
            if t < len(terms) and terms[t] < hi:
                continue
            if terms is term_bwd and relatives:
                r = bisect_left(relatives, lo)
                if r < len(relatives) and relatives[r] < hi and next_start is not None and next_start < relatives[r]:
                    continue  # another mention stands between this one and "which"
            if bisect_left(words, hi) - bisect_left(words, lo) > scope:
                continue
            stop = self.stops[cues[k][3]]
            if stop is not None and stop.search(text, lo, hi):
                continue
            out.append((hi - lo, rule.category, k))
        return out

    # -- pipeline -----------------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        text = doc_text(doc)
        sections = ext.get(doc, "spine_sections") or []
        compared_section = self._comparison_section(text, sections)
        hits = self.cue_positions(text)
        if hits == [] and not compared_section:
            return doc
        findings = ext.get(doc, "spine_findings") or []
        sents = ext.get(doc, "spine_sentences") or [[0, len(text)]]
        other: list[tuple[int, int]] = []
        if hits is None:
            found = self.cues(text, doc, sections, other)
        else:
            # a cue lies within one sentence: read only the sentences holding a needed string
            found = []
            for si in sorted({sentence_index(sents, h) for h in hits}):
                found += self.cues(text, doc, sections, other, sents[si])
        term_fwd = [a for a, _, r, _ in found if r.category == "RELATIVE"
                    or r.category == "TERMINATE" and r.direction in ("forward", "bidirectional")]
        term_bwd = [a for a, _, r, _ in found if r.category == "TERMINATE" and r.direction in ("backward", "bidirectional")]
        relatives = [a for a, _, r, _ in found if r.category == "RELATIVE"]
        cues = [c for c in found if c[2].category not in ("TERMINATE", "RELATIVE")]
        starts = [c[0] for c in cues]
        words = doc_word_starts(doc, False)
        levels = ext.get(doc, "spine_levels") or []
        level_starts = [g["start"] for g in levels]
        has_global = any(c[2].category == "GLOBAL" for c in cues)
        pending_global = []
        # where the next mention of the same sentence starts (for relative clauses)
        following: dict[int, int] = {}
        ordered = sorted(range(len(findings)), key=lambda i: findings[i]["start"])
        for a, b in zip(ordered, ordered[1:]):
            if findings[a]["sentence"] == findings[b]["sentence"] and findings[b]["start"] >= findings[a]["end"]:
                following[a] = findings[b]["start"]
        for i, f in enumerate(findings):
            assertion = f.get("assertion", "present")
            if f.get("section_kind") in self.ignore:
                continue
            got = self.reach(f, sents[f["sentence"]], cues, starts, words, term_fwd, term_bwd, text,
                             relatives, following.get(i))
            if assertion == "historical":
                # "Known T12 metastasis, unchanged": a finding of this exam said to be
                # unchanged is there now (a history section is skipped above)
                hits = [g for g in got if g[1] == "UNCHANGED"]
                if not hits:
                    continue
                f["assertion"] = assertion = "present"
            if assertion == "absent":
                hits = [g for g in got if g[1] == "RESOLVED"]
            else:
                hits = [g for g in got if g[1] in STRONG] or [g for g in got if g[1] == "PRIOR"]
            if not hits:
                if has_global and assertion in ("present", "possible"):
                    pending_global.append(f)
                continue
            _, category, k = min(hits)
            change = rules.CHANGE_CATEGORIES[category]
            f["change"] = change
            only = self._cue_levels(cues[k], text, levels, level_starts, f["levels"])
            if only:
                f.setdefault("attributes", {})["change_levels"] = only
            if change == "resolved" and assertion != "absent":
                f["assertion"] = "absent"
                f["severity"] = None
        if pending_global:
            tied = {f["sentence"] for f in findings if f.get("change") in ("new", "worse")}
            for f in pending_global:
                if f["sentence"] not in tied:
                    f["change"] = "unchanged"
        procedures = self._procedures([(a, self.procedure_names[k - 1]) for a, k in other if k > 0],
                                      sents, sections, levels)
        compared = compared_section or any(c[2].category in CUES for c in cues) or any(k == 0 for _, k in other)
        if compared or procedures:
            ext.put(doc, "spine_change", {"compared": compared, "global_unchanged": has_global, "procedures": procedures})
        return doc

    def _comparison_section(self, text: str, sections: list[dict]) -> bool:
        """Does a comparison section name an earlier study (not "None")?"""
        for sec in sections:
            if sec["kind"] == "comparison":
                body = text[sec.get("header_end") or sec["start"]:sec["end"]]
                if re.search(r"\w", body) and not self.none.search(body):
                    return True
        return False

    def _cue_levels(self, cue, text: str, levels: list[dict], level_starts: list[int],
                    mention_levels: list[str]) -> Optional[list[str]]:
        """The levels a cue names right after it ("increased at L4-5"), when they are
        some but not all of the mention's levels."""
        if len(mention_levels) < 2:
            return None
        end = cue[1]
        i = bisect_left(level_starts, end)
        if i >= len(levels) or levels[i]["start"] > end + _AT_REACH:
            return None
        if not _AT_LEVEL.search(text[cue[0]:levels[i]["start"]]):
            return None
        named = [lv for lv in mention_levels if lv in levels[i]["levels"]]
        return named if named and len(named) < len(mention_levels) else None

    def _procedures(self, found: list[tuple[int, str]], sents: list[list[int]], sections: list[dict],
                    levels: list[dict]) -> list[dict]:
        """One entry per procedure found (start, name): its levels (in its sentence, or the
        level header over it) and section."""
        out = []
        section_starts = [s["start"] for s in sections]
        for pos, name in found:
            si = sentence_index(sents, pos)
            s0, s1 = sents[si]
            lv: list[str] = []
            for g in levels:
                if s0 <= g["start"] < s1 or (g.get("header") and g["start"] <= pos < (g.get("scope_end") or 0)):
                    lv += [x for x in g["levels"] if x not in lv]
            sec = sections[max(0, bisect_right(section_starts, pos) - 1)] if sections else None
            entry = {"procedure": name, "levels": lv, "section_name": sec["name"] if sec else "findings"}
            if entry not in out:
                out.append(entry)
        return out


@Language.factory(
    "spinecontext_change",
    default_config={"patterns_dir": None},
    requires=["doc._.spine_findings", "doc._.spine_sentences"],
    assigns=["doc._.spine_findings", "doc._.spine_change"],
)
def make_change(nlp: Language, name: str, patterns_dir: Optional[str]) -> ChangeDetector:
    """Decide for each finding whether the report says it is new, worse, better,
    unchanged or resolved (gone) compared with an earlier study.

    patterns_dir: folder of rule files to use instead of the packaged ones.
    """
    return ChangeDetector(nlp, name, patterns_dir=patterns_dir)
