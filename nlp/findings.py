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
from bisect import bisect_left, bisect_right
from itertools import compress
from pathlib import Path
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc

from . import extensions as ext
from . import rules
from .base import RuleComponent, doc_text, sentence_index, set_finding_spans
from .levels import Spine, unique
from . import scan
from .scan import Scanner, doc_word_starts, text_info, word_starts

#: Words allowed between a finding and the level group that follows it for
#: that group to be "right after" the finding.
ADJACENT = re.compile(
    r"(?:[\s,:(\-]|\b(?:is|are|was|were|also|again|\w+ly|seen|not?e?d?|notred|present|identified|"
    r"demonstrated|visuali[sz]ed|at|in|of|from|involving|on|the|levels?|both|disc|space|mainly|"
    r"mostly|largest|especially|particularly|predominantly|most|marked|prominent|mild|moderate|severe|minimal|slight|"
    r"bilateral|bilaterally|left|right|both|sides?|on)\b)*$",
    re.IGNORECASE,
)
#: Under these exam titles nothing is a lumbar finding; under a thoracic title
#: only a finding at a stated lumbar level (T12-L1) is.
NOT_LUMBAR = {"cervical", "other"}
_UNSEEN = object()  # a key whose alternation is not compiled yet




class FindingMatcher(RuleComponent):
    kind = "findings"

    def _load(self, directory: Path) -> None:
        self.rules = {r.id: r for r in rules.load_findings(directory)}
        levels = rules.load_levels(directory)
        self.spine = Spine(levels)
        self.not_under_header = re.compile(levels.not_under_header, rules.FLAGS)
        self.same_level = re.compile(levels.same_level_as_before, rules.FLAGS)
        self.not_under_header_needs = scan.needed_literals(self.not_under_header.pattern, rules.FLAGS)
        self.same_level_needs = scan.needed_literals(self.same_level.pattern, rules.FLAGS)
        self.everywhere = re.compile(levels.everywhere, rules.FLAGS)
        self.everywhere_needs = scan.needed_literals(self.everywhere.pattern, rules.FLAGS)
        self.also_at = re.compile(levels.also_at, rules.FLAGS) if levels.also_at else None
        self.procedure = re.compile(levels.procedure_after, rules.FLAGS) if levels.procedure_after else None
        self.between = re.compile(levels.disc_between, rules.FLAGS) if levels.disc_between else None
        self.topic_label = re.compile(levels.topic_label, rules.FLAGS) if levels.topic_label else None
        self.pick_of_list = [(re.compile(rx, rules.FLAGS), which) for rx, which in
                             ((levels.last_of_list, -1), (levels.first_of_list, 0)) if rx]
        plain: list[str] = []
        cond: list[str] = []
        self.plain_specs: list[tuple[str, rules.PatternSpec]] = []
        self.cond_specs: list[tuple[str, rules.PatternSpec, Optional[Scanner], Optional[Scanner]]] = []
        #: per conditional pattern, the words its preceded_by and sentence_has need (scan.needed_literals)
        self.cond_needs: list[tuple] = []
        #: and searches that find what they would (scan.first_char_search), for texts read exactly
        self.cond_search: list[tuple] = []
        self.report_has: dict[int, re.Pattern] = {}
        self.report_needs: dict[int, Optional[tuple]] = {}
        for rule in self.rules.values():
            where = f"findings/{rule.id}"
            for spec in rule.patterns:
                rx = rules.expand(spec.regex, directory, where)
                if spec.conditional:
                    cond.append(rx)
                    if spec.report_has:
                        rx_has = self.report_has[len(self.cond_specs)] = rules.compile_rx(spec.report_has, directory, where)
                        self.report_needs[len(self.cond_specs)] = scan.needed_literals(rx_has.pattern, rules.FLAGS)
                    before = self._scanner(spec.preceded_by, directory, where) if spec.preceded_by else None
                    has = self._scanner(spec.sentence_has, directory, where) if spec.sentence_has else None
                    self.cond_specs.append((rule.id, spec, before, has))
                    self.cond_needs.append(tuple(
                        scan.needed_literals(sc.patterns[0], rules.FLAGS) if sc is not None else None for sc in (before, has)))
                    self.cond_search.append(tuple(
                        scan.first_char_search(sc) if sc is not None else None for sc in (before, has)))
                else:
                    plain.append(rx)
                    self.plain_specs.append((rule.id, spec))
        self.plain = Scanner(plain, rules.FLAGS, "p") if plain else None
        self.cond = Scanner(cond, rules.FLAGS, "c") if cond else None
        self._pairs = scan.Keys(self._pair)
        self.vetoes = {
            r.id: [rules.compile_rx(v, directory, f"findings/{r.id}/veto") for v in r.veto]
            for r in self.rules.values() if r.veto
        }
        self.veto_needs = {fid: [scan.needed_literals(v.pattern, rules.FLAGS) for v in vs] for fid, vs in self.vetoes.items()}
        # vetoes that match only at word starts are walked like the findings in
        # texts read exactly (the same matches as finditer, see scan.word_scanner)
        self.veto_scanners = {fid: [scan.word_scanner(v.pattern, rules.FLAGS) for v in vs]
                              for fid, vs in self.vetoes.items()}

    def _pair(self, key: str) -> Optional[tuple]:
        """(plain alternation, conditional alternation) to try at a fine key, None if neither."""
        prx = self.plain.compiled_fine(key) if self.plain is not None else None
        crx = self.cond.compiled_fine(key) if self.cond is not None else None
        return None if prx is None and crx is None else (prx, crx)

    @staticmethod
    def _scanner(regex: str, directory: Path, where: str) -> Scanner:
        rules.compile_rx(regex, directory, where)  # names the rule if it is invalid
        return Scanner([rules.expand(regex, directory, where)], rules.FLAGS)

    # -- matching ---------------------------------------------------------------
    def match(self, text: str, sents: list[list[int]], doc: Optional[Doc] = None) -> list[dict]:
        found: list[dict] = []
        plain, cond = self.plain, self.cond
        words_only = (plain is None or plain.words_only) and (cond is None or cond.words_only)
        starts = doc_word_starts(doc, not words_only) if doc is not None else word_starts(text, not words_only)
        end = len(text)
        next_plain = next_cond = 0
        conditional: list[re.Match] = []
        exact, low = text_info(text)
        if exact:
            # finer dispatch on the next FINE characters (scan.text_info): the same
            # matches. Every key is looked up at C speed; only the starts where an
            # expression of either pass may begin are walked.
            pairs = list(map(self._pairs.__getitem__, scan.fine_keys(low, starts)))
            for i in compress(range(len(pairs)), pairs):
                p = starts[i]
                prx, crx = pairs[i]
                if prx is not None and p >= next_plain:
                    m = prx.match(text, p, end)
                    if m is not None:
                        fid, spec = self.plain_specs[int(m.lastgroup[1:])]
                        found.append(self._mention(fid, spec, m))
                        next_plain = max(m.end(), p + 1)
                if crx is not None and p >= next_cond:
                    m = crx.match(text, p, end)
                    if m is not None:
                        conditional.append(m)
                        next_cond = max(m.end(), p + 1)
        else:
            no_rules: dict = {}
            plain_get = plain._by_key.get if plain is not None else no_rules.get
            cond_get = cond._by_key.get if cond is not None else no_rules.get
            # One walk over the word starts serves both passes; low is None when a
            # few characters change length when lowered.
            for p in starts:
                key = low[p:p + 2] if low is not None else text[p:p + 2].lower()
                if p >= next_plain:
                    rx = plain_get(key, _UNSEEN)
                    if rx is _UNSEEN:
                        rx = plain.compiled_for(key) if plain is not None else None
                    if rx is not None:
                        m = rx.match(text, p, end)
                        if m is not None:
                            fid, spec = self.plain_specs[int(m.lastgroup[1:])]
                            found.append(self._mention(fid, spec, m))
                            next_plain = max(m.end(), p + 1)
                if p >= next_cond:
                    rx = cond_get(key, _UNSEEN)
                    if rx is _UNSEEN:
                        rx = cond.compiled_for(key) if cond is not None else None
                    if rx is not None:
                        m = rx.match(text, p, end)
                        if m is not None:
                            conditional.append(m)
                            next_cond = max(m.end(), p + 1)
        if conditional:
            taken: dict[str, list[tuple[int, int]]] = {}
            for f in found:  # plain mentions, already in start order
                taken.setdefault(f["finding"], []).append((f["start"], f["end"]))
            def starts_for(scanner: Scanner) -> list[int]:
                # punctuation starts are computed only for a condition that needs them
                if scanner.words_only or not words_only:
                    return starts
                return doc_word_starts(doc, True) if doc is not None else word_starts(text)

            has_cache: dict[tuple[int, int], bool] = {}
            report_cache: dict[int, bool] = {}
            for m in conditional:
                idx = int(m.lastgroup[1:])
                fid, spec, before, has = self.cond_specs[idx]
                if idx in self.report_has:
                    if idx not in report_cache:  # searched once per report
                        report_cache[idx] = (scan.may_match(self.report_needs[idx], text)
                                             and self.report_has[idx].search(text) is not None)
                    if not report_cache[idx]:
                        continue
                si = sentence_index(sents, m.start()) if sents else 0
                s0, s1 = sents[si] if sents else (0, len(text))
                # a condition whose words are not there is not searched (scan.may_match_in)
                before_needs, has_needs = self.cond_needs[idx]
                before_rx, has_rx = self.cond_search[idx] if exact else (None, None)
                if before is not None:
                    lo = max(s0, m.start() - spec.within)
                    if not scan.may_match_in(before_needs, text, lo, m.start()):
                        continue
                    if before_rx is not None:
                        if before_rx.search(text, lo, m.start()) is None:
                            continue
                    elif next(before.finditer(text, lo, m.start(), starts=starts_for(before)), None) is None:
                        continue
                if has is not None:
                    key = (idx, si)
                    if key not in has_cache:
                        has_cache[key] = scan.may_match_in(has_needs, text, s0, s1) and (
                            has_rx.search(text, s0, s1) is not None if has_rx is not None else
                            next(has.finditer(text, s0, s1, starts=starts_for(has)), None) is not None)
                    if not has_cache[key]:
                        continue
                if _overlaps(taken.get(fid, ()), m.start(), m.end()):
                    continue
                found.append(self._mention(fid, spec, m))
        if self.vetoes:
            veto_spans: dict[str, list[tuple[int, int]]] = {}
            words: Optional[list[int]] = None
            kept = []
            for f in found:
                fid = f["finding"]
                if fid in self.vetoes:
                    if fid not in veto_spans:  # each veto expression runs once per report, if its words are there
                        spans = []
                        for v, needs, vscan in zip(self.vetoes[fid], self.veto_needs[fid], self.veto_scanners[fid]):
                            if not scan.may_match(needs, text):
                                continue
                            if exact and vscan is not None:
                                if words is None:
                                    words = doc_word_starts(doc, False) if doc is not None else word_starts(text, False)
                                spans += [(vm.start(), vm.end()) for vm in vscan.finditer(text, starts=words)]
                            else:
                                spans += [(vm.start(), vm.end()) for vm in v.finditer(text)]
                        veto_spans[fid] = sorted(spans)
                    if _overlaps(veto_spans[fid], f["start"], f["end"]):
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
    def link_levels(self, f: dict, rule: rules.FindingRule, si: int, index: "_LevelIndex") -> list[str]:
        if rule.level_kind == "none":
            return []
        text = index.text
        s0, s1 = index.sents[si]
        fs, fe = f["start"], f["end"]
        chosen: Optional[dict] = None
        if scan.may_match_in(self.everywhere_needs, text, fe, min(s1, fe + 24)) and self.everywhere.search(
                text, fe, min(s1, fe + 24)):
            return []  # "desiccation throughout the lumbar spine": no single level
        cands, starts = index.in_sentence(si, rule.level_kind)
        if cands:
            i = bisect_left(starts, fs)          # first group starting at or after the mention
            j = bisect_left(starts, fe, lo=i)    # first group starting after it
            after = cands[j] if j < len(cands) else None
            # the nearest level before the mention; one that names an operation only if no
            # other comes before it ("degeneration at L3-L4 above the L4-S1 fusion, with ...
            # stenosis" is L3-L4)
            before = operation = None
            k = i - 1
            while k >= 0 and before is None and k >= i - 8:
                g = cands[k]
                if g["end"] <= fs:
                    if self.procedure is not None and self.procedure.match(text, g["end"]):
                        operation = operation or g
                    else:
                        before = g
                k -= 1
            before = before or operation
            if j > i:
                chosen = cands[i]  # a level inside the mention ("narrowed L4-5 disc space")
            elif after is not None and after["start"] - fe <= 60 and ADJACENT.match(text, fe, after["start"]):
                chosen = after
                if self.also_at is not None:
                    # "severe at L5-S1 and moderate at L1-L4": later levels of the same finding
                    extra: list[str] = []
                    prev = after
                    for nxt in cands[j + 1:j + 6]:
                        if nxt["start"] - prev["end"] > 40 or not self.also_at.match(text, prev["end"], nxt["start"]):
                            break
                        extra += nxt["levels"]
                        prev = nxt
                    if extra:
                        chosen = {**after, "levels": unique(after["levels"] + extra)}
            elif before is not None:
                chosen = before
                if len(before["levels"]) > 1 and self.pick_of_list and fs - before["end"] <= 60:
                    # "at L4/5 and L5/S1, the latter abutting ...": one level of the list
                    for rx, which in self.pick_of_list:
                        if rx.search(text, before["end"], fs):
                            chosen = {**before, "levels": [before["levels"][which]]}
                            break
            elif after is not None:
                chosen = after
        if (chosen is not None and rule.level_kind == "disc" and not any("-" in lv for lv in chosen["levels"])
                and not index.sentence_has(self.not_under_header, si, self.not_under_header_needs)):
            # a disc finding next to a lone vertebra ("left L5 hemilaminectomy and a
            # disc protrusion") under a disc-level header takes the header's level
            # (Spine.is_disc: a disc level has a "-")
            header = index.header_over(fs)
            if header is not None and any("-" in lv for lv in header["levels"]):
                chosen = header
        if chosen is None and not index.sentence_has(self.not_under_header, si, self.not_under_header_needs):
            chosen = index.header_over(fs)
            if chosen is None:
                g = index.last_group_before(s0, rule.level_kind, text.rfind("\n", 0, s0))
                if g is not None:
                    gap = text[g["end"]:s0]
                    # "at this level" refers back within the paragraph; otherwise a
                    # sentence takes the level of the sentence before it on its line
                    if ("\n" not in gap or index.sentence_has(self.same_level, si, self.same_level_needs) and not _BLANK.search(gap)) \
                            and not (self.topic_label is not None and self.topic_label.match(text, s0)):
                        chosen = g
        if chosen is None:
            return []
        levels = chosen["levels"]
        discs = [lv for lv in levels if "-" in lv]  # Spine.is_disc
        bodies = [lv for lv in levels if "-" not in lv]
        if discs and bodies and rule.range_levels == "written":
            levels = bodies
        elif rule.level_kind == "disc" and discs:
            levels = discs
        elif rule.level_kind in ("vertebra", "any") and bodies:
            levels = bodies
        elif rule.level_kind == "vertebra" and rule.disc_level == "upper_vertebra":
            levels = unique([lv.split("-")[0] for lv in discs])
        if rule.single_vertebra == "disc_below" and not discs:
            levels = [f"{v}-{self.spine.below(v)}" for v in bodies if self.spine.below(v)]
        elif (rule.level_kind == "disc" and not discs and len(bodies) == 2 and self.between is not None
              and self.spine.below(bodies[0]) == bodies[1] and self.between.search(text, s0, s1)):
            # "the L2 and L3 vertebral bodies with loss of the intervening disc height": the disc between
            levels = [f"{bodies[0]}-{bodies[1]}"]
        return levels

    # -- pipeline -----------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        text = doc_text(doc)
        sents = ext.get(doc, "spine_sentences") or [[0, len(text)]]
        sections = ext.get(doc, "spine_sections") or [
            {"name": "findings", "kind": "findings", "region": None, "start": 0, "end": len(text)}
        ]
        index = _LevelIndex(text, sents, ext.get(doc, "spine_levels") or [])
        section_starts = [sec["start"] for sec in sections]
        out: list[dict] = []
        for f in self.match(text, sents, doc):
            rule = self.rules[f["finding"]]
            si = sentence_index(sents, f["start"])
            section = sections[max(0, bisect_right(section_starts, f["start"]) - 1)]
            levels = self.link_levels(f, rule, si, index)
            lumbar = [lv for lv in levels if lv in self.spine.lumbar]
            region = section.get("region")
            if levels and not lumbar:
                continue  # stated only at cervical or thoracic levels
            if section["kind"] == "general":
                continue  # a teaching case's discussion: the disease in general, not this patient
            if region in NOT_LUMBAR or region == "thoracic" and not lumbar:
                continue  # under a cervical, thoracic or other-exam title
            f.update({
                "levels": lumbar,
                # not "section": medspaCy's msgpack decoder reads every dict with that key as
                # its Section, which breaks DocBin and n_process once medspaCy is imported
                "section_name": section["name"],
                "section_kind": section["kind"],
                "sentence": si,
                "group": rule.group,
                "label": rule.label,
            })
            out.append(f)
        ext.put(doc, "spine_findings", out)
        set_finding_spans(doc, out)
        return doc


_BLANK = re.compile(r"\n[ \t]*\n")


def _overlaps(spans, start: int, end: int) -> bool:
    """Does any (a, b) in the start-sorted ``spans`` overlap [start, end)?"""
    i = bisect_left(spans, (end,))
    return any(a < end and start < b for a, b in spans[max(0, i - 8):i])


class _LevelIndex:
    """Level groups of one report, indexed by sentence and position.

    Every lookup is logarithmic or bounded, so a report with thousands of
    findings is processed in about linear time.
    """

    def __init__(self, text: str, sents: list[list[int]], groups: list[dict]) -> None:
        self.text, self.sents, self.groups = text, sents, groups
        self.by_sentence: dict[int, list[dict]] = {}
        for g in groups:
            self.by_sentence.setdefault(sentence_index(sents, g["start"]), []).append(g)
        self.ends = [g["end"] for g in groups]
        self.headers = [g for g in groups if g["header"]]
        self.header_starts = [g["start"] for g in self.headers]
        self._preferred: dict[tuple[int, str], tuple[list[dict], list[int]]] = {}
        self._has: dict[tuple[int, int], bool] = {}

    def in_sentence(self, si: int, kind: str) -> tuple[list[dict], list[int]]:
        """Groups of sentence ``si`` and their starts; disc findings prefer disc levels, vertebral ones vertebrae."""
        key = (si, kind)
        if key not in self._preferred:
            groups = self.by_sentence.get(si, [])
            if kind == "disc":
                pref = [g for g in groups if any("-" in lv for lv in g["levels"])]
            elif kind == "vertebra":
                pref = [g for g in groups if any("-" not in lv for lv in g["levels"])]
            else:
                pref = []
            chosen = pref or groups
            self._preferred[key] = (chosen, [g["start"] for g in chosen])
        return self._preferred[key]

    def header_over(self, pos: int) -> Optional[dict]:
        """The level header whose scope holds ``pos`` (scopes end at the next header)."""
        i = bisect_left(self.header_starts, pos) - 1
        if i >= 0 and pos < (self.headers[i]["scope_end"] or 0):
            return self.headers[i]
        return None

    def last_group_before(self, pos: int, kind: str = "any", line_start: int = -1) -> Optional[dict]:
        """The last level group ending before ``pos``; for a disc finding the last
        disc level of the same line, if there is one, over a lone vertebra after
        it ("The L5/S1 disc ... behind the S1 vertebral body. It extends ...")."""
        i = bisect_right(self.ends, pos) - 1
        if i < 0:
            return None
        if kind == "disc":
            for k in range(i, max(-1, i - 6), -1):
                g = self.groups[k]
                if g["start"] <= line_start:
                    break
                if any("-" in lv for lv in g["levels"]):
                    return g
        return self.groups[i]

    def sentence_has(self, rx: re.Pattern, si: int, needs=None) -> bool:
        """Does ``rx`` match in sentence ``si``? ``needs``: the words it needs (scan.needed_literals)."""
        key = (id(rx), si)
        has = self._has.get(key)
        if has is None:
            s0, s1 = self.sents[si]
            has = self._has[key] = scan.may_match_in(needs, self.text, s0, s1) and rx.search(self.text, s0, s1) is not None
        return has


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
