"""A seed report's claim as data: what it says, what was measured, the rule, and the verdict.

A chapter turns each claim it checks into a `Claim` — the seed report, the claim as the seed
states it, the measurement (a value and its interval), the rule that turns the measurement into
a verdict, the number of training seeds it rests on and the profile — and writes them to its
run's claims.json with `record`. The notebook shows them with `show`; the book's results page
pastes each chapter's table, built from that file.

The rule of the course: a verdict of `supported` or `refuted` needs at least `MIN_SEEDS`
training seeds (unless the measurement does not depend on training at all, e.g. a parameter
count) and an interval that excludes the alternative. A claim given `supported` or `refuted` on
fewer seeds is recorded as `inconclusive`, with the verdict it leans to kept in `leaning`.
Sentences that depend on the outcome are chosen by the outcome (`why`), never typed in.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .book import table as html_table
from .stats import Interval
from .train.rundir import RunDir

SUPPORTED, REFUTED, INCONCLUSIVE = "supported", "refuted", "inconclusive"
VERDICTS = (SUPPORTED, REFUTED, INCONCLUSIVE)
MIN_SEEDS = 3


@dataclass
class Claim:
    """One seed claim checked by one run."""

    id: str  # short and stable within a chapter, e.g. "contrast"
    seed_report: str  # the seed report's file number, e.g. "001"
    claim: str  # the claim as the seed states it (paraphrased or quoted briefly)
    measurement: str  # what this run measured to check it
    rule: str  # how the measurement becomes a verdict
    verdict: str  # supported, refuted or inconclusive
    why: str  # the outcome in words (chosen by the outcome)
    seeds: int  # training seeds the measurement rests on
    profile: str
    value: float | None = None
    low: float | None = None  # interval of the value (95 % Student-t unless `rule` says)
    high: float | None = None
    deterministic: bool = False  # True: the measurement does not depend on a training seed
    seed_ids: list[int] | None = None  # the training seeds themselves (len == seeds when given)
    leaning: str | None = None  # the verdict the data lean to when too few seeds
    chapter: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"claim {self.id!r}: verdict must be one of {VERDICTS}, "
                             f"got {self.verdict!r}")
        if self.seeds < 0 or (self.seeds < 1 and not self.deterministic):
            raise ValueError(f"claim {self.id!r}: seeds must be at least 1, got {self.seeds}")
        if self.seed_ids is not None:
            self.seed_ids = [int(s) for s in self.seed_ids]
            if len(set(self.seed_ids)) != self.seeds:
                raise ValueError(f"claim {self.id!r}: seeds={self.seeds} but seed_ids "
                                 f"{self.seed_ids} name {len(set(self.seed_ids))} distinct seeds")
        if (self.verdict != INCONCLUSIVE and not self.deterministic
                and self.seeds < MIN_SEEDS):
            self.leaning, self.verdict = self.verdict, INCONCLUSIVE
            self.why = (f"rests on {self.seeds} training seed{'s' * (self.seeds != 1)}, fewer "
                        f"than the {MIN_SEEDS} a verdict needs (the data lean to "
                        f"'{self.leaning}': {self.why})")

    def to_dict(self) -> dict:
        """The claim as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, record: dict) -> Claim:
        """A claim read back from claims.json (its verdict is not re-derived)."""
        known = {f.name for f in dataclasses.fields(cls)}
        claim = cls.__new__(cls)
        for name in known:
            setattr(claim, name, record.get(name))
        return claim

    @property
    def interval_text(self) -> str:
        """'0.85 [0.80, 0.90]', '0.85' or '–'."""
        if self.value is None or (isinstance(self.value, float) and math.isnan(self.value)):
            return "–"
        if self.low is None or self.high is None or math.isnan(self.low):
            return f"{self.value:.4g}"
        return f"{self.value:.4g} [{self.low:.4g}, {self.high:.4g}]"

    @property
    def seeds_text(self) -> str:
        """'3 (0, 1, 2)', '1' or '– (deterministic)': how many training seeds, and which."""
        if self.deterministic and not self.seeds:
            return "– (deterministic)"
        if self.seed_ids:
            return f"{self.seeds} ({', '.join(map(str, self.seed_ids))})"
        return str(self.seeds)


def against_threshold(interval: Interval, threshold: float, *, claimed: str,
                      seeds: int | None = None, unit: str = "", **fields) -> Claim:
    """A claim that a quantity lies `claimed` ("above" or "below") `threshold`, judged by the
    interval of its mean over seeds: supported when the whole interval lies on the claimed side,
    refuted when it lies on the other, inconclusive when it straddles the threshold. With one
    value (no interval) the verdict is the value's side, which `Claim` then records as
    inconclusive unless the measurement is deterministic."""
    if claimed not in ("above", "below"):
        raise ValueError(f"claimed must be 'above' or 'below', got {claimed!r}")
    other = "below" if claimed == "above" else "above"

    def side(which: str) -> bool:
        return interval.above(threshold) if which == "above" else interval.below(threshold)

    text = f"{interval}{unit}"
    if math.isnan(interval.low):  # one value: its side of the threshold, without an interval
        on_claimed = (interval.mean > threshold if claimed == "above"
                      else interval.mean < threshold)
        verdict = SUPPORTED if on_claimed else REFUTED
        why = (f"{interval.mean:.4g}{unit} lies {claimed if on_claimed else other} "
               f"{threshold:g} (one value, no interval)")
    elif side(claimed):
        verdict, why = SUPPORTED, f"{text} lies {claimed} {threshold:g}"
    elif side(other):
        verdict, why = REFUTED, f"{text} lies {other} {threshold:g}"
    else:
        verdict, why = INCONCLUSIVE, f"{text} straddles {threshold:g}"
    return Claim(verdict=verdict, why=fields.pop("why", why), value=interval.mean,
                 low=_finite(interval.low), high=_finite(interval.high),
                 seeds=interval.n if seeds is None else seeds, **fields)


def record(run_dir: RunDir, claims: Iterable[Claim], chapter: str = "") -> list[Claim]:
    """Write the claims to the run's claims.json (chapter filled in); returns them."""
    claims = list(claims)
    for claim in claims:
        claim.chapter = claim.chapter or chapter
    run_dir.write_claims([c.to_dict() for c in claims])
    return claims


def load(run_dir: RunDir) -> list[Claim]:
    """The claims a run recorded (empty when it recorded none)."""
    return [Claim.from_dict(r) for r in run_dir.read_claims()]


COLUMNS = {"seed_report": "seed", "claim": "claim", "measurement": "measured",
           "interval_text": "value [95 % interval]", "seeds_text": "seeds", "profile": "profile",
           "verdict": "verdict", "why": "why"}


def rows(claims: Sequence[Claim]) -> list[dict]:
    """One table row per claim, in the order of `COLUMNS`."""
    return [{label: getattr(c, key) for key, label in COLUMNS.items()} for c in claims]


def table(claims: Sequence[Claim], caption: str | None = None):
    """The claims as one HTML table (renders in Jupyter, Colab and the book)."""
    return html_table(rows(claims), caption=caption)


def show(claims: Sequence[Claim], caption: str | None = None) -> None:
    """Display the claims' table in a notebook (once: nothing is returned to display again)."""
    from IPython.display import display

    display(table(claims, caption))


def _finite(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)
