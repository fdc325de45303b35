"""Rule-based feedback on written answers: framework parts, checklist coverage, exact numbers.

No model weights: every verdict can be explained by the rule that produced it. Structure is
judged by what each sentence does (sets a past scene, reports an action the speaker took, states
an effect with a size, reflects, describes a later habit), and every part must carry specifics,
so an answer stitched together from cue phrases does not pass."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from bot import numbers

if TYPE_CHECKING:  # bot.content imports this module to check content banks
    from bot.content import Drill, Framework, FrameworkStep

_STOP = frozenset(
    """about above after again against also among answer because been before being between both
    could does doing down during each either every from further have having here into itself
    just like more most much must only other over same should some such than that their them
    then there these they this those through under until very what when where which while whom
    with would your yours whether without within across really""".split()
)
# Short function words and pronouns: they say nothing about what happened.
_FUNCTION = frozenset(
    """a an the i i'm i've i'd i'll me my mine we we're we've our ours us you it it's its he she
    his her they them their to of in on at by for as and or but so if was were is are be am had
    has did do done got get gets not no yes all any one two own off out up who how why too than
    can will also then just still now""".split()
)
# Words a cue-phrase answer is made of: present in every story, specific to none.
_GENERIC = frozenset(
    """problem problems thing things stuff fix fixed fixes fixing lot lots issue issues job work
    worked task tasks good great well everything something anything situation decided decide
    learned learnt learn result results always really many things way ways better best bad hard
    made make making happen happened last previous company team project role time times able
    sure kind sort pretty quite fine okay ok handle handled solve solved solving deal dealt
    important new old every things start started went go going come came gave give take
    took""".split()
)
TOO_SHORT_WORDS = 60
TOO_LONG_WORDS = 650


@dataclass(frozen=True)
class PartCheck:
    key: str
    name: str
    present: bool
    tip: str
    # The member's own words that showed the part, so "found" can be checked at a glance.
    evidence: str = ""
    # Why a part that was attempted still does not count (cue phrase without specifics).
    note: str = ""
    # How well the part is carried, 0..1: picks the weakest part for the one suggestion.
    strength: float = 0.0


@dataclass(frozen=True)
class ItemCheck:
    item: str
    covered: bool


@dataclass(frozen=True)
class Grade:
    correct: bool
    given: float | None
    expected: float
    # What was read as the final answer ("671/1296") and the precision the prompt asks for
    # ("3 significant figures"), so feedback can say what was judged and against what.
    read: str | None = None
    wanted: str = ""


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


# --- sentences ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sent:
    text: str
    low: str
    index: int
    specifics: int


def _specifics(low: str) -> int:
    """Words that carry information: not glue, not the vocabulary every vague story shares.
    A number counts double because it is what interviewers remember."""
    n = 0
    for w in words(low):
        if any(ch.isdigit() for ch in w):
            n += 2
        elif len(w) >= 3 and w not in _STOP and w not in _FUNCTION and w not in _GENERIC:
            n += 1
    return n


_SPLIT = re.compile(r"(?<=[.!?;:])\s+(?=[\"'(A-Z0-9-])|\n+|(?<=[.!?])\s*$")


def _sentences(text: str) -> list[_Sent]:
    parts = [p.strip(" \t-*\u2022") for p in _SPLIT.split(text) if p and p.strip(" \t-*\u2022")]
    return [_Sent(p, p.lower(), i, _specifics(p.lower())) for i, p in enumerate(parts)]


@lru_cache(maxsize=256)
def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _clip(text: str, limit: int = 90) -> str:
    t = " ".join(text.split())
    return t if len(t) <= limit else t[: limit - 1].rsplit(" ", 1)[0] + "\u2026"


# --- STAR++ ---------------------------------------------------------------------------------------

_PAST_SETTING = (
    r"\b(?:\d+|a|one|two|three|four|five|six|a few|several|a couple of)\s+(?:years?|months?|weeks?)"
    r"\s+ago\b|\bin (?:19|20)\d\d\b|\blast (?:year|spring|summer|autumn|fall|winter|quarter|month)"
    r"\b|\bat a time when\b|\bmy (?:previous|former|old|last|first) (?:manager|boss|lead|"
    r"employer|company|team|job)\b|\b(?:when|while) i (?:was|worked|joined|led|ran|moved|"
    r"started)\b|\bat my (?:last|previous|"
    r"old|first|former|current)\b|\bin my (?:last|previous|old|first|former|second) (?:job|role|"
    r"team|company|position|year)\b|\bback (?:then|in|when)\b|\bearly in my\b|\bduring my\b|"
    r"\bat the time\b|\bi (?:was|had been) (?:one of|a |an |the |part of|working|leading|on |in "
    r"charge|the only)|\bi joined\b|\bi worked (?:at|on|as|for|in)\b|\bwe were\b|\bthere was\b|"
    r"\b(?:our|the|my) (?:team|product|company|startup|service|platform|app|client|customer|"
    r"project|launch|migration|release|system|manager|lead|org|group|lab)\b[^.]{0,60}\b(?:was|"
    r"were|had|needed|ran|used)\b"
)
_SCENE = (
    r"\b(?:we|it|they|there|he|she|the \w+|our \w+|my \w+|\w+s)\b[^.]{0,50}\b(?:was|were|had|"
    r"took|kept|ran|used)\b"
)
_TASK = (
    r"\bmy (?:task|job|role|goal|responsibility|brief|mission|assignment|remit|part|piece)\b|"
    r"\bi (?:was|had been|got) (?:asked|tasked|responsible|supposed|expected|assigned|brought in|"
    r"hired|put in charge|in charge|the one|on the hook|accountable)\b|\bi (?:had|needed|wanted|"
    r"was trying|set out|volunteered|offered|agreed|promised|committed|was meant) to\b|"
    r"\bi owned\b|\bi took (?:on|over|ownership)\b|\b(?:it|this|that) (?:fell|was|landed) "
    r"(?:to|on) me\b|\b(?:the|our|my) (?:goal|aim|target|objective|deadline|mandate|brief|ask)"
    r" (?:was|became|were)\b|\bwe (?:had|needed|were asked) to\b|\basked me to\b|\bput me in "
    r"charge\b|\bgave me\b|\bmy part was\b|\bhad to\b|\bneeded to\b|\bwas on me\b|\bso that we "
    r"could\b|\bhad (?:two|three|four|\d+) (?:days|weeks|months)\b"
)
# Past-tense verbs that report a state of mind or a state, not something the speaker did.
_NOT_ACTIONS = frozenset(
    """was were had felt thought knew learned learnt realised realized wanted needed liked loved
    hated hoped believed understood noticed seemed remembered wondered worried expected enjoyed
    became assumed guessed feared suspected missed failed lacked owned used lived stayed
    happened""".split()
)
_IRREGULAR_ACTIONS = frozenset(
    """wrote built ran set sat met spoke began drew sent led brought took made put found chose
    gave told taught rewrote rebuilt split cut paid sought fought held kept left read dug shut
    stood won bought hired fired rang flew drove went did""".split()
)
_PLACE_VERBS = frozenset({"joined", "worked", "started", "moved", "went"})
_PLACE_NEXT = frozenset({"the", "a", "an", "my", "our", "as", "at", "for", "in", "on", "there"})
_ADVERBS = frozenset(
    """then first also finally quickly immediately just personally eventually next instead still
    even actually simply therefore so later soon again myself carefully""".split()
)
_RESULT_MARK = (
    r"\bas a result\b|\bin the end\b|\bby the end\b|\bthe (?:outcome|result|upshot|effect)\b|"
    r"\bwhich meant\b|\bthat meant\b|\bended up\b|\bturned out\b|\bled to\b|\bafterwards\b|"
    r"\bno longer\b|\bnever again\b|\bwithin (?:a|one|two|three|four|six|\d+) (?:days?|weeks?|"
    r"months?)\b|\bon time\b|\bahead of\b|\b(?:shipped|launched|released|delivered|dropped|fell|"
    r"rose|grew|cut|reduced|saved|increased|decreased|improved|halved|doubled|tripled|won|lost|"
    r"closed|beat|missed|finished|completed|stopped|avoided|prevented|recovered|retained|"
    r"adopted|approved|promoted|signed|resolved|shrank|sped|passed|landed|renewed|went "
    r"(?:from|live|down|up)|came (?:in|down)|got (?:promoted|approved|the)|made it)\b"
)
_QUANT = (
    r"\d|%|\bpercent\b|\bby (?:a|one) (?:fifth|third|quarter|half|tenth|factor)\b|\bhalf\b|"
    r"\btwice\b|\b(?:doubled|halved|tripled)\b|\bfrom [^.]{1,30} to\b|\b(?:faster|slower|fewer|"
    r"lower|higher|cheaper|smaller|larger|bigger|less|more|quicker|shorter|longer) than\b|"
    r"\b(?:zero|none|nobody|no one|every|all (?:of )?(?:the|our))\b|\b(?:one|two|three|four|"
    r"five|six|seven|eight|nine|ten|twelve|twenty|thirty|fifty|hundred)\b"
)
_LEARNING = (
    r"\bi (?:learned|learnt|realised|realized|understood|discovered|came to see|came away|took "
    r"away|now know|know now|saw that|see now|got better at)\b|\btaught me\b|\blessons?\b|"
    r"\b(?:stuck|stayed) with me\b|\bin hindsight\b|\blooking back\b|\bwith hindsight\b|"
    r"\btakeaways?\b|\b(?:showed|reminded|convinced) me\b|\bmade me (?:see|realise|realize|"
    r"understand)\b|\bi should have\b|\bi would (?:do|have done)\b[^.]*\bdifferently\b|"
    r"\bwhat i took\b|\bthe (?:main|big|real|biggest) (?:thing|point|insight)\b|\bmy mistake "
    r"was\b|\bi was wrong\b|\bi underestimated\b|\bi had assumed\b|\bthe insight\b|"
    r"\bi(?:'d| would) (?:now|never|not)\b|\bdifferently\b|"
    r"\bwhat i (?:learned|learnt|understood|realised|"
    r"realized)\b|\bthe way i see it now\b|\bit (?:turns|turned) out that\b"
)
_EVOLUTION = (
    r"\bsince then\b|\bever since\b|\bfrom then on\b|\bthese days\b|\bnowadays\b|\btoday i\b|"
    r"\bi now\b|\bnow i\b|\b(?:on|in) my (?:current|new|next|present)\b|\b(?:on|in) (?:every|"
    r"each) (?:project|team|role|launch|review)\b|\bi(?:'ve| have) (?:started|made it|begun|"
    r"kept|stopped|taken|adopted|changed|since|used|done|run|built|made|introduced|set up)\b|"
    r"\bthe next time\b|\bnext time\b|\bon the next\b|\b(?:a|one) (?:year|few months|month|"
    r"quarter) later\b|\bi make (?:a point|sure|it a habit)\b|\bgoing forward\b|\bfrom that "
    r"(?:point|day)\b|\bsince that\b|\bhabit\b|\bi (?:always|never|still|routinely|usually) "
    r"(?!was|were|had)\w+|\b(?:later|afterwards),? (?:when|on|i)\b[^.]*\bi\b|\bwhen [^.]{3,60} "
    r"again\b|\bwhenever i\b|\bnow, \b"
)


def _is_action_verb(w: str) -> bool:
    if w in _NOT_ACTIONS:
        return False
    if w in _IRREGULAR_ACTIONS:
        return True
    return len(w) > 4 and w.endswith("ed") and not w.endswith("eed")


def _actions(s: _Sent) -> list[str]:
    """First-person past-tense actions in a sentence: "I wrote", "I then called", and the verbs
    chained after them ("..., ran a spike and rolled it out")."""
    toks = re.findall(r"[a-z0-9']+|,", s.low)
    found: list[str] = []
    in_clause = False
    for i, w in enumerate(toks):
        if w == "i":
            j = i + 1
            while j < len(toks) and (toks[j] in _ADVERBS or toks[j].endswith("ly")) and j - i < 3:
                j += 1
            in_clause = j < len(toks) and _is_action_verb(toks[j])
            # "When I joined the company", "I worked at a bank": where, not what was done.
            after = toks[j + 1] if j + 1 < len(toks) else ""
            if in_clause and toks[j] in _PLACE_VERBS and after in _PLACE_NEXT:
                in_clause = False
            if in_clause:
                found.append(toks[j])
            continue
        if w in ("we", "they", "he", "she", "was", "were"):
            in_clause = False
        elif in_clause and w in ("and", "then", ",") and i + 1 < len(toks):
            nxt = toks[i + 1]
            if _is_action_verb(nxt):
                found.append(nxt)
    return found


def _after_cue(s: _Sent, pattern: str) -> int:
    """Specific words after the cue: "I learned a lot" says nothing, "I learned that X" might."""
    m = _rx(pattern).search(s.low)
    return _specifics(s.low[m.end() :]) if m else 0


@dataclass(frozen=True)
class _Found:
    strength: float
    evidence: str = ""
    note: str = ""


_THIN = "named, but with nothing specific in it"


def _best(cands: Sequence[tuple[float, _Sent]], need: float = 1.0) -> _Found:
    if not cands:
        return _Found(0.0)
    score, s = max(cands, key=lambda c: c[0])
    if score >= need:
        return _Found(min(score / (2 * need), 1.0), _clip(s.text))
    return _Found(score / (2 * need), _clip(s.text), _THIN)


def _star(sents: list[_Sent]) -> dict[str, _Found]:
    n = len(sents)
    acts = [(s, _actions(s)) for s in sents]
    first_action = next((s.index for s, a in acts if a), n)
    out: dict[str, _Found] = {}

    sit: list[tuple[float, _Sent]] = []
    for s in sents[: max(3, n // 2)]:
        setting = bool(_rx(_PAST_SETTING).search(s.low))
        # An opening sentence about someone or something else in the past sets the scene;
        # "I was asked to ..." is the task, not the scene.
        early_past = (
            s.index <= 1 and not _rx(_TASK).search(s.low) and bool(_rx(_SCENE).search(s.low))
        )
        if setting or early_past:
            sit.append(((1.0 if setting else 0.7) * min(s.specifics / 3, 2.0), s))
    out["situation"] = _best(sit)

    task = [(min(s.specifics / 2, 2.0), s) for s in sents if _rx(_TASK).search(s.low)]
    out["task"] = _best(task)

    n_act = sum(len(a) for _, a in acts)
    act_spec = sum(s.specifics for s, a in acts if a)
    act_sents = [s for s, a in acts if a]
    if act_sents:
        score = min(n_act / 2, 1.5) * min(act_spec / 4, 1.5)
        top = max(act_sents, key=lambda s: s.specifics)
        out["action"] = _Found(min(score / 2, 1.0), _clip(top.text), "" if score >= 1.0 else _THIN)
    else:
        out["action"] = _Found(0.0)

    res: list[tuple[float, _Sent]] = []
    for s in sents:
        # The opening sets the scene ("the site went down"); an outcome comes after something
        # was done about it.
        too_early = s.index < min(first_action, n - 1) or (s.index == 0 and n > 1)
        if too_early or not _rx(_RESULT_MARK).search(s.low):
            continue
        quant = bool(_rx(_QUANT).search(s.low))
        res.append(((1.0 if quant else 0.5) * min(s.specifics / 2, 2.0), s))
    out["result"] = _best(res)

    # A reflection comes after the story; "I realised the cache was stale" before the first
    # action is part of the situation.
    learn = [
        (min(_after_cue(s, _LEARNING) / 2, 2.0), s)
        for s in sents
        if (first_action == n or s.index >= first_action) and _rx(_LEARNING).search(s.low)
    ]
    out["learning"] = _best(learn)

    evo = [
        (min(_after_cue(s, _EVOLUTION) / 2, 2.0), s)
        for s in sents
        if s.index >= n // 3 and _rx(_EVOLUTION).search(s.low)
    ]
    out["evolution"] = _best(evo)
    return out


# --- the other tracks' frameworks -----------------------------------------------------------------

# Per framework and step: what a sentence doing that step says. Each pattern is one kind of
# evidence; a step needs a sentence with evidence and enough specifics to be more than a label.
_Rules = dict[str, tuple[str, ...]]

_SYSTEM_DESIGN: _Rules = {
    "clarify": (
        r"\bassum\w*|\blet'?s say\b|\bclarif\w*|\brequirements?\b|\buse[- ]cases?\b|\bscope\b|"
        r"\bhow many\b|\bdaily active\b|\bdau\b|\bqps\b|\brps\b|\brequests? (?:per|a|each) "
        r"(?:second|minute|day)\b|\bper (?:second|day)\b|\bread[- ]heavy\b|\bwrite[- ]heavy\b|"
        r"\bread[-/ ]to[-/ ]write\b|\bratio\b|\bsla\b|\bp9\d\b|\bfunctional\b|\bestimat\w*|"
        r"\bback[- ]of[- ]the[- ]envelope\b|\bi'?d (?:ask|confirm|check) (?:whether|if|what|how)",
        r"\?|\d|\bout of scope\b|\bonly\b|\bmillions?\b|\bthousands?\b|\bbillions?\b|"
        r"\bask\w*|\bconfirm\w*|\bwhether\b",
    ),
    "sketch": (
        r"\bhigh[- ]level\b|\bdiagram\b|\bcomponents?\b|\bendpoints?\b|\b(?:post|get|put|delete) "
        r"/|\bapi\b|\bdata model\b|\bschema\b|\btables?\b|\bservices?\b|\bload balancer\b|"
        r"\bgateway\b|\bclients?\b|\bdatabase\b|\b(?:db|postgres|mysql|cassandra|dynamo\w*|redis|"
        r"s3|blob store|object store)\b|\bworkers?\b|\bservers?\b",
        r"\b(?:sends?|calls?|writes?|reads?|goes to|stores?|forwards?|returns?|hits?|publish\w*|"
        r"consum\w*|pass\w* (?:it|the)|talks? to|looks? up|fetch\w*|routes?)\b|->|\u2192",
    ),
    "refine": (
        r"\bcach\w*|\bshard\w*|\bpartition\w*|\breplica\w*|\breplicat\w*|\bindex\w*|\bconsistent "
        r"hashing\b|\bqueues?\b|\bkafka\b|\basync\w*|\bbatch\w*|\bprecomput\w*|\bfan[- ]?out\b|"
        r"\bdenormali\w*|\brate[- ]limit\w*|\bbloom filter\b|\bcdn\b|\bleader\b|\bquorum\b|"
        r"\bttl\b|\bevict\w*|\blru\b|\bhot (?:key|partition|spot)s?\b|\bbackpressure\b|"
        r"\bidempot\w*|\bretr(?:y|ies)\b|\bdedup\w*|\bcompaction\b|\bwrite[- ]ahead\b|"
        r"\beventual(?:ly)? consisten\w*",
        r"\bbecause\b|\bsince\b|\bso that\b|\bto (?:handle|keep|absorb|avoid|spread|cut|reduce)\b|"
        r"\d",
    ),
    "review": (
        r"\bbottlenecks?\b|\btrade[- ]?offs?\b|\bsingle point of failure\b|\bspof\b|\bfail\w*|"
        r"\bgoes down\b|\boutages?\b|\bmonitor\w*|\balert\w*|\bdashboards?\b|\bobservab\w*|"
        r"\bat 10x\b|\bten times\b|\b10x\b|\bwhat breaks\b|\bwould break\b|\bweak(?:est)? "
        r"(?:point|spot|link)\b|\brisks?\b|\bdownsides?\b|\brevisit\b|\bif i had more time\b|"
        r"\bto summari[sz]e\b|\bin summary\b|\bagainst the requirements\b|\bmeets? (?:the|our) "
        r"(?:requirements?|latency|target)|\blimitations?\b|\bdegrad\w*|\bfallback\b|"
        r"\brecover\w*|\bsacrific\w*|\bwe accept\b|\bthe cost (?:of|is)\b|\bchecking back\b|"
        r"\bstep back\b|\blooking back at\b",
    ),
}
_CODING: _Rules = {
    "clarify": (
        r"\bcan i assume\b|\bassum\w*|\bclarif\w*|\bconstraints?\b|\binput (?:size|range|is|"
        r"can|could|length)\b|\bedge cases?\b|\bempty\b|\bnull\b|\bnone\b|\bnegative\b|"
        r"\bduplicates?\b|\bsorted\b|\bunicode\b|\boverflow\b|\bexpected output\b|"
        r"\brestat\w*|\bjust to confirm\b|\bbounds?\b|\bwhat should (?:it|the function|we) "
        r"return\b|\bfor example\b|\bexample\b",
        r"\?|\bask\w*|\bconfirm\w*|\bcheck (?:whether|if)\b|\bassum\w*|\bclarif\w*|"
        r"\brestat\w*",
    ),
    "plan": (
        r"\bbrute[- ]force\b|\bnaive\w*|\bapproach\b|\bplan\b|\bthe idea\b|\bidea is\b|"
        r"\bhash ?(?:map|set|table)\b|\bdictionar\w*|\btwo pointers\b|\bsliding window\b|"
        r"\bbinary search\b|\bheap\b|\bpriority queue\b|\bstack\b|\bdynamic programming\b|"
        r"\bdp\b|\bmemoi[sz]\w*|\bbfs\b|\bdfs\b|\bgreedy\b|\bpseudo[- ]?code\b|\btodos?\b|"
        r"\bskeleton\b|\bsort (?:first|the|it)\b|\bprefix sums?\b|\btrie\b|\bunion[- ]find\b|"
        r"\bgraph\b|\brecursi\w*",
    ),
    "implement": (
        r"\bdef \w+|\bfunction\b|\breturns?\b|\bloop\w*|\biterat\w*|\bfor each\b|\bfor (?:i|x|"
        r"each|every) \b|\bwhile\b|\bvariables?\b|\bhelpers?\b|\binitiali[sz]\w*|\bappend\w*|"
        r"\bpush\w*|\bpop\w*|\bincrement\w*|\bi(?:'d| would| will|'ll)? (?:then )?(?:write|"
        r"code|implement|fill in|add|declare)\b|\bclass \w+|\bnarrat\w*|\bcode\b|\w\(\w*\)|"
        r"\bset \w+ to\b|\bkeep (?:a|track)\b|\bcounter\b|\bpointer\b",
    ),
    "review": (
        r"\btest\w*|\btrac\w*|\bdry[- ]?run\b|\bwalk (?:it |through)|\bverif\w*|\bcheck (?:it|"
        r"the code|my|on|against)\b|\btime complexity\b|\bspace complexity\b|\bo\([^)]{1,12}\)|"
        r"\bruns in\b|\bbugs?\b|\boff[- ]by[- ]one\b|\bwith more time\b|\bcould (?:optimi[sz]e|"
        r"improve)\b|\bimprovement\b|\blinear time\b|\bconstant (?:space|memory)\b",
    ),
}
_RESEARCH: _Rules = {
    "context": (
        r"\bproblem\b|\bquestion\b|\bchallenge\b|\bgap\b|\bprior work\b|\bexisting (?:methods?|"
        r"approaches|work|models?|systems?)\b|\bstate of the art\b|\bthe field\b|\bliterature\b|"
        r"\bnobody\b|\bno one\b|\bopen question\b|\blimitations?\b|\bmotivat\w*|\bmatters?\b|"
        r"\bimportant\b|\bat the time\b|\bbottleneck\b|\bcould ?n[o']t\b|\bfailed to\b|"
        r"\bstruggled?\b|\bassumed\b|\bwhen i started\b|\bmost (?:methods|work|people)\b",
    ),
    "contribution": (
        r"\bi (?:proposed|developed|designed|built|introduced|showed|proved|derived|found|"
        r"discovered|led|wrote|ran|came up with|noticed|realised|realized|formulated|trained|"
        r"collected|created|invented|implemented)\b|\bmy (?:contribution|idea|part|insight|role|"
        r"method|work)\b|\bkey (?:insight|idea)\b|\bour (?:method|approach|model|contribution|"
        r"insight)\b|\bwe (?:proposed|developed|introduced|showed|found|designed|built)\b|"
        r"\bthe (?:idea|insight|trick|key) was\b|\bnovel\b|\bfirst to\b",
    ),
    "impact": (
        r"\bimpact\b|\badopted\b|\bcited\b|\bcitations?\b|\bused (?:by|in|at)\b|\bbenchmarks?\b|"
        r"\bstate[- ]of[- ]the[- ]art\b|\bsota\b|\bin production\b|\bdeployed\b|\baccepted "
        r"(?:at|to)\b|\bpublished\b|\bbest paper\b|\bopen[- ]sourc\w*|\bstars\b|\bdownloads\b|"
        r"\bfollow[- ]up\b|\bother (?:groups|labs|teams|researchers)\b|\boutperform\w*|"
        r"\bbeat\b|\bstandard\b|\bshipped\b|\bimproved\b|\breduced\b|\b\d+(?:\.\d+)?\s*(?:%|"
        r"points|x)\b|\bbuilt on\b|\bbuild on\b",
    ),
    "next-steps": (
        r"\bnext steps?\b|\bfuture work\b|\bnext\b|\bi want to\b|\bi(?:'d| would) (?:like|love)"
        r" to\b|\bgoing forward\b|\bplan to\b|\bopen problem\b|\bremains? open\b|\bleaves? open"
        r"\b|\bextend\w*|\bagenda\b|\blong[- ]term\b|\broadmap\b|\bin the (?:next|coming)\b|"
        r"\b(?:here|at your|on your|in your|this) (?:team|lab|role|group|company)\b|\bnot yet\b|"
        r"\bstill (?:open|missing|unsolved)\b",
    ),
}
_NEGOTIATION: _Rules = {
    "acknowledge": (
        r"\bthank\w*|\bappreciat\w*|\bexcit\w*|\bglad\b|\bgreat to\b|\blove\b|\benjoy\w*|"
        r"\bgrateful\b|\bpleased\b|\bthrilled\b|\bdelighted\b|\bmeans a lot\b|\bimpressed\b|"
        r"\breally (?:like|liked|want)\b|\bhappy to (?:hear|receive|have|get)\b|\bkeen\b",
    ),
    "give-reasons": (
        r"\bbecause\b|\bsince\b|\bas (?:i|we|my|our|it|the)\b|\bgiven\b|\bso that\b|\bthe reason"
        r"\b|, so (?:i|we)(?: would|'d)? (?:need|ask)\b|\bdue to\b|\bin order to\b|"
        r"\bto make sure\b|"
        r"\bmy (?:partner|family|wife|husband|kids|"
        r"visa|lease|notice)\b|\brelocat\w*|\bnotice period\b|\bso i can\b|\bwhich (?:means|would"
        r" let|would help|is why)\b|\bthat way\b|\bit means\b|\bit (?:would|will) (?:let|help|"
        r"allow|give)\b|\bmeans (?:we|i)\b|\bbased on\b|\bfor (?:that|this) reason\b",
    ),
    "keep-door-open": (
        r"\b(?:some|a (?:few|couple of)|more) (?:time|days)\b|\bthink (?:it )?(?:over|through)\b|"
        r"\breview\w*|\bin writing\b|\bdiscuss (?:it |this |the offer )?with\b|"
        r"\btalk (?:it )?(?:through|over)\b|\bget back "
        r"to you\b|\bconfident\b|\bwork (?:something|this|it) out\b|\bfind (?:a way|something|a "
        r"package|a solution)\b|\bnot (?:ready|able) to (?:decide|commit)\b|\bbefore i (?:decide|"
        r"commit)\b|\bstill (?:very )?(?:interested|excited|keen)\b|\blook(?:ing)? forward\b|"
        r"\bkeep (?:talking|in touch|you posted|you in the loop)\b|\bhappy to (?:have|jump|talk|"
        r"call|chat|look|discuss|revisit)\b|\bopen to\b|\bpromise\b|\bworks for (?:both|everyone|"
        r"us)\b|\bmake (?:this|it) work\b|\bremain\w* (?:interested|excited)\b|\bdoor\b|"
        r"\bcome back to\b|\bonce (?:i|we|there)\b|\bafter (?:the|i|we)\b|\bwhen the time\b",
    ),
    "ask": (
        r"\bcould you\b|\bwould you\b|\bcan you\b|\bis there (?:any )?(?:flexibility|room|way|"
        r"chance)\b|\bwould it be possible\b|\bi(?:'d| would) (?:like to )?(?:ask|propose|"
        r"suggest|request)\b|\bi need you to\b|\bplease\b|\bmay i\b|\bcould we\b|\bcan we\b|"
        r"\bi(?:'m| am) "
        r"asking\b|\bif you (?:can|could)\b|\bwhat would it take\b|\blet me know\b|\bsend "
        r"(?:me|over)\b|\bwould (?:\w+ )?work for you\b|\bi (?:will|'ll) sign\b|\bhow (?:is|are|"
        r"does|do|much|long)\b[^?]*\?|\bwhat (?:is|are)\b[^?]*\?|\bdoes (?:that|this)\b[^?]*\?",
    ),
}
_OFFER: _Rules = {
    "career-fit": (
        r"\bcareers?\b|\bgrowth\b|\bgrow\b|\bskills?\b|\blearn\w*|\bfirst project\b|\btitles?\b|"
        r"\bpromot\w*|\blevel\w*|\bscope\b|\btrajector\w*|\bnext role\b|\blong[- ]term\b|"
        r"\bgoals?\b|\b(?:cv|resume|r\u00e9sum\u00e9)\b|\bsenior\w*|\bstaff\b|\bownership\b|"
        r"\bthe work itself\b|\bdomain\b|\bexperience\b|\bfive years\b|\bthree years\b|"
        r"\bin (?:\w+ )?years\b|\bstep (?:up|back)\b|\bspeciali[sz]\w*|\btech stack\b",
    ),
    "culture": (
        r"\bcultur\w*|\bvalues\b|\bwork[- ]life\b|\bon[- ]call\b|\bremote\b|\bhybrid\b|"
        r"\boffice\b|\bhours\b|\bpace\b|\bautonomy\b|\benvironment\b|\bflexib\w*|\bburnout\b|"
        r"\bmeetings\b|\bbureaucra\w*|\bdecisions? (?:are|get) made\b|\btransparen\w*|"
        r"\bovertime\b|\bweekends?\b|\bcommute\b|\bnorms\b|\bways? of working\b|\bhow people\b|"
        r"\bdisagree\w*|\bpsychological\b|\bdress\b|\bfamily\b|\bparental\b|\bgrind\b",
    ),
    "strategy-health": (
        r"\brunway\b|\brevenue\b|\bfund\w*|\braised\b|\bseries [a-e]\b|\bprofitab\w*|"
        r"\bproduct[- ]market fit\b|\blayoffs?\b|\blaid off\b|\bstrateg\w*|\bvaluation\b|"
        r"\bgrowth rate\b|\breputation\b|\bcompetitors?\b|\bburn\w*|\bcash\b|\bcustomers?\b|"
        r"\bmarket\b|\binvestors?\b|\bfinanc\w*|\bipo\b|\bacqui\w*|\bstab(?:le|ility)\b|"
        r"\bsurviv\w*|\bheadcount\b|\bbankrupt\w*|\bdown round\b|\bdirection\b|\bbusiness model"
        r"\b|\bhealthy\b|\bequity (?:is|could|might|would)\b|\bmonths of\b",
    ),
    "manager-team": (
        r"\bmanag\w*|\bboss\b|\blead\b|\bteam\w*|\bmentor\w*|\bfeedback\b|\breviews?\b|\b1:1s?\b|"
        r"\bone[- ]on[- ]ones?\b|\bturnover\b|\battrition\b|\breports? to\b|\bcolleagues?\b|"
        r"\bpeers?\b|\bwork style\b|\bskip[- ]level\b|\bwho i(?:'d| would| will)? (?:learn|work|"
        r"report)\b|\bengineers? (?:there|on)\b|\bpeople i\b|\bcoworkers?\b",
    ),
}
_RULES: dict[str, _Rules] = {
    "system-design": _SYSTEM_DESIGN,
    "coding": _CODING,
    "research": _RESEARCH,
    "negotiation": _NEGOTIATION,
    "offer-factors": _OFFER,
}
# The negotiation step that is judged by what is absent: giving away pay, a floor, or an offer.
_DISCLOSURE = (
    r"\b(?:i|i'm|i am) (?:currently |now )?(?:make|making|earn|earning|paid|on|getting|at)\b[^.]"
    r"{0,30}(?:\d|\bk\b)|\bmy (?:current|present|old) (?:salary|base|pay|comp|compensation|"
    r"package|offer)\b[^.]{0,30}\d|\b(?:my|the) (?:minimum|floor|lowest|bottom line|walk[- ]away"
    r"|absolute minimum)\b[^.]{0,25}\d|\boffered (?:me )?(?:a )?(?:base of |salary of )?[$\u20ac"
    r"\u00a3]?\d|\bthe other offer (?:is|was)\b[^.]{0,25}\d|\bi(?:'d| would) (?:take|accept) "
    r"anything\b|\bi (?:have|got) no other (?:offers?|options?)\b|\bi don'?t have (?:any )?"
    r"other (?:offers?|options?)\b|\b(?:you're|you are) my only\b|\bi(?:'ll| will) accept\b|"
    r"\bi accept\b"
)
_PROTECTING = (
    r"\bnot (?:ready|comfortable) (?:to )?shar\w*|\brather not\b|\bprefer not\b|\bdon'?t have "
    r"a (?:specific )?number\b|\bkeep (?:that|those|the details) (?:private|confidential|to "
    r"myself)\b|\bwon'?t (?:share|go into)\b|\bnot (?:going to|able to) share\b|\btoo early\b|"
    r"\bconfidential\b|\bfocus on (?:the|this) role\b|\bmarket (?:rate|data|range)\b"
)
# Steps needing fewer specifics: a thank-you is one short clause by nature.
_LIGHT_STEPS = frozenset({"acknowledge", "give-reasons", "keep-door-open", "ask"})


def _by_rules(sents: list[_Sent], framework_id: str, rules: _Rules) -> dict[str, _Found]:
    out: dict[str, _Found] = {}
    for key, pats in rules.items():
        need = 1.0 if key in _LIGHT_STEPS else 2.0
        cands: list[tuple[float, _Sent]] = []
        for s in sents:
            if not all(_rx(p).search(s.low) for p in pats[:1]):
                continue
            # A second pattern, when given, is what turns a mention into the step being done:
            # a component plus a flow, a technique plus its reason, a question plus a topic.
            extra = len(pats) > 1 and any(_rx(p).search(s.low) for p in pats[1:])
            score = min(s.specifics / need, 2.0) * (1.0 if extra or len(pats) == 1 else 0.45)
            cands.append((score, s))
        out[key] = _best(cands, 1.0)
    if framework_id == "negotiation":
        told = next((s for s in sents if _rx(_DISCLOSURE).search(s.low)), None)
        guard = next((s for s in sents if _rx(_PROTECTING).search(s.low)), None)
        if told is not None:
            out["protect-information"] = _Found(
                0.0, _clip(told.text), "this gives away information that weakens you"
            )
        else:
            out["protect-information"] = _Found(
                1.0 if guard else 0.75, _clip(guard.text) if guard else "nothing given away"
            )
    return out


def _by_cues(answer: str, framework: Framework) -> dict[str, _Found]:
    """Frameworks without sentence rules (ML design, organizers' own): the step's cues, by stem."""
    low = answer.lower()
    said = {_stem(w) for w in words(low)}
    out: dict[str, _Found] = {}
    for step in framework.steps:
        hit = next(
            (
                c
                for c in step.cues
                if _cue_pattern(c).search(low)
                or (" " not in c.strip() and len(c) > 3 and _stem(c.lower()) in said)
            ),
            None,
        )
        out[step.key] = _Found(1.0 if hit else 0.0, hit or "")
    return out


@lru_cache(maxsize=512)
def _cue_pattern(cue: str) -> re.Pattern[str]:
    c = cue.lower().strip()
    if re.fullmatch(r"[\w' ]+", c):
        # Whole words only: "plan" must not match inside "explain".
        return re.compile(r"(?<![\w'])" + re.escape(c).replace(r"\ ", r"\s+") + r"(?![\w'])")
    return re.compile(re.escape(c))


_DETECTORS: dict[str, Callable[[list[_Sent]], dict[str, _Found]]] = {"star": _star}


def structure_check(answer: str, framework: Framework) -> list[PartCheck]:
    """Which steps of the framework the answer carries, judged on what its sentences do."""
    sents = _sentences(answer)
    if framework.id in _DETECTORS:
        found = _DETECTORS[framework.id](sents)
    elif framework.id in _RULES:
        found = _by_rules(sents, framework.id, _RULES[framework.id])
    else:
        found = _by_cues(answer, framework)
    labelled = _labelled_parts(answer, framework)
    out: list[PartCheck] = []
    for step in framework.steps:
        f = found.get(step.key, _Found(0.0))
        lab = labelled.get(step.key)
        if not (f.strength >= 0.5 and not f.note) and lab is not None and _specifics(lab) >= 3:
            f = _Found(0.6, _clip(lab))
        present = f.strength >= 0.5 and not f.note
        out.append(
            PartCheck(step.key, step.name, present, step.tip, f.evidence, f.note, f.strength)
        )
    return out


def _labelled_parts(answer: str, framework: Framework) -> dict[str, str]:
    """Members who write "Situation: ..." have clearly meant that part; what follows the label
    still has to say something."""
    out: dict[str, str] = {}
    low = answer.lower()
    for step in framework.steps:
        names = {step.key.replace("-", " "), step.name.lower()}
        for n in names:
            m = re.search(rf"(?<![\w]){re.escape(n)}\s*:\s*([^\n]*)", low)
            if m:
                out[step.key] = m.group(1)[:300]
                break
    return out


def _labelled(low: str, step: FrameworkStep) -> bool:
    names = {step.key.replace("-", " "), step.name.lower()}
    return any(re.search(rf"(?<![\w]){re.escape(n)}\s*:", low) for n in names)


# Concrete next steps, one per part: the framework's tip says what the part is, this says what
# to add to this answer. Parts without an entry fall back to the tip's first sentence.
_SUGGEST: dict[tuple[str, str], str] = {
    ("star", "situation"): "open with when and where it happened and what was at stake, in two "
    "sentences with one concrete detail (team size, product, deadline)",
    ("star", "task"): "say in one sentence what you personally owned and by when, separate from "
    "what the team owned",
    ("star", "action"): 'name two or three things you did yourself, each as "I + verb + what", '
    "and why you chose it",
    ("star", "result"): "give the outcome with a size: how much faster or cheaper, how many users, "
    "which date was met, or what it cost if it went badly",
    ("star", "learning"): "say one specific thing the episode taught you that you could not have "
    "said before it",
    ("star", "evolution"): "finish with a later moment or a habit you keep now because of it "
    '("on my current team I now ...")',
    ("system-design", "clarify"): "start by stating the users, the traffic in requests per second "
    "and the latency target you are designing for",
    ("system-design", "sketch"): "trace one request end to end through named components (client, "
    "API, service, storage) before optimising",
    ("system-design", "refine"): "pick the component under most load and say which technique "
    "(cache, shard, queue, index) you add and which number from the clarify step justifies it",
    ("system-design", "review"): "close by naming the bottleneck or single point of failure left, "
    "what you would monitor, and one trade-off you accepted",
    ("coding", "clarify"): "ask about input size, empty input and duplicates, and work one small "
    "example by hand",
    ("coding", "plan"): "say the brute force and its cost, then the better idea, before any code",
    ("coding", "implement"): "describe the code block by block: the loop, what it keeps, what it "
    "returns",
    ("coding", "review"): "trace the code on your example and one edge case, then state time and "
    "space complexity",
    ("research", "context"): "name the open problem and what the best earlier methods missed",
    ("research", "contribution"): "say what you yourself proposed or built and the one insight "
    "that made it work",
    ("research", "impact"): "give one piece of evidence it mattered: a benchmark moved, a group "
    "that adopted it, a product that uses it",
    ("research", "next-steps"): "say what the work leaves open and what you would do next, on "
    "this team",
    ("negotiation", "acknowledge"): "open by thanking them and naming one thing you like about "
    "the role",
    ("negotiation", "protect-information"): "take out your current pay, your floor and other "
    "offers' figures; say you are focused on this role instead",
    ("negotiation", "give-reasons"): 'attach a plain reason to your request ("because ...")',
    ("negotiation", "keep-door-open"): "say you need a little time to review it in writing and "
    "that you are confident you can find something that works",
    ("negotiation", "ask"): "end with one concrete request and a date: a number, a deadline on a "
    "business day, or the details in writing",
    ("offer-factors", "career-fit"): "say whether the first project and the skills it builds move "
    "you toward the role you want in three to five years",
    ("offer-factors", "culture"): "say how work gets done there: pace, on-call, remote norms, how "
    "decisions are made",
    ("offer-factors", "strategy-health"): "check the company's runway, revenue trend and "
    "strategy before weighing the equity",
    ("offer-factors", "manager-team"): "say what you know about the manager and the team: style, "
    "feedback, who you would learn from",
}


def suggestion(framework: Framework, parts: Sequence[PartCheck]) -> tuple[PartCheck, str] | None:
    """The one thing to fix first: the weakest part, missing before thin, earlier before later
    (a story without a situation loses the listener before anything else matters)."""
    if not parts:
        return None
    order = {p.key: i for i, p in enumerate(parts)}
    weakest = min(parts, key=lambda p: (p.present, p.strength, order[p.key]))
    text = _SUGGEST.get((framework.id, weakest.key))
    if text is None:
        text = weakest.tip.split(". ")[0].rstrip(".")
    if weakest.note and weakest.evidence and not weakest.present:
        text = f'you wrote "{weakest.evidence}", but {weakest.note}; {text}'
    elif weakest.present:
        text = f"it is the thinnest part; {text}"
    return weakest, text[0].upper() + text[1:] + "."


# --- checklists -----------------------------------------------------------------------------------

# Words in a checklist item that describe the grading, not the content an answer must show.
_META = frozenset(
    """asks states names shows describes explains mentions says does keeps avoids offers uses
    makes candidate explicitly clearly specific concrete gives give gives gets puts picks notes
    brings ensures addresses includes considers acknowledges recognises recognizes identifies
    discusses covers handles proposes sets calls lists answer answers reply instead rather
    than least them this that""".split()
)
# Hand-written synonym sets: each set is one idea, and an item word matches an answer word
# when both stem into the same set. Kept small and readable on purpose.
_SYNONYMS: tuple[frozenset[str], ...] = tuple(
    frozenset(g.split())
    for g in (
        "email mail writing written write wrote message inbox",
        "thank thanks grateful appreciat glad excit enthusias warm positiv interest keen forward",
        "reason because since why sinc explain",
        "number figure amount salary pay compens comp package base",
        "declin refus rather prefer withhold not_shar",
        "deadlin date day monday tuesday wednesday thursday friday week month window expir",
        "call phone voice chat talk convers",
        "question ask asking request",
        "polit courteous friendly kind warm calm easy relax understand respect fair grace",
        "honest genuin true truthful real",
        "contact call relationship touch",
        "record track document",
        "time days week extension extend longer later timelin",
        "offer package",
        "company companies employer firm organis organiz",
        "manag boss lead",
        "team colleag peer",
        "measur metric number quantif data percent",
        "user custom client",
        "fail mistak wrong error",
        "decis decid choic chose",
        "market industri public survey",
        "rang band bracket",
        "top upper high",
        "bottom lower low floor",
        "total whole overall",
        "start placehold anchor opening initi",
        "open flexib room",
        "bonus signing sign-on",
        "equiti stock shar option rsu",
        "risk danger exposur",
        "evid data benchmark experi spike prototyp",
        "relationship trust rapport",
        "outcom result impact effect",
        "learn lesson taught realis realiz",
        "now since habit today",
        "split divid separ",
        "quick fast speed expedit faster",
        "alternat competing other another",
        "commit promis accept sign",
        "priorit rank order",
        "partner family wife husband spouse kids people",
        "progress next continu",
        "relocat moving move cities city",
        "process stage round interview final late",
        "agre yes accept",
        "reject refus no",
        "verbal spoken phone call",
        "walk away leav miss",
        "availab remote flexib",
        "draw attract appeal love",
        "win winnabl",
        "reconsid revisit",
        "explor dimension item element",
        "bonus start title equip budget vacat holiday",
        "raise increas bump counter",
        "preferr favour favorit choic top",
        "unvest vest",
    )
)


def _stem(w: str) -> str:
    """A light suffix stripper: enough for "handled"/"handle", "reasons"/"reason"."""
    w = w.lower().strip("'")
    if w.endswith("'s"):
        w = w[:-2]
    for suf in (
        "ational", "ations", "ation", "ments", "ment", "ness", "ities", "ity", "ingly", "ings",
        "ing", "ies", "ied", "ed", "ers", "er", "ly", "es", "s", "e", "al", "ive",
    ):  # fmt: skip
        if w.endswith(suf) and len(w) - len(suf) >= 4:
            w = w[: -len(suf)]
            if suf in ("ies", "ied"):
                w += "y"
            break
    return w[:7]


@lru_cache(maxsize=1)
def _syn_index() -> dict[str, int]:
    idx: dict[str, int] = {}
    for i, group in enumerate(_SYNONYMS):
        for w in group:
            idx.setdefault(w, i)
            idx.setdefault(_stem(w), i)
    return idx


@lru_cache(maxsize=1)
def _prefix_index() -> dict[str, tuple[int, int]]:
    """Each key of five letters or more: (its place in the synonym index, its group). Only
    long prefixes: "comp" (comp, as in pay) must not swallow "company"."""
    return {k: (n, i) for n, (k, i) in enumerate(_syn_index().items()) if len(k) >= 5}


def _concept(stem: str) -> str:
    idx = _syn_index()
    if stem in idx:
        return f"#{idx[stem]}"
    # The first key in index order that begins the stem; looked up by the stem's own prefixes
    # rather than by scanning every key (the scan was most of a grading's time).
    prefixes = _prefix_index()
    found = [prefixes[stem[:n]] for n in range(5, len(stem) + 1) if stem[:n] in prefixes]
    return f"#{min(found)[1]}" if found else stem


@lru_cache(maxsize=4096)
def _concepts_of_word(w: str) -> str:
    return _concept(_stem(w))


def _answer_concepts(text: str) -> set[str]:
    out = {_concepts_of_word(w) for w in words(text) if len(w) >= 3}
    if re.search(r"\d", text):
        out.add(_concepts_of_word("number"))
    low = text.lower()
    # A request or a reason is often carried by grammar, not by a noun: "if you can raise
    # the base" asks, "so cash matters more" gives a reason.
    if "?" in text or _rx(_ASKING).search(low):
        out.add(_concepts_of_word("question"))
    if _rx(_NEGOTIATION["give-reasons"][0]).search(low):
        out.add(_concepts_of_word("reason"))
    return out


_ASKING = r"\b(?:could you|would you|can you|if you can|if you could|please|would it be possible)\b"


def _item_concepts(item: str) -> list[str]:
    seen: list[str] = []
    for w in words(item):
        if len(w) < 3 or w in _STOP or w in _META or w in _FUNCTION:
            continue
        c = _concepts_of_word(w)
        if c not in seen:
            seen.append(c)
    return seen


def checklist_coverage(answer: str, checklist: list[str]) -> list[ItemCheck]:
    """An item counts as covered when enough of its ideas appear in the answer, where an idea
    matches by stem or through the synonym sets, so a paraphrase counts as well as a quote."""
    said = _answer_concepts(answer)
    out: list[ItemCheck] = []
    for item in checklist:
        keys = _item_concepts(item)
        if not keys:
            out.append(ItemCheck(item, False))
            continue
        hit = sum(1 for k in keys if k in said)
        # A third of the item's ideas, but never more than three: a long item lists examples,
        # and an answer needs only some of them.
        covered = hit >= max(1, min(3, round(len(keys) * 0.34)))
        if not covered and _rx(_NEGATIVE_ITEM).match(item.lower()):
            # "Does not accept on the call" is met by an answer that never accepts: only an
            # answer that plainly does the thing, with no "not" or "rather" anywhere, misses it.
            covered = not (hit >= len(keys) / 2 and not _rx(_NEGATION).search(answer.lower()))
        out.append(ItemCheck(item, covered))
    return out


_NEGATIVE_ITEM = r"(?:clearly )?(?:does not|doesn't|do not|avoids?|never|neither|no |without)\b"
_NEGATION = r"\b(?:not|never|no|rather|without|avoid\w*|won't|can't|don't|isn't|wouldn't)\b|n't\b"


def _keywords(text: str) -> set[str]:
    return {w[:6] for w in words(text) if len(w) >= 4 and w not in _STOP}


# --- length ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    short: int  # below this, "far too short"
    low: int  # the range a good answer usually falls in
    high: int
    long: int  # above this, too long to say or read
    what: str


# Per track, what a good answer looks like in length: a recruiter reply is an email of a few
# sentences (the shipped model replies run 64-101 words), a story is two minutes spoken.
_SPANS: dict[str, _Span] = {
    "behavioral": _Span(60, 200, 350, 650, "a spoken story runs about two minutes"),
    "research": _Span(60, 180, 350, 650, "a spoken research story runs about two minutes"),
    "negotiation": _Span(20, 40, 140, 260, "a reply to a recruiter is a short email"),
    "offer-evaluation": _Span(35, 80, 300, 600, "an offer assessment covers four factors"),
    "system-design": _Span(50, 150, 600, 1200, "a written design outline covers four stages"),
    "ml-design": _Span(50, 150, 600, 1200, "a written ML design outline covers six stages"),
    "coding": _Span(40, 80, 400, 900, "an approach explained aloud covers four steps"),
    "ml-fundamentals": _Span(20, 40, 250, 500, "a crisp explanation runs a paragraph or two"),
}


def length_note(answer: str, track: str = "behavioral") -> str | None:
    n = len(words(answer))
    span = _SPANS.get(track, _SPANS["behavioral"])
    if n < span.short:
        extra = (
            " Add the specifics: numbers, names of tools, what you yourself did."
            if track in ("behavioral", "research")
            else " Add the specifics this needs."
        )
        return (
            f"At {n} words this is far too short to be convincing: {span.what}, roughly "
            f"{span.low}-{span.high} words.{extra}"
        )
    if n > span.long:
        if track in ("behavioral", "research"):
            return (
                f"At {n} words this would take over four minutes to say. Cut the set-up to two "
                "sentences and spend the time on your actions and the result."
            )
        return (
            f"At {n} words this is longer than it needs to be: {span.what}, roughly "
            f"{span.low}-{span.high} words. Cut what does not serve the ask."
        )
    return None


def grade_number(answer: str, drill: Drill) -> Grade:
    """Judge the member's final value (not the first number in the reply) within the precision
    the drill's prompt states; see bot.numbers for what is read and how."""
    assert drill.answer is not None
    verdict = numbers.grade(answer, drill.answer, drill.prompt)
    return Grade(
        verdict.correct, verdict.given, verdict.expected, verdict.read, verdict.wanted.describe()
    )
