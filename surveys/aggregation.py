"""What a round's answers say, per commitment and role, with small groups suppressed.

The repositories count in SQL (:class:`RoundCounts`: people per option, texts
per sentiment label, targeted/started/completed, /feedback); this module
turns those counts into the figures a summary shows (:func:`summarise`), and
never sees an answer row. Everything is 0–100: means and medians come from the
people per option and the options' normalised scores in the instrument (see
:mod:`surveys.instruments`), which never change once a round used it.

    summarise(instrument, counts, targets=…, min_group_size=5) -> RoundResult
      └── CommitmentResult per commitment
            └── GroupResult per role: participation, QuestionResult per question,
                a MeasureResult per measure, the Tone of the texts, the sentiment index

**Figures are per role, never pooled across roles.** Beneficiaries and
implementers answer different questions about the same commitment from
opposite sides (the people it is for, the officials who run it): an average of
the two would hide the very gap Pulso exists to show (six beneficiaries
answering "worsened", 0, and five implementers "complete", 100, would read
45/100). So a :class:`CommitmentResult` holds its roles' results side by side,
and nothing more than who took part in total.

**Suppression.** A figure drawn from fewer than ``min_group_size`` people is a
:class:`Figure` with ``suppressed=True`` and neither its value nor its count:
what is not published cannot leak from a renderer. A figure from nobody is
``empty``. Participation counts (targeted, started, completed) are about
taking part, not about what anyone answered, and are always shown. A figure
pooled from several parts (two questions of one measure) pools only the parts
that are large enough on their own: folding a small group into a total that is
published next to its complement would let anyone subtract it back out.

**Medians** come from the distribution: scales are discrete, so the median is
the option score at which the cumulative count first reaches half of the
answers (the lower median when the count is even), always an answer someone
could give.

**Sentiment index** of a group: the mean of the parts that are publishable,
each 0–100, and only when the group's texts are (an index of sentiment without
the texts it summarises would be a second copy of the scales) —

* *experience*: the mean of the group's measure indexes (perceived progress,
  outcome, co-creation, responsiveness, trust, satisfaction; each measure
  counts once, whatever its number of questions);
* *tone*: ``50 + 50 × (positive − negative) / texts`` over the free texts
  (answers to ``sentiment_text`` questions, and ``/feedback`` sent while the
  round was open).

So a group whose scales average 40 and whose texts are 20 % positive, 30 %
neutral and 50 % negative (tone 35) has a sentiment index of 37.5; a group
without texts has none ("no answers"), and one whose texts are too few to show
has a suppressed one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from surveys.instruments import Instrument, Measure, Question, QuestionType, Role

Label = Literal["pos", "neu", "neg"]
LABELS: Final[tuple[Label, ...]] = ("pos", "neu", "neg")

#: The measures averaged into indexes, in the order summaries show them.
NUMERIC_MEASURES: Final[tuple[Measure, ...]] = tuple(m for m in Measure if m.is_numeric)

Key = tuple[str, Role]  # (commitment id, role)


# --- errors the Secretariat's commands can meet ----------------------------------------------


# --- published figures -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figure:
    """A number as it may be published: its value and how many people it is drawn from.

    ``suppressed`` figures (fewer people than the minimum) carry neither, and
    ``empty`` ones (nobody) carry a count of 0.
    """

    value: float | None
    n: int = 0
    suppressed: bool = False

    @property
    def shown(self) -> bool:
        return self.value is not None

    @property
    def empty(self) -> bool:
        return self.value is None and not self.suppressed


EMPTY: Final = Figure(None)
SUPPRESSED: Final = Figure(None, 0, suppressed=True)


def publish(value: float | None, n: int, min_group_size: int) -> Figure:
    """``value`` drawn from ``n`` people, as it may be published."""
    if n <= 0 or value is None:
        return EMPTY
    if n < min_group_size:
        return SUPPRESSED
    return Figure(value, n)


def median_score(distribution: Mapping[float, int]) -> float | None:
    """The score where the cumulative count first reaches half (the lower median)."""
    total = sum(distribution.values())
    if total <= 0:
        return None
    running = 0
    for score in sorted(distribution):
        running += distribution[score]
        if 2 * running >= total:
            return score
    raise AssertionError("unreachable: the running count reaches the total")


# --- what the repositories load --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Participation:
    """How many people a round targeted, how many started, how many finished."""

    targeted: int = 0
    started: int = 0  # started or completed
    completed: int = 0

    def __add__(self, other: Participation) -> Participation:
        return Participation(
            self.targeted + other.targeted,
            self.started + other.started,
            self.completed + other.completed,
        )

    @property
    def response_rate(self) -> float | None:
        """Completed as a percentage of targeted, or None when nobody was targeted."""
        return 100 * self.completed / self.targeted if self.targeted else None


@dataclass(frozen=True, slots=True)
class QuestionTally:
    """How one group answered one question, counted in SQL.

    ``codes`` counts people per option code (for a multiple choice, per chosen
    option); ``tones`` counts texts per sentiment label; ``uncertain`` counts the texts among
    them whose label's confidence was under ``surveys.sentiment.UNCERTAIN_BELOW``.
    """

    answered: int = 0
    skipped: int = 0
    codes: Mapping[str, int] = field(default_factory=dict)
    tones: Mapping[str, int] = field(default_factory=dict)
    uncertain: int = 0


@dataclass(frozen=True, slots=True)
class FeedbackTally:
    """/feedback about a commitment sent while a round was open: texts per label, authors,
    and how many of the texts were labelled with low confidence (``uncertain``)."""

    tones: Mapping[str, int] = field(default_factory=dict)
    authors: int = 0  # a lower bound: forgotten authors count as one person together
    uncertain: int = 0


@dataclass(frozen=True, slots=True)
class RoundCounts:
    """Everything :func:`summarise` needs, as the repositories count it."""

    participation: Mapping[Key, Participation] = field(default_factory=dict)
    questions: Mapping[tuple[str, Role, str], QuestionTally] = field(default_factory=dict)
    feedback: Mapping[Key, FeedbackTally] = field(default_factory=dict)


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptionCount:
    code: str
    count: int
    share: float  # percent of the people who answered the question


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """One question's answers in one group; ``distribution`` is empty unless ``answered`` shows."""

    question: Question
    answered: Figure  # value = the number of people who answered
    distribution: tuple[OptionCount, ...] = ()
    mean: Figure = EMPTY
    median: Figure = EMPTY
    median_code: str | None = None


@dataclass(frozen=True, slots=True)
class MeasureResult:
    """A measure's index (the mean, 0–100) and median over the questions feeding it."""

    mean: Figure = EMPTY
    median: Figure = EMPTY


@dataclass(frozen=True, slots=True)
class Tone:
    """Shares of positive, neutral and negative texts, and the tone part of the index."""

    shares: Mapping[Label, float] = field(default_factory=dict)  # percent; empty unless shown
    index: Figure = EMPTY  # n = texts
    #: Of those texts, how many the analyser labelled with a confidence under
    #: ``UNCERTAIN_BELOW`` (a count; 0 unless the tone is shown).
    uncertain: int = 0

    @property
    def shown(self) -> bool:
        return self.index.shown

    @property
    def suppressed(self) -> bool:
        return self.index.suppressed


@dataclass(slots=True)
class _Pool:
    """The publishable parts of a group's measures: score counts per measure, people.

    ``asked`` holds, per measure, how many people answered its largest question,
    including questions too small to pool, so that a measure can tell "suppressed"
    from "nobody answered".
    """

    scores: dict[Measure, dict[float, int]] = field(default_factory=dict)
    people: dict[Measure, int] = field(default_factory=dict)
    asked: dict[Measure, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GroupResult:
    """One role's results for one commitment."""

    commitment_id: str
    role: Role
    participation: Participation
    questions: tuple[QuestionResult, ...]
    measures: Mapping[Measure, MeasureResult]
    tone: Tone
    sentiment: Figure


#: The order roles are shown in: the beneficiaries' verdict first, as the people the
#: commitment is for; then the implementers'.
ROLE_ORDER: Final[tuple[Role, ...]] = (Role.BENEFICIARY, Role.IMPLEMENTER)


@dataclass(frozen=True, slots=True)
class CommitmentResult:
    """A commitment's results, one :class:`GroupResult` per role (never pooled), and how
    many people took part in total."""

    commitment_id: str
    groups: Mapping[Role, GroupResult]
    participation: Participation

    def measure(self, measure: Measure, role: Role) -> MeasureResult:
        """The measure for one role; empty when the role was not asked it."""
        group = self.groups.get(role)
        return group.measures.get(measure, MeasureResult()) if group else MeasureResult()

    def roles(self) -> tuple[GroupResult, ...]:
        """The role groups in :data:`ROLE_ORDER` (beneficiaries first)."""
        return tuple(self.groups[role] for role in ROLE_ORDER if role in self.groups)


@dataclass(frozen=True, slots=True)
class RoundResult:
    """A whole round's results, commitments in the order they were given."""

    instrument: Instrument
    min_group_size: int
    commitments: tuple[CommitmentResult, ...]

    @property
    def participation(self) -> Participation:
        total = Participation()
        for commitment in self.commitments:
            total += commitment.participation
        return total

    def commitment(self, commitment_id: str) -> CommitmentResult | None:
        return next((c for c in self.commitments if c.commitment_id == commitment_id), None)


# --- the computation -------------------------------------------------------------------------


def summarise(
    instrument: Instrument,
    counts: RoundCounts,
    *,
    targets: Iterable[tuple[str, str]],
    min_group_size: int,
) -> RoundResult:
    """Every commitment and role the round targeted (``targets``, in order) summarised."""
    roles_of: dict[str, list[Role]] = {}
    for commitment_id, role in targets:
        roles_of.setdefault(commitment_id, [])
        if Role(role) not in roles_of[commitment_id]:
            roles_of[commitment_id].append(Role(role))
    commitments = []
    for commitment_id, roles in roles_of.items():
        groups = {
            role: _group(instrument, counts, commitment_id, role, min_group_size)
            for role in ROLE_ORDER
            if role in roles
        }
        participation = Participation()
        for group in groups.values():
            participation += group.participation
        commitments.append(CommitmentResult(commitment_id, groups, participation))
    return RoundResult(instrument, min_group_size, tuple(commitments))


def _group(
    instrument: Instrument,
    counts: RoundCounts,
    commitment_id: str,
    role: Role,
    min_group_size: int,
) -> GroupResult:
    pool = _Pool()
    questions = []
    tones: dict[str, int] = {}
    uncertain = 0
    text_authors = 0
    for question in instrument.for_role(role):
        tally = counts.questions.get((commitment_id, role, question.id), QuestionTally())
        questions.append(_question(question, tally, min_group_size))
        measure = question.measure
        if measure is Measure.SENTIMENT_TEXT:
            _add_tones(tones, tally.tones)
            uncertain += tally.uncertain
            # One text per person per question: the largest question is a lower bound.
            text_authors = max(text_authors, tally.answered)
        if measure is None or not measure.is_numeric or not question.is_scale:
            continue
        pool.asked[measure] = max(pool.asked.get(measure, 0), tally.answered)
        if tally.answered < min_group_size:
            continue  # too few to show alone, so too few to pool (see the module docstring)
        scores = pool.scores.setdefault(measure, {})
        for score, n in _score_counts(question, tally).items():
            scores[score] = scores.get(score, 0) + n
        pool.people[measure] = max(pool.people.get(measure, 0), tally.answered)
    feedback = counts.feedback.get((commitment_id, role), FeedbackTally())
    _add_tones(tones, feedback.tones)
    uncertain += feedback.uncertain
    tone = _tone(tones, max(text_authors, feedback.authors), min_group_size, uncertain)
    measures = _measures(pool, min_group_size)
    return GroupResult(
        commitment_id=commitment_id,
        role=role,
        participation=counts.participation.get((commitment_id, role), Participation()),
        questions=tuple(questions),
        measures=measures,
        tone=tone,
        sentiment=sentiment_index(measures, tone),
    )


def _question(question: Question, tally: QuestionTally, min_group_size: int) -> QuestionResult:
    answered = publish(float(tally.answered), tally.answered, min_group_size)
    if not answered.shown:
        return QuestionResult(question, answered)
    total = tally.answered
    distribution = tuple(
        OptionCount(option.code, n, 100 * n / total)
        for option in question.choices
        for n in (tally.codes.get(option.code, 0),)
    )
    if not question.is_scale:
        return QuestionResult(question, answered, distribution)
    scores = _score_counts(question, tally)
    scored = sum(scores.values())
    mean = sum(score * n for score, n in scores.items()) / scored if scored else None
    median = median_score(scores)
    median_code = next(
        (option.code for option in question.choices if option.score == median), None
    )
    return QuestionResult(
        question,
        answered,
        distribution,
        mean=publish(mean, scored, min_group_size),
        median=publish(median, scored, min_group_size),
        median_code=median_code if median is not None else None,
    )


def _score_counts(question: Question, tally: QuestionTally) -> dict[float, int]:
    """People per 0–100 score, from the counts per option code (scales only)."""
    scores: dict[float, int] = {}
    for option in question.choices:
        n = tally.codes.get(option.code, 0)
        if n and option.score is not None:
            scores[option.score] = scores.get(option.score, 0) + n
    return scores


def _add_tones(into: dict[str, int], tones: Mapping[str, int]) -> None:
    for label, n in tones.items():
        if label in LABELS:
            into[label] = into.get(label, 0) + n


def _measures(pool: _Pool, min_group_size: int) -> dict[Measure, MeasureResult]:
    """Every measure the group was asked: pooled when publishable, else suppressed or empty."""
    results: dict[Measure, MeasureResult] = {}
    for measure in NUMERIC_MEASURES:
        if measure not in pool.asked:
            continue
        scores = pool.scores.get(measure)
        if not scores:
            state = SUPPRESSED if pool.asked[measure] > 0 else EMPTY
            results[measure] = MeasureResult(state, state)
            continue
        answers = sum(scores.values())
        mean = sum(score * n for score, n in scores.items()) / answers
        people = pool.people[measure]
        results[measure] = MeasureResult(
            mean=publish(mean, people, min_group_size),
            median=publish(median_score(scores), people, min_group_size),
        )
    return results


def _tone(tones: Mapping[str, int], authors: int, min_group_size: int, uncertain: int = 0) -> Tone:
    texts = sum(tones.get(label, 0) for label in LABELS)
    if texts == 0:
        return Tone()
    if authors < min_group_size:
        return Tone(index=SUPPRESSED)
    shares: dict[Label, float] = {label: 100 * tones.get(label, 0) / texts for label in LABELS}
    value = 50 + 50 * (tones.get("pos", 0) - tones.get("neg", 0)) / texts
    return Tone(shares=shares, index=Figure(value, texts), uncertain=min(uncertain, texts))


def sentiment_index(measures: Mapping[Measure, MeasureResult], tone: Tone) -> Figure:
    """The mean of the publishable parts, experience and tone, when the tone is shown;
    otherwise the tone's state, suppressed or empty (see the module docstring)."""
    if not tone.index.shown:
        return SUPPRESSED if tone.suppressed else EMPTY
    shown = [m.mean for m in measures.values() if m.mean.shown]
    parts: list[tuple[float, int]] = []
    if shown:
        experience = sum(f.value or 0.0 for f in shown) / len(shown)
        parts.append((experience, max(f.n for f in shown)))
    parts.append((tone.index.value or 0.0, tone.index.n))
    return Figure(sum(v for v, _ in parts) / len(parts), max(n for _, n in parts))


# --- across rounds ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """A figure in the previous round and now; ``delta`` in points when both are shown."""

    previous: Figure
    current: Figure

    @property
    def delta(self) -> float | None:
        if self.previous.value is None or self.current.value is None:
            return None
        return self.current.value - self.previous.value


ChangeKey = tuple[Role, Measure | Literal["sentiment"]]


def compare(
    current: CommitmentResult, previous: CommitmentResult | None
) -> dict[ChangeKey, Change]:
    """How each role's measures and sentiment index moved since ``previous``."""
    changes: dict[ChangeKey, Change] = {}
    for role, group in current.groups.items():
        before = previous.groups.get(role) if previous else None
        for measure, result in group.measures.items():
            was = before.measures.get(measure, MeasureResult()).mean if before else EMPTY
            changes[(role, measure)] = Change(was, result.mean)
        changes[(role, "sentiment")] = Change(
            before.sentiment if before else EMPTY, group.sentiment
        )
    return changes


# --- demographic breakdowns ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CellTally:
    """One demographic group of respondents, counted in SQL."""

    respondents: int = 0
    answers: int = 0  # answers to the measure shown beside it
    score_sum: float = 0.0


@dataclass(frozen=True, slots=True)
class Cell:
    """One row of a breakdown as it may be published (``code`` None: did not say)."""

    code: str | None
    respondents: Figure
    mean: Figure


def breakdown(cells: Mapping[str | None, CellTally], *, min_group_size: int) -> tuple[Cell, ...]:
    """A breakdown with small cells suppressed, and one more when only one would be.

    The total of a breakdown is public (it is the participation), so a single
    suppressed cell could be recovered by subtracting the others from it: the
    next smallest cell is suppressed with it (complementary suppression). Means
    follow the same rule over the people who answered the measure. A group of
    fewer than ``min_group_size`` people has no breakdown at all (an empty
    tuple): every cell of it would be small, and its one non-empty cell would be
    the public total.
    """
    if 0 < sum(c.respondents for c in cells.values()) < min_group_size:
        return ()
    hidden = _complementary({code: c.respondents for code, c in cells.items()}, min_group_size)
    hidden_means = _complementary({code: c.answers for code, c in cells.items()}, min_group_size)
    out = []
    for code, cell in cells.items():
        respondents = (
            SUPPRESSED
            if code in hidden
            else publish(float(cell.respondents), cell.respondents, min_group_size)
        )
        mean_value = cell.score_sum / cell.answers if cell.answers else None
        mean = (
            SUPPRESSED
            if code in hidden_means or code in hidden
            else publish(mean_value, cell.answers, min_group_size)
        )
        out.append(Cell(code, respondents, mean))
    return tuple(out)


def _complementary(counts: Mapping[str | None, int], min_group_size: int) -> set[str | None]:
    small = {code for code, n in counts.items() if 0 < n < min_group_size}
    if len(small) == 1:
        others = sorted(
            (n, str(code)) for code, n in counts.items() if code not in small and n > 0
        )
        if others:
            smallest = others[0][1]
            small |= {code for code in counts if str(code) == smallest}
    return small


def text_questions(instrument: Instrument) -> tuple[Question, ...]:
    """The instrument's free-text questions, in order."""
    return tuple(q for q in instrument.questions if q.type is QuestionType.TEXT)


def consent_question(instrument: Instrument) -> Question | None:
    """The yes/no question whose "yes" lets a person's words be quoted, if any."""
    return next((q for q in instrument.questions if q.measure is Measure.QUOTE_CONSENT), None)
