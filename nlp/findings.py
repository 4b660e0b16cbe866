"""Findings: match the finding rules and tie each mention to its levels.

All unconditional patterns of all findings are matched in one pass over the
report (a first-character dispatch, see ``scan.py``); patterns with conditions
("nerve roots" only after a verb of compression) form a second pass. Each
mention is then placed in its sentence and section and linked to levels:

1. a level group right after it ("disc bulge noted at L4-L5");
2. else the nearest group before it in the sentence ("L4-L5: disc bulge");
3. else the nearest group after it in the sentence;
4. else the level header whose scope holds it;
5. else no level.

Disc findings prefer disc levels, vertebral findings prefer vertebrae.
Mentions only at cervical/thoracic levels, or unlevelled under a non-lumbar
exam title, are dropped: spinecontext is about the lumbar spine.
"""


import re
from pathlib import Path
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc

from . import rules
from .base import RuleComponent, doc_text, sentence_index, set_finding_spans
from .levels import Spine
from .scan import Scanner, word_starts

#: Words allowed between a finding and the level group that follows it for
#: that group to be "right after" the finding.
ADJACENT = re.compile(
    r"(?:[\s,:(\-]|\b(?:is|are|was|were|also|again|\w+ly|seen|not?e?d?|notred|present|identified|"
    r"demonstrated|visuali[sz]ed|at|in|of|from|involving|on|the|levels?|both|disc|space|mainly|"
    r"mostly|largest|especially|particularly|predominantly|most|marked|prominent)\b)*$",
    re.IGNORECASE,
)
#: Under these exam titles nothing is a lumbar finding; under a thoracic title
#: only a finding at a stated lumbar level (T12-L1) is.
NOT_LUMBAR = {"cervical", "other"}


class FindingMatcher(RuleComponent):
    kind = "findings"

    def _load(self, directory: Path) -> None:
        self.rules = {r.id: r for r in rules.load_findings(directory)}
        levels = rules.load_levels(directory)
        self.spine = Spine(levels)
        self.not_under_header = re.compile(levels.not_under_header, rules.FLAGS)
        self.same_level = re.compile(levels.same_level_as_before, rules.FLAGS)
        plain: list[str] = []
        cond: list[str] = []
        self.plain_specs: list[tuple[str, rules.PatternSpec]] = []
        self.cond_specs: list[tuple[str, rules.PatternSpec, Optional[re.Pattern], Optional[re.Pattern]]] = []
        for rule in self.rules.values():
            where = f"findings/{rule.id}"
            for spec in rule.patterns:
                rx = rules.expand(spec.regex, directory, where)
                if spec.conditional:
                    cond.append(rx)
                    self.cond_specs.append((
                        rule.id, spec,
                        self._scanner(spec.preceded_by, directory, where) if spec.preceded_by else None,
                        self._scanner(spec.sentence_has, directory, where) if spec.sentence_has else None,
                    ))
                else:
                    plain.append(rx)
                    self.plain_specs.append((rule.id, spec))
        self.plain = Scanner(plain, rules.FLAGS, "p") if plain else None
        self.cond = Scanner(cond, rules.FLAGS, "c") if cond else None
        self.vetoes = {
            r.id: [rules.compile_rx(v, directory, f"findings/{r.id}/veto") for v in r.veto]
            for r in self.rules.values() if r.veto
        }

    @staticmethod
    def _scanner(regex: str, directory: Path, where: str) -> Scanner:
        rules.compile_rx(regex, directory, where)  # names the rule if it is invalid
        return Scanner([rules.expand(regex, directory, where)], rules.FLAGS)

    # -- matching ---------------------------------------------------------------
    def match(self, text: str, sents: list[list[int]]) -> list[dict]:
        found: list[dict] = []
        plain, cond = self.plain, self.cond
        words_only = (plain is None or plain.words_only) and (cond is None or cond.words_only)
        starts = word_starts(text, punctuation=not words_only)
        end = len(text)
        next_plain = next_cond = 0
        conditional: list[re.Match] = []
        # One walk over the word starts serves both passes.
        for p in starts:
            if plain is not None and p >= next_plain:
                m = plain.match_at(text, p, end)
                if m is not None:
                    fid, spec = self.plain_specs[int(m.lastgroup[1:])]
                    found.append(self._mention(fid, spec, m))
                    next_plain = max(m.end(), p + 1)
            if cond is not None and p >= next_cond:
                m = cond.match_at(text, p, end)
                if m is not None:
                    conditional.append(m)
                    next_cond = max(m.end(), p + 1)
        if conditional:
            taken = [(f["start"], f["end"], f["finding"]) for f in found]
            all_starts = starts if not words_only else word_starts(text)
            for m in conditional:
                fid, spec, before, has = self.cond_specs[int(m.lastgroup[1:])]
                s0, s1 = sents[sentence_index(sents, m.start())] if sents else (0, len(text))
                if before is not None and next(
                    before.finditer(text, max(s0, m.start() - spec.within), m.start(), starts=all_starts), None
                ) is None:
                    continue
                if has is not None and next(has.finditer(text, s0, s1, starts=all_starts), None) is None:
                    continue
                if any(f == fid and a < m.end() and m.start() < b for a, b, f in taken):
                    continue
                found.append(self._mention(fid, spec, m))
        if self.vetoes:
            kept = []
            for f in found:
                vetoes = self.vetoes.get(f["finding"])
                if vetoes and sents:
                    s0, s1 = sents[sentence_index(sents, f["start"])]
                    if any(
                        vm.start() < f["end"] and f["start"] < vm.end()
                        for v in vetoes for vm in v.finditer(text, s0, s1)
                    ):
                        continue
                kept.append(f)
            found = kept
        found.sort(key=lambda f: (f["start"], f["end"]))
        return found

    @staticmethod
    def _mention(fid: str, spec: rules.PatternSpec, m: re.Match) -> dict:
        return {"finding": fid, "start": m.start(), "end": m.end(), "text": m.group(),
                "fixed_assertion": spec.assertion}

    # -- levels -------------------------------------------------------------------
    def link_levels(self, f: dict, rule: rules.FindingRule, sent: list[int],
                    groups: list[dict], text: str) -> list[str]:
        if rule.level_kind == "none":
            return []
        s0, s1 = sent
        fs, fe = f["start"], f["end"]
        in_sent = [g for g in groups if s0 <= g["start"] < s1]
        chosen: Optional[dict] = None
        if in_sent:
            cands = self._prefer(in_sent, rule.level_kind)
            inside = [g for g in cands if fs <= g["start"] < fe]
            after = [g for g in cands if g["start"] >= fe]
            before = [g for g in cands if g["end"] <= fs]
            if inside:
                chosen = inside[0]
            elif after and len(text[fe:after[0]["start"]]) <= 60 and ADJACENT.match(text, fe, after[0]["start"]):
                chosen = after[0]
            elif before:
                chosen = before[-1]
            elif after:
                chosen = after[0]
        if chosen is None and not self.not_under_header.search(text, s0, s1):
            scoped = [g for g in groups if g["header"] and g["start"] < fs and fs < (g["scope_end"] or 0)]
            if scoped:
                chosen = scoped[-1]
            else:
                earlier = [g for g in groups if g["end"] <= s0]
                if earlier:
                    g = earlier[-1]
                    gap = text[g["end"]:s0]
                    # "at this level" refers back within the paragraph; otherwise a
                    # sentence takes the level of the sentence before it on its line
                    if "\n" not in gap or self.same_level.search(text, s0, s1) and not _BLANK.search(gap):
                        chosen = g
        if chosen is None:
            return []
        levels = chosen["levels"]
        discs = [lv for lv in levels if Spine.is_disc(lv)]
        bodies = [lv for lv in levels if not Spine.is_disc(lv)]
        if rule.level_kind == "disc" and discs:
            levels = discs
        elif rule.level_kind == "vertebra" and bodies:
            levels = bodies
        if rule.single_vertebra == "disc_below" and not discs:
            levels = [f"{v}-{self.spine.below(v)}" for v in bodies if self.spine.below(v)]
        return levels

    @staticmethod
    def _prefer(groups: list[dict], kind: str) -> list[dict]:
        if kind == "disc":
            pref = [g for g in groups if any("-" in lv for lv in g["levels"])]
        elif kind == "vertebra":
            pref = [g for g in groups if any("-" not in lv for lv in g["levels"])]
        else:
            pref = []
        return pref or groups

    # -- pipeline -----------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        text = doc_text(doc)
        sents = doc._.spine_sentences or [[0, len(text)]]
        sections = doc._.spine_sections or [
            {"name": "findings", "kind": "findings", "region": None, "start": 0, "end": len(text)}
        ]
        groups = doc._.spine_levels or []
        out: list[dict] = []
        for f in self.match(text, sents):
            rule = self.rules[f["finding"]]
            si = sentence_index(sents, f["start"])
            section = _section_at(sections, f["start"])
            levels = self.link_levels(f, rule, sents[si], groups, text)
            lumbar = [lv for lv in levels if lv in self.spine.lumbar]
            region = section.get("region")
            if levels and not lumbar:
                continue  # stated only at cervical or thoracic levels
            if region in NOT_LUMBAR or region == "thoracic" and not lumbar:
                continue  # under a cervical, thoracic or other-exam title
            f.update({
                "levels": lumbar,
                "section": section["name"],
                "section_kind": section["kind"],
                "sentence": si,
                "group": rule.group,
                "label": rule.label,
            })
            out.append(f)
        doc._.spine_findings = out
        set_finding_spans(doc, out)
        return doc


_BLANK = re.compile(r"\n[ \t]*\n")


def _section_at(sections: list[dict], pos: int) -> dict:
    found = sections[0]
    for s in sections:
        if s["start"] <= pos:
            found = s
        else:
            break
    return found


@Language.factory(
    "spinecontext_findings",
    default_config={"patterns_dir": None},
    requires=["doc._.spine_sections", "doc._.spine_sentences", "doc._.spine_levels"],
    assigns=["doc._.spine_findings", "doc.spans"],
)
def make_findings(nlp: Language, name: str, patterns_dir: Optional[str]) -> FindingMatcher:
    """Find every taxonomy finding and link it to its vertebral levels.

    patterns_dir: folder of rule files to use instead of the packaged ones.
    """
    return FindingMatcher(nlp, name, patterns_dir=patterns_dir)
