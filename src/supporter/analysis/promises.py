"""Refund promises and refund claims in a draft reply, in six languages.

A commitment to pay money back is never the draft's to make; a statement that
money was already paid back is true only if a refund transaction exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# Refund phrases are matched on the lower-cased reply, without re.IGNORECASE: several times
# faster on these alternations.
# A commitment to pay money back is never the draft's to make, whatever the transactions say.
_REFUND_PROMISE = re.compile(
    # en
    r"\bwe(?:'ll|’ll|\s+will|\s+shall|\s+are\s+going\s+to)\s+(?:\w+ly\s+)?(?:be\s+)?"
    r"(?:(?:issue|process|send|give|make|provide|arrange|initiate)\s+(?:you\s+)?"
    r"(?:a|an|the|your)\s+(?:full\s+|partial\s+)?(?:refund|credit|reimbursement)\b(?!\s+request)"
    r"|(?:refund|credit|reimburs|revers)\w*)"
    r"|\bwe(?:'re|’re|\s+are)\s+(?:\w+ly\s+)?(?:refunding|crediting|reimbursing|reversing)"
    r"|\byou(?:'ll|’ll|\s+will|\s+are\s+going\s+to)\s+(?:\w+\s+)?(?:receive|get|see)"
    r"\s+(?:(?:a|an|the|your)\s+(?:full\s+|partial\s+)?(?:refund|credit|reimbursement)\b"
    r"(?!\s+request)|(?:your|the)\s+money\s+back)"
    r"|\b(?:refund|credit|reimbursement)\s+will\s+be\s+(?:\w+ly\s+)?"
    r"(?:issued|processed|sent|applied|made|credited|initiated)"
    r"|\b(?:will|shall)\s+be\s+(?:\w+ly\s+)?(?:refunded|credited|reimbursed|reversed)"
    # es, pt
    r"|\b(?:(?:le|te|les|lo|la|se\s+lo|se\s+la)\s+)?"
    r"(?:reembolsaremos|abonaremos|acreditaremos|reintegraremos|estornaremos|creditaremos)\b"
    r"|\b(?:le|te|les)\s+devolveremos\s+(?:\S+\s+)?(?:dinero|importe|cargo|pago|monto)"
    r"|\b(?:vamos(?:\s+a)?|iremos)\s+(?:\S+\s+)?"
    r"(?:reembolsar|abonar|acreditar|reintegrar|estornar|creditar)\w*"
    r"|\b(?:recibir[áa]s?|recibir[áa]n|receber[áa]|receber[ãa]o)\s+(?:\S+\s+)?"
    r"(?:un|el|su|tu|um|o|seu)\s+(?:reembolso|estorno|crédito|credito)\b"
    r"|\bser[áa]n?\s+(?:\S+\s+)?(?:reembolsad|abonad|acreditad|devuelt|estornad|creditad)\w*"
    r"|\bser[ãa]o\s+(?:\S+\s+)?(?:reembolsad|estornad|creditad)\w*"
    # fr
    r"|\b(?:serez|sera|seront)\s+(?:\S+\s+)?(?:rembours|crédit)\w*"
    r"|\bnous\s+(?:vous\s+|le\s+|la\s+|l['’])?(?:rembourserons|créditerons|crediterons)"
    r"|\bnous\s+allons\s+(?:vous\s+)?(?:rembourser|créditer|procéder\s+au\s+remboursement)"
    r"|\bvous\s+(?:recevrez|allez\s+recevoir)\s+(?:\S+\s+)?(?:un|le|votre)\s+remboursement"
    # de
    r"|\bwir\s+(?:werden\s+)?(?:\S+\s+){0,3}?"
    r"(?:zurückerstatten|rückerstatten|erstatten|gutschreiben|zurückzahlen)\b"
    r"|\bsie\s+(?:erhalten|bekommen|werden)\s+(?:\S+\s+){0,3}?(?:rück)?(?:erstattung|gutschrift)\b"
    r"|\bwird\s+(?:\S+\s+){0,3}?(?:zurück)?(?:erstattet|gutgeschrieben)\b"
    # it
    r"|\b(?:(?:la|le|vi|ti|lo|gli)\s+)?(?:rimborseremo|accrediteremo|riaccrediteremo)\b"
    r"|\b(?:riceverà|riceverai|riceverete)\s+(?:\S+\s+)?(?:un|il|suo|tuo|lo)\s+"
    r"(?:rimborso|accredito|storno)\b"
    r"|\b(?:sarà|verrà|saranno|verranno)\s+(?:\S+\s+)?"
    r"(?:rimborsat|riaccreditat|accreditat|stornat)\w*"
)
# A statement that money was already paid back: true only if a refund transaction exists.
_REFUND_CLAIM = re.compile(
    # en
    r"\bwe(?:'ve|’ve|\s+have|\s+had)?\s+(?:\w+ly\s+|already\s+|now\s+|just\s+)?"
    r"(?:issued|processed|initiated|sent|made|applied|approved)\s+(?:you\s+)?"
    r"(?:a|an|the|your)\s+(?:full\s+|partial\s+)?(?:refund|credit|reimbursement)\b(?!\s+request)"
    r"|\bwe(?:'ve|’ve|\s+have)\s+(?:\w+\s+)?(?:refunded|credited|reimbursed|reversed)"
    r"|\bwe(?:'re|’re|\s+are)\s+(?:now\s+)?processing\s+(?:a|the|your)\s+refund\b(?!\s+request)"
    r"|\b(?:refund|credit|reimbursement)\s+(?:has\s+(?:already\s+)?been|was|is\s+being|is\s+now|is)"
    r"\s+(?:\w+ly\s+)?(?:processed|issued|initiated|approved|sent|applied|completed|made"
    r"|granted|on\s+its\s+way)"
    r"|\b(?:has|have)\s+been\s+(?:\w+ly\s+)?(?:refunded|credited|reimbursed|reversed)"
    # es, pt
    r"|\bhemos\s+(?:\S+\s+)?(?:reembolsado|abonado|acreditado|reintegrado"
    r"|(?:emitido|procesado)\s+(?:un|el|su|tu)\s+reembolso)"
    r"|\breembolso\s+(?:ha\s+sido|fue|foi|já\s+foi|se\s+ha)\s+(?:\S+\s+)?"
    r"(?:procesado|processado|emitido|aprobado|aprovado|realizado|efectuado|efetuado)"
    r"|\b(?:fue|foi|ha\s+sido)\s+(?:\S+\s+)?(?:reembolsad|estornad|abonad|acreditad)\w*"
    r"|\b(?:já\s+)?(?:reembolsamos|estornamos)\b"
    # fr
    r"|\bnous\s+(?:vous\s+)?avons\s+(?:\S+\s+)?(?:remboursé|crédité|procédé\s+au\s+remboursement"
    r"|émis\s+un\s+remboursement|effectué\s+(?:le|un)\s+remboursement)"
    r"|\bremboursement\s+a\s+été\s+(?:\S+\s+)?(?:effectué|traité|émis|approuvé|initié)"
    r"|\ba\s+été\s+(?:\S+\s+)?(?:remboursé|crédité)\w*"
    # de
    r"|\bwir\s+haben\s+(?:\S+\s+){0,4}?(?:zurück)?(?:erstattet|gutgeschrieben)\b"
    r"|\b(?:wurde|ist)\s+(?:\S+\s+){0,3}?(?:zurück)?(?:erstattet|gutgeschrieben)\b"
    r"|\b(?:rück)?erstattung\s+(?:wurde|ist)\s+(?:\S+\s+)?"
    r"(?:veranlasst|bearbeitet|durchgeführt|ausgelöst)"
    # it
    r"|\babbiamo\s+(?:\S+\s+){0,2}?(?:rimborsato|riaccreditato|accreditato|stornato"
    r"|emesso\s+(?:un|il)\s+rimborso)"
    r"|\brimborso\s+è\s+stato\s+(?:\S+\s+)?(?:elaborato|effettuato|emesso|approvato|disposto)"
    r"|\bè\s+stato\s+(?:\S+\s+)?(?:rimborsat|riaccreditat|accreditat)\w*"
)
_NEGATION = re.compile(
    r"\b(?:not|never|cannot|can't|won't|unable|no|nicht|kein\w*|nie|pas|jamais|ne|non|não"
    r"|nunca|nessun\w*)\b"
)
_NEGATED_BEFORE = re.compile(r"\b(?:no|not|ne|nicht|non|não|nunca|never)\s+$")
# "If the review confirms it, we will refund" is the process, not a commitment.
_CONDITION_BEFORE = re.compile(
    r"\b(?:if|once|when|whether|unless|should|si|cuando|wenn|falls|sofern|sobald|ob|quando"
    r"|lorsque|une\s+fois\s+que|caso)\b(?:[^.!?]|\.(?=\d))*$"
)
_CONDITION_REACH = 80


# Every refund phrase above contains one of these: most replies skip the regexes.
_MONEY_BACK_STEMS = (
    *("refund", "credit", "crédit", "reimburs", "revers", "money back", "reembols", "abon"),
    *("acredit", "reintegr", "estorn", "devolver", "rembours", "erstatt", "gutschr"),
    *("gutgeschrieben", "zurückzahl", "rimbors", "accredit", "stornat", "storno"),
)


def _affirmed(lowered: str, match: re.Match[str]) -> bool:
    """False for a negated ("we will not refund") or conditional ("if approved, ...") phrase."""
    if _NEGATION.search(match[0]):
        return False
    before = lowered[max(0, match.start() - _CONDITION_REACH) : match.start()]
    return not (_NEGATED_BEFORE.search(before) or _CONDITION_BEFORE.search(before))


def promise_problems(body: str, has_refund: bool) -> Iterator[str]:
    lowered = body.lower()
    if not any(stem in lowered for stem in _MONEY_BACK_STEMS):
        return
    for match in _REFUND_PROMISE.finditer(lowered):
        if _affirmed(lowered, match):
            yield f'promises a refund or credit: "{match[0]}"'
    if has_refund:
        return
    for match in _REFUND_CLAIM.finditer(lowered):
        if _affirmed(lowered, match):
            yield f'says money was refunded but the customer has no refund: "{match[0]}"'


def states_refund_policy(text: str) -> bool:
    """Whether `text` (a help-center passage) commits to paying money back in some case:
    a policy states its conditions ("if charged twice, the duplicate will be
    refunded"), so a conditional commitment counts; a negated one does not."""
    lowered = text.lower()
    if not any(stem in lowered for stem in _MONEY_BACK_STEMS):
        return False
    return any(not _NEGATION.search(match[0]) for match in _REFUND_PROMISE.finditer(lowered))
