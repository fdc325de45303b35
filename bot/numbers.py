"""Grading a member's numeric answer: find the final value in free text, read it in any of the
forms members write (fractions, decimals, percentages, "1 in 221", expressions such as
``1-(5/6)^4`` or ``e^-2``) and compare it within the precision the drill's prompt asks for.

Plain numbers are read with :class:`fractions.Fraction`; only real expressions go to sympy's
parser, imported on first use so that opening the console does not pay for it. The parser only
ever sees text made of whitelisted tokens, with every function inert, and the tree it returns
is evaluated here with caps on exponents and arguments, so no input can make grading slow.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pragma: no cover - only for the type checker
    from collections.abc import Callable

# Replies are capped upstream, but the grader must stay fast on anything it is handed.
MAX_TEXT = 20_000
MAX_EXPR = 120  # characters in one expression handed to the parser
MAX_LITERAL_DIGITS = 18
MAX_EXPONENT = 1_000  # |n| in x^n
MAX_EXACT_BITS = 20_000  # size of an exact rational before falling back to floats
MAX_FACTORIAL = 1_000
MAX_BINOMIAL = 10_000
MAX_CHAIN = 8  # links followed in "a = b = c, about d"

Kind = Literal["exact", "sf", "dp"]


@dataclass(frozen=True)
class Precision:
    """What the prompt asks for: the exact value, N significant figures or N decimal places."""

    kind: Kind
    digits: int = 0

    def describe(self) -> str:
        if self.kind == "exact":
            return "the exact value"
        unit = "significant figure" if self.kind == "sf" else "decimal place"
        return f"{self.digits} {unit}{'s' if self.digits != 1 else ''}"

    def unit(self, expected: float) -> float:
        """The size of the last digit the prompt asks for; answers within half of it pass."""
        if self.kind == "exact":
            return 0.0
        if self.kind == "dp":
            return 10.0**-self.digits
        mag = math.floor(math.log10(abs(expected))) if expected else 0
        return 10.0 ** (mag - self.digits + 1)


@dataclass(frozen=True)
class Reading:
    """One value found in a reply."""

    text: str
    value: float
    start: int
    end: int
    # Half the last written digit (0.0005 for "0.518"): 0 for exact forms such as 671/1296.
    half_unit: float
    expression: bool = False


@dataclass(frozen=True)
class Verdict:
    correct: bool
    given: float | None
    expected: float
    read: str | None
    wanted: Precision


_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
_COUNT = r"(\d|one|two|three|four|five|six|seven)"
_SF = re.compile(
    _COUNT + r"\s+(?:significant\s+(?:figures?|digits?)|sig\.?\s*figs?|s\.\s?f\.|sf\b)", re.I
)
_DP = re.compile(_COUNT + r"\s+(?:decimal\s+places?|decimals?|decimal\s+digits?|d\.\s?p\.)", re.I)
_EXACT = re.compile(r"\bexact\b|\bwhole\s+number\b|\binteger\b", re.I)


def prompt_precision(prompt: str) -> Precision | None:
    """The precision a prompt states, or None when it states none (a content error)."""
    for pattern, kind in ((_SF, "sf"), (_DP, "dp")):
        m = pattern.search(prompt)
        if m:
            word = m.group(1).lower()
            n = int(word) if word.isdigit() else _WORDS[word]
            return Precision("sf" if kind == "sf" else "dp", n)
    if _EXACT.search(prompt):
        return Precision("exact")
    return None


# --- finding values in text -----------------------------------------------------------------

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_SUPER_RUN = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+")
_REPLACE = (
    ("\u2212", "-"),
    ("\u2013", "-"),
    ("\u2014", " - "),
    ("×", "*"),
    ("·", "*"),
    ("⋅", "*"),
    ("÷", "/"),
    ("⁄", "/"),
    ("√", "sqrt"),
    ("π", "pi"),
    ("≃", "≈"),
    ("≅", "≈"),
    ("\u00a0", " "),
    ("\u202f", " "),
    ("\u2009", " "),
)
# "6 x 6" and "4.5 x 10^-3" are products; a lone "x" elsewhere is a variable name, left alone.
_TIMES = re.compile(r"(?<=[\d)])\s*[x*]\s*(?=[\d(])")
# C(10,3) keeps its comma, which would otherwise read as a decimal comma.
_CALL_ARGS = re.compile(r"\b(c|binomial|choose)\(\s*(\d+)\s*,\s*(\d+)\s*\)")

# Atomic, so that a hostile run of digits cannot make the scanner backtrack quadratically.
_NUM = (
    r"(?>[1-9]\d{0,2}(?:,\d{3})+(?![,\d])(?:\.\d+)?"  # thousands: 1,068 or 2,598,960
    r"|\d+,\d+(?![,\d])"  # a decimal comma: 0,507
    r"|(?:\d+(?:\.\d+)?|\.\d+)(?:e[-+]?\d+)?)"  # 0.518, .518, 12, 2e-3
)
_NAME = r"(?:exp|sqrt|binomial|choose|factorial|log|ln|pi|c(?=\()|e)(?![a-z])"
_ATOM = rf"(?:{_NUM}|(?<![a-z]){_NAME}|[-+*/^()!;])"
_VALUE = re.compile(
    rf"(?P<ratio>(?P<rn>{_NUM})\s+(?:in|out\s+of)\s+(?P<rd>{_NUM})(?![\d.,]))"
    rf"|(?P<span>{_ATOM}(?:[ \t]*{_ATOM})*)"
    r"(?P<pct>\s*(?:%|percent\b|per\s*cent\b|pct\b))?"
)
_PLAIN = re.compile(rf"^-?{_NUM}(?:\s*/\s*{_NUM})?$")
_MARKER = re.compile(
    r"=|≈|~|\banswer\b(?:\s+is|\s*:)?|\bso\b|\babout\b|\bapprox(?:imately|\.)?|\broughly\b"
    r"|\baround\b|\btherefore\b|\bthus\b|\bhence\b|\bequals?\b|\bgives\b|\bi\.e\."
)
_STRONG = re.compile(r"\b(?:final\s+)?answer\b(?:\s+is|\s*:|\s*=)?")
_APPROX = re.compile(r"≈|~|\babout\b|\bapprox|\broughly\b|\baround\b|\(")
# What may stand between two forms of one answer: "671/1296, about 0.518", "= 0.5177 (52%)",
# "1067.1, so n = 1068" (a one-letter name, but not the words "a" and "i").
_JOIN = re.compile(
    r"^(?:\s|=|≈|~|,|;|:|\(|<|>|\b[b-hj-z]\b|\bor\b|\bi\.e\.|\bwhich\s+is\b|\bthat\s+is\b"
    r"|\bso\b|\babout\b"
    r"|\bapprox(?:imately|\.)?|\broughly\b|\baround\b|\bequals?\b|\bwhich\s+is\s+about\b)*$"
)


def _joined(gap: str) -> bool:
    """Whether two values are forms of one statement; a long gap never is."""
    return len(gap) <= 60 and _JOIN.match(gap) is not None


def normalise(text: str) -> str:
    s = text[-MAX_TEXT:].lower()
    for a, b in _REPLACE:
        s = s.replace(a, b)
    s = _SUPER_RUN.sub(lambda m: "^(" + m.group(0).translate(_SUPERSCRIPT) + ")", s)
    s = _CALL_ARGS.sub(lambda m: f"{m.group(1)}({m.group(2)};{m.group(3)})", s)
    return _TIMES.sub("*", s)


def _balanced(span: str) -> str:
    """Trim what cannot belong to the value: trailing operators, unmatched brackets."""
    s = span.strip()
    if s.isdigit():
        return s
    while True:
        before = s
        s = s.rstrip("-+*/^;( \t").lstrip("+*/^;) \t")
        s = re.sub(r"^-\s+", "", s)  # "the answer - 671/1296": a dash in prose, not a sign
        if s.startswith("(") and s.count("(") > s.count(")"):
            s = s[1:]
        if s.endswith(")") and s.count(")") > s.count("("):
            s = s[:-1]
        if s == before:
            return s


def _number(tok: str) -> Fraction | None:
    """A single literal: thousands separators and decimal commas resolved."""
    t = tok.strip()
    if re.fullmatch(r"-?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?", t):
        t = t.replace(",", "")
    elif "," in t:
        t = t.replace(",", ".")
    m = re.fullmatch(r"(-?\d*\.?\d+)(?:e([-+]?\d+))?", t)
    if not m or len(m.group(1)) > MAX_LITERAL_DIGITS + 2:
        return None
    if m.group(2) is not None and abs(int(m.group(2))) > 300:
        return None
    try:
        return Fraction(t)
    except (ValueError, ZeroDivisionError):
        return None


def _half_unit(literal: str) -> float:
    """Half the last written digit of a decimal literal; 0 for an integer (taken as exact)."""
    t = literal.replace(",", ".") if re.fullmatch(r"\d+,\d+", literal.strip()) else literal
    t = t.replace(",", "")
    m = re.fullmatch(r"\s*-?\d*\.(\d+)(?:e([-+]?\d+))?\s*", t)
    if not m:
        return 0.0
    return 0.5 * 10.0 ** (-len(m.group(1)) + int(m.group(2) or 0))


def _plain_value(span: str) -> tuple[float, float] | None:
    """A number or a fraction of two numbers, read without the expression parser."""
    parts = re.split(r"\s*/\s*", span.strip())
    nums = [_number(p) for p in parts]
    if any(n is None for n in nums) or not 1 <= len(nums) <= 2:
        return None
    first = nums[0]
    assert first is not None
    if len(nums) == 1:
        return float(first), _half_unit(parts[0])
    second = nums[1]
    assert second is not None
    if second == 0:
        return None
    half = _half_unit(parts[0]) / abs(float(second)) if "." in parts[0] else 0.0
    return float(first / second), half


@dataclass(frozen=True)
class _Span:
    """Where a value may be, found by the scanner alone; read only when it matters."""

    match: re.Match[str]
    text: str
    start: int
    end: int


def _spans(s: str) -> list[_Span]:
    out: list[_Span] = []
    for m in _VALUE.finditer(s):
        if m.group("ratio"):
            out.append(_Span(m, m.group(0), m.start(), m.end()))
            continue
        span = _balanced(m.group("span"))
        if not any(c.isdigit() for c in span):
            continue
        start = m.start() + max(m.group("span").find(span), 0)
        end = m.end() if m.group("pct") else start + len(span)
        out.append(_Span(m, span, start, end))
    return out


def _read(sp: _Span, *, expressions: bool = True) -> Reading | None:
    m = sp.match
    if m.group("ratio"):
        n, d = _number(m.group("rn")), _number(m.group("rd"))
        if n is None or d is None or d == 0:
            return None
        return Reading(m.group(0), float(n / d), sp.start, sp.end, 0.0)
    span = sp.text
    pct = 0.01 if m.group("pct") else 1.0
    plain = _plain_value(span) if _PLAIN.match(span) else None
    if plain is not None:
        value, half = plain
        if pct == 1.0:
            return Reading(span, value, sp.start, sp.end, half)
        # "52%" is a rounded figure even without decimals: it stands for 0.515-0.525.
        half = half or (0.5 if "/" not in span else 0.0)
        return Reading(span + m.group("pct"), value * pct, sp.start, sp.end, half * pct)
    if not expressions:
        return None
    got = evaluate(span)
    if got is None:
        return None
    return Reading(span, got * pct, sp.start, sp.end, 0.0, expression=True)


def find_values(text: str, *, expressions: bool = True) -> list[Reading]:
    """Every value in the text, left to right. Without ``expressions`` only plain numbers,
    fractions and ratios are read (no parser, for content checks at start-up)."""
    found = (_read(sp, expressions=expressions) for sp in _spans(normalise(text)))
    return [r for r in found if r is not None]


# --- expressions ----------------------------------------------------------------------------

Num = Fraction | float


class _Refused(Exception):
    """The expression is outside what the grader agrees to compute."""


@lru_cache(maxsize=1)
def _parser() -> tuple[Callable[..., Any], dict[str, Any], dict[str, Any], tuple[Any, ...]]:
    # sympy costs ~0.5 s to import; only a reply with a real expression pays for it.
    import sympy
    from sympy.parsing.sympy_parser import (
        convert_xor,
        implicit_multiplication,
        parse_expr,
        standard_transformations,
    )

    inert = {n: sympy.Function(n) for n in ("exp", "sqrt", "binomial", "factorial", "log")}
    local = {
        **inert,
        "c": inert["binomial"],
        "choose": inert["binomial"],
        "ln": inert["log"],
        "e": sympy.E,
        "pi": sympy.pi,
    }
    glob = {
        "Integer": sympy.Integer,
        "Float": sympy.Float,
        "Rational": sympy.Rational,
        "Symbol": sympy.Symbol,
        "Add": sympy.Add,
        "Mul": sympy.Mul,
        "Pow": sympy.Pow,
        "factorial": inert["factorial"],
    }
    transformations = (*standard_transformations, implicit_multiplication, convert_xor)
    return parse_expr, local, glob, transformations


_TOKENS = re.compile(
    r"(?:\d+(?:\.\d+)?(?:e[-+]?\d+)?|\.\d+|exp|sqrt|binomial|choose|factorial|log|ln|pi|c|e"
    r"|[-+*/^()!;\s])+"
)


def evaluate(expr: str) -> float | None:
    """The value of a short expression, or None when it is not one the grader reads (unknown
    names, too long, numbers too large)."""
    s = expr.strip()
    if len(s) > MAX_EXPR or not _TOKENS.fullmatch(s) or "!!" in s:
        return None
    for lit in re.findall(r"(?:\d+(?:\.\d+)?|\.\d+)(?:e[-+]?\d+)?", s):
        if _number(lit) is None:
            return None
    if s.count("(") != s.count(")") or s.count("^") + s.count("**") > 6:
        return None
    parse_expr, local, glob, transformations = _parser()
    try:
        tree = parse_expr(
            s.replace(";", ","),
            local_dict=dict(local),
            global_dict=dict(glob),
            transformations=transformations,
            evaluate=False,
        )
        value = _eval(tree, 0)
    except (_Refused, SyntaxError, TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    except (RecursionError, MemoryError, AttributeError, IndexError, KeyError):
        return None
    f = float(value)
    if not math.isfinite(f):
        return None
    return f


def _eval(node: Any, depth: int) -> Num:
    import sympy

    if depth > 60:
        raise _Refused("too deep")
    if isinstance(node, sympy.Rational):  # Integer is a Rational
        return Fraction(int(node.p), int(node.q))
    if isinstance(node, sympy.Float):
        return float(node)
    if node is sympy.E:
        return math.e
    if node is sympy.pi:
        return math.pi
    args = [_eval(a, depth + 1) for a in node.args]
    if isinstance(node, sympy.Add):
        total: Num = Fraction(0)
        for a in args:
            total = total + a
        return total
    if isinstance(node, sympy.Mul):
        prod: Num = Fraction(1)
        for a in args:
            prod = prod * a
        return prod
    if isinstance(node, sympy.Pow):
        return _pow(args[0], args[1])
    name = getattr(node.func, "__name__", "")
    return _call(name, args)


def _pow(base: Num, exp: Num) -> Num:
    if abs(float(exp)) > MAX_EXPONENT:
        raise _Refused("exponent too large")
    if isinstance(base, Fraction) and isinstance(exp, Fraction) and exp.denominator == 1:
        bits = max(base.numerator.bit_length(), base.denominator.bit_length())
        if bits * abs(exp.numerator) <= MAX_EXACT_BITS:
            if base == 0 and exp < 0:
                raise ZeroDivisionError
            return base**exp.numerator
    b, x = float(base), float(exp)
    if b < 0 and not x.is_integer():
        raise _Refused("complex result")
    return math.pow(b, x)


def _as_int(x: Num, cap: int) -> int:
    if isinstance(x, float):
        if not x.is_integer():
            raise _Refused("not an integer")
        x = Fraction(int(x))
    if x.denominator != 1 or not 0 <= x.numerator <= cap:
        raise _Refused("argument out of range")
    return x.numerator


def _call(name: str, args: list[Num]) -> Num:
    if name == "exp" and len(args) == 1:
        if abs(float(args[0])) > 700:
            raise _Refused("exp too large")
        return math.exp(float(args[0]))
    if name == "sqrt" and len(args) == 1:
        return math.sqrt(float(args[0]))
    if name == "log" and len(args) in (1, 2):
        if len(args) == 2:
            return math.log(float(args[0]), float(args[1]))
        return math.log(float(args[0]))
    if name == "factorial" and len(args) == 1:
        return Fraction(math.factorial(_as_int(args[0], MAX_FACTORIAL)))
    if name == "binomial" and len(args) == 2:
        n, k = _as_int(args[0], MAX_BINOMIAL), _as_int(args[1], MAX_BINOMIAL)
        return Fraction(math.comb(n, k))
    raise _Refused(f"unknown function {name!r}")


# --- choosing the final answer --------------------------------------------------------------


def final_value(text: str) -> Reading | None:
    """The member's final answer: what follows the last "answer is", else the last "=", "so",
    "about"..., else the last value; "= 671/1296, about 0.518" is read as 671/1296.

    Spans are located by position first and only the chosen few are read, so a reply full of
    numbers costs one regex scan, not one parse per number."""
    s = normalise(text)
    spans = _spans(s)
    if not spans:
        return None
    i: int | None = None
    for m in reversed(list(_STRONG.finditer(s))):
        i = next((k for k, v in enumerate(spans) if v.start >= m.end()), None)
        if i is not None:
            break
    if i is None:
        last = spans[-1]
        marker_end = max((m.end() for m in _MARKER.finditer(s, 0, last.start)), default=None)
        if marker_end is None:
            i = len(spans) - 1
        else:
            i = next(k for k, v in enumerate(spans) if v.start >= marker_end)
    # Follow a chain of equal forms to its end: "C(10,3)/2^10 = 120/1024 = 15/128".
    # Bounded: a real chain has a handful of links, and a hostile one must not cost more.
    steps = 0
    while (
        steps < MAX_CHAIN and i + 1 < len(spans) and _joined(s[spans[i].end : spans[i + 1].start])
    ):
        i, steps = i + 1, steps + 1
    here = _read(spans[i])
    # Then step back over approximations of a more exact form before them.
    for _ in range(MAX_CHAIN):
        if here is None or i == 0:
            break
        gap = s[spans[i - 1].end : spans[i].start]
        if not (_joined(gap) and _APPROX.search(gap)):
            break
        before = _read(spans[i - 1])
        if before is None or abs(here.value - before.value) > here.half_unit * 1.0001 + 1e-12:
            break
        here, i = before, i - 1
    return here


def is_correct(given: float, expected: float, expected_text: str, precision: Precision) -> bool:
    """Within half a unit of the precision asked for, widened by the rounding of the drill's
    own answer when that is a decimal (0.1353 stands for e^-2)."""
    slack = precision.unit(expected) / 2 + _half_unit(expected_text)
    return abs(given - expected) <= slack + 1e-9 * max(1.0, abs(expected))


def read_answer(text: str) -> float | None:
    """A drill's stored answer: a plain number, fraction or percentage."""
    s = text.strip()
    pct = s.endswith("%")
    got = _plain_value(s[:-1] if pct else s) if s else None
    if got is None:
        return None
    return got[0] / 100 if pct else got[0]


def grade(reply: str, answer: str, prompt: str) -> Verdict:
    expected = read_answer(answer)
    if expected is None:
        raise ValueError(f"answer {answer!r} is not a number")
    precision = prompt_precision(prompt) or Precision("sf", 3)
    found = final_value(reply)
    if found is None:
        return Verdict(False, None, expected, None, precision)
    ok = is_correct(found.value, expected, answer, precision)
    return Verdict(ok, found.value, expected, found.text.strip(), precision)


def worked_values(worked: str, expected: float) -> list[Reading]:
    """The figures a worked solution gives for its answer (within 2% of it), read without the
    parser. A value in the middle of a chain ("= 1067.1, so n = 1068") is working, not an
    answer; a value that ends its statement is one a member could copy, so it must pass."""
    s = normalise(worked)
    spans = _spans(s)
    near: list[Reading] = []
    for k, sp in enumerate(spans):
        if k + 1 < len(spans) and _joined(s[sp.end : spans[k + 1].start]):
            continue
        got = _read(sp, expressions=False)
        if got is not None and abs(got.value - expected) <= 0.02 * abs(expected) + 1e-12:
            near.append(got)
    return near


def drill_problems(answer: str, prompt: str, worked: str | None) -> list[str]:
    """Why a numeric drill is not fit to grade: its prompt states no precision, or a value its
    own worked solution gives for the answer fails the drill's grader. Uses no parser."""
    problems: list[str] = []
    expected = read_answer(answer)
    if expected is None:
        return [f"answer {answer!r} is not a number, fraction or percent"]
    precision = prompt_precision(prompt)
    if precision is None:
        problems.append(
            "the prompt must say how precise an answer must be (for example 'Give an exact "
            "fraction or a decimal to 3 significant figures.')"
        )
        return problems
    near = worked_values(worked or "", expected)
    if worked and not near:
        problems.append(f"the worked solution never reaches the answer {answer}")
    for v in near:
        if not is_correct(v.value, expected, answer, precision):
            problems.append(
                f"the worked solution's value {v.text.strip()} fails its own grader "
                f"(the prompt asks for {precision.describe()})"
            )
    return problems
