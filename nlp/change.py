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

Cues, comparison wording and procedures are found in one scan of the report;
the clause rules (TERMINATE, RELATIVE) are read only in a report holding a cue,
and a report with none of these is left untouched.
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
from .scan import Scanner, doc_word_starts, word_starts

STRONG = ("NEW", "WORSE", "BETTER", "UNCHANGED", "RESOLVED")
CUES = STRONG + ("PRIOR", "GLOBAL")
_AT_LEVEL = re.compile(r"\b(?:at|in)\s+(?:the\s+)?$", re.IGNORECASE)
#: how far after a cue an "at <level>" may start
_AT_REACH = 12


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
        # rule i < len(rules) is a change rule, then the comparison wording, then the
        # procedures in order
        self.n_rules = len(parts)
        self.procedure_names = [p.name for p in data.procedures]
        extra = [data.comparison.stated] + [rules.expand(p.pattern, directory, f"change.yaml procedure {p.name}")
                                            for p in data.procedures]
        # Two scanners: the cues (with the PSEUDO rules that hide words from them),
        # the comparison wording and the procedures, read in every report; the clause
        # rules (TERMINATE, RELATIVE), read only in a report that holds a cue (most
        # hold none: the dev notes none, the long-form reports one in four).
        clause = [i for i, r in enumerate(data.rules) if r.category in ("TERMINATE", "RELATIVE")]
        first = [i for i in range(len(parts) + len(extra)) if i not in set(clause)]
        self.rx, self.owner = self._scanner(parts + extra, first)
        self.rx_clauses, self.owner_clauses = self._scanner(parts, clause)
        self.stops = [re.compile(r.stop, rules.FLAGS) if r.stop else None for r in data.rules]
        self.ignore = frozenset(data.ignore_sections)
        self.none = re.compile(data.comparison.none, rules.FLAGS)

    @staticmethod
    def _scanner(exprs: list[str], chosen: list[int]) -> tuple[Optional[Scanner], list[int]]:
        """A scanner of the expressions ``chosen`` (indices into ``exprs``), and the index
        each of its patterns comes from. Each top-level alternative is its own pattern,
        so a word start tries only the alternatives that may begin there (the same
        matches: the alternatives keep their order)."""
        split: list[str] = []
        owner: list[int] = []
        for i in chosen:
            alternatives = _top_alternatives(exprs[i])
            split += alternatives
            owner += [i] * len(alternatives)
        return (Scanner(split, rules.FLAGS, "c") if split else None), owner

    # -- scanning -------------------------------------------------------------------
    def may_have_cues(self, text: str) -> bool:
        """Does the report hold a change cue, comparison wording or a procedure?"""
        other: list = []
        return bool(self.cues(text, word_starts(text, True), [], other) or other)

    def cues(self, text: str, starts: list[int], sections: list[dict], extra: Optional[list] = None,
             ) -> list[tuple[int, int, rules.ChangeRule, int]]:
        """(start, end, rule, rule index) of every cue outside the ignored sections;
        comparison wording and procedures go to ``extra`` as (start, index past the rules).
        ``starts``: the report's word and punctuation starts (scan.word_starts)."""
        out = []
        for m, i in self._found(self.rx, self.owner, text, starts, sections):
            if i >= self.n_rules:
                if extra is not None:
                    extra.append((m.start(), i - self.n_rules))
                continue
            rule = self.rules[i]
            if rule.category != "PSEUDO":
                out.append((m.start(), m.end(), rule, i))
        return out

    def clauses(self, text: str, starts: list[int], sections: list[dict]) -> list[tuple[int, int, rules.ChangeRule, int]]:
        """(start, end, rule, rule index) of every TERMINATE and RELATIVE word outside the ignored sections."""
        return [(m.start(), m.end(), self.rules[i], i)
                for m, i in self._found(self.rx_clauses, self.owner_clauses, text, starts, sections)]

    def _found(self, scanner: Optional[Scanner], owner: list[int], text: str, starts: list[int], sections: list[dict]):
        if scanner is None:
            return
        section_starts = [s["start"] for s in sections]
        for m in scanner.finditer(text, starts=starts):
            i = owner[int(m.lastgroup[1:])]
            # comparison wording and procedures count in every section ("HISTORY:
            # status post L4-L5 discectomy"); change rules not in the ignored ones
            if i < self.n_rules and sections and self.ignore:
                sec = sections[max(0, bisect_right(section_starts, m.start()) - 1)]
                if sec["kind"] in self.ignore and sec["start"] <= m.start() < sec["end"]:
                    continue
            yield m, i

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
        # one scan of the report (the scanner tries its expressions only at the
        # word starts whose first letters one of them may begin with)
        other: list[tuple[int, int]] = []
        starts = doc_word_starts(doc, True)
        found = self.cues(text, starts, sections, other)
        if not found and not other and not compared_section:
            return doc
        findings = ext.get(doc, "spine_findings") or []
        sents = ext.get(doc, "spine_sentences") or [[0, len(text)]]
        if found:
            found = sorted(found + self.clauses(text, starts, sections), key=lambda c: (c[0], c[1], c[3]))
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
