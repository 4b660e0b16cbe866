"""Load, validate and compile the rule files in ``patterns/``.

Every file is checked against a schema (pydantic models with no unknown keys)
and every regular expression is compiled on load, so a typo in a rule file
fails at start-up with the file, the rule and the problem named, never in the
middle of a batch.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import ClassVar, Literal, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

#: The 30 finding ids of ../shared/TAXONOMY.md. The rule files may add findings;
#: they may not drop or rename these.
TAXONOMY_IDS = (
    "disc_degeneration", "disc_desiccation", "disc_height_loss", "disc_bulge",
    "disc_protrusion", "disc_extrusion", "disc_herniation", "annular_fissure",
    "facet_arthropathy", "spondylolisthesis", "spondylolysis",
    "central_canal_stenosis", "thecal_sac_compression", "foraminal_stenosis",
    "lateral_recess_stenosis", "nerve_root_compression", "modic_change",
    "schmorl_node", "osteophyte", "ligamentum_flavum_hypertrophy", "scoliosis",
    "lordosis_change", "synovial_cyst", "perineural_cyst", "hemangioma",
    "transitional_vertebra", "fracture", "malignancy", "infection",
    "cauda_equina_compression",
)

ASSERTIONS = ("present", "absent", "possible", "historical")
FLAGS = re.IGNORECASE
MACRO = re.compile(r"<<(\w+)>>")


#: libyaml's safe loader when PyYAML was built with it (about 10x faster), else the pure-Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RuleFileError(ValueError):
    """A rule file is missing, malformed, or holds an invalid rule."""


def _require_keys(v: dict, keys, noun: str) -> dict:
    """A validator's check that ``v`` has an entry for every key ("no <noun> for ...")."""
    missing = [k for k in keys if k not in v]
    if missing:
        raise ValueError(f"no {noun} for {', '.join(missing)}")
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_regex(value: str) -> str:
    # Macros are expanded later; check what can be checked here.
    try:
        re.compile(MACRO.sub("x", value), FLAGS)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from exc
    return value


Regex = str


# --- vocabulary -------------------------------------------------------------
class VocabularyFile(_Strict):
    version: int
    terms: dict[str, Regex]

    @field_validator("terms")
    @classmethod
    def _terms(cls, v: dict[str, str]) -> dict[str, str]:
        for name, rx in v.items():
            if MACRO.search(rx):
                raise ValueError(f"term {name!r} uses <<...>>; terms cannot nest")
            _check_regex(rx)
        return v


# --- sections ---------------------------------------------------------------
class SectionHeader(_Strict):
    name: str
    kind: Literal["history", "technique", "comparison", "findings", "exam", "general"]
    pattern: Regex
    _v = field_validator("pattern")(_check_regex)


class RegionPattern(_Strict):
    region: Literal["lumbar", "cervical", "thoracic", "other"]
    pattern: Regex
    _v = field_validator("pattern")(_check_regex)


class Regions(_Strict):
    max_words: int = Field(ge=1)
    inline_max_words: int = Field(default=3, ge=1)
    title_words: Regex
    not_title: Regex
    patterns: list[RegionPattern]


class SectionsFile(_Strict):
    version: int
    headers: list[SectionHeader]
    regions: Regions


# --- sentences --------------------------------------------------------------
class SentencesFile(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    version: int
    break_: Regex = Field(alias="break")
    #: a full stop that ends a sentence with no space after it: the cut is after the stop
    glued_break: Optional[Regex] = None
    keep: Regex
    continuation: Regex
    _v = field_validator("break_", "glued_break", "keep", "continuation")(_check_regex)


# --- levels -----------------------------------------------------------------
class NamedLevel(_Strict):
    pattern: Regex
    level: str
    _v = field_validator("pattern")(_check_regex)


class LevelsFile(_Strict):
    version: int
    order: list[str]
    lumbar: list[str]
    letter_aliases: dict[str, str] = {}
    named: list[NamedLevel] = []
    # "5th lumbar vertebra", "first sacral segment": ordinal words, region words, nouns
    ordinals: dict[str, int] = {}
    regions: dict[str, str] = {}
    ordinal_nouns: Optional[Regex] = None
    bare_number_list: Optional[Regex] = None
    # whole bones named without a segment ("sacrum"): levels outside `order`
    regions_named: list[str] = []
    also_at: Optional[Regex] = None
    list_joiner: Regex
    range_joiner: Regex
    range_prefix: Regex
    not_a_level_after: Regex
    not_a_level_before: Regex
    header_after: Regex
    sentence_header_before: Regex
    not_under_header: Regex
    same_level_as_before: Regex
    everywhere: Regex
    # a sentence opening with a label of its own ("Marrow: ...") starts a new topic: it
    # does not take the level of the sentence before it on its line
    topic_label: Optional[Regex] = None
    # a disc finding at two neighbouring vertebrae is at the disc between them when the
    # sentence says so ("the L2 and L3 vertebral bodies and the intervening disc")
    disc_between: Optional[Regex] = None
    # words after a level that make it the level of an operation ("the L4-S1 fusion")
    procedure_after: Optional[Regex] = None
    # "protrusions at L4/5 and L5/S1, the latter abutting the S1 root": words between a
    # list of levels and a later finding that pick one level of the list
    last_of_list: Optional[Regex] = None
    first_of_list: Optional[Regex] = None
    _v = field_validator(
        "topic_label", "disc_between", "procedure_after", "last_of_list", "first_of_list", "not_under_header", "same_level_as_before", "everywhere", "list_joiner", "ordinal_nouns", "bare_number_list", "also_at", "range_joiner", "range_prefix", "not_a_level_after",
        "not_a_level_before", "header_after", "sentence_header_before",
    )(_check_regex)


# --- findings ---------------------------------------------------------------
class PatternSpec(_Strict):
    regex: Regex
    preceded_by: Optional[Regex] = None
    within: int = Field(default=80, ge=1, le=400)
    sentence_has: Optional[Regex] = None
    # an expression that must occur somewhere in the report ("collection" is the
    # abscess a report names elsewhere)
    report_has: Optional[Regex] = None
    assertion: Optional[Literal["present", "absent", "possible", "historical"]] = None
    _v = field_validator("regex", "preceded_by", "sentence_has", "report_has")(
        lambda v: v if v is None else _check_regex(v)
    )

    @property
    def conditional(self) -> bool:
        return self.preceded_by is not None or self.sentence_has is not None or self.report_has is not None


class FindingRule(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    group: Literal["common", "incidental", "red_flag"]
    level_kind: Literal["disc", "vertebra", "any", "none"]
    single_vertebra: Literal["keep", "disc_below"] = "keep"
    # a vertebral finding stated at a disc level: "pars defect at L5/S1" is of L5
    disc_level: Literal["keep", "upper_vertebra"] = "keep"
    # over a range written with vertebrae ("displaced from L1-L3"): the discs
    # between them (`kind`, as level_kind says) or the vertebrae as written
    range_levels: Literal["kind", "written"] = "kind"
    patterns: list[Union[Regex, PatternSpec]] = Field(min_length=1)
    veto: list[Regex] = []
    yields_to: list[str] = []

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, v: list) -> list[PatternSpec]:
        out = []
        for p in v:
            if isinstance(p, str):
                p = PatternSpec(regex=_check_regex(p))
            out.append(p)
        return out

    _vv = field_validator("veto")(lambda v: [_check_regex(x) for x in v])


class FindingsFile(_Strict):
    version: int
    findings: list[FindingRule]


# --- context ----------------------------------------------------------------
class _CueRule(_Strict):
    """A ConText-style rule: literal words or a pattern, a scope in words and a stop."""

    #: what the rule is called in errors
    _what: ClassVar[str] = "rule"
    literal: Optional[str] = None
    pattern: Optional[Regex] = None
    max_scope: int = Field(default=10, ge=1, le=60)
    #: the modifier does not reach past text matching this (e.g. "[,;]")
    stop: Optional[Regex] = None

    def model_post_init(self, __context) -> None:
        if (self.literal is None) == (self.pattern is None):
            raise ValueError(f"a {self._what} needs exactly one of 'literal' or 'pattern'")
        for rx in (self.pattern, self.stop):
            if rx is not None:
                _check_regex(rx)

    @property
    def regex(self) -> str:
        if self.pattern is not None:
            return self.pattern
        words = [re.escape(w) for w in self.literal.split()]
        return r"\b" + r"\s+".join(words) + r"\b"


class ContextRule(_CueRule):
    _what: ClassVar[str] = "context rule"
    category: Literal[
        "NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HISTORICAL", "PSEUDO", "TERMINATE", "EXAM_FINDING"
    ]
    direction: Literal["forward", "backward", "bidirectional"] = "forward"


class ContextFile(_Strict):
    version: int
    rules: list[ContextRule]


# --- change over time (change.yaml) -------------------------------------------
#: The values of a mention's ``change``, and the rule categories that give them.
CHANGES = ("new", "worse", "better", "unchanged", "resolved")
CHANGE_CATEGORIES = {"NEW": "new", "WORSE": "worse", "BETTER": "better", "UNCHANGED": "unchanged",
                     "RESOLVED": "resolved", "PRIOR": "unchanged", "GLOBAL": "unchanged"}
SECTION_KINDS = ("history", "technique", "comparison", "findings", "exam")


class ChangeRule(_CueRule):
    _what: ClassVar[str] = "change rule"
    category: Literal["NEW", "WORSE", "BETTER", "UNCHANGED", "RESOLVED", "PRIOR", "GLOBAL", "PSEUDO", "TERMINATE",
                      "RELATIVE"]
    direction: Literal["forward", "backward", "bidirectional"] = "bidirectional"


class ComparisonWords(_Strict):
    #: the report says it compares with an earlier study ("compared with", "cf", "Prior: MRI ...")
    stated: Regex
    #: a comparison section that says there is none ("COMPARISON: None.")
    none: Regex
    _v = field_validator("stated", "none")(_check_regex)


class ProcedureRule(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    pattern: Regex
    _v = field_validator("pattern")(_check_regex)


class ChangeFile(_Strict):
    version: int
    ignore_sections: list[Literal["history", "technique", "comparison", "findings", "exam"]] = []
    rules: list[ChangeRule] = Field(min_length=1)
    comparison: ComparisonWords
    procedures: list[ProcedureRule] = []


class ChangeNotesFile(_Strict):
    """Plain-language change lines (patterns/change_notes.yaml)."""
    version: int
    #: one line per change value of a mention (new, worse, better, unchanged, resolved)
    mention: dict[Literal["new", "worse", "better", "unchanged", "resolved"], str]
    #: one line per change between two reports (new, gone, unchanged, worse, better)
    compare: dict[Literal["new", "gone", "unchanged", "worse", "better"], str]
    #: added after a new or worse line of a finding that needs attention (never softened)
    attention_new_or_worse: str
    #: added after an unchanged or better line of a finding that needs attention
    attention_unchanged: str
    #: the resolved line of an absent mention: {label} and the line
    absent_resolved: str

    @field_validator("mention")
    @classmethod
    def _all_mention(cls, v: dict) -> dict:
        return _require_keys(v, CHANGES, "line")

    @field_validator("compare")
    @classmethod
    def _all_compare(cls, v: dict) -> dict:
        return _require_keys(v, ("new", "gone", "unchanged", "worse", "better"), "line")


# --- attributes -------------------------------------------------------------
class ClauseBreaks(_Strict):
    """What ends a clause, for reading attributes: punctuation marks, a word ending
    that comes right before a comma ("narrowed,"), and linking words."""
    marks: list[str] = []
    before_comma: Optional[Regex] = None
    words: list[str] = []
    _v = field_validator("before_comma")(lambda v: v if v is None else _check_regex(v))

    @field_validator("marks")
    @classmethod
    def _one_character(cls, v: list[str]) -> list[str]:
        bad = [m for m in v if len(m) != 1 or m.isalnum()]
        if bad:
            raise ValueError(f"clause break marks are single punctuation characters, not {bad}")
        return v

    @field_validator("words")
    @classmethod
    def _plain_words(cls, v: list[str]) -> list[str]:
        bad = [w for w in v if not re.fullmatch(r"[A-Za-z]+(?: [A-Za-z]+)*", w)]
        if bad:
            raise ValueError(f"clause break words are plain words, not {bad}")
        return v


class SeverityWords(_Strict):
    _v = field_validator("after_finding", "for_all")(lambda v: v if v is None else _check_regex(v))

    mild: Regex
    moderate: Regex
    severe: Regex
    not_severity: Regex
    # what may stand between a finding and a grading word after it ("stenosis
    # is moderate"); anything else means the word grades something else
    after_finding: Optional[Regex] = None
    # the grading words before a finding are read after the last clause break
    # ("foramina are narrowed, left lateral recess narrowing")
    clause_breaks: Optional["ClauseBreaks"] = None
    # a grading word for every finding of the sentence ("..., all mild in degree")
    for_all: Optional[Regex] = None


class LateralityWords(_Strict):
    left: Regex
    right: Regex
    bilateral: Regex
    central: Regex


class AttributesFile(_Strict):
    version: int
    window_before: int = Field(ge=0, le=400)
    window_after: int = Field(ge=0, le=400)
    severity: SeverityWords
    laterality: LateralityWords
    position: dict[str, Regex]
    grade: Regex
    modic_type: Regex
    modic_edema: Regex
    listhesis_direction: dict[str, Regex]


class PrevalenceSource(_Strict):
    short: str
    citation: str
    doi: Optional[str] = None
    note: Optional[str] = None


class ByAge(_Strict):
    source: str
    ages: list[int] = Field(min_length=2)
    interpolation: Literal["linear"]
    rows: dict[str, list[float]]


class FixedFigure(_Strict):
    percent: float = Field(ge=0, le=100)
    who: str
    source: str


class FindingFigure(_Strict):
    row: Optional[str] = None
    fixed: Optional[str] = None
    caveat: Optional[str] = None


class NeverReassureWhen(_Strict):
    finding: str
    severity: Optional[Literal["mild", "moderate", "severe"]] = None
    grade_at_least: Optional[int] = None
    modic_type: Optional[int] = None


class NeverReassure(_Strict):
    findings: list[str]
    when: list[NeverReassureWhen] = []


class PrevalenceFile(_Strict):
    version: int
    sources: dict[str, PrevalenceSource]
    by_age: ByAge
    fixed: dict[str, FixedFigure]
    findings: dict[str, FindingFigure]
    never_reassure: NeverReassure

    def model_post_init(self, __context) -> None:
        by = self.by_age
        if by.source not in self.sources:
            raise ValueError(f"by_age.source {by.source!r} is not in sources")
        if by.ages != sorted(by.ages):
            raise ValueError("by_age.ages must be in increasing order")
        for name, row in by.rows.items():
            if len(row) != len(by.ages):
                raise ValueError(f"by_age.rows.{name} has {len(row)} values for {len(by.ages)} ages")
        for name, fig in self.fixed.items():
            if fig.source not in self.sources:
                raise ValueError(f"fixed.{name}.source {fig.source!r} is not in sources")
        for fid, fig in self.findings.items():
            if (fig.row is None) == (fig.fixed is None):
                raise ValueError(f"findings.{fid} needs exactly one of 'row' or 'fixed'")
            if fig.row is not None and fig.row not in by.rows:
                raise ValueError(f"findings.{fid}.row {fig.row!r} is not a by_age row")
            if fig.fixed is not None and fig.fixed not in self.fixed:
                raise ValueError(f"findings.{fid}.fixed {fig.fixed!r} is not a fixed figure")


class NoteTemplates(_Strict):
    figure_at_age: str
    figure_age_unknown: str
    figure_age_outside: str
    figure_fixed: str
    attention: str
    absent: str
    possible: str
    historical: str
    where: str


class FindingNote(_Strict):
    what: str
    meaning: Optional[str] = None
    severe: Optional[str] = None


class NotesFile(_Strict):
    version: int
    templates: NoteTemplates
    findings: dict[str, FindingNote]

    @field_validator("findings")
    @classmethod
    def _all_ids(cls, v: dict) -> dict:
        return _require_keys(v, TAXONOMY_IDS, "note")


class AppendixFile(_Strict):
    version: int
    title: str
    with_age: str
    without_age: str
    outside_ages: str
    item_with_age: str
    item_without_age: str
    item_outside: str
    joiner: str
    last_joiner: str
    citation: str


# --- the patient page's data (core/patient.py; not read by the pipeline) -----------

class UrgentSource(_Strict):
    short: str
    citation: str
    doi: Optional[str] = None


class UrgentTexts(_Strict):
    intro: str
    same_day: str
    prompt: str
    risk: str
    source: str
    summary: str


class UrgentWhen(_Strict):
    finding: str
    severity: Optional[Literal["mild", "moderate", "severe"]] = None


class UrgentGroup(_Strict):
    title: str
    findings: list[str] = []
    when: list[UrgentWhen] = []
    same_day: list[str] = Field(min_length=1)
    prompt: list[str] = []
    risk: list[str] = []
    also: list[str] = []
    sources: list[str] = Field(min_length=1)


class UrgentFile(_Strict):
    version: int
    sources: dict[str, UrgentSource]
    texts: UrgentTexts
    groups: dict[str, UrgentGroup]

    @field_validator("groups")
    @classmethod
    def _known(cls, v: dict, info) -> dict:
        sources = info.data.get("sources") or {}
        claimed: dict[str, str] = {}
        for name, g in v.items():
            for src in g.sources:
                if src not in sources:
                    raise ValueError(f"{name}: unknown source {src!r}")
            for other in g.also:
                if other not in v or other == name:
                    raise ValueError(f"{name}: also names unknown group {other!r}")
            for fid in g.findings + [w.finding for w in g.when]:
                if fid not in TAXONOMY_IDS:
                    raise ValueError(f"{name}: unknown finding {fid!r}")
            for fid in g.findings:
                if fid in claimed:
                    raise ValueError(f"{name}: finding {fid!r} is also in group {claimed[fid]}")
                claimed[fid] = name
        return v


class PatientGroupAttention(_Strict):
    heading: str
    one: str
    many: str


class PatientGroupCommon(_Strict):
    heading: str
    at_age: str
    age_unknown: str
    outside: str


class PatientGroupOther(_Strict):
    heading: str
    text: str


class PatientGroups(_Strict):
    attention: PatientGroupAttention
    common: PatientGroupCommon
    other: PatientGroupOther
    not_there: str
    history: str
    none: str
    only_not_there: str


class PatientHeadings(_Strict):
    bottom_line: str
    questions: str
    attention: str
    common: str
    not_there: str
    history: str
    report: str


class PatientShared(_Strict):
    text: str
    sentences: list[str] = Field(min_length=1)


class LegendEntry(_Strict):
    cue: str
    text: str


class PatientLegend(_Strict):
    title: str
    present: LegendEntry
    attention: LegendEntry
    possible: LegendEntry
    historical: LegendEntry
    absent: LegendEntry


class PatientLinks(_Strict):
    to_card: str
    to_report: str


class PatientFile(_Strict):
    version: int
    headings: PatientHeadings
    intro: str
    groups: PatientGroups
    shared: PatientShared
    legend: PatientLegend
    links: PatientLinks


_CHANGE_KEYS = ("new", "worse", "gone", "better", "unchanged")


class ComparePageForm(_Strict):
    title: str
    lead: str
    prior_label: str
    current_label: str
    paste_label: str
    file_label: str
    submit: str
    ocr_check: str


class ComparePageWhich(_Strict):
    prior: str
    current: str


class ComparePageErrors(_Strict):
    which: ComparePageWhich
    empty: str
    too_long: str
    file: str
    unreadable: str
    form: str


class ComparePageStates(_Strict):
    present: str
    possible: str
    absent: str
    historical: str
    missing: str


class ComparePageResult(_Strict):
    title: str
    meta: str
    intro: str
    headings: dict[Literal["new", "worse", "gone", "better", "unchanged"], str]
    badges: dict[Literal["new", "worse", "gone", "better", "unchanged"], str]
    last_scan: str
    this_scan: str
    states: ComparePageStates
    to_prior: str
    to_current: str
    none: str
    details: str
    reports: str
    prior_report: str
    current_report: str
    footer: str
    again: str

    @field_validator("headings", "badges")
    @classmethod
    def _every_change(cls, v: dict) -> dict:
        return _require_keys(v, _CHANGE_KEYS, "entry")


class ComparePageFile(_Strict):
    """The patient page's compare view (patterns/compare_page.yaml)."""
    version: int
    offer: str
    link: str
    form: ComparePageForm
    errors: ComparePageErrors
    result: ComparePageResult


QUESTION_CONDITIONS = ("attention", "urgent", "any", "nerve_side", "nerve_level", "common_age", "possible",
                       "none", "always")


class QuestionTemplate(_Strict):
    when: Literal["attention", "urgent", "any", "nerve_side", "nerve_level", "common_age", "possible", "none",
                  "always"]
    text: str

    @field_validator("text")
    @classmethod
    def _placeholders(cls, v: str) -> str:
        for name in re.findall(r"\{(\w*)\}", v):
            if name not in ("name", "levels", "side"):
                raise ValueError(f"unknown placeholder {{{name}}} (use {{name}}, {{levels}}, {{side}})")
        return v


class QuestionsFile(_Strict):
    version: int
    min: int = Field(ge=1)
    max: int = Field(ge=1)
    per_finding_max: int = Field(ge=1)
    nerve_findings: list[str]
    names: dict[str, str]
    templates: list[QuestionTemplate] = Field(min_length=1)

    @field_validator("nerve_findings")
    @classmethod
    def _ids(cls, v: list[str]) -> list[str]:
        for fid in v:
            if fid not in TAXONOMY_IDS:
                raise ValueError(f"unknown finding {fid!r}")
        return v


class AgeFile(_Strict):
    version: int
    min_age: int
    max_age: int
    patterns: list[Regex]
    #: "date of birth" and "exam date" labels; dates after them give an age
    birth_date: Regex
    exam_date: Regex

    @field_validator("patterns")
    @classmethod
    def _named(cls, v: list[str]) -> list[str]:
        for p in v:
            _check_regex(p)
            if "(?P<age>" not in p:
                raise ValueError(f"age pattern {p!r} has no group named 'age'")
        return v


# --- spelling ---------------------------------------------------------------
_LOWER_WORD = re.compile(r"[a-z]+")


class MaxDistance(_Strict):
    min_length: int = Field(ge=1)
    distance: int = Field(ge=0, le=2)


class SpellingDictionary(_Strict):
    #: an installed Python package that ships the word list (nothing is downloaded)
    package: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")
    #: the file inside the package: one word per line, optionally followed by a count
    file: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")


class SpellingFile(_Strict):
    version: int
    min_length: int = Field(ge=3)
    max_distance: list[MaxDistance] = Field(min_length=1)
    dictionary: SpellingDictionary
    lexicon: list[str] = Field(min_length=1)
    never: list[str] = []

    @field_validator("lexicon", "never")
    @classmethod
    def _words(cls, v: list[str]) -> list[str]:
        seen = set()
        for w in v:
            if not _LOWER_WORD.fullmatch(w):
                raise ValueError(f"{w!r} is not a lower-case word of letters a-z")
            if w in seen:
                raise ValueError(f"{w!r} is listed twice")
            seen.add(w)
        return v

    def model_post_init(self, __context) -> None:
        lengths = [m.min_length for m in self.max_distance]
        if lengths != sorted(set(lengths)):
            raise ValueError("max_distance entries must have increasing min_length")
        both = sorted(set(self.lexicon) & set(self.never))
        if both:
            raise ValueError(f"in both lexicon and never: {', '.join(both)}")

    def distance_for(self, length: int) -> int:
        """The largest edit distance allowed for a word of ``length`` letters (0: none)."""
        if length < self.min_length:
            return 0
        d = 0
        for m in self.max_distance:
            if length >= m.min_length:
                d = m.distance
        return d


# --- loading ----------------------------------------------------------------
def default_patterns_dir() -> Path:
    """The rule files shipped with the package (found via importlib.resources)."""
    return Path(str(resources.files("spinecontext.patterns")))


def resolve_dir(patterns_dir: Optional[Union[str, Path]]) -> Path:
    return Path(patterns_dir) if patterns_dir else default_patterns_dir()


def _read(path: Path, model: type[BaseModel]) -> BaseModel:
    if not path.is_file():
        raise RuleFileError(f"{path}: rule file not found")
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=_YAML_LOADER)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RuleFileError(f"{path}: not valid YAML ({exc.__class__.__name__})") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RuleFileError(f"{path}: {where}: {first['msg']}") from None


def _stamp(directory: Path, pattern: str) -> tuple:
    """What the cache keys on: the files' names, sizes and modification times."""
    return tuple((p.name, st.st_size, st.st_mtime_ns) for p in sorted(directory.glob(pattern))
                 for st in [p.stat()])


def cached(pattern: str):
    """Cache a loader per directory, and reload when one of its files changes."""
    def wrap(fn):
        inner = lru_cache(maxsize=32)(lambda directory, stamp: fn(directory))

        def load(directory: Path):
            directory = Path(directory)
            return inner(directory, _stamp(directory, pattern))

        load.__doc__ = fn.__doc__
        load.__name__ = fn.__name__
        return load
    return wrap


def _single_file(name: str, model: type[BaseModel]):
    """A cached loader for one rule file validated against ``model``."""
    @cached(name)
    def load(directory: Path):
        return _read(directory / name, model)

    load.__doc__ = f"Load and validate {name}."
    return load


load_vocabulary = _single_file("vocabulary.yaml", VocabularyFile)


def expand(regex: str, directory: Path, where: str = "") -> str:
    """Replace ``<<name>>`` with the vocabulary term of that name."""
    terms = load_vocabulary(directory).terms

    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name not in terms:
            raise RuleFileError(f"{where}: unknown word class <<{name}>> (see vocabulary.yaml)")
        return terms[name]

    return MACRO.sub(sub, regex)


def _parse(regex: str, where: str) -> None:
    """Check an expanded expression (parsing is enough, and cheaper than compiling)."""
    try:
        re._parser.parse(regex, FLAGS)  # type: ignore[attr-defined]
    except re.error as exc:
        raise RuleFileError(f"{where}: invalid regular expression after expansion: {exc}") from None


def compile_rx(regex: str, directory: Path, where: str = "") -> re.Pattern:
    expanded = expand(regex, directory, where)
    try:
        return re.compile(expanded, FLAGS)
    except re.error as exc:
        raise RuleFileError(f"{where}: invalid regular expression after expansion: {exc}") from None


load_sections = _single_file("sections.yaml", SectionsFile)


load_sentences = _single_file("sentences.yaml", SentencesFile)


@cached("levels.yaml")
def load_levels(directory: Path) -> LevelsFile:
    levels = _read(directory / "levels.yaml", LevelsFile)
    known = set(levels.order) | set(levels.regions_named)
    for lv in levels.lumbar + [n.level for n in levels.named]:
        parts = lv.split("-")
        if not all(p in known for p in parts) or len(parts) > 2:
            raise RuleFileError(f"{directory / 'levels.yaml'}: unknown level {lv!r}")
    return levels


@cached("**/*.yaml")
def load_findings(directory: Path) -> tuple[FindingRule, ...]:
    folder = directory / "findings"
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise RuleFileError(f"{folder}: no finding rule files (*.yaml)")
    rules: list[FindingRule] = []
    seen: dict[str, Path] = {}
    for path in files:
        for rule in _read(path, FindingsFile).findings:
            if rule.id in seen:
                raise RuleFileError(f"{path}: finding {rule.id!r} is also defined in {seen[rule.id].name}")
            seen[rule.id] = path
            where = f"{path.name}: {rule.id}"
            for spec in rule.patterns:
                _parse(expand(spec.regex, directory, where), where)
            rules.append(rule)
    missing = [i for i in TAXONOMY_IDS if i not in seen]
    if missing:
        raise RuleFileError(f"{folder}: no rule for taxonomy finding(s) {', '.join(missing)}")
    for rule in rules:
        for other in rule.yields_to:
            if other not in seen:
                raise RuleFileError(f"{seen[rule.id]}: {rule.id}: yields_to names unknown finding {other!r}")
    return tuple(rules)


load_context = _single_file("context.yaml", ContextFile)


load_attributes = _single_file("attributes.yaml", AttributesFile)


load_age = _single_file("age.yaml", AgeFile)
load_prevalence = _single_file("prevalence.yaml", PrevalenceFile)
load_notes = _single_file("notes.yaml", NotesFile)
load_appendix = _single_file("appendix.yaml", AppendixFile)
load_spelling = _single_file("spelling.yaml", SpellingFile)
load_change = _single_file("change.yaml", ChangeFile)
load_change_notes = _single_file("change_notes.yaml", ChangeNotesFile)


load_urgent = _single_file("urgent.yaml", UrgentFile)
load_patient = _single_file("patient.yaml", PatientFile)
load_compare_page = _single_file("compare_page.yaml", ComparePageFile)
load_questions = _single_file("questions.yaml", QuestionsFile)


#: Which rule files each component reads (what its ``to_disk`` saves).
FILES = {
    "sections": ["sections.yaml"],
    "sentences": ["sentences.yaml"],
    "levels": ["levels.yaml"],
    "findings": ["vocabulary.yaml", "levels.yaml", "findings/*.yaml"],
    "assertion": ["vocabulary.yaml", "context.yaml", "findings/*.yaml"],
    "attributes": ["attributes.yaml"],
    "age": ["age.yaml"],
    "prevalence": ["prevalence.yaml", "findings/*.yaml", "vocabulary.yaml"],
    "notes": ["notes.yaml", "change_notes.yaml", "prevalence.yaml", "appendix.yaml", "findings/*.yaml", "vocabulary.yaml"],
    "change": ["change.yaml", "vocabulary.yaml"],
    "spelling": ["spelling.yaml"],
}


def validate_all(patterns_dir: Optional[Union[str, Path]] = None) -> dict[str, int]:
    """Load every rule file; return counts. Raises RuleFileError on the first problem."""
    d = resolve_dir(patterns_dir)
    return {
        "findings": len(load_findings(d)),
        "finding_patterns": sum(len(r.patterns) for r in load_findings(d)),
        "context_rules": len(load_context(d).rules),
        "section_headers": len(load_sections(d).headers),
        "age_patterns": len(load_age(d).patterns),
        "prevalence_figures": len(load_prevalence(d).findings),
        "notes": len(load_notes(d).findings),
        "appendix": 1 if load_appendix(d) else 0,
        "attributes": len(load_attributes(d).position) + 4,
        "levels": len(load_levels(d).order),
        "sentences": bool(load_sentences(d)) and 1,
        "spelling_lexicon": len(load_spelling(d).lexicon),
        "spelling_never": len(load_spelling(d).never),
        "change_rules": len(load_change(d).rules),
        "change_procedures": len(load_change(d).procedures),
        "change_notes": len(load_change_notes(d).mention) + len(load_change_notes(d).compare),
        "urgent_groups": len(load_urgent(d).groups),
        "patient_texts": 1 if load_patient(d) else 0,
        "compare_page_texts": 1 if load_compare_page(d) else 0,
        "question_templates": len(load_questions(d).templates),
    }
