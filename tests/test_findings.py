"""Findings: every taxonomy id, real-report wording, vetoes and precedence."""

import pytest

from spinecontext.nlp.rules import TAXONOMY_IDS

#: One typical sentence per taxonomy finding (written for these tests).
EXAMPLES = {
    "disc_degeneration": "Degenerative disc disease at L4-L5.",
    "disc_desiccation": "Loss of T2 disc signal at L4-L5.",
    "disc_height_loss": "Loss of disc height at L4-L5.",
    "disc_bulge": "Broad-based disc bulge at L4-L5.",
    "disc_protrusion": "Small central disc protrusion at L4-L5.",
    "disc_extrusion": "Large disc extrusion at L4-L5.",
    "disc_herniation": "Herniated nucleus pulposus at L4-L5.",
    "annular_fissure": "Posterior annular fissure at L4-L5.",
    "facet_arthropathy": "Moderate facet arthropathy at L4-L5.",
    "spondylolisthesis": "Grade 1 anterolisthesis of L4 on L5.",
    "spondylolysis": "Bilateral pars defects at L5.",
    "central_canal_stenosis": "Moderate central canal stenosis at L4-L5.",
    "thecal_sac_compression": "The bulge at L4-L5 indents the thecal sac.",
    "foraminal_stenosis": "Severe right foraminal stenosis at L4-L5.",
    "lateral_recess_stenosis": "Narrowing of the left lateral recess at L4-L5.",
    "nerve_root_compression": "At L4-L5 the traversing L5 nerve root is compressed.",
    "modic_change": "Type 2 Modic endplate changes at L4-L5.",
    "schmorl_node": "Schmorl node in the superior endplate of L2.",
    "osteophyte": "Endplate osteophytes at L4-L5.",
    "ligamentum_flavum_hypertrophy": "Ligamentum flavum thickening at L4-L5.",
    "scoliosis": "Mild levoconvex lumbar scoliosis.",
    "lordosis_change": "Straightening of the lumbar lordosis.",
    "synovial_cyst": "Left facet synovial cyst at L4-L5.",
    "perineural_cyst": "Sacral Tarlov cyst.",
    "hemangioma": "Small vertebral hemangioma in L2.",
    "transitional_vertebra": "Transitional lumbosacral vertebra with partial sacralization of L5.",
    "fracture": "Compression fracture of L1.",
    "malignancy": "Lytic lesion in L3 suspicious for metastasis.",
    "infection": "Findings of discitis-osteomyelitis at L2-L3.",
    "cauda_equina_compression": "The extrusion severely compresses the cauda equina at L4-L5.",
}


def test_every_taxonomy_id_has_an_example():
    assert set(EXAMPLES) == set(TAXONOMY_IDS)


@pytest.mark.parametrize("finding", sorted(EXAMPLES))
def test_each_finding_is_found(annotate, finding):
    found = {f.finding for f in annotate(EXAMPLES[finding]).findings}
    assert finding in found


@pytest.mark.parametrize("text,finding", [
    ("Severe left neuroforaminal stenosis at L5-S1.", "foraminal_stenosis"),
    ("Moderate neuro-foraminal narrowing at L4-5.", "foraminal_stenosis"),
    ("L4-L5: The left L5 root is surrounded and mildly displaced.", "nerve_root_compression"),
    ("Dissicating disc materials.", "disc_desiccation"),
    ("dehtdrated disc material", "disc_desiccation"),
    ("Rt paracentral disc protruion noted", "disc_protrusion"),
    ("compresing the thecal sac", "thecal_sac_compression"),
    ("ligamnetum flavum hyperatrophy", "ligamentum_flavum_hypertrophy"),
    ("No evidence of disc heniation", "disc_herniation"),
    ("Grade II spondylolithesis of L4 over L5", "spondylolisthesis"),
    ("Feature of muscle spasm.", "lordosis_change"),
    ("encroaching upon Rt L5 nerrve root", "nerve_root_compression"),
    ("encroaching both exit neural canals", "foraminal_stenosis"),
    ("Small tarlovs cyst.", "perineural_cyst"),
    ("DDD at L4-5", "disc_degeneration"),
    ("HNP at L5-S1", "disc_herniation"),
    ("sequeatrated disc fragment", "disc_extrusion"),
    ("Adequate spinal canal.", "central_canal_stenosis"),
    ("obliterating anterior CSF spaces", "thecal_sac_compression"),
])
def test_real_report_wording(annotate, text, finding):
    assert finding in {f.finding for f in annotate(text).findings}


def test_veto_intravertebral_herniation_is_schmorl(annotate):
    found = {f.finding for f in annotate("Intravertebral disc herniation in L3.").findings}
    assert found == {"schmorl_node"}


def test_most_specific_type_wins(annotate):
    r = annotate("L4-L5: disc herniation in the form of a left paracentral protrusion.")
    assert {f.finding for f in r.findings} == {"disc_protrusion"}


def test_negated_herniation_and_protrusion_both_kept(pairs):
    p = pairs("No significant disc herniation or protrusion seen.")
    assert p == {("disc_herniation", ""): "absent", ("disc_protrusion", ""): "absent"}


def test_verbs_distribute_over_objects(pairs):
    p = pairs("Diffuse disc bulge noted at L4/L5 level, mildly compressing the thecal sac and both exit nerve roots.")
    assert p == {("disc_bulge", "L4-L5"): "present", ("thecal_sac_compression", "L4-L5"): "present",
                 ("nerve_root_compression", "L4-L5"): "present"}


def test_nerve_root_within_foramen_is_not_foraminal_stenosis(pairs):
    p = pairs("L3-4: disc bulge causing compression of right nerve root within neural foramen.")
    assert ("nerve_root_compression", "L3-L4") in p
    assert ("foraminal_stenosis", "L3-L4") not in p


def test_marrow_signal_needs_a_flag(pairs):
    assert pairs("Diffuse decreased bone marrow signal intensity (obese patient).") == {}
    assert pairs("Diffusely reduced marrow signal, correlate with bone scan.") == {("malignancy", ""): "possible"}


def test_degenerative_changes_need_a_disc(pairs):
    assert pairs("Feature of degenerative changes.") == {}
    assert ("disc_degeneration", "") in pairs("Degenerative changes noted with desiccated disc materials.")


def test_spans_mirror_findings(nlp):
    doc = nlp("L4-L5: disc bulge indenting the thecal sac.")
    assert [s.label_ for s in doc.spans["spine_findings"]] == ["disc_bulge", "thecal_sac_compression"]
    assert doc.spans["spine_findings"][0]._.spine_finding["levels"] == ["L4-L5"]


# --- findings without their usual noun, and anatomy that is not a finding ------
import pytest  # noqa: E402


@pytest.mark.parametrize("text,finding,level", [
    ("Reduced signal of the L2/3 disc.", "disc_desiccation", "L2-L3"),
    ("Loss of normal water signal in the L4-5 disc.", "disc_desiccation", "L4-L5"),
    ("Interspace narrowing at L4-5.", "disc_height_loss", "L4-L5"),
    ("Structural collapse of L2.", "fracture", "L2"),
    ("Pathological collapse of L4 with epidural extension.", "fracture", "L4"),
    ("Vertebra plana of L2.", "fracture", "L2"),
    ("Partial L3 collapse.", "fracture", "L3"),
    ("Loss of vertebral height at L3.", "fracture", "L3"),
    ("Chance fracture of L1.", "fracture", "L1"),
    ("Insufficiency fracture of the sacrum.", "fracture", "sacrum"),
    ("Marrow infiltration of L4.", "malignancy", "L4"),
    ("Chordoma of the sacrum.", "malignancy", "sacrum"),
    ("Ependymoma of the filum at L2.", "malignancy", "L2"),
    ("Giant cell tumour of L3.", "malignancy", "L3"),
    ("Lymphoma involving L2.", "malignancy", "L2"),
    ("Tuberculous spondylitis at L2-L3.", "infection", "L2-L3"),
    ("Septic facet arthritis at L4-5.", "infection", "L4-L5"),
    ("Phlegmon at L3-4.", "infection", "L3-L4"),
    ("Spondylodiscitis at L3-4.", "infection", "L3-L4"),
    ("Disc-osteophyte complex at L5-S1.", "disc_bulge", "L5-S1"),
    ("Spondylodegenerative changes of the lumbar spine.", "osteophyte", ""),
    ("Lumbar disc disease.", "disc_degeneration", ""),
    ("Fatty degenerative signal in the L4-5 endplates.", "modic_change", "L4-L5"),
    ("Slight leftward-convex curvature of the lumbar spine.", "scoliosis", ""),
    ("Mild to moderate midline narrowing of the thecal sac at L3-4.", "central_canal_stenosis", "L3-L4"),
])
def test_findings_without_their_usual_noun(pairs, text, finding, level):
    assert pairs(text).get((finding, level)) == "present"


@pytest.mark.parametrize("text", [
    "The conus terminates at L1.",
    "The conus medullaris ends at the L1-2 level and is normal.",
    "The cauda equina nerve roots are normal.",
    "The cauda equina nerve roots demonstrate no thickening or enhancement.",
    "The posterior vertebral body surface is bulging into the canal at L1.",
    "Fat-containing direct inguinal hernias on both sides.",
    "A few cauda equina nerve roots herniate through the dural defect.",
    "Facet joint effusions at L4-5.",
    # clumped roots are arachnoiditis, not compression
    "Clumping of the cauda equina nerve roots at L3, suggestive of arachnoiditis.",
])
def test_anatomy_that_is_not_a_finding(pairs, text):
    assert not [k for k, a in pairs(text).items() if a == "present"]


def test_collection_is_infection_only_where_the_report_names_an_abscess(pairs):
    assert ("infection", "L4-L5") not in pairs("A small epidural collection at L4-5.")
    p = pairs("A rim-enhancing epidural collection at L4-5.\n\nConclusion: epidural abscess.")
    assert p[("infection", "L4-L5")] == "present"


def test_displacement_of_the_cord_by_a_mass_is_cord_compression(pairs):
    # mass effect that displaces the cord or conus is treated as compression (red flag)
    assert pairs("There is displacement of the cord by the mass at T12-L1.")[("cauda_equina_compression", "T12-L1")] == "present"


@pytest.mark.parametrize("text,expected", [
    ("Moderate canal and foraminal stenosis at L4-5.",
     {("central_canal_stenosis", "L4-L5"): "present", ("foraminal_stenosis", "L4-L5"): "present"}),
    ("No significant spinal canal or foraminal stenosis at any level.",
     {("central_canal_stenosis", ""): "absent", ("foraminal_stenosis", ""): "absent"}),
    ("There is no evidence of fracture, marrow replacing process, or infection.",
     {("fracture", ""): "absent", ("malignancy", ""): "absent", ("infection", ""): "absent"}),
    ("Mild lateral recess and foraminal narrowing at L5-S1.",
     {("lateral_recess_stenosis", "L5-S1"): "present", ("foraminal_stenosis", "L5-S1"): "present"}),
])
def test_a_noun_after_a_list_covers_every_structure_in_it(pairs, text, expected):
    assert pairs(text) == expected


@pytest.mark.parametrize("text", [
    "İnsufficiency fracture at L2.",          # a capital that lowers to two characters
    "Disc bulge. İ L4-5 protrusion.",
    "Grade 1 anterolisthesis of the sacrum.",  # the sacrum has no vertebra below it
])
def test_odd_characters_and_the_sacrum_never_fail(annotate, text):
    assert annotate(text).findings


@pytest.mark.parametrize("text,pair", [
    # the predicate word class: a form of "to be", remain, appear ... and adverbs
    ("L4/5: The foramina at L4/5 remain mildly narrowed.", ("foraminal_stenosis", "L4-L5")),
    ("L4-5: The right lateral recess is now only mildly narrowed.", ("lateral_recess_stenosis", "L4-L5")),
    ("The lateral recesses at L4-5 are moderately narrowed.", ("lateral_recess_stenosis", "L4-L5")),
    ("At L3-4 the spinal canal appears moderately narrowed.", ("central_canal_stenosis", "L3-L4")),
    # a terse note that leaves the noun out after the list's first stenosis
    ("L3/4 mod canal stenosis, mild L foraminal.", ("foraminal_stenosis", "L3-L4")),
    # the noun after a list covers both
    ("L4-5: mild foraminal and canal narrowing.", ("foraminal_stenosis", "L4-L5")),
])
def test_state_words_after_their_structure(pairs, text, pair):
    assert pairs(text).get(pair) == "present"


def test_foraminal_as_an_adjective_is_not_stenosis(pairs):
    p = pairs("L4-5: mild foraminal disc protrusion. The foraminal zones are clear.")
    assert ("foraminal_stenosis", "L4-L5") not in p or p[("foraminal_stenosis", "L4-L5")] == "absent"
    assert p[("disc_protrusion", "L4-L5")] == "present"


def test_noun_after_a_negated_list_covers_both(pairs):
    p = pairs("L4-5: no foraminal or canal stenosis.")
    assert p == {("foraminal_stenosis", "L4-L5"): "absent", ("central_canal_stenosis", "L4-L5"): "absent"}


def test_focal_lesion_with_a_size_is_the_named_cancer(pairs):
    """A focal bone lesion is malignancy where the report names the cancer; a size
    may stand between the adjective and the noun."""
    p = pairs("Known multiple myeloma.\nFocal 2 cm lesion L3 body. No fracture.")
    assert p.get(("malignancy", "L3")) == "present"
    assert ("malignancy", "L3") not in pairs("Focal 2 cm lesion L3 body. No fracture.")


def test_collapse_of_a_disc_level_is_height_loss_not_fracture(pairs):
    p = pairs("Collapse of the L4-5 disc space.")
    assert p.get(("disc_height_loss", "L4-L5")) == "present"
    assert not [k for k in p if k[0] == "fracture"]


def test_structured_labels_and_their_states(pairs):
    p = pairs("L4-5: Central canal: moderate narrowing. Neural foramina: severe narrowing on the left. "
              "Lateral recesses: narrowed bilaterally.")
    assert p == {("central_canal_stenosis", "L4-L5"): "present", ("foraminal_stenosis", "L4-L5"): "present",
                 ("lateral_recess_stenosis", "L4-L5"): "present"}
    p = pairs("L3-4: Spinal canal: patent. Foramina: patent. Lateral recesses: clear.")
    assert set(p.values()) == {"absent"} and len(p) == 3
    p = pairs("L2-3: Central canal: no stenosis. Neural foramina: no significant stenosis.")
    assert p == {("central_canal_stenosis", "L2-L3"): "absent", ("foraminal_stenosis", "L2-L3"): "absent"}


@pytest.mark.parametrize("text,level", [
    ("Conclusion: severe L4/5 stenosis.", "L4-L5"),
    ("Moderate L3-L4 stenosis.", "L3-L4"),
    ("Severe stenosis at L3-4.", "L3-L4"),
    ("Tandem lumbar stenosis, worst at L4-L5.", "L4-L5"),
])
def test_stenosis_with_no_structure_named_is_the_canals(pairs, text, level):
    assert pairs(text).get(("central_canal_stenosis", level)) == "present"


def test_stenosis_of_a_named_foramen_is_not_the_canals(pairs):
    p = pairs("Moderate stenosis of the left neural foramen at L4-5.")
    assert p == {("foraminal_stenosis", "L4-L5"): "present"}


def test_nerve_root_compromise_is_compression(pairs):
    assert pairs("L4/5: shallow bulge without nerve root compromise.")[("nerve_root_compression", "L4-L5")] == "absent"


def test_a_pseudo_bulge_is_not_a_disc_bulge(pairs):
    p = pairs("Grade 1 anterolisthesis at L4-5 with uncovering of the disc and a pseudo-bulge.")
    assert p.get(("spondylolisthesis", "L4-L5")) == "present" and not [k for k in p if k[0] == "disc_bulge"]


def test_a_collapse_in_a_sentence_about_vertebrae_is_a_fracture(pairs):
    p = pairs("There is destruction of the T12 and L1 vertebral bodies with collapse of their anterior portions.")
    assert p.get(("fracture", "T12")) == p.get(("fracture", "L1")) == "present"
    assert pairs("L2 shows marrow oedema anteriorly without collapse.").get(("fracture", "L2")) == "absent"
    assert not [k for k in pairs("The L5-S1 disc has collapsed.") if k[0] == "fracture"]


def test_involvement_is_the_cancer_the_report_names(pairs):
    p = pairs("Known lymphoma. Marrow involvement of L3. A T1 hypointensity in S1 may represent further disease.")
    assert p.get(("malignancy", "L3")) == "present" and p.get(("malignancy", "S1")) == "possible"
    # without a named cancer, "involvement" is no tumour
    assert not [k for k in pairs("Discitis at L1-2 with probable early involvement of L3.") if k[0] == "malignancy"]


def test_cauda_equina_roots_are_not_a_single_root(pairs):
    p = pairs("Severe compression of the thecal sac at L3-L4 with crowding and compression of the cauda equina nerve roots.")
    assert p.get(("cauda_equina_compression", "L3-L4")) == "present"
    assert ("nerve_root_compression", "L3-L4") not in p


def test_subchondral_cysts_are_not_a_synovial_cyst(pairs):
    p = pairs("L4-L5: The facet joints show moderate arthropathy with subchondral cysts. No synovial cyst.")
    assert p.get(("synovial_cyst", "L4-L5")) == "absent"


def test_a_one_sided_disc_collapse_is_not_a_fracture(pairs):
    p = pairs("L3/L4: Severe disc space narrowing with asymmetric left-sided collapse.")
    assert not [k for k in p if k[0] == "fracture"]
