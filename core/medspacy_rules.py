"""Our rules as a medspaCy rule pack, and medspaCy pipelines built from it.

:func:`export_rules` writes three files in medspaCy's own JSON formats:

* ``spinecontext_target_rules.json`` (``TargetRule.from_json``): one regex
  TargetRule per finding pattern (category = the taxonomy id, the words of
  ``<<word classes>>`` filled in); a pattern with a fixed assertion sets the
  ConText flag through the rule's ``attributes``;
* ``spinecontext_context_rules.json`` (``ConTextRule.from_json``): the rules of
  ``context.yaml`` (PSEUDO and TERMINATE as medspaCy's directions of those names);
* ``spinecontext_section_rules.json`` (``SectionRule.from_json``): the section
  headers of ``sections.yaml``, anchored at line starts.

What medspaCy's rule files cannot say is approximated or left out, and
counted (see :data:`NOT_EXPRESSIBLE`): a pattern's ``preceded_by`` and
``sentence_has`` conditions are folded into its expression (the target span
then takes their words), ``report_has`` patterns, veto expressions,
``yields_to``, the ``stop`` expression of a ConText rule and exam-region
titles are left out. Everything that
needs no rule at all in our engine but code (level attribution, header scope,
short history sections, the exam-finding exception to history sections) has
no place in a rule file either.

:func:`medspacy_pipeline` builds ``medspacy.load()`` with these files, loaded
with medspaCy's own ``from_json`` functions; :func:`result_from_medspacy`
turns one of its Docs into our result model, for scoring.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional, Union

from .nlp import rules as R
from .result import FindingResult, ReportResult

TARGETS = "spinecontext_target_rules.json"
CONTEXT = "spinecontext_context_rules.json"
SECTIONS = "spinecontext_section_rules.json"

#: The medspaCy flag a fixed assertion sets (TargetRule ``attributes``).
FIXED_FLAG = {"absent": "is_negated", "possible": "is_uncertain", "historical": "is_historical"}

#: What our rule files hold that medspaCy's rule formats cannot express.
NOT_EXPRESSIBLE = {
    "conditional_patterns": "conditions of finding patterns (preceded_by, sentence_has): folded into the "
                            "expression, approximately, so the target span takes the words of the condition",
    "report_has": "finding patterns with a report_has condition (words anywhere in the report): left out",
    "veto": "finding vetoes ('inguinal hernia' is no disc herniation)",
    "yields_to": "a less specific finding yielding to a more specific one in the same sentence",
    "stop": "a ConText rule's stop expression (it does not reach past e.g. a comma)",
    "regions": "exam-region titles ('C.SPINE MRI :'): findings under a non-lumbar title are dropped",
}

#: Section categories whose findings are history (Sectionizer ``span_attrs``).
HISTORY_SPAN_ATTRS = {"history": {"is_historical": True}, "comparison": {"is_historical": True}}


def _quiet_pyrush() -> None:
    try:
        from loguru import logger

        logger.disable("PyRuSH")  # PyRuSH logs every sentence at DEBUG otherwise
    except ImportError:  # pragma: no cover
        pass


def export_rules(out_dir: Union[str, Path], patterns_dir: Optional[Union[str, Path]] = None) -> dict:
    """Write the three medspaCy rule files into ``out_dir``; returns what was written and left out."""
    from medspacy.context import ConTextRule
    from medspacy.section_detection import SectionRule
    from medspacy.target_matcher import TargetRule

    d = R.resolve_dir(patterns_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    counts = {"target_rules": 0, "context_rules": 0, "section_rules": 0, "left_out": {}}
    left = counts["left_out"]

    targets = []
    for rule in R.load_findings(d):
        meta = {"source": "spinecontext", "finding": rule.id, "label": rule.label, "group": rule.group,
                "level_kind": rule.level_kind}
        if rule.veto:
            left["veto"] = left.get("veto", 0) + len(rule.veto)
        if rule.yields_to:
            left["yields_to"] = left.get("yields_to", 0) + 1
        for spec in rule.patterns:
            pattern = _target_pattern(spec, d, rule.id)
            if pattern is None:
                left["report_has"] = left.get("report_has", 0) + 1
                continue
            if spec.conditional:
                left["conditional_patterns"] = left.get("conditional_patterns", 0) + 1
            attrs = {FIXED_FLAG[spec.assertion]: True} if spec.assertion in FIXED_FLAG else None
            targets.append(TargetRule(rule.label, rule.id, pattern=pattern, attributes=attrs,
                                      metadata={**meta, "condition": "folded into the pattern"}
                                      if spec.conditional else meta))
    _write(out / TARGETS, "target_rules", targets)
    counts["target_rules"] = len(targets)

    context = []
    for i, r in enumerate(R.load_context(d).rules):
        regex = R.expand(r.regex, d, f"context.yaml rule {i}")
        if r.category in ("PSEUDO", "TERMINATE"):
            direction = r.category
        else:
            direction = r.direction.upper()
        meta = {"source": "spinecontext", "rule": i}
        if r.stop:
            meta["stop"] = r.stop
            left["stop"] = left.get("stop", 0) + 1
        context.append(ConTextRule(r.literal or regex, r.category, pattern=regex, direction=direction,
                                   max_scope=r.max_scope if direction not in ("PSEUDO", "TERMINATE") else None,
                                   metadata=meta))
    _write(out / CONTEXT, "context_rules", context)
    counts["context_rules"] = len(context)

    data = R.load_sections(d)
    sections = []
    for h in data.headers:
        pattern = h.pattern
        # our headers are matched line by line; medspaCy searches the whole text
        pattern = "(?m)" + pattern if pattern.startswith("^") else "(?m)^" + pattern
        sections.append(SectionRule(h.name, h.name, pattern=pattern,
                                    metadata={"source": "spinecontext", "kind": h.kind}))
    _write(out / SECTIONS, "section_rules", sections)
    counts["section_rules"] = len(sections)
    left["regions"] = len(data.regions.patterns)
    return counts


_END = re.compile(r"(?<!\\)\$")
#: Words allowed between a preceded_by condition and the finding words (ours: any within
#: ``within`` characters). medspaCy keeps the longest of overlapping targets, so a longer
#: reach makes one target of "compressing the thecal sac, compressing the left nerve root".
PRECEDED_WORDS = 3
#: The reach of a sentence_has condition written before the finding words, in characters
#: (the words between become part of the target span, so it is kept short).
SENTENCE_BEFORE = 40


def _target_pattern(spec, d: Path, where: str) -> Optional[str]:
    """One regular expression for a finding pattern, its condition folded in (None: not expressible).

    ``preceded_by`` (words within ``within`` characters before the finding
    words): the expression starts with them, at most 3 words before the finding
    words and not across ``.,;`` (the target span starts there).
    ``sentence_has``: the words after the finding words in the same sentence
    (a lookahead), or up to 40 characters before them (in the span).
    ``report_has`` (anywhere in the report) cannot be said in one expression.
    """
    regex = R.expand(spec.regex, d, where)
    if spec.report_has:
        return None
    if spec.preceded_by:
        before = _END.sub("", R.expand(spec.preceded_by, d, where))
        regex = f"(?:{before})(?:\\s*[^\\s.;,]+){{0,{PRECEDED_WORDS}}}?\\s*(?:{regex})"
    if spec.sentence_has:
        has = R.expand(spec.sentence_has, d, where)
        regex = f"(?:{regex})(?=[^.\\n]*?(?:{has}))|(?:{has})[^.\\n]{{0,{SENTENCE_BEFORE}}}?(?:{regex})"
    return regex


def medspacy_pipeline(rules_dir: Union[str, Path], *, sections: bool = True):
    """``medspacy.load()`` with our exported rules (see :func:`export_rules`), read by medspaCy's loaders.

    medspaCy's tokenizer, PyRuSH sentences, its TargetMatcher with our finding
    rules, ConText with our assertion rules only, and (``sections``) its
    Sectionizer with our headers, before ConText (its headers then start
    sentences), marking findings under history and comparison headers historical.
    """
    _quiet_pyrush()
    import medspacy
    from medspacy.context import ConTextRule
    from medspacy.section_detection import SectionRule
    from medspacy.target_matcher import TargetRule

    from .nlp import medspacy_view

    d = Path(rules_dir)
    nlp = medspacy.load(medspacy_enable=["medspacy_tokenizer", "medspacy_pyrush", "medspacy_target_matcher",
                                         "medspacy_context"], load_rules=False)
    # TargetMatcher(rules=path) crashes in medspaCy 1.3.1: from_json, then add
    nlp.get_pipe("medspacy_target_matcher").add(TargetRule.from_json(str(d / TARGETS)))
    nlp.get_pipe("medspacy_context").add(ConTextRule.from_json(str(d / CONTEXT)))
    if sections:
        sectionizer = nlp.add_pipe("medspacy_sectionizer", before="medspacy_context",
                                   config={"rules": None, "span_attrs": HISTORY_SPAN_ATTRS})
        sectionizer.add(SectionRule.from_json(str(d / SECTIONS)))
    medspacy_view.register()  # medspaCy's ConText replaced Span._.modifiers and Doc._.context_graph
    return nlp


def medspacy_default_pipeline(patterns_dir: Optional[Union[str, Path]] = None):
    """``medspacy.load()``'s default pipeline (its ConText rules) given TargetRules for the same findings.

    The baseline of ``spinecontext bench``: every finding pattern (conditional
    ones too, without their condition) as a regex TargetRule labelled with the
    finding id in capitals.
    """
    _quiet_pyrush()
    import medspacy
    from medspacy.target_matcher import TargetRule

    from .nlp import medspacy_view

    d = R.resolve_dir(patterns_dir)
    nlp = medspacy.load()
    target_rules = []
    for rule in R.load_findings(d):
        for spec in rule.patterns:
            target_rules.append(TargetRule(rule.id, rule.id.upper(), pattern=R.expand(spec.regex, d)))
    nlp.get_pipe("medspacy_target_matcher").add(target_rules)
    medspacy_view.register()
    return nlp


def assertion_of(span) -> str:
    """Our assertion from medspaCy's ConText flags, with our precedence: history unless
    negated, then uncertainty (hypothetical too) before negation (family too)."""
    x = span._
    negated = x.is_negated or x.is_family
    if x.is_historical and not negated:
        return "historical"
    if x.is_uncertain or x.is_hypothetical:
        return "possible"
    if negated:
        return "absent"
    return "present"


def result_from_medspacy(doc, report_id: str, findings: dict) -> ReportResult:
    """Our result model from a medspaCy Doc: each entity whose label is a finding id is a
    mention with no levels (medspaCy attributes none). ``findings``: id -> FindingRule."""
    out = []
    for ent in doc.ents:
        rule = findings.get(ent.label_.lower())
        if rule is None:
            continue
        out.append(FindingResult(finding=rule.id, text=ent.text, start=ent.start_char, end=ent.end_char,
                                 section=ent._.section_category or "findings", levels=[],
                                 assertion=assertion_of(ent), group=rule.group, label=rule.label))
    return ReportResult(id=report_id, findings=out)


def findings_by_id(patterns_dir: Optional[Union[str, Path]] = None) -> dict:
    return {r.id: r for r in R.load_findings(R.resolve_dir(patterns_dir))}


def _write(path: Path, key: str, rules: list) -> None:
    """medspaCy's rule file format ({key: [rule.to_dict(), ...]}, as its to_json writes it;
    SectionRule has no to_json in 1.3.1), with sorted keys so that the files are reproducible."""
    data = {key: [r.to_dict() for r in rules]}
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
