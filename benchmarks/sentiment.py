"""Sentiment benchmark: quality on the labelled sets, language detection, speed on one core.

    python -m benchmarks.sentiment              # the table
    python -m benchmarks.sentiment --errors     # also list every misclassified answer
    python -m benchmarks.sentiment --sweep      # macro-F1 for a range of label thresholds
    python -m benchmarks.sentiment --detectors  # also py3langid / lingua, if installed
    python -m benchmarks.sentiment --record     # also write the test split's figures
                                                # beside the model (the site publishes them)

Quality is measured on the corpus's test split (``corpus/sentiment/test.jsonl``: skeletons
never trained or tuned on) per language and per phenomenon, with confusion matrices and
negative recall, and again on the first batch's part of the split (the answers written in
``source_{es,en}.txt``: tone-3's whole test split, for a like-for-like comparison) and on
the first two batches' part (tone-4's and tone-5's whole test split), on the first three
batches' part (tone-6's whole test split), on the first four batches' part (tone-7's and
tone-8's whole test split) and on the fifth batch alone; on
``tests/unit/sentiment/regression_{es,en}.tsv`` (the rules were developed against these
and the model trains on them: a regression guard) and ``holdout_{es,en}.tsv`` (never
tuned on). Speed is single-threaded, so texts/s is per core:
wall-clock, and CPU time of this process (``time.process_time``), which a shared machine's
other jobs disturb less.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import importlib.util
import time
from collections.abc import Callable
from pathlib import Path

from surveys.sentiment import Label, Language, detect_language, get_analyzer, label_for
from surveys.sentiment.evaluation import (
    LABELS,
    CorpusItem,
    Example,
    Report,
    evaluate,
    parse_corpus,
    parse_labelled,
)
from surveys.sentiment.measured import EVALUATION_FILE, TEST_SPLIT, evaluate_split

DATA = Path(__file__).resolve().parent.parent / "tests" / "unit" / "sentiment"
CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "sentiment"
LANGUAGES: tuple[Language, ...] = ("es", "en")
RECORDED = (
    Path(__file__).resolve().parent.parent / "surveys" / "sentiment" / "data" / EVALUATION_FILE
)


def load(kind: str, language: Language) -> list[Example]:
    return parse_labelled((DATA / f"{kind}_{language}.tsv").read_text("utf-8"))


def load_corpus(split: str) -> list[CorpusItem]:
    return parse_corpus((CORPUS / f"{split}.jsonl").read_text("utf-8"))


#: ``(last batch, batches, models)`` of each earlier model's whole split, oldest first.
_EARLIER_SPLITS = (
    (1, "first batch", "tone-3's"),
    (2, "batches 1-2", "tone-4's and tone-5's"),
    (3, "batches 1-3", "tone-6's"),
    (4, "batches 1-4", "tone-7's and tone-8's"),
)


def _corpus_rows(split: str = "test") -> list[str]:
    """Per language: macro-F1, negative recall, confusion; per phenomenon: accuracy."""
    items = load_corpus(split)
    lines = _corpus_table(items, f"corpus {split} split (rows: gold, columns: predicted)")
    # Each earlier model's whole split, for like-for-like comparisons: the batches up to
    # ``last``, shown when they are more than the part before and less than the whole.
    before = -1
    for last, batches, models in _EARLIER_SPLITS:
        part = [i for i in items if i.batch <= last]
        if before < len(part) < len(items):
            lines.append("")
            lines.extend(_corpus_table(part, f"the same, {batches} only ({models} {split} split)"))
        before = len(part)
    fifth = [i for i in items if i.batch == 5]
    if 0 < len(fifth) < len(items):
        lines.append("")
        lines.extend(
            _corpus_table(fifth, f"the same, fifth batch only (new with tone-9's {split} split)")
        )
    return lines


def _corpus_table(items: list[CorpusItem], title: str) -> list[str]:
    analyzer = get_analyzer()
    lines = [title]
    lines.append(f"{'lang':<6}{'n':>5}{'macro-F1':>10}{'acc':>7}{'neg rec':>9}{'uncertain':>11}")
    details: list[str] = []
    for language in LANGUAGES:
        subset = [i for i in items if i.lang == language]
        scores = {i.text: analyzer.analyse(i.text, language) for i in subset}
        report = evaluate(
            [Example(i.label, i.text) for i in subset],
            lambda t, scores=scores: scores[t].label,  # type: ignore[misc]
        )
        uncertain = sum(1 for s in scores.values() if s.uncertain) / len(subset)
        lines.append(
            f"{language:<6}{report.n:>5}{report.macro_f1:>10.3f}{report.accuracy:>7.3f}"
            f"{report.recall['neg']:>9.3f}{uncertain:>11.3f}"
        )
        details.append(
            f"confusion {language}: "
            + "  ".join(
                f"{g}->" + "/".join(str(report.confusion[(g, p)]) for p in LABELS) for g in LABELS
            )
            + "  (pos/neu/neg)"
        )
        for phenomenon in sorted({i.phenomenon for i in subset}):
            group = [i for i in subset if i.phenomenon == phenomenon]
            right = sum(1 for i in group if scores[i.text].label == i.label)
            details.append(
                f"  {language} {phenomenon:<12}{len(group):>5}  accuracy {right / len(group):.3f}"
            )
    return lines + details


def _rate(fn: Callable[[str], object], texts: list[str], seconds: float = 1.0) -> float:
    """Calls per second of ``fn`` over ``texts``, repeated for about ``seconds``."""
    return _rates(fn, texts, seconds)[0]


def _rates(
    fn: Callable[[str], object], texts: list[str], seconds: float = 1.0
) -> tuple[float, float]:
    """Calls per second of ``fn`` over ``texts`` (wall-clock, CPU time of this process)."""
    done = 0
    start, cpu = time.perf_counter(), time.process_time()
    while True:
        for text in texts:
            fn(text)
        done += len(texts)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed, done / max(time.process_time() - cpu, 1e-9)


def _quality_rows(errors: bool) -> list[str]:
    analyzer = get_analyzer()
    lines = [
        f"{'set':<14}{'n':>5}{'macro-F1':>10}{'acc':>7}"
        + "".join(f"{'F1 ' + label:>8}" for label in LABELS)
        + f"{'lang-id':>9}"
    ]
    for kind in ("regression", "holdout"):
        for language in LANGUAGES:
            examples = load(kind, language)

            def predict(text: str, language: Language = language) -> Label:
                return analyzer.analyse(text, language).label

            report = evaluate(examples, predict)
            detected = sum(
                1
                for e in examples
                if detect_language(e.text, "es" if language == "en" else "en") == language
            )
            lines.append(
                f"{kind + '_' + language:<14}{report.n:>5}{report.macro_f1:>10.3f}"
                f"{report.accuracy:>7.3f}"
                + "".join(f"{report.f1[label]:>8.3f}" for label in LABELS)
                + f"{detected / report.n:>9.3f}"
            )
            if errors:
                lines.extend(_errors(report, language))
    return lines


def _errors(report: Report, language: Language) -> list[str]:
    analyzer = get_analyzer()
    out = []
    for example, predicted in report.errors:
        score = analyzer.analyse(example.text, language).score
        out.append(f"    {example.label}->{predicted} {score:+.3f}  {example.text}")
    return out


def _speed_rows() -> list[str]:
    analyzer = get_analyzer()
    lines = [f"{'speed (one core)':<34}{'texts/s':>10}{'CPU time':>10}"]
    corpus = [i.text for i in load_corpus("test")]
    rate, cpu_rate = _rates(lambda t: analyzer.analyse(t), corpus, seconds=2.0)
    lines.append(f"{'analyse, corpus test split':<34}{rate:>10,.0f}{cpu_rate:>10,.0f}")
    earlier = [i.text for i in load_corpus("test") if i.batch <= 2]
    if len(earlier) < len(corpus):  # tone-5's 2,426 answers: speed like for like
        rate, cpu_rate = _rates(lambda t: analyzer.analyse(t), earlier, seconds=2.0)
        lines.append(f"{'analyse, test split batches 1-2':<34}{rate:>10,.0f}{cpu_rate:>10,.0f}")
    three = [i.text for i in load_corpus("test") if i.batch <= 3]
    if len(earlier) < len(three) < len(corpus):  # tone-6's 3,194 answers: like for like
        rate, cpu_rate = _rates(lambda t: analyzer.analyse(t), three, seconds=2.0)
        lines.append(f"{'analyse, test split batches 1-3':<34}{rate:>10,.0f}{cpu_rate:>10,.0f}")
    every = [
        e.text
        for kind in ("regression", "holdout")
        for lang in LANGUAGES
        for e in load(kind, lang)
    ]
    for language in LANGUAGES:
        texts = [e.text for e in load("regression", language)]
        rate = _rate(functools.partial(analyzer.analyse, language=language), texts)
        lines.append(f"{'analyse, language given (' + language + ')':<34}{rate:>10,.0f}")
    rate = _rate(lambda t: analyzer.analyse(t), every)
    lines.append(f"{'analyse, language detected':<34}{rate:>10,.0f}")
    rate = _rate(detect_language, every)
    lines.append(f"{'detect_language alone':<34}{rate:>10,.0f}")
    long_text = "No sirvió para nada, pero gracias 👍 " * 300
    rate = _rate(lambda t: analyzer.analyse(t), [long_text], seconds=0.5)
    lines.append(f"{'analyse, 10,000-char text':<34}{rate:>10,.0f}")
    return lines


def _thresholded(scores: dict[str, float], t: float) -> Callable[[str], Label]:
    def predict(text: str) -> Label:
        s = scores[text]
        return "pos" if s >= t and s > 0 else "neg" if s <= -t and s < 0 else "neu"

    return predict


def _sweep_rows() -> list[str]:
    analyzer = get_analyzer()
    thresholds = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)
    lines = ["threshold sweep (macro-F1; label = pos if score >= t, neg if <= -t)"]
    lines.append(f"{'set':<14}" + "".join(f"{t:>7.2f}" for t in thresholds))
    for kind in ("regression", "holdout"):
        for language in LANGUAGES:
            examples = load(kind, language)
            scores = {e.text: analyzer.analyse(e.text, language).score for e in examples}
            row = f"{kind + '_' + language:<14}"
            for t in thresholds:
                row += f"{evaluate(examples, _thresholded(scores, t)).macro_f1:>7.3f}"
            lines.append(row)
    assert label_for(0.05) == "pos"  # the shipped threshold is the 0.05 column
    return lines


def _detector_rows() -> list[str]:
    """Pulso's heuristic against the libraries, when they are installed (not dependencies)."""
    every: list[tuple[str, Language]] = [
        (e.text, lang)
        for kind in ("regression", "holdout")
        for lang in LANGUAGES
        for e in load(kind, lang)
    ]
    candidates: list[tuple[str, Callable[[str], str], float]] = []
    candidates.append(("pulso heuristic", lambda t: detect_language(t, "es"), 0.0))
    # Optional, not dependencies: imported by name so that neither needs to be installed.
    if importlib.util.find_spec("py3langid") is not None:
        start = time.perf_counter()
        langid = importlib.import_module("py3langid.langid")
        identifier = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)
        identifier.set_languages(["es", "en"])
        load_s = time.perf_counter() - start
        candidates.append(("py3langid (es/en)", lambda t: str(identifier.classify(t)[0]), load_s))
    if importlib.util.find_spec("lingua") is not None:
        start = time.perf_counter()
        lingua = importlib.import_module("lingua")
        english, spanish = lingua.Language.ENGLISH, lingua.Language.SPANISH
        detector = lingua.LanguageDetectorBuilder.from_languages(english, spanish).build()
        detector.detect_language_of("warm up")
        load_s = time.perf_counter() - start

        def lingua_detect(text: str) -> str:
            return "en" if detector.detect_language_of(text) == english else "es"

        candidates.append(("lingua (es/en)", lingua_detect, load_s))
    lines = [f"{'detector':<20}{'accuracy':>10}{'texts/s':>10}{'load s':>8}"]
    texts = [t for t, _ in every]
    for name, fn, load_s in candidates:
        accuracy = sum(1 for t, lang in every if fn(t) == lang) / len(every)
        lines.append(f"{name:<20}{accuracy:>10.3f}{_rate(fn, texts, 0.5):>10,.0f}{load_s:>8.2f}")
    return lines


def _record() -> str:
    """Write the test split's figures for the shipped analyser beside its model."""
    analyzer = get_analyzer()
    evaluation = evaluate_split(
        load_corpus("test"),
        lambda text, language: analyzer.analyse(text, language).label,
        analyser=analyzer.version,
        split=TEST_SPLIT,
    )
    RECORDED.write_text(evaluation.to_json(), "utf-8")
    return f"recorded in {RECORDED}: " + "; ".join(
        f"{m.language} macro-F1 {m.macro_f1:.3f}, negative recall {m.negative_recall:.3f}"
        for m in evaluation.languages
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sentiment", description=__doc__)
    parser.add_argument("--errors", action="store_true", help="list misclassified answers")
    parser.add_argument("--sweep", action="store_true", help="macro-F1 across thresholds")
    parser.add_argument("--detectors", action="store_true", help="compare language detectors")
    parser.add_argument(
        "--record",
        action="store_true",
        help=f"write the test split's figures to surveys/sentiment/data/{EVALUATION_FILE}",
    )
    args = parser.parse_args(argv)

    start = time.perf_counter()
    analyzer = get_analyzer()
    load_s = time.perf_counter() - start
    print(f"analyser {analyzer.version} (built in {load_s:.2f} s)")
    print("lang-id: share of the set's texts detected as its language, default = the other one")
    print()
    print("\n".join(_corpus_rows()))
    print()
    print("\n".join(_quality_rows(args.errors)))
    print()
    print("\n".join(_speed_rows()))
    if args.sweep:
        print()
        print("\n".join(_sweep_rows()))
    if args.detectors:
        print()
        print("\n".join(_detector_rows()))
    if args.record:
        print()
        print(_record())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
