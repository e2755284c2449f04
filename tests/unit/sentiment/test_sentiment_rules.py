"""Table-driven checks of each Spanish/English rule of the lexicon, through the public API.

The rules (negation, contrast, emoji, civic phrases, topic words) are the lexicon's, and
their compound score is one input of the tone model: these tests read that score
(``SentimentAnalyzer.lexicon_score``) and its label (``label_for``). The model's own label
agrees on most of these cases (``test_model_agrees``); the few where it does not are listed
in ``MODEL_MISSES`` and in docs/sentiment.md.
"""

from __future__ import annotations

import pytest

from surveys.sentiment import Label, Language, SentimentAnalyzer, label_for


def case(language: Language, text: str, label: Label, id: str) -> object:
    return pytest.param(language, text, label, id=id)


NEGATION = [
    case("es", "No me gustó", "neg", "no-me-gusto"),
    case("es", "No estuvo mal", "pos", "no-estuvo-mal"),
    case("es", "No está nada mal", "pos", "concord-no-nada-mal"),
    case("es", "Nada mal el taller", "pos", "nada-mal"),
    case("es", "No hay nada bueno en el registro", "neg", "concord-once"),
    case("es", "No es útil", "neg", "no-util"),
    case("es", "No vi ningún cambio en la colonia", "neg", "concord-with-lack"),
    case("es", "No hubo ningún apoyo", "neg", "concord-no-ningun-topic"),
    case("es", "Nunca hubo apoyo", "neg", "nunca-lack"),
    case("es", "Poco útil la plataforma", "neg", "poco-negates"),
    case("es", "Sin problemas, todo rápido", "pos", "sin-problemas"),
    case("es", "Menos asaltos en la colonia", "pos", "menos-bad"),
    case("es", "No tengo quejas", "pos", "no-quejas"),
    case("es", "Las patrullas nunca pasan", "neg", "nunca-complaint"),
    case("es", "No sé, no he tenido tiempo", "neu", "no-se-neutral"),
    case("es", "Todavía no he entrado a la plataforma", "neu", "no-without-sentiment"),
    case("es", "No, está excelente", "pos", "no-interjection"),
    case("es", "No vino, excelente", "pos", "clause-ends-negation"),
    case("en", "Not there, excellent", "pos", "clause-ends-negation-en"),
    case("en", "I didn't like the course", "neg", "didnt-like"),
    case("en", "Not bad at all", "pos", "not-bad"),
    case("en", "They never listened to us", "neg", "never-phrase"),
    case("en", "The patrols never come", "neg", "never-complaint"),
    case("en", "Less crime than last year", "pos", "less-bad"),
]

CONTRAST = [
    case("es", "El curso estuvo bien, pero la plataforma es pésima", "neg", "pero-neg"),
    case("es", "Tardaron mucho, pero cumplieron", "pos", "pero-pos"),
    case("es", "Es lento pero funciona muy bien", "pos", "pero-no-comma"),
    case("es", "Hubo retrasos; sin embargo, el resultado es excelente", "pos", "sin-embargo"),
    case("en", "The course was fine, but the platform is awful", "neg", "but-neg"),
    case("en", "It took a while, but they delivered everything", "pos", "but-pos"),
]

EMOJI = [
    case("es", "👍", "pos", "thumbs-up"),
    case("es", "👍🏽", "pos", "thumbs-up-skin-tone"),
    case("es", "👎", "neg", "thumbs-down"),
    case("es", "😡", "neg", "angry"),
    case("es", "🙏", "pos", "folded-hands"),
    case("es", "❤️", "pos", "heart-vs16"),
    case("es", "🤷‍♀️", "neu", "shrug-zwj"),
    case("es", "Gracias 🙏", "pos", "gracias"),
    case("es", "Ya llegó la beca 😡", "neg", "emoji-decides"),
    case("en", "thanks :)", "pos", "emoticon-smile"),
    case("en", "again :(", "neg", "emoticon-frown"),
    case("en", "see http://example.org/a", "neu", "url-is-not-emoticon"),
]

CIVIC = [
    case("es", "No sirvió para nada", "neg", "no-sirvio-para-nada"),
    case("es", "Puro anuncio", "neg", "puro-anuncio"),
    case("es", "Nos tomaron en cuenta", "pos", "nos-tomaron-en-cuenta"),
    case("es", "Nunca nos tomaron en cuenta", "neg", "negated-phrase"),
    case("es", "Nos dieron atole con el dedo", "neg", "atole-con-el-dedo"),
    case("es", "Está de poca madre", "pos", "de-poca-madre"),
    case("es", "Está bien padre el parque", "pos", "bien-padre"),
    case("es", "Está bien feo el parque", "neg", "bien-as-very"),
    case("es", "Qué chido", "pos", "que-chido"),
    case("es", "Es un desmadre", "neg", "desmadre"),
    case("es", "Se lavaron las manos", "neg", "se-lavaron-las-manos"),
    case("es", "Todo sigue igual", "neg", "sigue-igual"),
    case("en", "Nothing has changed", "neg", "nothing-changed"),
    case("en", "Just lip service", "neg", "lip-service"),
    case("en", "They took us into account", "pos", "into-account"),
]

TOPIC = [
    case("es", "Recibí el apoyo", "neu", "recibi-el-apoyo"),
    case("es", "El apoyo se entrega en la oficina", "neu", "apoyo-fact"),
    case("es", "Nos quedamos sin apoyo", "neg", "sin-apoyo"),
    case("es", "No hay cupo en la prepa", "neg", "no-hay-cupo"),
    case("es", "Ya hay luminarias en la calle", "pos", "ya-hay"),
    case("es", "Hay más patrullas", "pos", "mas-patrullas"),
    case("es", "Hay tres patrullas asignadas", "neu", "patrullas-fact"),
    case("es", "Soy ama de casa", "neu", "ama-de-casa"),
    case("es", "Me falta el seguro", "neg", "falta-seguro"),
    case("en", "I received the support", "neu", "received-support"),
    case("en", "We were left without support", "neg", "without-support"),
    case("en", "The contract was awarded through a tender", "neu", "awarded-tender"),
    case("en", "ok", "neu", "ok"),
    case("en", "yes", "neu", "yes"),
]


CASES = NEGATION + CONTRAST + EMOJI + CIVIC + TOPIC

#: Rule cases the tone model (tone-7; tone-8 the same; tone-9 one more) labels otherwise.
#: Answers of up to four words whose lexicon score is at least 0.4 from zero follow the
#: lexicon (the short rule); these fall outside it ("no estuvo mal" scores 0.34, "hay más
#: patrullas" 0.32, "No tengo quejas" 0.38, "I didn't like the course" and "Menos asaltos en
#: la colonia" have five words, a URL has no lexicon score) and the n-grams ("no", "mal",
#: "patrullas", "asaltos", "quejas") outweigh the lexicon. Known misses, kept visible
#: (docs/sentiment.md).
MODEL_MISSES = {
    "no-estuvo-mal",
    "concord-no-nada-mal",
    "nada-mal",
    "didnt-like",
    "mas-patrullas",  # tone-7 to tone-9: neg at 0.63-0.66 (tone-6 had it right)
    "menos-bad",  # tone-5 to tone-9: neg ("asaltos"); tone-4 had it right
    "url-is-not-emoticon",  # tone-5 to tone-9: pos, uncertain; tone-4 had it right
    "no-quejas",  # tone-9: neu at 0.50, uncertain (pos up to tone-8)
}


@pytest.mark.parametrize(("language", "text", "expected"), CASES)
def test_label(
    analyzer: SentimentAnalyzer, language: Language, text: str, expected: Label
) -> None:
    score = analyzer.lexicon_score(text, language)
    assert label_for(score) == expected, (score, analyzer.rewrite(text, language))


def test_model_agrees(analyzer: SentimentAnalyzer) -> None:
    """The model's label matches the rule on every case but the listed misses."""
    disagree = set()
    for case in CASES:
        language, text, expected = case.values  # type: ignore[attr-defined]
        if analyzer.analyse(text, language).label != expected:
            disagree.add(case.id)  # type: ignore[attr-defined]
    assert disagree == MODEL_MISSES


@pytest.mark.parametrize(
    ("language", "stronger", "weaker"),
    [
        pytest.param("es", "muy bueno", "bueno", id="muy"),
        pytest.param("es", "súper útil", "útil", id="super"),
        pytest.param("es", "bastante malo", "malo", id="bastante-neg"),
        pytest.param("es", "lento", "un poco lento", id="un-poco-dampens"),
        pytest.param("es", "EXCELENTE servicio", "excelente servicio", id="all-caps"),
        pytest.param("es", "¡Excelente!", "Excelente", id="exclamation"),
        pytest.param("en", "very good", "good", id="very"),
    ],
)
def test_boosters_strengthen(
    analyzer: SentimentAnalyzer, language: Language, stronger: str, weaker: str
) -> None:
    strong = analyzer.lexicon_score(stronger, language)
    weak = analyzer.lexicon_score(weaker, language)
    assert abs(strong) > abs(weak), (strong, weak)
    assert (strong > 0) == (weak > 0)


@pytest.mark.parametrize(
    ("plain", "accented"),
    [
        pytest.param("rapido y util", "rápido y útil", id="rapido"),
        pytest.param("PESIMO", "PÉSIMO", id="caps"),
        pytest.param("no sirvio para nada", "no sirvió para nada", id="phrase"),
        pytest.param("Esta cañon", "Está cañón", id="enye-kept"),
        pytest.param("que padre", "qué padre", id="que"),
    ],
)
def test_accents_are_folded(analyzer: SentimentAnalyzer, plain: str, accented: str) -> None:
    assert analyzer.analyse(plain, "es") == analyzer.analyse(accented, "es")
    assert analyzer.lexicon_score(plain, "es") == analyzer.lexicon_score(accented, "es")
    assert analyzer.lexicon_score(plain, "es") != 0.0


def test_enye_is_not_folded(analyzer: SentimentAnalyzer) -> None:
    """'Peña' is a surname; folding ñ would read it as 'pena' (sorrow)."""
    assert analyzer.analyse("Habló Peña", "es").label == "neu"
    assert analyzer.analyse("Qué pena", "es").label == "neg"


@pytest.mark.parametrize(
    ("text", "default", "expected"),
    [
        pytest.param("No sirvió para nada", "en", "es", id="es"),
        pytest.param("It didn't work at all", "es", "en", id="en"),
        pytest.param("¿Cuándo es la reunión?", "en", "es", id="es-marks"),
        pytest.param("ok", "en", "en", id="ok-keeps-default-en"),
        pytest.param("ok", "es", "es", id="ok-keeps-default-es"),
        pytest.param("👍", "en", "en", id="emoji-keeps-default"),
        pytest.param("", "es", "es", id="empty"),
        pytest.param("The platform is great, gracias", "es", "en", id="mostly-en"),
    ],
)
def test_detect_language(text: str, default: str, expected: str) -> None:
    from surveys.sentiment import detect_language

    assert detect_language(text, default) == expected  # type: ignore[arg-type]


def test_analyse_detects_language(analyzer: SentimentAnalyzer) -> None:
    assert analyzer.analyse("The training was a waste of time").language == "en"
    assert analyzer.analyse("La capacitación fue muy útil").language == "es"
    assert analyzer.analyse("👍", default_language="en").language == "en"
    assert analyzer.analyse("The training was a waste of time").label == "neg"
