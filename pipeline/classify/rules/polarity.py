"""Polarity cues: is a passage reporting a failure, the healthy opposite, or a mere possibility?

A failure indicator and its matching characteristic share a topic (reserves, scrutiny, the
Ombudsman) with opposite meaning, and a sentence embedding barely separates "the budget is
balanced without use of reserves" from "reserves were used to balance the budget". These
cues make the difference explicit; the evidence model weighs them against the embedding's
verdict in a small second-stage logistic regression (see ``pipeline.classify.model``):

- failure states (overspend, fault, significant weakness, use of reserves, interim) and
  positive states (balanced, on target, robust), each counted as plain, negated ("no
  significant weaknesses", "without any use of reserves", "the complaint was not upheld") or,
  for failure states, hedged ("there is a risk that ... could overspend");
- allegations (complaints, grievances, objections) reported and then all dismissed ("Five complaints ... were
  received. None was upheld"), and failures made good in their clause by savings or income ("the shortfall
  replaced by alternative recurrent savings"), which count as negated;
- failure constructions that already contain their negation ("savings have not been
  delivered", "no medium-term plan", "lack of", "failed to"), which count as failure and are
  never themselves negated;
- hedging and risk-register language (risk that, likelihood 3, mitigation, owner:), which
  describes a possibility, and the few markers that a risk has materialised (rated red,
  has materialised, no further mitigation);
- quoted guidance: a passage about authorities in general ("an authority", "local authorities",
  "indicators of potential failure", "the Secretary of State may") and about no authority in
  particular ("the Council", "we", "our") describes what failure looks like, not a failure;
- questions and first-person statements (public questions, a member of the public's statement),
  which ask or assert without the authority's own voice;
- regular expressions only: microseconds a passage.

A failure that is not asserted (every failure state negated, only a possibility, or quoted
guidance) is capped as a denied indicator by ``pipeline.classify.model``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# A negator governing a cue: at most a few words before it in the same clause.
_NEGATOR = re.compile(
    r"\b(?:no|not|never|without|nor|neither|none|nothing|cannot|free (?:of|from)|absence of|zero|nil|"
    r"[a-z]+n't)\b(?:\s+(?:any|a|an|the|further|significant|material|major|new|evidence of|sign of|signs of|"
    r"instances? of|need(?:ed)? (?:for|to)|been needed to|requirement (?:for|to)|plans? to|"
    r"identif(?:y|ied)|find|found|report(?:ed)?|made|recourse to|call on|unplanned|planned|"
    r"reliance on|further|for|of|to|be|been|have|has|was|were|is|are|its|our|their|[a-z]+ed|"
    r"at (?:this|the|any) (?:stage|time|point)|at present|yet|so far|to date|under|report|notice|"
    r"[a-z]+(?= any\b))\b)*\s*$",
    re.IGNORECASE,
)
# A negated subject: "No standards complaints were upheld", "none of them was found".
_NEGATED_SUBJECT = re.compile(r"\b(?:no|none|neither|nothing)\b(?:\s+[\w'-]+){0,4}\s+"
                              r"(?:was|were|is|are|has been|have been|had been)\s*$", re.IGNORECASE)
# After a cue: "the complaint was not upheld", "fault was not found".
_POST_NEGATION = re.compile(
    r"^[^.;:,]{0,30}?\b(?:was|were|is|are|has been|have been|had been)\s+(?:not|never)\s+"
    r"(?:upheld|found|identified|substantiated|proven|established|required|needed|necessary)\b",
    re.IGNORECASE,
)
_HEDGE = re.compile(
    r"\b(?:risks? (?:that|of|are|include[sd]?)|could|may|might|would|should|potential(?:ly)?|possib(?:le|ly|ility)|"
    r"in the event|if|unless|likelihood|avoid|prevent|whether|in case)\b",
    re.IGNORECASE,
)
# A statement of law says what must happen if something occurs, not that it has: "Section 114 of the Local
# Government Finance Act 1988 requires the chief finance officer to make a report if ...".
_STATEMENT_OF_LAW = re.compile(r"\b(?:section|s\.)\s?\d+\w*(?:\(\d+\))? of the [\w ]{3,60}? act(?: \d{4})? "
                               r"(?:requires|provides|states|says|allows|empowers|places|sets out)\b", re.IGNORECASE)
# A conditional sentence is a possibility throughout: "If the remaining £4.2m cannot be recovered, it will be met
# from reserves" (the comma ends the hedge's clause, not its reach).
_CONDITIONAL_SENTENCE = re.compile(r"^\s*(?:[\d.]+\s+)?(?:if|unless|should|were|in the event|where)\b", re.IGNORECASE)
# What a scenario imagines is not reported: "stress-tested against two scenarios: the failure of a major supplier".
_SCENARIO_WORDS = r"scenarios?|stress[- ]test\w*"
_SCENARIO = re.compile(rf"\b(?:{_SCENARIO_WORDS})\b", re.IGNORECASE)
# A plan or a scenario is not a state: "intends to invite a further peer challenge", "stress-tested against three
# scenarios".
PLAN = re.compile(r"\b(?:intends? to|intention to|(?<!\ba )(?<!\bno )(?<!\bany )plans? to|(?:has|have) agreed to|"
                  rf"will (?:consider|explore|review)|aims? to|propos(?:es|ed) to|{_SCENARIO_WORDS})\b",
                  re.IGNORECASE)
# A statement of law: an enactment cited and a duty stated ("A council must issue a final plan within 20 weeks
# (... Regulations 2014)", "Section 114 of the ... Act 1988 requires ..."). What it says may happen is not a report
# that it has.
_ENACTMENT = re.compile(r"\b(?:act|regulations|order|rules)(?: \((?:england|wales)\))?,? (?:19|20)\d\d\b|"
                        r"\bsection \d+\w*(?:\(\d+\))? of (?:the|that)\b|\bschedule \d+ to\b", re.IGNORECASE)
_DUTY = re.compile(r"\b(?:must|shall|requires?|required to|(?:has|have|owes?) a duty|duty to|the duty|"
                   r"is not (?:suitable|permitted|lawful)|may not|is entitled)\b", re.IGNORECASE)


def _states_law(text: str) -> bool:
    """An enactment cited and a duty stated in ``text``."""
    return bool(_ENACTMENT.search(text) and _DUTY.search(text))


_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")
_CLAUSE_BREAK = re.compile(r"[.;:!?,()]|\b(?:but|however|although|whereas|while|which|and)\b", re.IGNORECASE)
_WINDOW = 80  # characters before a cue searched for its negator or hedge
# A flattened table whose answer cells say no ("Significant weakness identified | No"): its failure words are column
# labels answered in the negative.
_NO_ANSWER = re.compile(r"^(?:no|none|nil|n/a|not applicable|0)$", re.IGNORECASE)
_YES_ANSWER = re.compile(r"^(?:yes|y)$", re.IGNORECASE)
# Allegations: a complaint or objection received reports that someone alleged a failure; its outcome decides.
_ALLEGATION = re.compile(r"^(?:complaints?|grievances?|objections?)\b", re.IGNORECASE)
_ALLEGED = re.compile(r"\b(?:allegations?|alleged|suspected|suspicions?)(?: of)?\s*$", re.IGNORECASE)
# An outcome that dismisses them all: "None was upheld", "no fault was found", "all were resolved".
_DISMISSED = re.compile(
    r"\b(?:none|neither|no(?:ne)? of (?:them|these|those|which|the \w+))\b(?:\s+[\w'-]+){0,3}\s+"
    r"(?:was|were|has been|have been|had been)\s+(?:upheld|substantiated|proven|found|established)\b|"
    r"\b(?:all|both|each)\b(?: of (?:them|these|those|which))?(?:\s+[\w'-]+){0,2}\s+"
    r"(?:was|were|has been|have been|had been)\s+(?:resolved|closed|withdrawn|dismissed|rejected|not upheld|"
    r"unsubstantiated)\b|"
    r"\bno (?:fault|breach|wrongdoing|evidence of [\w-]+)(?:\s+[\w'-]+){0,3}\s+(?:was|were|has been|have been)\s+"
    r"(?:found|identified|established)\b", re.IGNORECASE)
# The outcomes whose assertion confirms an allegation: "six were upheld", "fault causing injustice".
_OUTCOME = re.compile(r"^(?:upheld|fault|maladministration|injustice|breach\w*)$", re.IGNORECASE)
# A failure made good in the same clause: "the shortfall replaced by alternative recurrent savings" (not by reserves,
# not a promise that it will be).
_MADE_GOOD = re.compile(
    r"^(?:(?!\bwill\b|\bwould\b|\bto be\b)[^.;:]){0,25}?\b(?:replaced|offset|covered|made good|bridged|met) "
    r"(?:in full )?(?:by|through|with|from) (?:\w+ ){0,2}(?:savings|underspends?|income|efficiencies)\b",
    re.IGNORECASE)
_BALANCED_BY_RESERVES = re.compile(r"\breserves?\b.*\b(?:used|needed|required|drawn|applied|necessary) to\s*$",
                                   re.IGNORECASE)


def _compile(words: Sequence[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(words) + r")", re.IGNORECASE)


# States that are failures when asserted, and healthy when negated.
FAILURE_STATES = _compile([
    r"over\s?spen(?:d|ds|t|ding)", r"over budget", r"overruns?", r"deficits?\b", r"shortfalls?",
    r"(?:funding|budget|financial) gaps?", r"gap of £",
    r"(?:use|used|using|uses|draw(?:s|n|ing)?|drew|call(?:ed|ing)? on|contributions?|transfers?) (?:down |on )?"
    r"(?:of |from )?(?:\S+ ){0,4}(?:reserves?|balances?)\b",
    r"reserves? (?:\S+ ){0,3}(?:used|drawn|applied|needed|required) to (?:balance|fund|meet|close|bridge|support)",
    r"(?:funded|met|financed|covered|bridged|balanced) (?:\S+ ){0,4}(?:from|by|using|through) (?:\S+ ){0,3}reserves?\b",
    r"reserves (?:\S+ ){0,3}(?:depleted|exhausted|fallen|fell|below)", r"unbalanced", r"unaffordable",
    r"slippage", r"slipped", r"misstatements?", r"significant (?:\w+ ){0,2}issues?\b", r"refus(?:ed|als?)\b",
    r"(?:borrow|invest)\w* (?:\S+ ){0,3}for yield",
    r"delay(?:s|ed)?\b", r"backlogs?", r"overdue", r"fault\b", r"maladministration",
    r"injustice", r"upheld", r"significant weakness(?:es)?", r"weakness(?:es)?", r"inadequate",
    r"requires? improvement",
    r"poor(?:ly)?\b", r"insufficient", r"ineffective", r"unlawful", r"breach(?:es|ed)?", r"criticis(?:ed|m)",
    r"concerns?\b", r"deteriorat\w*", r"declin(?:ed|ing)", r"worse\b", r"worst\b", r"below (?:target|average|the)",
    r"missed", r"vacan(?:t|cy|cies)(?! (?:management|control|factor|savings?))", r"interims?\b", r"turnover",
    r"resign(?:ed|ations?)", r"suspended", r"bully(?:ing)?",
    r"harassment", r"grievances?", r"qualified (?:audit )?opinion", r"disclaim(?:er|ed)", r"intervention",
    r"commissioners?\b", r"statutory (?:direction|recommendation)s?", r"section 114", r"s\.?114\b", r"waivers?\b",
    r"complaints? (?:about|against)", r"hostil\w+", r"distrust", r"secrecy", r"high[- ]risk", r"red[- ]rated",
    r"rated red", r"\(red\)", r"failures?\b", r"failings?", r"problems?\b", r"issues? (?:with|about|in)",
    r"errors?\b", r"cuts?\b", r"overcharg\w*", r"fraud", r"corruption", r"misconduct", r"objections?",
])
# Constructions that carry their own negation: always failure, never themselves negated.
FAILURE_CONSTRUCTIONS = _compile([
    r"(?:has|have|had|did|does|do|was|were|is|are)(?:n't| not)(?: yet)?(?: been)? (?:met|achieved|delivered|balanced|"
    r"implemented|completed|recorded|minuted|consulted|reviewed|updated|refreshed|followed|published|addressed|"
    r"resolved|compliant|robust|effective|adequate|sufficient|sustainable|able|set|agreed|approved|carried out|"
    r"undertaken|prepared|produced|made|taken|acted|responded|improved|reported|presented|considered|tested|"
    r"monitored|tracked|fit for purpose|in place|clear|aware|involved|provided|given|informed|told|notified|shared)",
    r"not (?:yet )?(?:been )?(?:delivered|achieved|met|implemented|completed|recorded|followed|published|"
    r"fit for purpose|in place)",
    r"no (?:longer|credible|clear|agreed|up[- ]to[- ]date|corporate|medium[- ]term|formal|effective|meaningful|"
    r"evidence that|progress|action plan|plan|strategy|framework|record|records|notes|minutes|training|"
    r"terms of reference|mrp|mechanism|oversight|risk register|people plan|performance framework|improvement)",
    r"lack(?:s|ed|ing)?\b", r"unable to", r"fail(?:ed|s|ing)? to", r"failure to", r"out of date", r"outdated",
    r"too (?:slow|long|late|many|few|little)", r"only \d+ (?:of|out of)", r"still (?:not|no|awaiting|outstanding)",
    r"(?:has|have) yet to", r"(?:does|do|did|has|have)(?:n't| not)(?: yet)? (?:have|had|got) (?:a|an|any)\b",
    r"none of the", r"without (?:debate|consultation|approval|challenge|scrutiny|re-?tender|"
    r"a business case|notice|member|authority|tender|competition|discussion|a decision|proper)",
    r"never (?:been )?(?:reviewed|met|updated|tested|used)",
])
POSITIVE_STATES = _compile([
    r"balanced budget", r"(?:budget|outturn)s? (?:\w+ ){0,3}balanced",
    r"balanc(?:e|ed|es|ing) (?:the|its|our|a) (?:\S+ ){0,2}budget",
    r"on (?:target|track|budget)", r"within budget", r"under\s?spen(?:d|t|ding)", r"achieved", r"delivered",
    r"completed", r"implemented", r"robust", r"effective(?:ly)?\b", r"strong(?:ly)?\b", r"improv(?:ed|ing|ements?)",
    r"good\b", r"outstanding", r"compl(?:y|ies|ied|iant|iance) with", r"substantial assurance", r"reasonable assurance",
    r"unqualified", r"unmodified", r"green\b", r"well[- ](?:managed|established|embedded|attended|placed)",
    r"mitigat(?:ed|ions?)", r"welcomed", r"praised", r"commended", r"exceed(?:ed|s|ing)", r"challeng(?:ed|ing)\b",
    r"called? in\b", r"call-in", r"acted on", r"responded (?:promptly|quickly)", r"published", r"consulted",
    r"engag(?:ed|ement)", r"replenish\w*", r"sustainable", r"independent members?", r"trained", r"training",
    r"reduced from", r"fell from", r"best (?:in|performing)", r"top quartile", r"above (?:target|average)",
    r"regular(?:ly)?\b", r"positive(?:ly)?\b", r"success(?:ful|fully)?\b", r"resilien\w+", r"prudent",
])
RISK_REGISTER = _compile([
    r"likelihood", r"impact \d", r"inherent (?:risk|score)", r"residual (?:risk|score)", r"mitigations?:",
    r"controls?:", r"owner:", r"causes?:", r"consequences?:", r"effects?:", r"target (?:date|score)", r"review date",
    r"(?:current|risk) score", r"\bscore \d", r"risk (?:id|ref)", r"\b(?:cr|sr)\d+\b",
])
MATERIALISED = _compile([
    r"materiali[sz]ed", r"has (?:now )?occurred", r"is (?:now )?occurring", r"rated red", r"\(red\)", r"red\)",
    r"score (?:1[5-9]|2[0-5])\b", r"\b(?:1[5-9]|2[0-5]) \(red", r"no (?:further )?mitigation",
    r"has (?:happened|been realised)",
    r"currently\b",
])
PROCEDURAL = _compile([
    r"resolved:? that", r"the report be noted", r"be (?:noted|approved|agreed)\b", r"recommendations?\s*\(?s?\)?:",
    r"members? (?:are|were) asked to", r"the (?:committee|cabinet|board|council) is (?:asked|recommended) to",
    r"agenda item", r"report (?:of|by) the", r"purpose of (?:the |this )?report", r"report title", r"appendix\b",
    r"annex\b", r"this report (?:sets out|provides|presents)",
])

# Authorities in general: the voice of guidance, not of a paper about one authority.
GENERIC_SUBJECT = _compile([
    r"(?:an|any|each|every|a) (?:local )?(?:authority|council)(?:'s)?\b"
    r"(?! (?:tax|house|homes?|housing|tenan\w+|estate|property|land|meeting|officers?|owned|run|services?|staff))",
    r"(?<!comparable )(?<!similar )(?<!other )(?<!neighbouring )(?<!statistical )(?:local )?authorities\b",
    r"indicators? of (?:potential )?failure", r"characteristics of (?:a )?well",
    r"the secretary of state (?:may|will|can)",
    r"statutory guidance", r"this (?:guidance|protocol)\b", r"councils? should",
])
# One authority in particular: a paper's own voice.
SPECIFIC_SUBJECT = _compile([r"(?:the|this|our) (?:city |county |borough |district )?(?:council|authority)\b",
                             r"we\b", r"our\b", r"[A-Z][a-z]+ (?:City|County|Borough|District) Council"])
QUESTION = re.compile(r"\?|\bI\b|\b(?:me|my)\b")
# A checklist: list items ("- Ineffective scrutiny", "• A lack of ...") that state conditions in general, with no
# particulars (no figure or date, no past event, not the paper's own council, "we" or "our"; a section number names
# an office or a duty, not a particular), as guidance lists the signs of failure. A finding names its particulars
# ("The Council's 2023/24 savings were not delivered").
_LIST_ITEM = re.compile(r"^\s*(?:[-•*▪●◦]\s*)+")
_BULLET = re.compile(r"(?:^|\s)[•▪●◦]\s")
_NUMBERING = re.compile(r"^\s*(?:\(?[a-z0-9]{1,3}[.)]\s*)?(?:\d+(?:\.\d+)*\.?\s)?", re.IGNORECASE)
_PARTICULARS = re.compile(r"(?<!\d)(?<!section )\d|\b(?:was|were|had|did)\b|"
                          r"\b(?:the|this|our) (?:city |county |borough |district )?council\b|\b(?:we|our|us)\b|"
                          r"[A-Z][a-z]+ (?:City|County|Borough|District) Council",
                          re.IGNORECASE)


def _checklist(text: str) -> bool:
    """List items (a leading bullet, or two or more bullets) with no particulars after their numbering."""
    lead = _LIST_ITEM.match(text)
    if not lead and len(_BULLET.findall(text)) < 2:
        return False
    body = _NUMBERING.sub("", text[lead.end():] if lead else text, count=1)
    return not _PARTICULARS.search(body)


FEATURE_NAMES: tuple[str, ...] = (
    "failure_states", "failure_states_negated", "failure_states_hedged", "failure_constructions",
    "positive_states", "positive_states_negated", "hedges", "risk_register", "materialised", "procedural",
    "healthy_by_negation", "possibility_only", "digits_share", "quoted_guidance", "question_or_first_person",
)


@dataclass(frozen=True)
class CueCounts:
    failure: int  # failure states asserted
    failure_negated: int  # failure states negated: healthy ("no significant weaknesses")
    failure_hedged: int  # failure states under a hedge: a possibility ("a risk that ... overspend")
    failure_constructions: int  # "not delivered", "no plan", "lack of"
    positive: int
    positive_negated: int  # "not robust", "not balanced"
    hedges: int
    risk_register: int
    materialised: int
    procedural: int
    generic_subject: int = 0  # "an authority", "local authorities", "indicators of potential failure"
    specific_subject: int = 0  # "the Council", "we", "our"
    questions: int = 0  # question marks and first-person singular
    plans: int = 0  # intentions, plans and scenarios: "intends to", "stress-tested against three scenarios"
    statement_of_law: bool = False  # an enactment cited and a duty stated
    checklist: bool = False  # list items stating conditions in general, no particulars

    @property
    def quoted_guidance(self) -> bool:
        """Authorities in general and none in particular, a checklist of conditions, or a statement of law asserting
        no failure: guidance describing failure, not a failure."""
        return self.general or (self.statement_of_law and not self.asserts_failure)

    @property
    def general(self) -> bool:
        """About authorities in general and none in particular, or a checklist of conditions: no event at this one."""
        return (self.generic_subject > 0 and self.specific_subject == 0) or self.checklist

    @property
    def asserts_failure(self) -> bool:
        """A failure state asserted, a failure construction, a materialised risk or a positive state negated."""
        return bool(self.failure or self.failure_constructions or self.materialised or self.positive_negated)

    @property
    def not_asserted(self) -> bool:
        """A denied indicator: every failure negated, only a possibility, or quoted guidance."""
        return self.healthy_by_negation or self.possibility_only or self.quoted_guidance

    @property
    def healthy_by_negation(self) -> bool:
        """Every failure state is negated and nothing else says failure: "balanced without use of reserves"."""
        return (self.failure_negated > 0 and self.failure == 0 and self.failure_constructions == 0
                and self.positive_negated == 0)

    @property
    def possibility_only(self) -> bool:
        """A risk described, not reported: hedged or risk-register language, a plan or a scenario, and no failure
        asserted or materialised."""
        return (self.risk_register > 0 or self.failure_hedged > 0 or self.plans > 0) and not self.asserts_failure


def _clause_before(text: str, start: int) -> str:
    before = text[max(0, start - _WINDOW):start]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    return before[breaks[-1].end():] if breaks else before


def is_negated(text: str, start: int, end: int) -> bool:
    """True when a negator governs ``text[start:end]`` (a few words before, same clause) or "was not upheld" follows."""
    clause = _clause_before(text, start)
    if _NEGATOR.search(clause) or _NEGATED_SUBJECT.search(clause):
        return True
    return bool(_POST_NEGATION.match(text[end:end + 60]))


def is_hedged(text: str, start: int) -> bool:
    """True when a hedge (risk that, could, if, likelihood) precedes ``text[start:]`` in its clause, or its
    sentence is conditional ("If ..., it will be met from reserves"), a statement of law or a parenthesised aside
    ("(Comments of ..., Interim Monitoring Officer.)"), or a scenario precedes it in its sentence."""
    if _HEDGE.search(_clause_before(text, start)):
        return True
    ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, start)]
    sentence_start = ends[-1] if ends else 0
    following = _SENTENCE_END.search(text, start)
    sentence = text[sentence_start:following.end() if following else len(text)]
    return bool(_CONDITIONAL_SENTENCE.match(sentence) or _STATEMENT_OF_LAW.search(sentence)
                or _states_law(sentence) or sentence.lstrip().startswith("(")
                or _SCENARIO.search(text, sentence_start, start))


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def cue_counts(text: str) -> CueCounts:
    constructions = _spans(FAILURE_CONSTRUCTIONS, text)

    def inside(start: int, end: int) -> bool:  # "no medium-term plan", "has not closed the gap": counted once
        return any(s <= start < e + 25 for s, e in constructions)

    failure_spans = _spans(FAILURE_STATES, text)
    answered_no = _answered_no(text)
    states: list[tuple[str, str]] = []  # (the state's words, asserted / negated / hedged)
    allegations: list[int] = []  # indexes into states of allegations asserted
    for start, end in failure_spans:
        if inside(start, end):
            continue
        if answered_no or is_negated(text, start, end) or _MADE_GOOD.match(text[end:end + 80]):
            states.append((text[start:end], "negated"))
        elif is_hedged(text, start):
            states.append((text[start:end], "hedged"))
        else:
            if _ALLEGATION.match(text[start:end]) or _ALLEGED.search(_clause_before(text, start)):
                allegations.append(len(states))
            states.append((text[start:end], "asserted"))
    if allegations and _dismissed(text, states):  # "Five complaints ... were received. None was upheld."
        states = [(words, "negated" if i in allegations else status) for i, (words, status) in enumerate(states)]
    failure = sum(status == "asserted" for _, status in states)
    negated = sum(status == "negated" for _, status in states)
    hedged = sum(status == "hedged" for _, status in states)
    positive = positive_negated = 0
    for start, end in _spans(POSITIVE_STATES, text):
        if any(start < fe and end > fs for fs, fe in failure_spans):
            continue  # "reserves were used to balance the budget" is not a balanced budget
        if _BALANCED_BY_RESERVES.search(_clause_before(text, start)):
            failure += 1  # "£3m from reserves is required to balance the budget"
            continue
        if inside(start, end) or is_negated(text, start, end):
            positive_negated += 1
        else:
            positive += 1
    return CueCounts(
        failure=failure, failure_negated=negated, failure_hedged=hedged, failure_constructions=len(constructions),
        positive=positive, positive_negated=positive_negated, hedges=len(_HEDGE.findall(text)),
        risk_register=len(RISK_REGISTER.findall(text)), materialised=len(MATERIALISED.findall(text)),
        procedural=len(PROCEDURAL.findall(text)), generic_subject=len(GENERIC_SUBJECT.findall(text)),
        specific_subject=len(SPECIFIC_SUBJECT.findall(text)), questions=len(QUESTION.findall(text)),
        plans=len(PLAN.findall(text)), statement_of_law=_states_law(text), checklist=_checklist(text),
    )


def _dismissed(text: str, states: Sequence[tuple[str, str]]) -> bool:
    """The passage dismisses every allegation it reports: an outcome denied ("None was upheld") and none
    asserted ("six were upheld")."""
    return bool(_DISMISSED.search(text)) and not any(status == "asserted" and _OUTCOME.match(words)
                                                     for words, status in states)


def _answered_no(text: str) -> bool:
    """A flattened table (cells between "|") with answer cells saying no and none saying yes."""
    if text.count("|") < 3:
        return False
    cells = [c.strip() for c in text.split("|")]
    return any(_NO_ANSWER.match(c) for c in cells) and not any(_YES_ANSWER.match(c) for c in cells)


def cue_features(texts: Sequence[str], counts: Sequence[CueCounts]) -> np.ndarray:
    """One row of ``FEATURE_NAMES`` per text: log counts, so ten cues do not outweigh the embedding.

    ``counts`` are the texts' ``cue_counts``, counted once by the caller (a passage's text is read once for its cues,
    which the suppression rules and tripwires read too).

    Passage length is deliberately not a feature: in the development set short passages are
    mostly procedural, but real papers have long non-evidence paragraphs (traffic modelling,
    planning detail), and a length feature learned that long means evidence.
    """
    if len(counts) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(counts)} cue counts")
    rows = []
    for text, c in zip(texts, counts, strict=True):
        letters = sum(ch.isalnum() for ch in text) or 1
        rows.append([
            math.log1p(c.failure), math.log1p(c.failure_negated), math.log1p(c.failure_hedged),
            math.log1p(c.failure_constructions), math.log1p(c.positive), math.log1p(c.positive_negated),
            math.log1p(c.hedges), math.log1p(c.risk_register), math.log1p(c.materialised), math.log1p(c.procedural),
            float(c.healthy_by_negation), float(c.possibility_only), sum(ch.isdigit() for ch in text) / letters,
            float(c.quoted_guidance), math.log1p(c.questions),
        ])
    return np.asarray(rows, dtype=np.float32).reshape(len(texts), len(FEATURE_NAMES))
