"""spinecontext.brat: brat standoff .txt/.ann and annotation.conf."""

import re

import pytest

from spinecontext.brat import brat_annotation_conf, fragments, report_to_brat
from spinecontext.nlp.rules import TAXONOMY_IDS
from spinecontext.result import FindingResult, ReportResult

CRLF = ("LUMBAR SPINE MRI\r\nL4–L5: mild disc bulge, more to the left side — café.\r\n"
        "No fracture. Possible annular fissure at L5-S1.\r\nSevere central canal stenosis at L3-L4. 🙂 Tarlov cyst.\r\n")
T_LINE = re.compile(r"^T(\d+)\t(\w+) (\d+ \d+(?:;\d+ \d+)*)\t(.*)$")


def parse_ann(ann: str):
    """{T id: (type, [(start, end)], text)}, A lines, # lines; and check the line syntax."""
    spans, attrs, notes = {}, [], []
    for line in ann.splitlines():
        if line.startswith("T"):
            m = T_LINE.match(line)
            assert m, line
            frags = [tuple(map(int, p.split())) for p in m.group(3).split(";")]
            spans["T" + m.group(1)] = (m.group(2), frags, m.group(4))
        elif line.startswith("A"):
            assert re.match(r"^A\d+\t\w+ T\d+( \w+)?$", line), line
            attrs.append(line.split("\t")[1].split())
        elif line.startswith("#"):
            assert re.match(r"^#\d+\tAnnotatorNotes T\d+\t[^\t]+$", line), line
            notes.append(line)
        else:
            pytest.fail(f"unexpected .ann line {line!r}")
    return spans, attrs, notes


def check_offsets(txt: str, ann: str) -> dict:
    spans, attrs, _ = parse_ann(ann)
    for _kind, frags, words in spans.values():
        pieces = [txt[s:e] for s, e in frags]
        assert " ".join(pieces) == words
        for p in pieces:
            assert p and not re.search(r"[\r\n\t]", p)
    for a in attrs:
        assert a[1] in spans
    return spans


def test_offsets_slice_the_text_crlf_and_non_ascii(annotate):
    r = annotate(CRLF, age=61)
    txt, ann = report_to_brat(r, CRLF)
    assert txt == CRLF  # unchanged: offsets are the contract's offsets
    spans = check_offsets(txt, ann)
    assert len(spans) == len(r.findings) >= 5
    for (kind, frags, _), f in zip(spans.values(), r.findings):
        assert kind == f.finding and frags[0][0] >= f.start and frags[-1][1] <= f.end
    assert "\r" not in ann


def test_attributes_and_notes(annotate):
    r = annotate(CRLF, age=61)
    _, ann = report_to_brat(r, CRLF)
    spans, attrs, notes = parse_ann(ann)
    tid = {v[0]: k for k, v in spans.items()}
    got = {(a[0], a[1]): (a[2] if len(a) > 2 else True) for a in attrs}
    assert got[("Assertion", tid["disc_bulge"])] == "present"
    assert got[("Severity", tid["disc_bulge"])] == "mild"
    assert got[("Laterality", tid["disc_bulge"])] == "left"
    assert got[("Assertion", tid["fracture"])] == "absent"
    assert got[("Attention", tid["fracture"])] is True
    assert got[("Assertion", tid["annular_fissure"])] == "possible"
    assert any(f"AnnotatorNotes {tid['disc_bulge']}\tlevels: L4-L5; section: " in n for n in notes)
    assert len(notes) == len(spans)


def test_mention_over_a_line_break_is_split():
    text = "Mild disc\r\n  bulge at L4-L5.\nSecond\u2028line"
    f = FindingResult(finding="disc_bulge", text="disc\r\n  bulge", start=5, end=18, section="findings",
                      levels=["L4-L5"], assertion="present", group="common", label="disc bulge")
    g = FindingResult(finding="scoliosis", text="Second\u2028line", start=29, end=40, section="findings",
                      levels=[], assertion="present", group="common", label="scoliosis")
    txt, ann = report_to_brat(ReportResult(id="x", findings=[f, g]), text)
    spans = check_offsets(txt, ann)
    assert spans["T1"] == ("disc_bulge", [(5, 9), (13, 18)], "disc bulge")
    assert spans["T2"] == ("scoliosis", [(29, 35), (36, 40)], "Second line")
    assert "levels: none stated" in ann


def test_fragments_trim_and_fallback():
    assert fragments("a \n b", 0, 5) == [(0, 1), (4, 5)]
    assert fragments("abc", 0, 3) == [(0, 3)]
    assert fragments("\n\n", 0, 2) == [(0, 2)]


def test_offsets_must_fit(annotate):
    r = annotate("L4-L5 disc bulge.")
    with pytest.raises(ValueError, match="offsets") as exc:
        report_to_brat(r, "short")
    assert "bulge" not in str(exc.value)


def test_empty_report():
    assert report_to_brat(ReportResult(id="e"), "") == ("", "")


def test_annotation_conf_lists_every_type_and_attribute(annotate):
    conf = brat_annotation_conf()
    sections = re.findall(r"^\[(\w+)\]$", conf, re.M)
    assert sections == ["entities", "relations", "events", "attributes"]
    entities = conf.split("[entities]")[1].split("[relations]")[0]
    declared = {l.strip() for l in entities.splitlines() if l.strip() and not l.startswith(("!", "#"))}
    assert set(TAXONOMY_IDS) <= declared
    assert {"!common", "!incidental", "!red_flag"} <= {l for l in entities.splitlines()}
    attributes = conf.split("[attributes]")[1]
    for line in ("Assertion Arg:<ENTITY>, Value:present|absent|possible|historical",
                 "Severity Arg:<ENTITY>, Value:mild|moderate|severe",
                 "Laterality Arg:<ENTITY>, Value:left|right|bilateral|central", "Attention Arg:<ENTITY>"):
        assert line in attributes
    # every type and attribute value used in an .ann is declared
    r = annotate(CRLF)
    spans, attrs, _ = parse_ann(report_to_brat(r, CRLF)[1])
    assert {k for k, _, _ in spans.values()} <= declared
    for a in attrs:
        assert a[0] in attributes and (len(a) == 2 or a[2] in attributes)
