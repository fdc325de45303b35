"""A job post someone shared, read into a guess at the company, the role and the link, which the
member corrects in the add form before anything is saved: "Add to my pipeline" from a message's
menu (Slack's message shortcut, Discord's message context menu).

The guess reads what people write when they share a job: "Senior Data Engineer at Acme",
"Acme is hiring a Product Designer", "Company: Acme / Role: ...", "Acme - Backend Engineer
(Remote)", and a job board's link (Greenhouse, Lever, Ashby, Workable ...) that names the
company in its path. Plain text in, plain text out: the adapter turns its platform's markup
(Slack's <url|label>) into plain text first."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from bot.features.pipeline.handlers import ADD_FORM, COMPANY_LIMIT, LINK_LIMIT, ROLE_LIMIT
from bot.router import Ctx, shortcut
from bot.types import Form, Reply


@dataclass(frozen=True)
class Posting:
    company: str = ""
    role: str = ""
    link: str = ""


_URL = re.compile(r"https?://[^\s<>()\[\]{}\"'|]+", re.I)
# Job boards whose first path segment (or subdomain) is the company's own name.
_BOARD_PATH = (
    "greenhouse.io",
    "lever.co",
    "ashbyhq.com",
    "workable.com",
    "recruitee.com",
    "breezy.hr",
    "personio.de",
    "personio.com",
    "teamtailor.com",
    "smartrecruiters.com",
    "wellfound.com",
    "workatastartup.com",
)
_BOARD_SUB = ("recruitee.com", "breezy.hr", "teamtailor.com", "personio.de", "personio.com")
_BOARD_SKIP = {"jobs", "job", "careers", "career", "embed", "o", "company", "companies", "boards"}
# Hosts that say nothing about the company (a share, a search, a profile).
_NO_COMPANY_HOSTS = ("linkedin.com", "indeed.com", "glassdoor.com", "google.com", "bit.ly")
_JOBBY_PATH = re.compile(r"/(jobs?|careers?|positions?|openings?|vacanc|apply|postings?)\b", re.I)

# Words a role's title is made of, to tell it from a company's name.
_ROLE_WORDS = re.compile(
    r"\b(?:engineer|engineering|developer|dev|scientist|science|analyst|designer|manager|"
    r"lead|head|director|architect|intern|internship|researcher|consultant|specialist|"
    r"administrator|admin|devops|sre|qa|tester|writer|recruiter|product|marketing|sales|"
    r"officer|coordinator|associate|programmer|technician|owner|vp|cto|ceo|founding)s?\b",
    re.I,
)
_NAME = r"[A-Z0-9][\w&.'’+-]*(?:[ \t]+(?:[A-Z0-9&][\w&.'’+-]*|of|and|for|de|la))*"
_ROLE = r"[A-Za-z0-9(][\w/&+.,'’()-]*(?:[ \t]+[\w/&+.,'’()-]+)*?"
# "Senior Data Engineer at Acme", "ML Engineer @ Acme Labs"
_ROLE_AT = re.compile(rf"(?P<role>{_ROLE})[ \t]+(?:at|@)[ \t]+(?P<company>{_NAME})")
# "Acme is hiring a Product Designer", "Acme's hiring: Backend Engineer", "Acme hiring ..."
_HIRING = re.compile(
    rf"(?P<company>{_NAME})(?:[ \t]+(?:is|are)|['’]s)?[ \t]+(?:now[ \t]+)?"
    r"(?:hiring|looking[ \t]+for|seeking|searching[ \t]+for|recruiting)"
    rf"(?:[ \t]+for)?[ \t]*:?[ \t]*(?:an?[ \t]+|two[ \t]+|several[ \t]+)?(?P<role>{_ROLE})"
    r"(?=[ \t]*(?:[.!,;:\n(]|-[ \t]|–|—| in | to | for | who | with |$))"
)
_LABELS = {
    "company": re.compile(r"^\W*(?:company|employer|organi[sz]ation|org)\s*[:\-–—]\s*(.+)$", re.I),
    "role": re.compile(
        r"^\W*(?:role|position|title|job(?: title)?|opening)\s*[:\-–—]\s*(.+)$", re.I
    ),
}
# "Acme - Senior Backend Engineer - Berlin", "Senior Backend Engineer | Acme"
_SEPARATOR = re.compile(r"\s+(?:-|–|—|\|)\s+|\s*[–—|]\s*$")
# "Opening at Notion: Product Engineer", "Role at Acme - Data Analyst"
_AT_COLON = re.compile(
    rf"^(?:opening|role|job|position|vacancy|opportunity)s?[ \t]+at[ \t]+(?P<company>{_NAME})"
    r"[ \t]*[:\-–—][ \t]*(?P<role>.+)$",
    re.I,
)
# "Shopify (Staff Developer, Checkout)"
_PARENS = re.compile(rf"^(?P<company>{_NAME})[ \t]*\((?P<role>[^)]+)\)")
_TAIL = re.compile(r"\s*(?:\((?:[^)]*)\)|\[[^\]]*\])\s*$")
_LEADING = re.compile(
    r"^(?:we(?:'re| are)\s+hiring|hiring|now hiring|job|new (?:job|role|opening)|open role|opening|"
    r"role|position)\s*[:!\-–—]\s*",
    re.I,
)
_STOP_WORDS = re.compile(r"\s+(?:in|to|for|who|with|remote|hybrid|on-?site|based)\b.*$", re.I)


# How much of a post is read for its company and role: its first lines, each cut short. The
# patterns above backtrack over a run of capitalised words, in time growing with the square of
# a line's length (8,000 characters took 5 s, and a message may be 40,000): a shortcut's
# answer must come within Slack's 3 s trigger and before Discord's modal. A job post names
# both at its top; its links are looked for in the whole text, by a pattern that does not
# backtrack.
HEAD_LINES = 20
LINE_CHARS = 200
# Raw lines looked at (blank or emoji-only ones are skipped), and how much of each is cleaned.
_RAW_LINES = 200
_RAW_CHARS = 4 * LINE_CHARS


def read_posting(text: str) -> Posting:
    """The best guess at (company, role, link) in a shared job post; any of them may be ""."""
    link = _best_link(text)
    lines = _lines(text)
    company, role = _labelled(lines)
    for line in lines:
        if company and role:
            break
        c, r = _from_line(line)
        company, role = company or c, role or r
    if not role:
        role = next((t for line in lines if (t := _title(line))), "")
    if not company and link:
        company = _company_of_link(link)
    return Posting(_tidy(company, COMPANY_LIMIT), _tidy(role, ROLE_LIMIT), link[:LINK_LIMIT])


def _lines(text: str) -> list[str]:
    """The post's first HEAD_LINES lines that say something, each at most LINE_CHARS long."""
    out: list[str] = []
    for raw in text.splitlines()[:_RAW_LINES]:
        line = _URL.sub(" ", raw[:_RAW_CHARS])
        line = re.sub(r"[*_`~>]+", " ", line)  # markdown emphasis and quotes
        line = re.sub(r":[a-z0-9_+-]+:", " ", line)  # Slack's :emoji:
        line = re.sub(r"[^\w\s&.,'’/()+@:|!?#\-–—]", " ", line)  # pictographs
        line = re.sub(r"[ \t]+", " ", line).strip()
        if len(line) > LINE_CHARS:  # at a word's end, so no name is read half
            line = line[: LINE_CHARS + 1].rsplit(" ", 1)[0][:LINE_CHARS]
        if line:
            out.append(line)
            if len(out) == HEAD_LINES:
                break
    return out


def _labelled(lines: list[str]) -> tuple[str, str]:
    found = {"company": "", "role": ""}
    for line in lines:
        for key, pattern in _LABELS.items():
            m = pattern.match(line)
            if m and not found[key]:
                found[key] = _clean_part(m.group(1))
    return found["company"], found["role"]


def _from_line(line: str) -> tuple[str, str]:
    body = _LEADING.sub("", line)
    m = _HIRING.search(body)
    if m and _ROLE_WORDS.search(m.group("role")) and not _PRONOUN.match(m.group("company")):
        role = _sentence(m.group("role"))
        if not _ROLE_AT.search(role):  # "we're looking for a X at Y": read below
            return _clean_company(m.group("company")), _clean_part(role)
    for m in _ROLE_AT.finditer(body):
        role = _clean_role(m.group("role"))
        if _ROLE_WORDS.search(role):
            return _clean_company(m.group("company")), role
    if (m2 := _AT_COLON.match(body)) and _ROLE_WORDS.search(m2.group("role")):
        return _clean_company(m2.group("company")), _clean_part(m2.group("role"))
    m3 = _PARENS.match(body)
    if m3 and _ROLE_WORDS.search(m3.group("role")) and not _ROLE_WORDS.search(m3.group("company")):
        return _clean_company(m3.group("company")), _clean_part(m3.group("role"))
    parts = [_clean_part(p) for p in _SEPARATOR.split(body) if p and p.strip()]
    if 2 <= len(parts) <= 4:
        # The first part naming a role is the role; the first before or after it that does
        # not is the company (a place or "Remote" comes last, after both).
        roles = [i for i, p in enumerate(parts) if _ROLE_WORDS.search(p)]
        others = [
            i
            for i, p in enumerate(parts)
            if i not in roles and len(p) <= 60 and not _NOT_A_COMPANY.match(p)
        ]
        if roles and others:
            return _clean_company(parts[others[0]]), parts[roles[0]]
    return "", ""


# Words that start a sentence where a company's name could: the poster speaking.
_PRONOUN = re.compile(r"^(?:we|we['’]re|i|i['’]m|they|they['’]re|our|my|us|you)\b", re.I)
# Parts of a dashed title that say how or where, not who.
_NOT_A_COMPANY = re.compile(
    r"^(?:remote|hybrid|on-?site|full[- ]?time|part[- ]?time|contract|freelance|temporary|"
    r"permanent|urgent|new|hiring)\b",
    re.I,
)


# A line that is nothing but a job's title, as a job board's link is labelled or a job feed
# heads its post: "Backend Engineer, Payments", "Senior Data Engineer (Remote)".
_TITLE_WORD = re.compile(r"\(?[A-Z0-9][\w&.'’+/()-]*|of|and|for|in|to|&|[-–—/]")


def _title(line: str) -> str:
    text = _clean_part(_LEADING.sub("", line))
    words = re.split(r"[ ,]+", text)
    if len(text) > 80 or len(words) > 8 or not _ROLE_WORDS.search(text):
        return ""
    if re.search(r"[!?@:|]|[.;]\s", text):  # a sentence, a label, or a title "at" someone
        return ""
    return text if all(_TITLE_WORD.fullmatch(w) for w in words if w) else ""


def _sentence(text: str) -> str:
    """Up to the end of its first sentence."""
    return re.split(r"[.!?;]\s", text + " ", maxsplit=1)[0]


def _clean_part(text: str) -> str:
    out = _TAIL.sub("", text.strip())
    return out.strip(" \t.,;:!-–—|")


def _clean_role(text: str) -> str:
    """The role from the words before "at Company": from its last sentence, without a lead-in
    ("we're looking for a ...", "join us as ...")."""
    part = re.split(r"[.!?;:]\s+|\s[-–—|]\s", text)[-1]
    part = re.sub(
        r"^.*?\b(?:looking for|seeking|hiring|join(?:ing)? (?:us|the team) as|"
        r"apply(?:ing)? for|application for|role of|position of|as)\s+(?:an?\s+|the\s+)?",
        "",
        part,
        flags=re.I,
    )
    part = re.sub(r"^(?:an?|the)\s+", "", part, flags=re.I)
    return _clean_part(part)


def _clean_company(text: str) -> str:
    name = re.split(r"[.!?]\s", text + " ", maxsplit=1)[0]  # the sentence ends the name
    name = _STOP_WORDS.sub("", _clean_part(name))
    name = re.sub(r"['’]s$", "", name)
    return re.sub(r"(?:\s+(?:&|and|of|for|de|la))+$", "", name).strip(" .,&+")


def _best_link(text: str) -> str:
    # Without what ends the sentence or closes markdown's emphasis around the link.
    urls: list[str] = [str(u).rstrip(".,;:!?*_~`") for u in _URL.findall(text)]
    if not urls:
        return ""

    def score(url: str) -> int:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        points = 0
        if any(host == b or host.endswith("." + b) for b in _BOARD_PATH):
            points += 3
        if _JOBBY_PATH.search(parts.path) or host.startswith(("jobs.", "careers.", "apply.")):
            points += 2
        if any(host.endswith(h) for h in ("linkedin.com", "indeed.com")) and "/jobs" in url:
            points += 1
        return points

    best: str = max(urls, key=score)  # the first of the best: max keeps the earliest on a tie
    return best


def _company_of_link(link: str) -> str:
    parts = urlsplit(link)
    host = (parts.hostname or "").lower().removeprefix("www.")
    if any(host == h or host.endswith("." + h) for h in _NO_COMPANY_HOSTS):
        return ""
    for board in _BOARD_SUB:
        if host.endswith("." + board):
            sub = host.removesuffix("." + board).split(".")[-1]
            if sub not in _BOARD_SKIP:
                return _from_slug(sub)
    if any(host == b or host.endswith("." + b) for b in _BOARD_PATH):
        for seg in parts.path.split("/"):
            if seg and seg.lower() not in _BOARD_SKIP:
                return _from_slug(seg)
        return ""
    labels = host.split(".")
    if len(labels) < 2:
        return ""
    # careers.acme.com, jobs.acme.co.uk, acme.com/careers: the name before the public suffix.
    core = (
        labels[-3]
        if len(labels) >= 3
        and len(labels[-1]) == 2
        and labels[-2]
        in (
            "co",
            "com",
            "org",
            "ac",
        )
        else labels[-2]
    )
    return _from_slug(core)


def _from_slug(slug: str) -> str:
    words = [w for w in re.split(r"[-_+.]+", slug) if w]
    return " ".join(w.upper() if len(w) <= 2 else w.capitalize() for w in words)


def _tidy(text: str, limit: int) -> str:
    return re.sub(r"\s+", " ", text).strip()[:limit]


def add_form(posting: Posting) -> Form:
    """The add form with the guess filled in, for the member to correct."""
    initial = {"company": posting.company, "role": posting.role, "link": posting.link}
    fields = tuple(
        replace(f, initial=initial[f.name][: f.max_length]) if initial.get(f.name) else f
        for f in ADD_FORM.fields
    )
    return replace(ADD_FORM, fields=fields)


@shortcut("add_to_pipeline")
def add_from_message(ctx: Ctx, text: str) -> Reply:
    posting = read_posting(text)
    guessed = ", ".join(
        f"{what} {value!r}"
        for what, value in (("company", posting.company), ("role", posting.role))
        if value
    )
    lead = f"From that message I read {guessed}." if guessed else "I couldn't read a company."
    return Reply(
        f"{lead} Check the form and save it; or type /pipeline add <company> [role] [link <url>].",
        title="Add to my pipeline",
        form=add_form(posting),
    )


__all__ = ["Posting", "add_form", "read_posting"]
