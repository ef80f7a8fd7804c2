"""Cues that change priority, sentiment or escalation whatever the category: fraud,
legal threats, urgency, anger, ... and the sentiment they add up to."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from supporter.domain.models import Sentiment
from supporter.llm.offline.matching import CueMatcher, build_cues
from supporter.llm.offline.negation import NEGATION_WINDOW, is_negated
from supporter.llm.offline.text import MAX_TEXT_CHARS

# A word of four or more capitals. It starts with a capital, so the regex engine skips to
# capitals; the lookbehind after it is the word boundary before it.
_SHOUTED_WORD = re.compile(r"[A-Z](?<!\w[A-Z])[A-Z]{3,}\b")

SIGNAL_LEXICON: Final[Mapping[str, tuple[str, ...]]] = {
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

_SIGNAL_NAMES: Final = tuple(SIGNAL_LEXICON)
_SIGNAL_MATCHER: Final = CueMatcher(
    build_cues([(label, SIGNAL_LEXICON[name], 1.0) for label, name in enumerate(_SIGNAL_NAMES)])
)


@dataclass(frozen=True, slots=True)
class Signals:
    found: frozenset[str]
    sentiment: Sentiment
    angry: bool


def read_signals(tokens: Sequence[str], raw_text: str) -> Signals:
    found: set[str] = set()
    positive = negative = 0.0
    for hit in _SIGNAL_MATCHER.find(tokens):
        name = _SIGNAL_NAMES[hit.cue.label]
        negated = is_negated(tokens, hit.positions[0], NEGATION_WINDOW)
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
    shouting = len(_SHOUTED_WORD.findall(raw_text[:MAX_TEXT_CHARS])) >= 2
    if negative and (shouting or "!!" in raw_text):
        negative += 0.5
    angry = "anger" in found or (negative >= 1.5 and shouting)
    return Signals(frozenset(found), _sentiment(positive, negative), angry)


def _sentiment(positive: float, negative: float) -> Sentiment:
    if negative >= 1.0 and negative >= positive:
        return Sentiment.NEGATIVE
    if positive >= 1.0 and positive > negative:
        return Sentiment.POSITIVE
    return Sentiment.NEUTRAL
