"""The language a ticket is written in, from its frequent short words and its letters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from supporter.llm.offline.text import MAX_TEXT_CHARS

# Frequent short words per language, accents folded like the text. A word
# shared by k languages counts 1/k for each.
LANGUAGE_PROFILES: Final[Mapping[str, str]] = {
    "en": "the and is my i to of it for you was have this that with me on can why how what "
    "did your be are do been not am there has get an please when where from will would "
    "just got they but at so if any still help hi hello thanks",
    "es": "el la los las de del que y en un una mi mis por para con no es se me lo al pero "
    "mas esta estoy hola gracias porque como dinero tarjeta cuenta he ha ya muy su sus le "
    "yo pago quiero puedo tengo fue sido dos veces cuando donde hay favor ayuda cobro",
    "fr": "le la les de des du et est un une je j mon ma mes pour pas que qui dans sur avec "
    "vous au aux ce cette il elle ai ete n d l c qu bonjour merci carte compte paiement "
    "argent mais ne plus tres votre vos nous fois deux suis avez a en",
    "de": "der die das und ist ich nicht mein meine meinen meiner ein eine einen zu mit auf "
    "fur von es sie wurde habe bitte hallo danke den dem des auch kann wie warum was wird "
    "bei noch schon aber oder mir mich karte konto zahlung geld ihr ihre sind hat guten tag "
    "an ihrem ihren ihnen jedes jeden jeder wieder nach nur sich seit uns unser weil dass immer",
    "pt": "o a os as de que e do da dos das em um uma meu minha para com nao foi por no na "
    "mas ola obrigado obrigada voce estou cobranca dinheiro cartao conta pagamento fiz "
    "isso esta eu seu sua ja muito quero preciso como porque vezes duas",
    "it": "il lo la gli le di che e un una mio mia miei per con non sono ho del della dei "
    "nel nella ma ciao grazie perche come stato stata mi ti si carta conto pagamento soldi "
    "addebito due volte questo questa buongiorno vorrei anche ancora al alla l dell all nell "
    "voglio ogni piu salve mese",
    "nl": "de het een en ik van is niet mijn op te dat die voor met zijn heb ben er maar ook "
    "graag bedankt hallo waarom geld wordt werd kaart rekening betaling twee keer u uw je "
    "jullie nog wel geen kan hoe wat",
}
# Letters that only some of the languages use, checked on the unfolded text.
LANGUAGE_LETTERS: Final[Mapping[str, tuple[tuple[str, float], ...]]] = {
    "ñ": (("es", 1.5),), "¿": (("es", 1.5),), "¡": (("es", 1.0),),
    "ã": (("pt", 1.5),), "õ": (("pt", 1.5),), "ç": (("pt", 0.5), ("fr", 0.5)),
    "ß": (("de", 1.5),), "ä": (("de", 1.0),), "ö": (("de", 1.0),), "ü": (("de", 1.0),),
    "è": (("fr", 0.5), ("it", 0.5)), "ê": (("fr", 0.5), ("pt", 0.5)),
    "à": (("fr", 0.5), ("it", 0.5)), "ù": (("fr", 0.5), ("it", 0.5)),
    "ì": (("it", 1.0),), "ò": (("it", 1.0),), "œ": (("fr", 1.5),),
}  # fmt: skip
DEFAULT_LANGUAGE: Final = "en"
_MIN_LANGUAGE_EVIDENCE: Final = 1.0


def _language_weights() -> dict[str, tuple[tuple[str, float], ...]]:
    owners: dict[str, list[str]] = {}
    for language, words in LANGUAGE_PROFILES.items():
        for word in set(words.split()):
            owners.setdefault(word, []).append(language)
    return {
        word: tuple((language, 1.0 / len(languages)) for language in languages)
        for word, languages in owners.items()
    }


_LANGUAGE_WEIGHTS: Final = _language_weights()


def detect_language(tokens: Sequence[str], raw_text: str) -> str:
    scores = dict.fromkeys(LANGUAGE_PROFILES, 0.0)
    for token in tokens:
        for language, weight in _LANGUAGE_WEIGHTS.get(token, ()):
            scores[language] += weight
    if not raw_text.isascii():
        lowered = raw_text[:MAX_TEXT_CHARS].lower()
        for letter, votes in LANGUAGE_LETTERS.items():
            if letter in lowered:
                for language, weight in votes:
                    scores[language] += weight
    # Ties go to the earlier language in the profile table, English first.
    best = max(scores, key=lambda language: scores[language])
    if scores[best] < _MIN_LANGUAGE_EVIDENCE:
        return DEFAULT_LANGUAGE
    return best
