"""The classifier's rules as pure logic, without the model: polarity cues (negation, hedges, the features the
heads read), tripwires (what fires, what a hedge, quotation or negation does) and procedural suppression."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.classify.rules.polarity import FEATURE_NAMES, cue_counts, cue_features, is_hedged, is_negated
from pipeline.classify.rules.priors import suppression_reason, theme_bonus
from pipeline.classify.rules.tripwires import TripwireHit, load_tripwires, parse_tripwires
from pipeline.errors import TaxonomyError
from pipeline.paths import TAXONOMY_DIR
from pipeline.taxonomy import load_taxonomy

TAXONOMY = load_taxonomy()
TRIPWIRES = load_tripwires(TAXONOMY)
passage_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)


def tripped(text: str) -> list[TripwireHit]:
    """The tripwires on a passage with its cues counted once, as the classifier calls them."""
    return TRIPWIRES.match(text, cue_counts(text))


def suppressed(text: str) -> str | None:
    """The suppression rules on a passage (no context) with its cues counted once, as the classifier calls them."""
    return suppression_reason(text, cue_counts(text))


# -- polarity cues ------------------------------------------------------------------------------------

def test_a_negated_failure_state_is_health_not_failure():
    counts = cue_counts("No significant weaknesses were identified in the Council's arrangements.")
    assert counts.failure == 0 and counts.failure_negated >= 1
    assert counts.healthy_by_negation and counts.not_asserted


def test_a_hedged_failure_state_is_a_possibility_not_a_failure():
    counts = cue_counts("There is a risk that the Council could overspend by £2m if demand keeps rising.")
    assert counts.failure == 0 and counts.failure_hedged >= 1 and counts.possibility_only


def test_an_asserted_failure_state_counts_as_failure():
    counts = cue_counts("The Council overspent its social care budget by £4m and drew on reserves again.")
    assert counts.failure >= 1 and not counts.not_asserted


def test_guidance_about_authorities_in_general_is_quoted_not_asserted():
    counts = cue_counts("Indicators of potential failure include a lack of financial controls in local authorities.")
    assert counts.quoted_guidance and counts.not_asserted


def test_negation_and_hedges_look_only_within_the_clause():
    text = "The audit found no fault, but the backlog of complaints has grown."
    assert is_negated(text, text.index("fault"), text.index("fault") + 5)
    assert not is_negated(text, text.index("backlog"), text.index("backlog") + 7)
    hedged = "If savings slip, there could be an overspend."
    assert is_hedged(hedged, hedged.index("overspend"))


# Each way of mentioning a failure without reporting one, beside a sentence that reports it (the same modes on
# real sentences of the development documents are in test_realtext.py, on the bundled corpus in test_demo_flags.py).
@pytest.mark.parametrize(("mode", "text"), [
    ("negated subject", "No standards complaints were upheld during the year."),
    ("negated subject", "Six code of conduct complaints were received. None was upheld after investigation."),
    ("reported then dismissed", "Five complaints about councillors were received under the Members' Code of "
                                "Conduct. None was upheld after investigation and one was resolved informally."),
    ("reported then dismissed", "Three allegations of fraud were investigated; no evidence of fraud was found."),
    ("reported then dismissed", "Objections were received from twelve residents; all were resolved before the "
                                "hearing."),
    ("made good", "94% of planned savings were delivered, with the shortfall replaced by alternative recurrent "
                  "savings. The Council has not needed to use reserves to balance its budget."),
    ("negated verb", "The annual review has not identified any significant governance issues."),
    ("negated verb", "We did not identify any material misstatement in the draft accounts."),
    ("negated verb", "The Council has not borrowed to invest for yield."),
    ("conditional", "If the remaining £1.2m cannot be recovered, it will be met from the contingency reserve."),
    ("plan", "The Council intends to invite a further corporate peer challenge in 2027."),
    ("plan", "Within three months, the Council has agreed to:"),
    ("listed risk", "The main risks are delay to building disposals and the capacity of community organisations. "
                    "These are recorded on the programme risk register."),
    ("scenario", "The board stress-tested its controls against two scenarios: the failure of a major supplier and "
                 "a cyber attack that took systems offline for a week."),
    ("statement of law", "A council must decide a homelessness application within 56 days (Housing Act 1996, "
                         "section 184). The duty is owed to the applicant."),
    ("statement of law", "Section 114 of the Local Government Finance Act 1988 requires the chief finance officer to "
                         "report if spending is likely to exceed resources. (Comments of the Interim Monitoring "
                         "Officer.)"),
    ("table answered no", "Criterion | Significant weakness identified | Statutory recommendation "
                          "Financial sustainability | No | No Governance | No | No"),
])
def test_a_failure_mentioned_but_not_reported_is_denied(mode, text):
    counts = cue_counts(text)
    assert counts.not_asserted, (mode, counts)
    assert not counts.asserts_failure, (mode, counts)


@pytest.mark.parametrize(("mode", "text"), [
    ("upheld", "The Ombudsman upheld four complaints about the Council's handling of housing repairs."),
    ("issues", "The Annual Governance Statement reports three significant governance issues."),
    ("no plan", "The Council does not yet have a plan to reduce its borrowing."),
    ("reserves", "The overspend of £2.1m was met from the general reserve."),
    ("assertion beside a conditional", "The Council overspent by £3m in 2023/24. If that continues, its reserves "
                                       "would be exhausted by 2026."),
    ("table answered yes", "Criterion | Significant weakness identified Financial sustainability | Yes"),
    ("plan beside a failure", "Savings of £2m were not delivered, and the Council intends to revisit them."),
    ("remedy agreed after fault", "The Council was at fault. It has agreed to apologise and pay Ms X £500."),
    ("allegations upheld", "Four complaints against councillors were received. Two were upheld and none was "
                           "referred to the police."),
    ("a dismissal beside an outcome upheld", "Seven complaints about the Council were investigated. None was upheld "
                                             "in 2022, but three were upheld in 2023."),
    ("allegations received, outcome untold", "Eleven complaints about councillors had been received since January."),
    ("made good only in a promise", "The shortfall will be replaced by alternative savings next year."),
    ("made good from reserves", "The shortfall was covered from the general reserve."),
])
def test_a_reported_failure_is_asserted(mode, text):
    counts = cue_counts(text)
    assert counts.asserts_failure, (mode, counts)
    assert not counts.not_asserted, (mode, counts)


@pytest.mark.parametrize("text", [
    "- Weak challenge of under-performance; infrequent review of objectives",
    "• Scrutiny is weak and rarely challenges decisions. • Members do not receive training on the code of conduct.",
    "• The Section 151 Officer does not report directly to the Chief Executive. • A loss of public confidence.",
])
def test_a_checklist_of_conditions_without_particulars_is_guidance_not_a_finding(text):
    counts = cue_counts(text)
    assert counts.checklist and counts.quoted_guidance and counts.not_asserted, counts


@pytest.mark.parametrize("text", [
    "- The Council overspent its adult social care budget by £4.1m in 2023/24",
    "• Scrutiny did not challenge the decision to close the depot. • Members were not trained.",
    "• We have no medium-term financial plan. • Our reserves are below the minimum level.",
    "Ineffective scrutiny, including a lack of pre-decision scrutiny.",
])
def test_a_finding_with_particulars_or_in_prose_is_no_checklist(text):
    counts = cue_counts(text)
    assert not counts.checklist and counts.asserts_failure and not counts.not_asserted, counts


def test_a_council_as_a_qualifier_is_no_authority_in_general():
    counts = cue_counts("A member used his position to secure a council tenancy for a relative.")
    assert counts.generic_subject == 0 and not counts.quoted_guidance


def test_vacancy_management_is_a_saving_not_a_vacancy():
    assert cue_counts("Savings come from vacancy management and a review of placements.").failure == 0
    assert cue_counts("The post of Monitoring Officer has been vacant since March.").failure == 1


@given(st.lists(passage_text, max_size=5))
def test_cue_features_are_one_finite_non_negative_row_per_text(texts):
    features = cue_features(texts, [cue_counts(text) for text in texts])
    assert features.shape == (len(texts), len(FEATURE_NAMES)) and features.dtype == np.float32
    assert np.isfinite(features).all() and (features >= 0).all()


def test_cue_features_refuse_counts_of_other_passages():
    with pytest.raises(ValueError, match="2 texts but 1 cue counts"):
        cue_features(["The Council overspent.", "Reserves were used."], [cue_counts("The Council overspent.")])


def test_the_rules_read_the_cue_counts_they_are_given_instead_of_counting_again():
    finding = "The Chief Finance Officer issued a section 114 notice on 5 September."
    general = cue_counts("Indicators of potential failure include a lack of financial controls in local authorities.")
    assert tripped(finding) and TRIPWIRES.match(finding, general) == []
    assert suppressed(finding) is None and suppression_reason(finding, general) == "guidance"


@given(passage_text, st.data())
def test_negation_and_hedges_read_any_span_of_any_text(text, data):
    start = data.draw(st.integers(min_value=0, max_value=len(text)))
    end = data.draw(st.integers(min_value=start, max_value=len(text)))
    assert isinstance(is_negated(text, start, end), bool) and isinstance(is_hedged(text, start), bool)


# -- tripwires ----------------------------------------------------------------------------------------

def test_an_issued_section_114_notice_trips_r_f09():
    [hit] = tripped("The Chief Finance Officer issued a section 114 notice on 5 September.")
    assert hit.rule == "s114" and hit.entries[0] == "R-F09" and hit.polarity == "failure" and not hit.negated
    assert hit.reason == "tripwire:s114"


def test_a_negated_failure_tripwire_fires_for_the_healthy_pole():
    hits = tripped("We have not identified any significant weaknesses in the Council's arrangements.")
    assert [(h.reason, h.polarity) for h in hits] == [("tripwire:significant-weakness:negated", "positive")]
    entries = {e.id: e for e in TAXONOMY.entries}
    assert hits[0].entries and not any(entries[e].is_failure for e in hits[0].entries)


@pytest.mark.parametrize("text", [
    "There is a risk that the Section 151 Officer may have to issue a section 114 notice if savings slip.",
    "Section 114 of the Local Government Finance Act 1988 requires the chief finance officer to make a report if "
    "expenditure is likely to exceed resources.",
    "Indicators of potential failure include significant weaknesses identified in annual audit reports, and/or "
    "statutory recommendations.",
    "The Police and Crime Commissioner thanked the Council for its support.",
    "CR07 | Governance: failure to respond to the auditor's statutory recommendations | Monitoring Officer | 3 | 4",
    "Where commissioners have been appointed to a local authority, their powers are reviewed after a year.",
    "The letter sets out the reasons for the proposed intervention package.",
    "- Statutory recommendations issued by the external auditor and not acted on",
])
def test_tripwires_ignore_hedges_quotations_and_lookalikes(text):
    assert tripped(text) == []


@pytest.mark.parametrize("text", [
    "On 18 October 2023 the external auditor issued a report in the public interest under Schedule 7 of the Local "
    "Audit and Accountability Act 2014. The Council must consider it at a meeting within one month.",
    "Commissioners were appointed to the Council in May 2024, as other authorities have seen.",
])
def test_a_tripwire_reported_of_this_authority_still_fires(text):
    hits = tripped(text)
    assert hits and all(h.polarity == "failure" for h in hits)


def test_tripwire_table_is_validated_against_the_taxonomy():
    table = (TAXONOMY_DIR / "bv-2023-draft.tripwires.yaml").read_text()
    tripwires = parse_tripwires(table, TAXONOMY)
    ids = {e.id for e in TAXONOMY.entries}
    assert tripwires.rules and all(set(r.entries) | set(r.negated_entries) <= ids for r in tripwires.rules)
    with pytest.raises(TaxonomyError, match="unknown entry 'R-F99'"):
        parse_tripwires(table.replace("entries: [R-F09]", "entries: [R-F99]"), TAXONOMY)
    with pytest.raises(TaxonomyError, match="polarity"):
        parse_tripwires(table.replace("entries: [R-F09]", "entries: [R001]"), TAXONOMY)


@given(passage_text)
def test_every_tripwire_hit_names_entries_of_its_pole(text):
    entries = {e.id: e for e in TAXONOMY.entries}
    for hit in tripped(text):
        assert hit.entries and all(entries[e].is_failure == (hit.polarity == "failure") for e in hit.entries)
        assert hit.negated == (hit.polarity == "positive" and hit.reason.endswith(":negated"))


# -- procedural suppression ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "There are no legal implications arising from this report.",
    "RESOLVED: That the report be noted.",
    "Apologies for absence were received from Councillors Patel and Morgan.",
    "It was noted that there were no decisions to be taken on this report, which was for information only.",
    "This report is for information.",
])
def test_procedural_passages_are_suppressed(text):
    assert suppressed(text) is not None


def test_a_statement_of_fact_is_not_suppressed():
    assert suppressed("The Council overspent its adult social care budget by £4.2m in 2023/24.") is None
    assert suppressed("It was noted that there were no decisions recorded for the property loans.") is None
    assert suppressed("This report is for information. Spending on agency staff rose by 40% in 2024.") is None


@pytest.mark.parametrize("text", [
    "Every local authority should keep its constitution under review and publish it on its website.",
    "Local authorities may ask the department for support where they foresee difficulty in setting a budget.",
    "- Weak challenge of officers' proposals at committee",
    "• Key posts filled by interim staff • Savings plans with no named owners",
])
def test_guidance_about_authorities_in_general_is_no_evidence_about_this_one(text):
    assert suppressed(text) == "guidance"


@pytest.mark.parametrize("text", [
    "Local authorities may ask for support, and the Council asked for £12m of it in February 2024.",
    "Every local authority should review its constitution; our Monitoring Officer last reviewed ours in May.",
    "- The Council overspent its children's services budget by £3.1m in 2023/24",
    "The Council reviews its constitution every year and publishes it on its website.",
])
def test_a_passage_about_this_authority_is_not_guidance(text):
    assert suppressed(text) is None


@pytest.mark.parametrize("text", [
    "You will need to list the groups consulted and say how their views changed the proposal.",
    "Your external auditor may ask for further papers; do not send original records unless asked.",
    "Where the figure has changed by more than 10%, you must explain the change in the box below.",
])
def test_a_forms_instructions_to_its_reader_are_no_evidence(text):
    assert suppressed(text) == "instructions"


@pytest.mark.parametrize("text", [
    "Thank you for your complaint. I have looked into it and I uphold it: your bin was missed three times.",
    "The Council will write to you within ten working days with the outcome of the review.",
    "We told you in March that the library would reopen, and it has not.",
    "Ashby District Council has not replied to your letter of 4 May.",
])
def test_a_reply_in_the_first_person_or_naming_the_council_is_not_instructions(text):
    assert suppressed(text) is None


THEMES = [t.id for t in TAXONOMY.themes]


@pytest.mark.parametrize(("text", "theme"), [
    ("Agendas are published five clear working days before a meeting, as the Constitution requires.", "G"),
    ("The Audit and Governance Committee reviewed the internal audit plan.", "R"),
    ("The council's wholly-owned housing company returned a dividend of £0.4m.", "R"),
    ("Councillor induction sessions were attended by all 48 members in May.", "L"),
])
def test_labelling_rules_lift_the_theme_labelling_md_settles(text, theme):
    [bonus] = theme_bonus([text], THEMES)
    assert bonus[THEMES.index(theme)] > 0
    assert all(value == 0 for t, value in zip(THEMES, bonus, strict=True) if t != theme)


def test_a_passage_no_labelling_rule_settles_gets_no_bonus():
    [bonus] = theme_bonus(["Officers are open with members and welcome challenge at every meeting."], THEMES)
    assert not bonus.any()


def test_log_counts_keep_ten_cues_from_outweighing_one():
    [row] = cue_features(["overspend " * 10], [cue_counts("overspend " * 10)])
    assert row[FEATURE_NAMES.index("failure_states")] == pytest.approx(math.log1p(10), rel=1e-6)
