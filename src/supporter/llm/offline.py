"""The embedded default provider: deterministic rules, no network, no API key.

`analyze` scores the taxonomy's keywords over the ticket (the subject counts
double), adds what code already knows from the transaction facts, and derives
priority, sentiment, language and a confidence that is low when the cues are
few or point to several categories. `draft_reply` fills a per-language
template with the related transactions only, so every amount, date and
reference in a reply comes from a `Transaction`.

Everything is computed from the request alone: the same request always gets
the same answer, and `version` changes whenever the rules, lexicons,
templates or taxonomy change.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from typing import Final

from supporter.domain.errors import PermanentError
from supporter.domain.masking import mask_card_numbers
from supporter.domain.models import (
    Analysis,
    Priority,
    Reply,
    Sentiment,
    Transaction,
    TransactionFacts,
    TransactionType,
)
from supporter.llm.base import AnalysisRequest, Category, ModelResponse, ReplyRequest

# Bump when the scoring or reply code changes; the tables below and the
# taxonomy are fingerprinted into `version` on their own.
RULES_VERSION: Final = "offline-2"
FALLBACK_CATEGORY: Final = "general_inquiry"
NEEDS_HUMAN_BELOW: Final = 0.5
"""Confidence under which a person should check the classification."""

# Long e-mails mostly repeat quoted history at the end; the first few thousand
# characters carry the request and bound the cost of a pathological ticket.
_MAX_TEXT_CHARS: Final = 4000
_SUBJECT_WEIGHT: Final = 2.0
# The catch-all category's keywords are topics, not intents: discount them so
# "how do I get a refund" is a refund request, not a question.
_FALLBACK_DISCOUNT: Final = 0.5
_FALLBACK_PRIOR: Final = 0.6
_NO_CUE_CONFIDENCE: Final = 0.2
# Words of a phrase may be this many tokens apart ("cancel my yearly subscription").
_MAX_GAP: Final = 2
_MIN_PREFIX: Final = 3
_MAX_CITED: Final = 6
_SUMMARY_MAX: Final = 120
_MEMO_LIMIT: Final = 50_000


# --------------------------------------------------------------------------- text


_TEXT_TOKEN = re.compile(r"[a-z0-9]+")
_KEYWORD_TOKEN = re.compile(r"[a-z0-9]+\*?")
_KEYWORD_BOOST = re.compile(r"\^\s*(\d+(?:\.\d+)?)\s*$")
_SHOUTED_WORD = re.compile(r"\b[A-Z]{4,}\b")
_CARD_LAST4 = re.compile(r"\d{4}")

# English negative contractions become "<verb> not", so "didn't", "didnt" and
# "did not" all match the same keyword.
_NT_STEMS: Final = {
    "don": "do", "didn": "did", "doesn": "does", "isn": "is", "wasn": "was",
    "weren": "were", "aren": "are", "haven": "have", "hasn": "has", "hadn": "had",
    "couldn": "could", "wouldn": "would", "shouldn": "should", "can": "can",
    "won": "will", "ain": "is", "mustn": "must", "needn": "need",
}  # fmt: skip
_GLUED_NT: Final = {stem + "t": verb for stem, verb in _NT_STEMS.items() if stem != "won"}
_GLUED_NT["cannot"] = "can"


def _fold(text: str) -> str:
    """Lower-case ASCII: accents dropped so "reembolsó" and "reembolso" meet."""
    text = text.lower()
    if text.isascii():
        return text
    text = text.replace("ß", "ss").replace("œ", "oe").replace("æ", "ae")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _normalize_tokens(raw: Iterable[str]) -> list[str]:
    tokens: list[str] = []
    for token in raw:
        if token == "t" and tokens and tokens[-1] in _NT_STEMS:
            tokens[-1] = _NT_STEMS[tokens[-1]]
            tokens.append("not")
        elif token in _GLUED_NT:
            tokens.extend((_GLUED_NT[token], "not"))
        else:
            tokens.append(token)
    return tokens


def _tokenize(text: str) -> list[str]:
    return _normalize_tokens(_TEXT_TOKEN.findall(_fold(text[:_MAX_TEXT_CHARS])))


# --------------------------------------------------------------------------- cues


@dataclass(frozen=True, slots=True)
class _Cue:
    """One keyword or phrase: its words as (stem, matches-any-ending) and what it is evidence of."""

    label: int
    words: tuple[tuple[str, bool], ...]
    weight: float
    text: str
    # Whole words after the first: a phrase missing one of them cannot match.
    later_words: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Hit:
    cue: _Cue
    positions: tuple[int, ...]


def _split_boost(keyword: str) -> tuple[str, float]:
    """`refund*^2` -> ("refund*", 2.0); a malformed boost is read as part of the text."""
    match = _KEYWORD_BOOST.search(keyword)
    if match is None:
        return keyword, 1.0
    boost = float(match.group(1))
    if not math.isfinite(boost) or boost <= 0:
        return keyword, 1.0
    return keyword[: match.start()], boost


def _keyword_words(keyword: str) -> tuple[tuple[str, bool], ...]:
    words: list[tuple[str, bool]] = []
    for token in _normalize_tokens(_KEYWORD_TOKEN.findall(_fold(keyword))):
        stem = token.rstrip("*")
        # A very short stem with a wildcard would match nearly everything.
        words.append((stem, token.endswith("*") and len(stem) >= _MIN_PREFIX))
    return tuple(words)


class _CueMatcher:
    """Finds phrases in a token list with dictionary look-ups instead of one regex per cue."""

    def __init__(self, cues: Iterable[_Cue]) -> None:
        self._exact: dict[str, list[_Cue]] = {}
        self._prefix: dict[str, list[_Cue]] = {}
        for cue in cues:
            stem, is_prefix = cue.words[0]
            index = self._prefix if is_prefix else self._exact
            index.setdefault(stem, []).append(cue)
        self._prefix_lengths = sorted({len(stem) for stem in self._prefix})
        # Most tokens ("the", "my", "card") recur in every ticket: remember their cues.
        self._memo: dict[str, tuple[_Cue, ...]] = {}

    def find(self, tokens: Sequence[str]) -> list[_Hit]:
        """All non-overlapping hits; where phrases overlap the longest wins."""
        hits: list[_Hit] = []
        present = frozenset(tokens)
        for start, token in enumerate(tokens):
            for cue in self._candidates(token):
                if len(cue.words) == 1:
                    hits.append(_Hit(cue, (start,)))
                    continue
                if not cue.later_words <= present:
                    continue
                positions = _match_rest(cue, tokens, start)
                if positions is not None:
                    hits.append(_Hit(cue, positions))
        if len(hits) < 2:
            return hits
        hits.sort(key=lambda hit: (-len(hit.positions), -hit.cue.weight, hit.positions[0]))
        used: set[int] = set()
        chosen: list[_Hit] = []
        for hit in hits:
            if used.isdisjoint(hit.positions):
                used.update(hit.positions)
                chosen.append(hit)
        return chosen

    def _candidates(self, token: str) -> tuple[_Cue, ...]:
        found = self._memo.get(token)
        if found is None:
            found = self._look_up(token)
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[token] = found
        return found

    def _look_up(self, token: str) -> tuple[_Cue, ...]:
        found = list(self._exact.get(token, ()))
        for length in self._prefix_lengths:
            if length > len(token):
                break
            found.extend(self._prefix.get(token[:length], ()))
        return tuple(found)


def _match_rest(cue: _Cue, tokens: Sequence[str], start: int) -> tuple[int, ...] | None:
    positions = [start]
    position = start
    for stem, is_prefix in cue.words[1:]:
        limit = position + 2 + _MAX_GAP
        if limit > len(tokens):
            limit = len(tokens)
        for candidate in range(position + 1, limit):
            token = tokens[candidate]
            if token.startswith(stem) if is_prefix else token == stem:
                break
        else:
            return None
        positions.append(candidate)
        position = candidate
    return tuple(positions)


def _phrase_weight(words: int) -> float:
    # A phrase is more specific than any of its words, but not twice as telling.
    return 1.0 + 0.5 * (words - 1)


def _build_cues(lexicon: Sequence[tuple[int, Iterable[str], float]]) -> list[_Cue]:
    """Cues from (label, keywords, factor); a phrase under several labels is split between them."""
    owners: dict[tuple[tuple[str, bool], ...], set[int]] = {}
    entries: list[tuple[int, tuple[tuple[str, bool], ...], float, str]] = []
    for label, keywords, factor in lexicon:
        for keyword in keywords:
            text, boost = _split_boost(keyword)
            words = _keyword_words(text)
            if not words or label in owners.get(words, set()):
                continue
            owners.setdefault(words, set()).add(label)
            entries.append((label, words, factor * boost, text))
    return [
        _Cue(
            label,
            words,
            _phrase_weight(len(words)) * factor / len(owners[words]),
            keyword,
            frozenset(stem for stem, is_prefix in words[1:] if not is_prefix),
        )
        for label, words, factor, keyword in entries
    ]


# --------------------------------------------------------------------------- signals

# Cues that change priority, sentiment or escalation, whatever the category.
_SIGNAL_LEXICON: Final[Mapping[str, tuple[str, ...]]] = {
    "fraud": (
        "fraud*", "scam*", "stolen", "hacked", "compromised", "unauthori*", "not authori*",
        "without my permission", "without my consent", "identity theft", "fraude", "estafa",
        "robad*", "no autorice", "sin mi permiso", "vole*", "pas autoris*", "escroquerie",
        "arnaque", "betrug*", "gestohlen", "gehackt", "nicht autorisiert", "golpe",
        "roubad*", "nao autoriz*", "hackead*", "frode", "truffa", "rubat*",
        "non autorizzat*", "oplichting", "gestolen",
    ),
    "legal": (
        "lawyer*", "attorney*", "solicitor*", "sue", "suing", "lawsuit", "legal action",
        "take you to court", "court", "small claims", "ombudsman", "regulator*",
        "consumer protection", "trading standards", "police", "abogad*", "demandar*",
        "accion legal", "denuncia*", "tribunal*", "policia", "avocat*", "poursuite*",
        "porter plainte", "action en justice", "gendarmerie", "anwalt*", "klage*",
        "verklagen", "gericht*", "rechtliche schritte", "verbraucherzentrale", "polizei",
        "advogad*", "processar", "procon", "acao judicial", "avvocat*",
        "azione legale", "polizia", "advocaat", "rechtszaak", "politie",
    ),
    "chargeback": (
        "chargeback*", "charge back", "dispute with my bank", "dispute through my bank",
        "bank dispute", "dispute the charge", "file a dispute", "contracargo*",
        "retrocargo", "retrofacturation", "opposition bancaire", "ruckbuchung*",
        "lastschrift zuruck*", "contestacao", "contestar a compra", "storno",
        "terugboeking",
    ),
    "urgency": (
        "urgent*", "asap", "immediately", "emergency", "right now", "right away",
        "as soon as possible", "inmediatamente", "cuanto antes", "lo antes posible",
        "urgence", "immediatement", "au plus vite", "dringend*", "sofort*", "notfall",
        "schnellstmoglich", "imediatamente", "o mais rapido", "subito",
        "immediatamente", "spoed*", "meteen",
    ),
    "locked": (
        "locked out", "account locked", "account blocked", "account suspended",
        "account frozen", "can't access my account", "lost access", "cuenta bloqueada",
        "no puedo acceder", "compte bloque", "ne peux pas acceder", "konto gesperrt",
        "kein zugriff", "conta bloqueada", "nao consigo acessar", "conto bloccato",
        "non riesco ad accedere", "account geblokkeerd",
    ),
    "money": (
        "charg*", "payment", "paid", "pay", "card", "transaction", "money", "amount",
        "debit*", "cobr*", "pago", "tarjeta", "dinero", "paiement", "carte", "argent",
        "preleve*", "zahlung", "karte", "geld", "abbuch*", "betrag", "pagamento",
        "cartao", "dinheiro", "carta", "soldi", "addebit*", "betaling", "kaart",
    ),
    "anger": (
        "unacceptable", "ridiculous", "outrage*", "furious", "angry", "disgust*",
        "worst", "pathetic", "useless", "incompetent", "fed up", "sick of", "thieves",
        "robbery", "inaceptable", "vergonzoso", "furios*", "harto", "pesimo",
        "inadmissible", "inacceptable", "scandaleux", "honteux", "en colere",
        "unverschamt*", "frechheit", "skandal*", "wutend", "inaceitavel", "vergonha",
        "pessimo", "inaccettabile", "vergognoso", "vergogna", "schandalig",
        "belachelijk", "onacceptabel",
    ),
    "negative": (
        "frustrat*", "disappoint*", "annoy*", "upset", "unhappy", "terrible",
        "horrible", "awful", "bad", "poor", "worried", "complain*", "waste",
        "never again", "frustrad*", "decepcion*", "molest*", "enfadad*", "enojad*",
        "preocupad*", "decu*", "decevant", "enerve*", "inquiet*", "mecontent*",
        "verargert", "enttausch*", "frustriert", "sauer", "besorgt", "argerlich",
        "schlecht", "chatead*", "decepcionad*", "irritad*", "deluso", "delusa",
        "arrabbiat*", "preoccupat*", "pessimo", "teleurgesteld", "boos",
        "gefrustreerd", "ongerust",
    ),
    "positive": (
        "great", "love", "excellent", "amazing", "happy", "appreciat*", "awesome",
        "perfect", "wonderful", "pleased", "satisfied", "fantastic*", "excelente",
        "genial", "encantad*", "contento", "contenta", "feliz", "parfait", "ravi*",
        "satisfait*", "toll", "prima", "zufrieden", "super", "otimo", "satisfeit*",
        "ottimo", "perfetto", "soddisfatt*", "geweldig", "tevreden", "top",
    ),
    # Politeness rather than feeling: half a positive cue.
    "thanks": (
        "thank*", "thx", "cheers", "gracias", "merci", "danke*", "obrigad*",
        "grazie", "bedankt", "dank je",
    ),
}  # fmt: skip

_NEGATORS: Final = frozenset({
    "not", "no", "never", "nothing", "without", "nicht", "kein", "keine", "keinen", "keiner",
    "nie", "niemals", "pas", "ne", "jamais", "sans", "non", "nao", "nunca", "sem", "senza",
    "ohne", "niet", "geen", "nooit", "ni", "sin", "nem",
})  # fmt: skip
# "I don't want a refund" is not a refund request: a negator plus one of these
# just before a category cue cancels it.
_DESIRE_WORDS: Final = frozenset({
    "want", "need", "asking", "ask", "looking", "request", "requesting", "wish", "expect",
    "quiero", "necesito", "pido", "busco", "solicito", "veux", "voulais", "demande",
    "souhaite", "besoin", "will", "mochte", "moechte", "brauche", "verlange", "quero",
    "preciso", "peco", "voglio", "chiedo", "bisogno", "wil", "hoef",
})  # fmt: skip
_NEGATION_WINDOW: Final = 2
_DESIRE_WINDOW: Final = 4

_SIGNAL_NAMES: Final = tuple(_SIGNAL_LEXICON)
_SIGNAL_MATCHER: Final = _CueMatcher(
    _build_cues([(label, _SIGNAL_LEXICON[name], 1.0) for label, name in enumerate(_SIGNAL_NAMES)])
)


@dataclass(frozen=True, slots=True)
class _Signals:
    found: frozenset[str]
    sentiment: Sentiment
    angry: bool


def _is_negated(tokens: Sequence[str], start: int, window: int) -> bool:
    return any(token in _NEGATORS for token in tokens[max(0, start - window) : start])


def _read_signals(tokens: Sequence[str], raw_text: str) -> _Signals:
    found: set[str] = set()
    positive = negative = 0.0
    for hit in _SIGNAL_MATCHER.find(tokens):
        name = _SIGNAL_NAMES[hit.cue.label]
        negated = _is_negated(tokens, hit.positions[0], _NEGATION_WINDOW)
        if name in ("positive", "thanks"):
            strength = 1.0 if name == "positive" else 0.5
            if negated:  # "not happy" is a complaint
                negative += strength
            else:
                positive += strength
        elif negated:  # "not urgent", "no fraud": the cue is denied
            continue
        elif name in ("negative", "anger"):
            negative += 1.0
            found.add(name)
        else:
            found.add(name)
    # Threatening a lawyer or reporting fraud is not said in a good mood, even
    # without an emotional word.
    negative += 1.0 if "legal" in found else 0.5 if "fraud" in found else 0.0
    shouting = len(_SHOUTED_WORD.findall(raw_text[:_MAX_TEXT_CHARS])) >= 2
    if negative and (shouting or "!!" in raw_text):
        negative += 0.5
    angry = "anger" in found or (negative >= 1.5 and shouting)
    return _Signals(frozenset(found), _sentiment(positive, negative), angry)


def _sentiment(positive: float, negative: float) -> Sentiment:
    if negative >= 1.0 and negative >= positive:
        return Sentiment.NEGATIVE
    if positive >= 1.0 and positive > negative:
        return Sentiment.POSITIVE
    return Sentiment.NEUTRAL


# --------------------------------------------------------------------------- language

# Frequent short words per language, accents folded like the text. A word
# shared by k languages counts 1/k for each.
_LANGUAGE_PROFILES: Final[Mapping[str, str]] = {
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
    "bei noch schon aber oder mir mich karte konto zahlung geld ihr ihre sind hat guten tag",
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
_LANGUAGE_LETTERS: Final[Mapping[str, tuple[tuple[str, float], ...]]] = {
    "ñ": (("es", 1.5),), "¿": (("es", 1.5),), "¡": (("es", 1.0),),
    "ã": (("pt", 1.5),), "õ": (("pt", 1.5),), "ç": (("pt", 0.5), ("fr", 0.5)),
    "ß": (("de", 1.5),), "ä": (("de", 1.0),), "ö": (("de", 1.0),), "ü": (("de", 1.0),),
    "è": (("fr", 0.5), ("it", 0.5)), "ê": (("fr", 0.5), ("pt", 0.5)),
    "à": (("fr", 0.5), ("it", 0.5)), "ù": (("fr", 0.5), ("it", 0.5)),
    "ì": (("it", 1.0),), "ò": (("it", 1.0),), "œ": (("fr", 1.5),),
}  # fmt: skip
_DEFAULT_LANGUAGE: Final = "en"
_MIN_LANGUAGE_EVIDENCE: Final = 1.0


def _language_weights() -> dict[str, tuple[tuple[str, float], ...]]:
    owners: dict[str, list[str]] = {}
    for language, words in _LANGUAGE_PROFILES.items():
        for word in set(words.split()):
            owners.setdefault(word, []).append(language)
    return {
        word: tuple((language, 1.0 / len(languages)) for language in languages)
        for word, languages in owners.items()
    }


_LANGUAGE_WEIGHTS: Final = _language_weights()


def _detect_language(tokens: Sequence[str], raw_text: str) -> str:
    scores = dict.fromkeys(_LANGUAGE_PROFILES, 0.0)
    for token in tokens:
        for language, weight in _LANGUAGE_WEIGHTS.get(token, ()):
            scores[language] += weight
    if not raw_text.isascii():
        lowered = raw_text[:_MAX_TEXT_CHARS].lower()
        for letter, votes in _LANGUAGE_LETTERS.items():
            if letter in lowered:
                for language, weight in votes:
                    scores[language] += weight
    # Ties go to the earlier language in the profile table, English first.
    best = max(scores, key=lambda language: scores[language])
    if scores[best] < _MIN_LANGUAGE_EVIDENCE:
        return _DEFAULT_LANGUAGE
    return best


# --------------------------------------------------------------------------- taxonomy


@dataclass(frozen=True, slots=True)
class _CompiledTaxonomy:
    names: tuple[str, ...]
    matcher: _CueMatcher
    fallback: int


def _taxonomy_key(taxonomy: Sequence[Category]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((category.name, tuple(category.keywords)) for category in taxonomy)


def _compile_taxonomy(taxonomy: Sequence[Category]) -> _CompiledTaxonomy:
    names = tuple(category.name for category in taxonomy)
    fallback = names.index(FALLBACK_CATEGORY) if FALLBACK_CATEGORY in names else len(names) - 1
    lexicon = [
        (index, category.keywords, _FALLBACK_DISCOUNT if index == fallback else 1.0)
        for index, category in enumerate(taxonomy)
    ]
    return _CompiledTaxonomy(names, _CueMatcher(_build_cues(lexicon)), fallback)


# Facts that code established support a category even when the words are vague;
# they never create evidence on their own for a message that is not about money.
_FACT_SUPPORT: Final[tuple[tuple[str, str, float], ...]] = (
    ("duplicate_charge_ids", "duplicate_charge", 1.5),
    ("failed_ids", "payment_failed", 1.0),
    ("chargeback_ids", "unrecognized_charge", 0.5),
    ("refund_ids", "refund_request", 0.5),
    ("pending_ids", "billing_question", 0.5),
)


def _score_categories(
    compiled: _CompiledTaxonomy,
    subject: Sequence[str],
    body: Sequence[str],
    facts: TransactionFacts,
    about_money: bool,
) -> list[float]:
    scores = [0.0] * len(compiled.names)
    for tokens, factor in ((subject, _SUBJECT_WEIGHT), (body, 1.0)):
        counted: set[str] = set()
        for hit in compiled.matcher.find(tokens):
            # A repeated keyword is emphasis, not new evidence.
            if hit.cue.text in counted or _is_unwanted(tokens, hit.positions[0]):
                continue
            counted.add(hit.cue.text)
            scores[hit.cue.label] += hit.cue.weight * factor
    # The catch-all starts a little ahead, so one weak cue ("app") is not enough
    # to leave it.
    scores[compiled.fallback] = max(scores[compiled.fallback], _FALLBACK_PRIOR)
    for field, name, support in _FACT_SUPPORT:
        if name in compiled.names and getattr(facts, field):
            index = compiled.names.index(name)
            if scores[index] > 0 or about_money:
                scores[index] += support
    return scores


def _is_unwanted(tokens: Sequence[str], start: int) -> bool:
    window = tokens[max(0, start - _DESIRE_WINDOW) : start]
    return any(token in _NEGATORS for token in window) and any(
        token in _DESIRE_WORDS for token in window
    )


def _pick_category(compiled: _CompiledTaxonomy, scores: Sequence[float]) -> tuple[int, float]:
    """The best category and an honest confidence from how clearly it beat the rest."""
    ranked = sorted(range(len(scores)), key=lambda index: (-scores[index], index))
    top = scores[ranked[0]]
    if top <= _FALLBACK_PRIOR and ranked[0] == compiled.fallback:
        return compiled.fallback, _NO_CUE_CONFIDENCE
    second = scores[ranked[1]] if len(ranked) > 1 else 0.0
    # Evidence saturates: one strong cue (about 2.5) is already most of what
    # more cues can add. The margin says whether another category was close.
    evidence = 1.0 - math.exp(-top / 1.5)
    margin = (top - second) / top
    confidence = 0.15 + 0.8 * evidence * (0.3 + 0.7 * margin)
    # Rules are never certain; on Banking77 even the top band is wrong about 1 in 20.
    return ranked[0], round(min(confidence, 0.95), 2)


# --------------------------------------------------------------------------- priority

_BASE_PRIORITY: Final[Mapping[str, Priority]] = {
    "billing_question": Priority.LOW,
    "general_inquiry": Priority.LOW,
    "subscription_cancellation": Priority.LOW,
    "refund_request": Priority.MEDIUM,
    "duplicate_charge": Priority.MEDIUM,
    "payment_failed": Priority.MEDIUM,
    "account_access": Priority.MEDIUM,
    "technical_issue": Priority.MEDIUM,
    "unrecognized_charge": Priority.HIGH,
}
_PRIORITY_ORDER: Final = (Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.URGENT)
# Amounts from which a ticket is worth a faster look; most currencies use the
# default, those with small units need a bigger number for the same money.
_LARGE_AMOUNT_DEFAULT: Final = Decimal(1000)
_LARGE_AMOUNT: Final[Mapping[str, Decimal]] = {
    "JPY": Decimal(150_000), "KRW": Decimal(1_300_000), "INR": Decimal(80_000),
    "HUF": Decimal(350_000), "IDR": Decimal(15_000_000), "VND": Decimal(25_000_000),
    "CLP": Decimal(900_000), "COP": Decimal(4_000_000), "ISK": Decimal(130_000),
    "RUB": Decimal(90_000), "TRY": Decimal(30_000), "MXN": Decimal(17_000),
    "BRL": Decimal(5_000), "ZAR": Decimal(18_000), "PHP": Decimal(55_000),
    "THB": Decimal(35_000), "CZK": Decimal(23_000), "SEK": Decimal(10_000),
    "NOK": Decimal(10_000), "DKK": Decimal(7_000), "PLN": Decimal(4_000),
}  # fmt: skip


def _has_large_amount(related: Sequence[Transaction], facts: TransactionFacts) -> bool:
    if any(abs(amount) >= _LARGE_AMOUNT_DEFAULT for amount in facts.mentioned_amounts):
        return True
    return any(
        abs(tx.amount) >= _LARGE_AMOUNT.get(tx.currency.upper(), _LARGE_AMOUNT_DEFAULT)
        for tx in related
    )


def _priority(
    category: str, signals: _Signals, facts: TransactionFacts, large_amount: bool
) -> Priority:
    found = signals.found
    if (
        "legal" in found
        or "chargeback" in found
        or facts.chargeback_ids
        or ("fraud" in found and ("urgency" in found or signals.angry))
        or ("locked" in found and "urgency" in found)
    ):
        return Priority.URGENT
    level = _PRIORITY_ORDER.index(_BASE_PRIORITY.get(category, Priority.MEDIUM))
    if signals.sentiment is Sentiment.NEGATIVE:
        level = max(level, 1)
    if found & {"fraud", "locked", "urgency"} or large_amount or signals.angry:
        level = max(level, 2)
    return _PRIORITY_ORDER[level]


def _needs_human(
    confidence: float, priority: Priority, signals: _Signals, facts: TransactionFacts
) -> bool:
    return (
        confidence < NEEDS_HUMAN_BELOW
        or priority is Priority.URGENT
        or bool(signals.found & {"fraud", "legal", "chargeback"})
        or bool(facts.chargeback_ids)
    )


# --------------------------------------------------------------------------- summary

_LABELS: Final[Mapping[str, str]] = {
    "billing_question": "Billing question",
    "refund_request": "Refund request",
    "duplicate_charge": "Duplicate charge",
    "payment_failed": "Failed payment",
    "unrecognized_charge": "Unrecognized charge",
    "subscription_cancellation": "Cancellation request",
    "account_access": "Account access",
    "technical_issue": "Technical issue",
    "general_inquiry": "General inquiry",
}
_FLAG_TEXT: Final = (
    ("legal", "legal threat"),
    ("chargeback", "chargeback"),
    ("fraud", "possible fraud"),
    ("locked", "locked out"),
    ("urgency", "marked urgent"),
)


def _label(category: str) -> str:
    return _LABELS.get(category) or category.replace("_", " ").strip().capitalize()


def _money(tx: Transaction) -> str:
    return f"{tx.amount} {tx.currency}"


def _day(tx: Transaction) -> str:
    """The UTC day (naive times are UTC): how sources write it and the grounding check reads it."""
    moment = tx.created_at
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date().isoformat()


def _summary(
    category: str,
    language: str,
    signals: _Signals,
    related: Sequence[Transaction],
    facts: TransactionFacts,
) -> str:
    parts = [_transactions_gist(related, facts)]
    parts += [text for flag, text in _FLAG_TEXT if flag in signals.found]
    if facts.chargeback_ids and "chargeback" not in signals.found:
        parts.append("chargeback")
    if signals.angry:
        parts.append("customer angry")
    elif signals.sentiment is Sentiment.NEGATIVE:
        parts.append("customer upset")
    text = f"{_label(category)}: {'; '.join(parts)}"
    if language != _DEFAULT_LANGUAGE:
        text += f" ({language})"
    return _shorten(mask_card_numbers(text), _SUMMARY_MAX)


def _transactions_gist(related: Sequence[Transaction], facts: TransactionFacts) -> str:
    if not related:
        return "no matching transaction found"
    duplicates = [tx for tx in related if tx.transaction_id in facts.duplicate_charge_ids]
    if len(duplicates) > 1:
        first = duplicates[0]
        return f"{len(duplicates)}x {_money(first)} from {_day(first)}"
    first = related[0]
    gist = f"{_money(first)} on {_day(first)} ({first.type.value}, {first.status})"
    if len(related) > 1:
        gist += f" +{len(related) - 1} more"
    return gist


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ;,:")
    return cut + "…"


# --------------------------------------------------------------------------- replies


@dataclass(frozen=True, slots=True)
class _Phrasebook:
    """Everything a reply says, in one language. No template holds a digit of its own."""

    greeting: str
    openings: Mapping[str, str]
    opening_other: str
    found_one: str
    found_many: str
    line: str
    card: str
    kinds: Mapping[TransactionType, str]
    statuses: Mapping[str, str]
    and_word: str
    nothing_found: str
    duplicates: str
    no_duplicates: str
    failed: str
    pending: str
    refund_issued: str
    chargeback: str
    next_steps: Mapping[str, str]
    next_steps_other: str
    closing: str


# Raw statuses from payment systems, grouped under the words a customer reads.
_STATUS_GROUPS: Final[Mapping[str, str]] = {
    "succeeded": "completed", "success": "completed", "successful": "completed",
    "completed": "completed", "complete": "completed", "paid": "completed",
    "settled": "completed", "captured": "completed", "posted": "completed",
    "pending": "pending", "processing": "pending", "authorized": "pending",
    "authorised": "pending", "in_progress": "pending",
    "failed": "failed", "failure": "failed", "error": "failed",
    "declined": "declined", "rejected": "declined",
    "refunded": "refunded", "partially_refunded": "refunded",
    "canceled": "cancelled", "cancelled": "cancelled", "voided": "cancelled",
    "reversed": "cancelled", "disputed": "disputed",
}  # fmt: skip
_UNDONE_STATUSES: Final = frozenset({"failed", "declined", "cancelled"})
# Categories about a specific payment: without a matching transaction the reply asks for one.
_MONEY_CATEGORIES: Final = frozenset(
    {
        "billing_question",
        "refund_request",
        "duplicate_charge",
        "payment_failed",
        "unrecognized_charge",
    }
)

_ENGLISH = _Phrasebook(
    greeting="Hello,",
    openings={
        "billing_question": "Thank you for your question about your charges.",
        "refund_request": "Thank you for getting in touch about a refund.",
        "duplicate_charge": "Thank you for letting us know about a possible duplicate charge.",
        "payment_failed": "Thank you for letting us know that your payment did not go through.",
        "unrecognized_charge": "Thank you for telling us about a charge you do not recognise.",
        "subscription_cancellation": "Thank you for letting us know that you would like to cancel.",
        "account_access": "Thank you for contacting us about access to your account.",
        "technical_issue": "Thank you for reporting this problem, and sorry for the trouble.",
        "general_inquiry": "Thank you for your message.",
    },
    opening_other="Thank you for your message.",
    found_one="This is the transaction we found on your account:",
    found_many="These are the transactions we found on your account:",
    line="- {amount} on {date}, {kind}, {status}{card} (reference {id})",
    card=", card ending {last4}",
    kinds={
        TransactionType.CHARGE: "payment",
        TransactionType.REFUND: "refund",
        TransactionType.CHARGEBACK: "chargeback",
        TransactionType.PAYOUT: "payout",
    },
    statuses={
        "completed": "completed",
        "pending": "pending",
        "failed": "failed",
        "declined": "declined",
        "refunded": "refunded",
        "cancelled": "cancelled",
        "disputed": "disputed",
    },
    and_word="and",
    nothing_found="We could not link your message to a specific transaction yet. If it is "
    "about a payment, please reply with its date and amount (never your full card number).",
    duplicates="The charges {refs} have the same amount and look like a possible duplicate.",
    no_duplicates="We cannot see the same charge twice among your recent transactions yet; "
    "if you can, please reply with the dates of both charges.",
    failed="The payment {refs} shows as failed.",
    pending="The payment {refs} is still pending; a pending payment is either completed or "
    "released by the bank, which can take a few days.",
    refund_issued="A refund of {amount} was already issued on {date} (reference {id}). "
    "Depending on your bank, it can take a few business days to appear on your statement.",
    chargeback="We can see that a chargeback has been opened for {refs}; our team will "
    "follow it up with your bank.",
    next_steps={
        "billing_question": "If anything does not look right, reply with the details and our "
        "team will look into it.",
        "refund_request": "Our team will review your request and get back to you as soon as "
        "possible.",
        "duplicate_charge": "Our team will review these charges and get back to you as soon as "
        "possible.",
        "payment_failed": "Payments are most often declined by the card issuer, for example "
        "because of insufficient funds, an expired card or a security check. Please check "
        "with your bank or try another payment method; if it keeps failing, reply and our "
        "team will look into it.",
        "unrecognized_charge": "Our team will look into this carefully and get back to you. If "
        "you think someone else has used your card, please also contact your bank to block "
        "it.",
        "subscription_cancellation": "We have passed your request to our team, who will take "
        "care of it and confirm it to you by email.",
        "account_access": "For your security, please never send us your password or your full "
        "card number. You can reset your password with the 'Forgot password' link on the "
        "sign-in page; if that does not work, reply and our team will help you get back into "
        "your account.",
        "technical_issue": "Could you tell us which device and app or browser you are using, "
        "what you were doing when it happened and any error message you saw? Our team will "
        "look into it.",
        "general_inquiry": "A member of our team will look into your question and get back to you.",
    },
    next_steps_other="A member of our team will look into it and get back to you.",
    closing="Kind regards,\nCustomer Support",
)

_SPANISH = _Phrasebook(
    greeting="Hola:",
    openings={
        "billing_question": "Gracias por su consulta sobre sus cargos.",
        "refund_request": "Gracias por escribirnos sobre un reembolso.",
        "duplicate_charge": "Gracias por avisarnos de un posible cargo duplicado.",
        "payment_failed": "Gracias por avisarnos de que su pago no se ha completado.",
        "unrecognized_charge": "Gracias por informarnos de un cargo que no reconoce.",
        "subscription_cancellation": "Gracias por comunicarnos que desea cancelar.",
        "account_access": "Gracias por contactarnos sobre el acceso a su cuenta.",
        "technical_issue": "Gracias por informarnos de este problema y disculpe las molestias.",
        "general_inquiry": "Gracias por su mensaje.",
    },
    opening_other="Gracias por su mensaje.",
    found_one="Esta es la transacción que encontramos en su cuenta:",
    found_many="Estas son las transacciones que encontramos en su cuenta:",
    line="- {amount} el {date}, {kind}, {status}{card} (referencia {id})",
    card=", tarjeta terminada en {last4}",
    kinds={
        TransactionType.CHARGE: "pago",
        TransactionType.REFUND: "reembolso",
        TransactionType.CHARGEBACK: "contracargo",
        TransactionType.PAYOUT: "abono",
    },
    statuses={
        "completed": "completado",
        "pending": "pendiente",
        "failed": "fallido",
        "declined": "rechazado",
        "refunded": "reembolsado",
        "cancelled": "cancelado",
        "disputed": "en disputa",
    },
    and_word="y",
    nothing_found="Todavía no hemos podido asociar su mensaje a una transacción concreta. Si "
    "se trata de un pago, responda indicando su fecha e importe (nunca el número completo de "
    "su tarjeta).",
    duplicates="Los cargos {refs} tienen el mismo importe y parecen un posible duplicado.",
    no_duplicates="Todavía no vemos el mismo cargo dos veces entre sus transacciones "
    "recientes; si puede, responda con las fechas de ambos cargos.",
    failed="El pago {refs} figura como fallido.",
    pending="El pago {refs} sigue pendiente; un pago pendiente se completa o el banco lo "
    "libera, lo que puede tardar unos días.",
    refund_issued="Ya se emitió un reembolso de {amount} el {date} (referencia {id}). Según "
    "su banco, puede tardar unos días hábiles en aparecer en su extracto.",
    chargeback="Vemos que se ha abierto un contracargo para {refs}; nuestro equipo le dará "
    "seguimiento con su banco.",
    next_steps={
        "billing_question": "Si algo no le parece correcto, responda con los detalles y nuestro "
        "equipo lo revisará.",
        "refund_request": "Nuestro equipo revisará su solicitud y le responderá lo antes posible.",
        "duplicate_charge": "Nuestro equipo revisará estos cargos y le responderá lo antes "
        "posible.",
        "payment_failed": "Lo más habitual es que el emisor de la tarjeta rechace el pago, por "
        "ejemplo por fondos insuficientes, una tarjeta caducada o un control de seguridad. "
        "Consulte con su banco o pruebe otro método de pago; si sigue fallando, responda y "
        "nuestro equipo lo revisará.",
        "unrecognized_charge": "Nuestro equipo lo revisará con atención y le responderá. Si "
        "cree que otra persona ha usado su tarjeta, contacte también con su banco para "
        "bloquearla.",
        "subscription_cancellation": "Hemos trasladado su solicitud a nuestro equipo, que se "
        "encargará de ella y se la confirmará por correo electrónico.",
        "account_access": "Por su seguridad, nunca nos envíe su contraseña ni el número "
        "completo de su tarjeta. Puede restablecer la contraseña con el enlace «¿Olvidó su "
        "contraseña?» de la página de inicio de sesión; si no funciona, responda y nuestro "
        "equipo le ayudará a recuperar el acceso.",
        "technical_issue": "¿Podría indicarnos qué dispositivo y qué aplicación o navegador "
        "utiliza, qué estaba haciendo cuando ocurrió y el mensaje de error que vio? Nuestro "
        "equipo lo revisará.",
        "general_inquiry": "Un miembro de nuestro equipo revisará su consulta y le responderá.",
    },
    next_steps_other="Un miembro de nuestro equipo lo revisará y le responderá.",
    closing="Un saludo,\nAtención al cliente",
)

_FRENCH = _Phrasebook(
    greeting="Bonjour,",
    openings={
        "billing_question": "Merci pour votre question concernant vos frais et paiements.",
        "refund_request": "Merci de nous avoir contactés au sujet d'un remboursement.",
        "duplicate_charge": "Merci de nous avoir signalé un possible double prélèvement.",
        "payment_failed": "Merci de nous avoir signalé que votre paiement n'a pas abouti.",
        "unrecognized_charge": "Merci de nous avoir signalé une opération que vous ne "
        "reconnaissez pas.",
        "subscription_cancellation": "Merci de nous avoir indiqué que vous souhaitez résilier.",
        "account_access": "Merci de nous avoir contactés au sujet de l'accès à votre compte.",
        "technical_issue": "Merci de nous avoir signalé ce problème, et désolés pour la gêne "
        "occasionnée.",
        "general_inquiry": "Merci pour votre message.",
    },
    opening_other="Merci pour votre message.",
    found_one="Voici l'opération que nous avons trouvée sur votre compte :",
    found_many="Voici les opérations que nous avons trouvées sur votre compte :",
    line="- {amount} le {date}, {kind}, {status}{card} (référence {id})",
    card=", carte se terminant par {last4}",
    kinds={
        TransactionType.CHARGE: "paiement",
        TransactionType.REFUND: "remboursement",
        TransactionType.CHARGEBACK: "rétrofacturation",
        TransactionType.PAYOUT: "versement",
    },
    statuses={
        "completed": "effectué",
        "pending": "en attente",
        "failed": "échoué",
        "declined": "refusé",
        "refunded": "remboursé",
        "cancelled": "annulé",
        "disputed": "contesté",
    },
    and_word="et",
    nothing_found="Nous n'avons pas encore pu relier votre message à une opération précise. "
    "S'il s'agit d'un paiement, répondez-nous en indiquant sa date et son montant (jamais le "
    "numéro complet de votre carte).",
    duplicates="Les prélèvements {refs} ont le même montant et semblent être un doublon.",
    no_duplicates="Nous ne voyons pas encore le même prélèvement deux fois parmi vos "
    "opérations récentes ; si possible, répondez-nous avec les dates des deux prélèvements.",
    failed="Le paiement {refs} apparaît comme échoué.",
    pending="Le paiement {refs} est toujours en attente ; un paiement en attente est soit "
    "finalisé, soit libéré par la banque, ce qui peut prendre quelques jours.",
    refund_issued="Un remboursement de {amount} a déjà été émis le {date} (référence {id}). "
    "Selon votre banque, il peut falloir quelques jours ouvrés pour qu'il apparaisse sur "
    "votre relevé.",
    chargeback="Nous voyons qu'une rétrofacturation a été ouverte pour {refs} ; notre équipe "
    "en assure le suivi avec votre banque.",
    next_steps={
        "billing_question": "Si quelque chose ne vous semble pas correct, répondez-nous avec "
        "les détails et notre équipe l'examinera.",
        "refund_request": "Notre équipe va examiner votre demande et reviendra vers vous dès "
        "que possible.",
        "duplicate_charge": "Notre équipe va examiner ces prélèvements et reviendra vers vous "
        "dès que possible.",
        "payment_failed": "Le plus souvent, c'est la banque émettrice de la carte qui refuse "
        "le paiement, par exemple pour provision insuffisante, carte expirée ou contrôle de "
        "sécurité. Vérifiez auprès de votre banque ou essayez un autre moyen de paiement ; si "
        "l'échec persiste, répondez-nous et notre équipe l'examinera.",
        "unrecognized_charge": "Notre équipe va examiner cela attentivement et reviendra vers "
        "vous. Si vous pensez qu'une autre personne a utilisé votre carte, contactez aussi "
        "votre banque pour faire opposition.",
        "subscription_cancellation": "Nous avons transmis votre demande à notre équipe, qui "
        "s'en occupera et vous la confirmera par e-mail.",
        "account_access": "Pour votre sécurité, ne nous envoyez jamais votre mot de passe ni "
        "le numéro complet de votre carte. Vous pouvez réinitialiser votre mot de passe avec "
        "le lien « Mot de passe oublié » de la page de connexion ; si cela ne fonctionne pas, "
        "répondez-nous et notre équipe vous aidera à retrouver l'accès.",
        "technical_issue": "Pourriez-vous nous indiquer l'appareil et l'application ou le "
        "navigateur utilisés, ce que vous faisiez au moment du problème et le message "
        "d'erreur affiché ? Notre équipe va l'examiner.",
        "general_inquiry": "Un membre de notre équipe va examiner votre question et reviendra "
        "vers vous.",
    },
    next_steps_other="Un membre de notre équipe va examiner votre message et reviendra vers vous.",
    closing="Cordialement,\nLe service client",
)

_GERMAN = _Phrasebook(
    greeting="Guten Tag,",
    # German letters continue in lower case after the salutation's comma.
    openings={
        "billing_question": "vielen Dank für Ihre Frage zu Ihren Gebühren und Zahlungen.",
        "refund_request": "vielen Dank für Ihre Nachricht zu einer Rückerstattung.",
        "duplicate_charge": "vielen Dank für Ihren Hinweis auf eine mögliche doppelte Abbuchung.",
        "payment_failed": "vielen Dank für Ihren Hinweis, dass Ihre Zahlung nicht "
        "durchgegangen ist.",
        "unrecognized_charge": "vielen Dank für Ihren Hinweis auf eine Abbuchung, die Sie "
        "nicht kennen.",
        "subscription_cancellation": "vielen Dank für Ihre Nachricht, dass Sie kündigen möchten.",
        "account_access": "vielen Dank für Ihre Nachricht zum Zugang zu Ihrem Konto.",
        "technical_issue": "vielen Dank, dass Sie uns dieses Problem melden, und entschuldigen "
        "Sie die Unannehmlichkeiten.",
        "general_inquiry": "vielen Dank für Ihre Nachricht.",
    },
    opening_other="vielen Dank für Ihre Nachricht.",
    found_one="Diese Transaktion haben wir in Ihrem Konto gefunden:",
    found_many="Diese Transaktionen haben wir in Ihrem Konto gefunden:",
    line="- {amount} am {date}, {kind}, {status}{card} (Referenz {id})",
    card=", Karte mit den Endziffern {last4}",
    kinds={
        TransactionType.CHARGE: "Zahlung",
        TransactionType.REFUND: "Rückerstattung",
        TransactionType.CHARGEBACK: "Rückbuchung",
        TransactionType.PAYOUT: "Auszahlung",
    },
    statuses={
        "completed": "abgeschlossen",
        "pending": "ausstehend",
        "failed": "fehlgeschlagen",
        "declined": "abgelehnt",
        "refunded": "erstattet",
        "cancelled": "storniert",
        "disputed": "angefochten",
    },
    and_word="und",
    nothing_found="Wir konnten Ihre Nachricht noch keiner bestimmten Transaktion zuordnen. "
    "Falls es um eine Zahlung geht, antworten Sie bitte mit Datum und Betrag (niemals mit "
    "Ihrer vollständigen Kartennummer).",
    duplicates="Die Abbuchungen {refs} haben denselben Betrag und sehen nach einer möglichen "
    "doppelten Abbuchung aus.",
    no_duplicates="Unter Ihren letzten Transaktionen sehen wir dieselbe Abbuchung noch nicht "
    "doppelt; wenn möglich, antworten Sie bitte mit den Daten beider Abbuchungen.",
    failed="Die Zahlung {refs} wird als fehlgeschlagen angezeigt.",
    pending="Die Zahlung {refs} ist noch ausstehend; eine ausstehende Zahlung wird entweder "
    "abgeschlossen oder von der Bank freigegeben, was einige Tage dauern kann.",
    refund_issued="Eine Rückerstattung über {amount} wurde bereits am {date} veranlasst "
    "(Referenz {id}). Je nach Bank kann es einige Werktage dauern, bis sie auf Ihrem "
    "Kontoauszug erscheint.",
    chargeback="Wir sehen, dass für {refs} eine Rückbuchung eröffnet wurde; unser Team "
    "kümmert sich darum mit Ihrer Bank.",
    next_steps={
        "billing_question": "Falls Ihnen etwas nicht korrekt erscheint, antworten Sie bitte "
        "mit den Details, und unser Team prüft es.",
        "refund_request": "Unser Team prüft Ihre Anfrage und meldet sich so bald wie möglich "
        "bei Ihnen.",
        "duplicate_charge": "Unser Team prüft diese Abbuchungen und meldet sich so bald wie "
        "möglich bei Ihnen.",
        "payment_failed": "Meist lehnt die kartenausgebende Bank die Zahlung ab, zum Beispiel "
        "wegen fehlender Deckung, einer abgelaufenen Karte oder einer Sicherheitsprüfung. "
        "Bitte wenden Sie sich an Ihre Bank oder nutzen Sie eine andere Zahlungsart; wenn es "
        "weiterhin fehlschlägt, antworten Sie bitte, und unser Team prüft es.",
        "unrecognized_charge": "Unser Team prüft das sorgfältig und meldet sich bei Ihnen. "
        "Wenn Sie glauben, dass jemand anderes Ihre Karte benutzt hat, wenden Sie sich bitte "
        "auch an Ihre Bank, um sie sperren zu lassen.",
        "subscription_cancellation": "Wir haben Ihre Anfrage an unser Team weitergegeben, das "
        "sich darum kümmert und es Ihnen per E-Mail bestätigt.",
        "account_access": "Zu Ihrer Sicherheit senden Sie uns bitte niemals Ihr Passwort oder "
        "Ihre vollständige Kartennummer. Sie können Ihr Passwort über den Link „Passwort "
        "vergessen“ auf der Anmeldeseite zurücksetzen; falls das nicht funktioniert, antworten "
        "Sie bitte, und unser Team hilft Ihnen, wieder Zugang zu erhalten.",
        "technical_issue": "Könnten Sie uns mitteilen, welches Gerät und welche App oder "
        "welchen Browser Sie nutzen, was Sie gerade getan haben und welche Fehlermeldung "
        "angezeigt wurde? Unser Team kümmert sich darum.",
        "general_inquiry": "Ein Mitglied unseres Teams prüft Ihre Frage und meldet sich bei Ihnen.",
    },
    next_steps_other="Ein Mitglied unseres Teams prüft Ihr Anliegen und meldet sich bei Ihnen.",
    closing="Mit freundlichen Grüßen\nIhr Kundenservice",
)

_PHRASEBOOKS: Final[Mapping[str, _Phrasebook]] = {
    "en": _ENGLISH,
    "es": _SPANISH,
    "fr": _FRENCH,
    "de": _GERMAN,
}


def _related_transactions(
    transactions: Sequence[Transaction], facts: TransactionFacts
) -> list[Transaction]:
    """The facts' related transactions, in the facts' order, that really exist."""
    by_id = {tx.transaction_id: tx for tx in transactions}
    return [
        by_id[tx_id] for tx_id in dict.fromkeys(facts.related_transaction_ids) if tx_id in by_id
    ]


def _issued_refunds(
    transactions: Sequence[Transaction], facts: TransactionFacts
) -> list[Transaction]:
    """Refund transactions the facts name that did not fail: only these may be called
    issued. A charge whose status is `refunded` is listed as a charge (with that status):
    its date is the charge's, not the refund's."""
    refund_ids = set(facts.refund_ids)
    return [
        tx
        for tx in transactions
        if tx.transaction_id in refund_ids
        and tx.type is TransactionType.REFUND
        and _STATUS_GROUPS.get(tx.status.strip().lower()) not in _UNDONE_STATUSES
    ]


def _join_refs(ids: Sequence[str], and_word: str) -> str:
    if len(ids) == 1:
        return ids[0]
    return f"{', '.join(ids[:-1])} {and_word} {ids[-1]}"


def _transaction_line(book: _Phrasebook, tx: Transaction) -> str:
    status_group = _STATUS_GROUPS.get(tx.status.strip().lower())
    status = book.statuses[status_group] if status_group else tx.status
    last4 = tx.card_last4 or ""
    card = book.card.format(last4=last4) if _CARD_LAST4.fullmatch(last4) else ""
    return book.line.format(
        amount=_money(tx),
        date=_day(tx),
        kind=book.kinds[tx.type],
        status=status,
        card=card,
        id=tx.transaction_id,
    )


def _compose_reply(request: ReplyRequest) -> Reply:
    category = request.analysis.category
    book = _PHRASEBOOKS.get(request.analysis.language, _ENGLISH)
    facts = request.facts
    refunds = _issued_refunds(request.transactions, facts)
    refund_ids = {tx.transaction_id for tx in refunds}
    # Refunds already issued are listed in their own sentence, not twice.
    listed = [
        tx
        for tx in _related_transactions(request.transactions, facts)
        if tx.transaction_id not in refund_ids
    ][: _MAX_CITED - min(len(refunds), 2)]
    refunds = refunds[: _MAX_CITED - len(listed)]
    paragraphs = [book.greeting, book.openings.get(category, book.opening_other)]
    if listed:
        intro = book.found_one if len(listed) == 1 else book.found_many
        paragraphs.append("\n".join([intro, *(_transaction_line(book, tx) for tx in listed)]))
    elif category in _MONEY_CATEGORIES and not refunds:
        paragraphs.append(book.nothing_found)
    notes = _fact_notes(book, category, listed, refunds, facts)
    if notes:
        paragraphs.append(" ".join(notes))
    paragraphs.append(book.next_steps.get(category, book.next_steps_other))
    paragraphs.append(book.closing)
    cited = [tx.transaction_id for tx in listed] + [tx.transaction_id for tx in refunds]
    return Reply(body=mask_card_numbers("\n\n".join(paragraphs)), cited_transaction_ids=cited)


def _fact_notes(
    book: _Phrasebook,
    category: str,
    listed: Sequence[Transaction],
    refunds: Sequence[Transaction],
    facts: TransactionFacts,
) -> list[str]:
    """Sentences about what code established, mentioning only transactions the reply cites."""
    listed_ids = [tx.transaction_id for tx in listed]

    def among(ids: Sequence[str]) -> list[str]:
        wanted = set(ids)
        return [tx_id for tx_id in listed_ids if tx_id in wanted]

    notes: list[str] = []
    duplicates = among(facts.duplicate_charge_ids)
    if len(duplicates) > 1:
        notes.append(book.duplicates.format(refs=_join_refs(duplicates, book.and_word)))
    elif category == "duplicate_charge" and listed:
        notes.append(book.no_duplicates)
    for ids, template in (
        (among(facts.failed_ids), book.failed),
        (among(facts.pending_ids), book.pending),
        (among(facts.chargeback_ids), book.chargeback),
    ):
        if ids:
            notes.append(template.format(refs=_join_refs(ids, book.and_word)))
    notes.extend(
        book.refund_issued.format(amount=_money(tx), date=_day(tx), id=tx.transaction_id)
        for tx in refunds
    )
    return notes


# --------------------------------------------------------------------------- provider


def _rules_fingerprint() -> str:
    """Everything besides the taxonomy that shapes an answer, as one stable string."""
    tables = (
        _SIGNAL_LEXICON, sorted(_NEGATORS), sorted(_DESIRE_WORDS), _LANGUAGE_PROFILES,
        _LANGUAGE_LETTERS, _FACT_SUPPORT, _BASE_PRIORITY, _LARGE_AMOUNT, _LABELS,
        _STATUS_GROUPS, sorted(_UNDONE_STATUSES), sorted(_MONEY_CATEGORIES), _PHRASEBOOKS,
        (_SUBJECT_WEIGHT, _FALLBACK_DISCOUNT, _FALLBACK_PRIOR, _MAX_GAP, _MAX_TEXT_CHARS),
        _NO_CUE_CONFIDENCE,
        NEEDS_HUMAN_BELOW,
    )  # fmt: skip
    return repr(tables)


_RULES_FINGERPRINT: Final = _rules_fingerprint()
_CACHE_LIMIT: Final = 16


class OfflineProvider:
    """Classifies and answers tickets with rules: no network, no key, the same answer every time.

    `taxonomy` is the one the pipeline sends in its requests; it is part of
    `version`. A request carrying another taxonomy is still served (its rules
    are compiled once and kept), but the version only describes this one.
    """

    def __init__(self, taxonomy: Sequence[Category]) -> None:
        if not taxonomy:
            raise ValueError("OfflineProvider needs a taxonomy with at least one category")
        key = _taxonomy_key(taxonomy)
        self._compiled: dict[tuple[tuple[str, tuple[str, ...]], ...], _CompiledTaxonomy] = {
            key: _compile_taxonomy(taxonomy)
        }
        payload = json.dumps(
            [category.model_dump(mode="json") for category in taxonomy], sort_keys=True
        )
        digest = hashlib.sha256(f"{_RULES_FINGERPRINT}\n{payload}".encode()).hexdigest()
        self._version = f"{RULES_VERSION}:{digest[:12]}"

    @property
    def name(self) -> str:
        return "offline"

    @property
    def version(self) -> str:
        return self._version

    async def analyze(self, request: AnalysisRequest) -> ModelResponse[Analysis]:
        return ModelResponse[Analysis](value=self._analyze(request), provider=self.name)

    async def draft_reply(self, request: ReplyRequest) -> ModelResponse[Reply]:
        return ModelResponse[Reply](value=_compose_reply(request), provider=self.name)

    async def aclose(self) -> None:
        return None

    def _analyze(self, request: AnalysisRequest) -> Analysis:
        compiled = self._compiled_for(request.taxonomy)
        ticket = request.ticket
        subject = _tokenize(ticket.subject)
        body = _tokenize(ticket.body)
        raw_text = f"{ticket.subject}\n{ticket.body}"
        signals = _read_signals([*subject, *body], raw_text)
        facts = request.facts
        scores = _score_categories(
            compiled,
            subject,
            body,
            facts,
            about_money="money" in signals.found or bool(facts.mentioned_amounts),
        )
        index, confidence = _pick_category(compiled, scores)
        category = compiled.names[index]
        language = _detect_language([*subject, *body], raw_text)
        related = _related_transactions(request.transactions, facts)
        priority = _priority(category, signals, facts, _has_large_amount(related, facts))
        return Analysis(
            category=category,
            priority=priority,
            sentiment=signals.sentiment,
            language=language,
            summary=_summary(category, language, signals, related, facts),
            confidence=confidence,
            needs_human=_needs_human(confidence, priority, signals, facts),
            related_transaction_ids=list(facts.related_transaction_ids),
        )

    def _compiled_for(self, taxonomy: Sequence[Category]) -> _CompiledTaxonomy:
        if not taxonomy:
            raise PermanentError("the analysis request has an empty taxonomy")
        key = _taxonomy_key(taxonomy)
        compiled = self._compiled.get(key)
        if compiled is None:
            if len(self._compiled) >= _CACHE_LIMIT:
                # Keep the constructor's taxonomy (first entry); drop the rest.
                first = next(iter(self._compiled.items()))
                self._compiled = dict([first])
            compiled = self._compiled[key] = _compile_taxonomy(taxonomy)
        return compiled
