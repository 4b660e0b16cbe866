"""Plain-language notes for each finding, and the radiologist's appendix.

Texts come from ``patterns/notes.yaml`` and ``patterns/appendix.yaml``; the
only numbers are the prevalence figures attached by the prevalence component.
A note for a red flag or a never-reassured finding says the clinician needs
to look at it, with no figure and no "common" wording; the appendix never
names such findings.
"""

from pathlib import Path
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc

from . import extensions as ext
from . import rules
from .base import RuleComponent, drop_caches


_RANK = {"present": 0, "possible": 1, "absent": 2, "historical": 3}
#: a summary entry's change when its mentions differ (the one that most needs attention first)
_CHANGE_ORDER = ("worse", "new", "resolved", "better", "unchanged")
_SEV_RANK = {None: 0, "mild": 1, "moderate": 2, "severe": 3}


def join_levels(levels: list[str]) -> str:
    if len(levels) <= 1:
        return "".join(levels)
    return ", ".join(levels[:-1]) + " and " + levels[-1]


def figure_sentence(t: "rules.NoteTemplates", fig: dict) -> str:
    """The sentence that gives a prevalence figure (also used by the patient page's cards)."""
    kind = fig["kind"]
    if kind == "at_age":
        return t.figure_at_age.format(age=fig["age"], n=fig["percent"])
    if kind == "range":
        r = fig["range"]
        return t.figure_age_unknown.format(lo=r["percent_from"], hi=r["percent_to"],
                                           age_from=r["age_from"], age_to=r["age_to"])
    if kind == "outside":
        return t.figure_age_outside.format(age=fig["age"])
    return t.figure_fixed.format(n=fig["percent"], who=fig["who"])


class NoteWriter(RuleComponent):
    kind = "notes"

    def _load(self, directory: Path) -> None:
        self.notes = rules.load_notes(directory)
        self.change_notes = rules.load_change_notes(directory)
        self.appendix_text = rules.load_appendix(directory)
        self.prevalence = rules.load_prevalence(directory)
        self._memo: dict[tuple, str] = {}
        self._appendix_memo: dict[tuple, str] = {}
        rule_list = rules.load_findings(directory)
        self.labels = {r.id: r.label for r in rule_list}
        # the appendix lists findings in taxonomy order, then any added findings
        ids = list(rules.TAXONOMY_IDS) + [r.id for r in rule_list if r.id not in rules.TAXONOMY_IDS]
        self.order = {fid: i for i, fid in enumerate(ids)}

    def figure_sentence(self, fig: dict) -> str:
        return figure_sentence(self.notes.templates, fig)

    def note(self, f: dict) -> str:
        """The note for one mention (or summary entry); the same inputs always give the same note."""
        fig = f.get("prevalence")
        if fig:
            r = fig.get("range")
            # everything _write reads of the figure (a range has these four numbers)
            fig_key = (fig["kind"], fig.get("percent"), fig.get("age"), fig.get("who"), fig.get("caveat"),
                       None if r is None else (r.get("age_from"), r.get("percent_from"), r.get("age_to"),
                                               r.get("percent_to")))
        else:
            fig_key = None
        key = (f["finding"], f.get("assertion", "present"), tuple(f.get("levels") or ()), f.get("severity"),
               bool(f.get("attention")), fig_key, f.get("change"))
        text = self._memo.get(key)
        if text is None:
            if len(self._memo) > 20_000:
                self._memo.clear()
            text = self._memo[key] = self._write(f)
        return text

    def _write(self, f: dict) -> str:
        t = self.notes.templates
        n = self.notes.findings[f["finding"]]
        label = self.labels.get(f["finding"], f["finding"].replace("_", " "))
        assertion = f.get("assertion", "present")
        change = f.get("change")
        if assertion == "absent":
            if change == "resolved":
                return self.change_notes.absent_resolved.format(
                    label=f"{label[:1].upper()}{label[1:]}", line=self.change_notes.mention["resolved"])
            return f"{label[:1].upper()}{label[1:]}: {t.absent}"
        if assertion == "historical":
            return t.historical
        parts = [t.possible] if assertion == "possible" else []
        parts.append(n.what)
        if f.get("levels"):
            parts.append(t.where.format(levels=join_levels(f["levels"])))
        if change and change != "resolved":
            parts.append(self.change_notes.mention[change])
        if f.get("attention"):
            parts.append(t.attention)
        else:
            if f.get("severity") in ("moderate", "severe") and n.severe:
                parts.append(n.severe)
            fig = f.get("prevalence")
            if fig:
                parts.append(self.figure_sentence(fig))
                if fig.get("caveat"):
                    parts.append(fig["caveat"])
            if n.meaning:
                parts.append(n.meaning)
        return " ".join(p.strip() for p in parts if p and p.strip())

    def appendix(self, findings: list[dict], age: Optional[int]) -> Optional[str]:
        """The LIRE-style paragraph: common present findings with age figures, or None."""
        items: dict[str, dict] = {}
        for f in findings:
            fig = f.get("prevalence")
            if (f.get("assertion") == "present" and not f.get("attention") and fig
                    and fig["kind"] in ("at_age", "range", "outside") and f["finding"] not in items):
                items[f["finding"]] = fig
        if not items:
            return None
        ordered = sorted(items, key=lambda fid: self.order.get(fid, 999))
        # the paragraph depends on these only (the same inputs always give the same paragraph)
        key = (age, tuple((fid, items[fid]["kind"], items[fid].get("percent"),
                           (items[fid].get("range") or {}).get("percent_from"),
                           (items[fid].get("range") or {}).get("percent_to")) for fid in ordered))
        text = self._appendix_memo.get(key)
        if text is None:
            if len(self._appendix_memo) > 20_000:
                self._appendix_memo.clear()
            text = self._appendix_memo[key] = self._appendix(items, ordered, age)
        return text

    def _appendix(self, items: dict[str, dict], ordered: list[str], age: Optional[int]) -> str:
        a = self.appendix_text
        by_age = self.prevalence.by_age
        parts = []
        for fid in ordered:
            fig, label = items[fid], self.labels.get(fid, fid)
            if fig["kind"] == "at_age":
                parts.append(a.item_with_age.format(label=label, n=fig["percent"]))
            elif fig["kind"] == "range":
                parts.append(a.item_without_age.format(label=label, lo=fig["range"]["percent_from"],
                                                       hi=fig["range"]["percent_to"]))
            else:
                parts.append(a.item_outside.format(label=label))
        listed = parts[0] if len(parts) == 1 else a.joiner.join(parts[:-1]) + a.last_joiner + parts[-1]
        kind = items[ordered[0]]["kind"]
        body = {"at_age": a.with_age, "range": a.without_age, "outside": a.outside_ages}[kind]
        src = self.prevalence.sources[by_age.source]
        citation = src.citation + (f" doi:{src.doi}" if src.doi else "")
        return "\n".join([
            a.title,
            " ".join(body.format(age=age, items=listed).split()),
            a.citation.format(citation=" ".join(citation.split())),
        ])

    def summary(self, findings: list[dict]) -> list[dict]:
        """One entry per finding: report-level assertion (present > possible > absent >
        historical), the levels and worst severity of the mentions with that
        assertion, and a note for the whole. In order of first mention."""
        rank = _RANK
        sev_rank = _SEV_RANK
        by_id: dict[str, list[dict]] = {}
        for f in findings:
            by_id.setdefault(f["finding"], []).append(f)
        out = []
        for fid, mentions in by_id.items():
            if len(mentions) == 1:
                chosen = mentions
            else:
                best = min(rank.get(m.get("assertion"), 9) for m in mentions)
                chosen = [m for m in mentions if rank.get(m.get("assertion"), 9) == best]
            first = chosen[0]
            if len(chosen) == 1:
                # one mention: its levels, severity, attention, figure (as the loop below gives)
                levels = list(first["levels"])
                severity = first.get("severity")
                attention = bool(first.get("attention"))
                prevalence = first["prevalence"] if first.get("prevalence") else None
            else:
                levels = []
                for m in chosen:
                    levels += [lv for lv in m["levels"] if lv not in levels]
                severity = max((m.get("severity") for m in chosen), key=lambda v: sev_rank.get(v, 0))
                attention = any(m.get("attention") for m in chosen)
                prevalence = next((m["prevalence"] for m in chosen if m.get("prevalence")), None)
            changes = [m.get("change") for m in chosen if m.get("change")]
            entry = {
                "finding": fid, "label": first["label"], "group": first["group"],
                "assertion": first.get("assertion", "present"),
                "change": min(changes, key=_CHANGE_ORDER.index) if changes else None,
                "levels": levels,
                "severity": severity,
                "attention": attention,
                "prevalence": prevalence,
                "mentions": [[m["start"], m["end"]] for m in mentions],
            }
            # one chosen mention: the entry holds what its note was written from
            entry["note"] = first["note"] if len(chosen) == 1 and "note" in first else self.note(entry)
            out.append(entry)
        return out

    def __call__(self, doc: Doc) -> Doc:
        findings = ext.get(doc, "spine_findings") or []
        for f in findings:
            f["note"] = self.note(f)
        ext.put(doc, "spine_summary", self.summary(findings))
        ext.put(doc, "spine_appendix", self.appendix(findings, (ext.get(doc, "spine_age") or {}).get("age")))
        drop_caches(doc)  # last component: serialised docs keep no cached copies
        return doc


@Language.factory(
    "spinecontext_notes",
    default_config={"patterns_dir": None},
    requires=["doc._.spine_findings"],
    assigns=["doc._.spine_findings", "doc._.spine_summary", "doc._.spine_appendix"],
)
def make_notes(nlp: Language, name: str, patterns_dir: Optional[str]) -> NoteWriter:
    """Write a plain-language note per finding and the radiologist's appendix.

    patterns_dir: folder of rule files to use instead of the packaged ones.
    """
    return NoteWriter(nlp, name, patterns_dir=patterns_dir)
