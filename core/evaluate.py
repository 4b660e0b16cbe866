"""Score the pipeline against a gold JSONL file (format: ../shared/ANNOTATION.md).

Figures:
* pair micro precision/recall/F1 over present (finding, level) pairs, with the
  gold convention that a finding stated with a level drops its unlevelled pair;
* per-report finding F1: present findings per report, levels ignored (micro
  over all reports, and the mean of per-report F1);
* per-finding pair figures;
* negation errors: gold-absent (finding, level) pairs that the pipeline calls
  present, as a share of all gold-absent pairs;
* severity, where gold carries it: over (finding, level) pairs present in gold
  and found present, the share whose severity equals gold's (the system's
  strongest severity at that level, ANNOTATION.md), with the confusions;
* red flags: gold red-flag pairs (fracture, malignancy, infection, cauda
  equina compression) that are present or possible, and how many of them the
  pipeline finds present or possible at the same level (at any level where
  gold gives none).
Only ids and (finding, level) pairs are printed, never report text.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from spacy.language import Language

from . import make_doc
from .result import PRECEDENCE, ReportResult, from_doc, levelled_wins


class GoldFileError(ValueError):
    """The gold file cannot be read."""


@dataclass
class GoldReport:
    id: str
    text: str
    age: Optional[int]
    assertions: dict[tuple[str, str], str]
    #: gold severity of present pairs, where the gold file has the key
    severity: dict[tuple[str, str], Optional[str]] = field(default_factory=dict)
    #: gold change of each pair, where the gold file has the key (corpora/README.md)
    change: dict[tuple[str, str], Optional[str]] = field(default_factory=dict)

    def present_pairs(self) -> set[tuple[str, str]]:
        return levelled_wins({k for k, a in self.assertions.items() if a == "present"})


def _gold_lines(path: Path) -> list[tuple[int, str]]:
    """The non-blank lines of a gold .jsonl file with their numbers (GoldFileError if unreadable)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise GoldFileError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise GoldFileError(f"{path}: not UTF-8 text") from None
    return [(n, line) for n, line in enumerate(lines, 1) if line.strip()]


def read_gold(path: Path) -> list[GoldReport]:
    out = []
    for n, line in _gold_lines(path):
        try:
            out.append(gold_report(json.loads(line), f"line {n}"))
        except (ValueError, KeyError, TypeError) as exc:
            raise GoldFileError(f"{path}: line {n}: not a gold report ({exc.__class__.__name__}: {exc})") from None
    return out


def gold_report(row: dict, where: str) -> GoldReport:
    """One gold report from its JSON object (raises KeyError, TypeError or ValueError)."""
    text = row["text"]
    assertions: dict[tuple[str, str], str] = {}
    severity: dict[tuple[str, str], Optional[str]] = {}
    change: dict[tuple[str, str], Optional[str]] = {}
    for f in row.get("findings", []):
        for lv in f.get("levels") or [""]:
            key = (f["finding"], lv)
            old = assertions.get(key)
            if old is None or PRECEDENCE.index(f["assertion"]) < PRECEDENCE.index(old):
                assertions[key] = f["assertion"]
            if f["assertion"] == "present" and "severity" in f:
                severity[key] = _strongest(severity.get(key), f["severity"])
            if "change" in f and assertions[key] == f["assertion"]:
                change[key] = f["change"]
    return GoldReport(str(row.get("id", where)), text, row.get("age"), assertions, severity, change)


SEVERITY_ORDER = (None, "mild", "moderate", "severe")
RED_FLAGS = frozenset({"fracture", "malignancy", "infection", "cauda_equina_compression"})


def _strongest(a: Optional[str], b: Optional[str]) -> Optional[str]:
    return a if SEVERITY_ORDER.index(a) >= SEVERITY_ORDER.index(b) else b


def predicted_severity(pred: ReportResult) -> dict[tuple[str, str], Optional[str]]:
    """The strongest severity of the present mentions of each (finding, level) pair."""
    out: dict[tuple[str, str], Optional[str]] = {}
    for f in pred.findings:
        if f.assertion == "present":
            for lv in f.levels or [""]:
                out[(f.finding, lv)] = _strongest(out.get((f.finding, lv)), f.severity)
    return out


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


@dataclass
class Evaluation:
    n_reports: int = 0
    pair_tp: int = 0
    pair_fp: int = 0
    pair_fn: int = 0
    rep_tp: int = 0
    rep_fp: int = 0
    rep_fn: int = 0
    report_f1s: list[float] = field(default_factory=list)
    per_finding: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    gold_absent: int = 0
    negation_errors: int = 0
    severity_scored: int = 0
    severity_right: int = 0
    severity_confusions: Counter = field(default_factory=Counter)
    red_flags_gold: int = 0
    red_flags_found: int = 0
    change_scored: int = 0
    change_right: int = 0
    change_confusions: Counter = field(default_factory=Counter)
    errors: list[dict] = field(default_factory=list)

    def add(self, gold: GoldReport, pred: ReportResult) -> None:
        self.n_reports += 1
        g, p = gold.present_pairs(), pred.present_pairs()
        tp, fp, fn = g & p, p - g, g - p
        self.pair_tp += len(tp)
        self.pair_fp += len(fp)
        self.pair_fn += len(fn)
        for f, _ in tp:
            self.per_finding[f]["tp"] += 1
        for f, _ in fp:
            self.per_finding[f]["fp"] += 1
        for f, _ in fn:
            self.per_finding[f]["fn"] += 1
        gf, pf = {f for f, _ in g}, {f for f, _ in p}
        self.rep_tp += len(gf & pf)
        self.rep_fp += len(pf - gf)
        self.rep_fn += len(gf - pf)
        self.report_f1s.append(prf(len(gf & pf), len(pf - gf), len(gf - pf))[2])
        pred_assert = pred.assertions()
        neg = []
        for key, a in gold.assertions.items():
            if a == "absent":
                self.gold_absent += 1
                if pred_assert.get(key) == "present":
                    self.negation_errors += 1
                    neg.append(key)
        sev_wrong = []
        if gold.severity:
            psev = predicted_severity(pred)
            for key in tp:
                if key in gold.severity:
                    want, got = gold.severity[key], psev.get(key)
                    self.severity_scored += 1
                    if want == got:
                        self.severity_right += 1
                    else:
                        self.severity_confusions[(want or "none", got or "none")] += 1
                        sev_wrong.append((key, want, got))
        missed_flags = []
        flagged = {k for k, a in pred_assert.items() if a in ("present", "possible")}
        flagged_any = {f for f, _ in flagged}
        for key, a in gold.assertions.items():
            if key[0] in RED_FLAGS and a in ("present", "possible"):
                self.red_flags_gold += 1
                # a gold flag with no level is found wherever the pipeline puts it
                if key in flagged or not key[1] and key[0] in flagged_any:
                    self.red_flags_found += 1
                else:
                    missed_flags.append(key)
        change_wrong = []
        if gold.change:
            pchange = pred.changes()
            for key, want in gold.change.items():
                # scored: gold present or possible pairs, and resolved ones (absent now)
                if gold.assertions[key] in ("present", "possible") or want == "resolved":
                    got = pchange.get(key)
                    self.change_scored += 1
                    if got == want:
                        self.change_right += 1
                    else:
                        self.change_confusions[(want or "none", got or "none")] += 1
                        change_wrong.append((key, want, got))
        if fp or fn or neg or missed_flags or sev_wrong or change_wrong:
            self.errors.append({"id": gold.id, "missed": sorted(fn), "extra": sorted(fp), "negation": sorted(neg),
                                "red_flags_missed": sorted(missed_flags), "severity": sorted(sev_wrong),
                                "change": sorted(change_wrong, key=lambda x: x[0])})

    def summary(self) -> dict:
        pp, pr, pf = prf(self.pair_tp, self.pair_fp, self.pair_fn)
        rp, rr, rf = prf(self.rep_tp, self.rep_fp, self.rep_fn)
        per = {}
        for f, c in sorted(self.per_finding.items()):
            p, r, f1 = prf(c["tp"], c["fp"], c["fn"])
            per[f] = {"tp": c["tp"], "fp": c["fp"], "fn": c["fn"], "precision": p, "recall": r, "f1": f1}
        return {
            "reports": self.n_reports,
            "pair": {"precision": pp, "recall": pr, "f1": pf, "tp": self.pair_tp, "fp": self.pair_fp, "fn": self.pair_fn},
            "report": {"precision": rp, "recall": rr, "f1": rf,
                       "mean_f1": sum(self.report_f1s) / len(self.report_f1s) if self.report_f1s else 1.0},
            "negation": {"gold_absent": self.gold_absent, "errors": self.negation_errors,
                         "rate": self.negation_errors / self.gold_absent if self.gold_absent else 0.0},
            "severity": {"scored": self.severity_scored, "right": self.severity_right,
                         "accuracy": self.severity_right / self.severity_scored if self.severity_scored else None,
                         "confusions": {f"{g}->{p}": n for (g, p), n in self.severity_confusions.most_common()}},
            "change": {"scored": self.change_scored, "right": self.change_right,
                       "accuracy": self.change_right / self.change_scored if self.change_scored else None,
                       "confusions": {f"{g}->{p}": n for (g, p), n in self.change_confusions.most_common()}},
            "red_flags": {"gold": self.red_flags_gold, "found": self.red_flags_found,
                          "recall": self.red_flags_found / self.red_flags_gold if self.red_flags_gold else None},
            "per_finding": per,
        }


def evaluate(nlp: Language, gold: Iterable[GoldReport]) -> Evaluation:
    ev = Evaluation()
    for g in gold:
        pred = from_doc(nlp(make_doc(nlp, g.text, g.age)), report_id=g.id)
        ev.add(g, pred)
    return ev


def format_summary(s: dict) -> str:
    lines = [
        f"reports: {s['reports']}",
        "pair (finding, level), present:  P {precision:.3f}  R {recall:.3f}  F1 {f1:.3f}   (tp {tp}, fp {fp}, fn {fn})".format(**s["pair"]),
        "report findings, levels ignored: P {precision:.3f}  R {recall:.3f}  F1 {f1:.3f}   (mean per-report F1 {mean_f1:.3f})".format(**s["report"]),
        "negation errors (gold absent, predicted present): {errors} of {gold_absent} ({rate:.1%})".format(**s["negation"]),
    ]
    sev = s["severity"]
    if sev["scored"]:
        conf = ", ".join(f"{k} {n}" for k, n in sev["confusions"].items()) or "none"
        lines.append(f"severity (pairs found present by both): {sev['right']} of {sev['scored']} right "
                     f"({sev['accuracy']:.1%}); gold->predicted confusions: {conf}")
    ch = s.get("change") or {}
    if ch.get("scored"):
        conf = ", ".join(f"{k} {n}" for k, n in ch["confusions"].items()) or "none"
        lines.append(f"change (gold present, possible and resolved pairs): {ch['right']} of {ch['scored']} right "
                     f"({ch['accuracy']:.1%}); gold->predicted confusions: {conf}")
    rf = s["red_flags"]
    if rf["gold"]:
        lines.append(f"red flags (gold present or possible pairs) found present or possible: {rf['found']} of {rf['gold']}")
    lines += [
        "",
        f"{'finding':32} {'tp':>5} {'fp':>5} {'fn':>5} {'P':>6} {'R':>6} {'F1':>6}",
    ]
    for f, c in s["per_finding"].items():
        lines.append(f"{f:32} {c['tp']:>5} {c['fp']:>5} {c['fn']:>5} {c['precision']:>6.3f} {c['recall']:>6.3f} {c['f1']:>6.3f}")
    return "\n".join(lines)


def format_errors(ev: Evaluation) -> str:
    def fmt(pairs):
        return ", ".join(f"{f}@{lv or '-'}" for f, lv in pairs)

    out = []
    for e in ev.errors:
        parts = [e["id"]]
        if e["missed"]:
            parts.append(f"  missed: {fmt(e['missed'])}")
        if e["extra"]:
            parts.append(f"  extra:  {fmt(e['extra'])}")
        if e["negation"]:
            parts.append(f"  negation error: {fmt(e['negation'])}")
        if e.get("severity"):
            parts.append("  severity (gold->predicted): " + ", ".join(
                f"{f}@{lv or '-'} {g or 'none'}->{p or 'none'}" for (f, lv), g, p in e["severity"]))
        if e.get("change"):
            parts.append("  change (gold->predicted): " + ", ".join(
                f"{f}@{lv or '-'} {g or 'none'}->{p or 'none'}" for (f, lv), g, p in e["change"]))
        if e.get("red_flags_missed"):
            parts.append(f"  red flag missed: {fmt(e['red_flags_missed'])}")
        out.append("\n".join(parts))
    return "\n".join(out)


# --- pairs of reports (spinecontext evaluate-compare) -----------------------------
@dataclass
class GoldPair:
    id: str
    prior: GoldReport
    current: GoldReport
    #: gold change per (finding, level): new, gone, unchanged, worse, better
    changes: dict[tuple[str, str], str]


def read_pairs(path: Path) -> list[GoldPair]:
    """Gold pairs (corpora/README.md, change_pairs.jsonl): id, prior, current, changes."""
    out = []
    for n, line in _gold_lines(path):
        try:
            row = json.loads(line)
            reports = [gold_report(row[side], f"line {n} {side}") for side in ("prior", "current")]
            changes = {(c["finding"], c.get("level") or ""): c["change"] for c in row["changes"]}
            out.append(GoldPair(str(row.get("id", f"line {n}")), reports[0], reports[1], changes))
        except (ValueError, KeyError, TypeError) as exc:
            raise GoldFileError(f"{path}: line {n}: not a gold pair ({exc.__class__.__name__}: {exc})") from None
    return out


@dataclass
class PairEvaluation:
    pairs: int = 0
    scored: int = 0
    right: int = 0
    confusions: Counter = field(default_factory=Counter)
    extra: int = 0
    #: gold new/worse red flags reported unchanged or better (must be none), and those not reported at all
    unsafe: list = field(default_factory=list)
    red_new_worse: int = 0
    red_missed: list = field(default_factory=list)
    reports: Evaluation = field(default_factory=Evaluation)
    errors: list[dict] = field(default_factory=list)

    def add(self, gold: GoldPair, pred) -> None:
        self.pairs += 1
        got = {(e.finding, e.level or ""): e.change for e in pred.changes}
        wrong = []
        for key, want in gold.changes.items():
            have = got.get(key)
            self.scored += 1
            if have == want:
                self.right += 1
            else:
                self.confusions[(want, have or "none")] += 1
                wrong.append((key, want, have))
            if key[0] in RED_FLAGS and want in ("new", "worse"):
                self.red_new_worse += 1
                if have in ("unchanged", "better"):
                    self.unsafe.append((gold.id, key, want, have))
                elif have is None or have == "gone":
                    self.red_missed.append((gold.id, key, want, have))
        extra = sorted(k for k in got if k not in gold.changes)
        self.extra += len(extra)
        if wrong or extra:
            self.errors.append({"id": gold.id, "change": sorted(wrong, key=lambda x: x[0]),
                                "extra": [(k, got[k]) for k in extra]})

    def summary(self) -> dict:
        return {
            "pairs": self.pairs,
            "change": {"scored": self.scored, "right": self.right,
                       "accuracy": self.right / self.scored if self.scored else None,
                       "confusions": {f"{g}->{p}": n for (g, p), n in self.confusions.most_common()},
                       "extra_entries": self.extra},
            "red_flags": {"gold_new_or_worse": self.red_new_worse,
                          "reported_unchanged_or_better": [list(map(str, x)) for x in self.unsafe],
                          "not_reported_new_or_worse": [list(map(str, x)) for x in self.red_missed]},
            "reports": self.reports.summary(),
        }


def evaluate_pairs(nlp: Language, pairs: Iterable[GoldPair], patterns_dir=None) -> PairEvaluation:
    from .compare import compare

    ev = PairEvaluation()
    for g in pairs:
        results = []
        for rep in (g.prior, g.current):
            r = from_doc(nlp(make_doc(nlp, rep.text, rep.age)), report_id=rep.id)
            ev.reports.add(rep, r)
            results.append(r)
        ev.add(g, compare(results[0], results[1], patterns_dir))
    return ev


def format_pair_summary(s: dict) -> str:
    ch, rf, rep = s["change"], s["red_flags"], s["reports"]
    conf = ", ".join(f"{k} {n}" for k, n in ch["confusions"].items()) or "none"
    lines = [
        f"pairs: {s['pairs']}",
        f"change per gold (finding, level): {ch['right']} of {ch['scored']} right ({(ch['accuracy'] or 0):.1%}); "
        f"gold->predicted confusions: {conf}; entries not in gold: {ch['extra_entries']}",
        f"red flags gold new or worse: {rf['gold_new_or_worse']}; reported unchanged or better: "
        f"{len(rf['reported_unchanged_or_better'])}; not reported new or worse: {len(rf['not_reported_new_or_worse'])}",
    ]
    for x in rf["reported_unchanged_or_better"]:
        lines.append(f"  UNSAFE: {' '.join(x)}")
    lines.append("the two reports of each pair, scored as single reports:")
    lines += ["  " + line for line in format_summary(rep).split("\n")[:7] if line]
    return "\n".join(lines)


def format_pair_errors(ev: PairEvaluation) -> str:
    out = []
    for e in ev.errors:
        parts = [e["id"]]
        if e["change"]:
            parts.append("  change (gold->predicted): " + ", ".join(
                f"{f}@{lv or '-'} {g}->{p or 'none'}" for (f, lv), g, p in e["change"]))
        if e["extra"]:
            parts.append("  not in gold: " + ", ".join(f"{f}@{lv or '-'} {c}" for (f, lv), c in e["extra"]))
        out.append("\n".join(parts))
    return "\n".join(out)
