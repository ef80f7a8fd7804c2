"""The ticket categories: the default taxonomy and loading a user's own.

A category's `description` is what a language model reads; its `keywords`
are cues for rule-based providers such as `offline`:

- written in lower case, in any language, with or without accents (matching
  ignores both), contractions included ("didn't" also matches "did not");
- a word ending in `*` matches any ending (`refund*` matches "refunded");
- the words of a phrase must appear in order with at most two other words
  between them (`cancel subscription` matches "cancel my yearly subscription");
- a trailing `^N` (as in search engines) makes a cue count N times as much:
  `refund*^2` for a word that alone says what the customer wants,
  `pending^0.5` for context that only supports a category.

Longer phrases count more than single words, and a phrase listed under
several categories is shared between them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from supporter.llm.base import Category

# fmt: off
# The keyword lists are data: a few lines per language read better than one word per line.
DEFAULT_TAXONOMY: list[Category] = [
    Category(
        name="billing_question",
        description=(
            "A question about what the customer pays or was charged: fees, prices, "
            "invoices, statements, exchange rates, an unexpected fee or a charge of the "
            "wrong amount, or why a payment, transfer, deposit or top-up is still pending "
            "or has not reached the balance."
        ),
        keywords=[
            # English: fees, prices and amounts
            "fee*^2", "invoice*^2", "overcharg*^2", "surcharge^2", "commission^2",
            "exchange rate*^2", "exchange fee*^2", "exchange charge*^2", "conversion rate^1.5",
            "wrong rate^2", "incorrect rate^2", "rate incorrect^2", "rate is wrong^2",
            "rate not right^2", "rate inaccurate^2", "rate of exchange^2", "rate applied^1.5",
            "exchange incorrect^1.5", "exchange wrong^1.5", "exchange not correct^1.5",
            "rate^0.5", "extra charge^2", "extra fee^2", "hidden fee*^2", "charged extra^2",
            "charge extra^2", "charged additional*^2", "additional charge^2", "extra",
            "pay extra^2", "discount*^1.5", "charg*", "wrongly charged", "charged more",
            "charge applied", "receipt*", "statement^0.75", "bill", "billing^1.5", "billed^1.5",
            "price*", "pricing", "cost*^1.25", "how much", "tax", "vat", "wrong amount^2",
            "incorrect amount^2", "different amount^1.5", "amount^0.5", "less money",
            "less than", "more than", "only got", "only received", "only gave", "only get",
            "correct amount", "did not match", "missing^0.75", "partial*^1.5", "not enough",
            "not get all", "not give me enough^1.5", "gave me less^1.5", "full amount",
            "requested amount",
            # English: money that has not arrived yet
            "pending^1.5", "still pending^2", "not show*", "not seeing", "not see",
            "not visible", "not there", "not in my account", "not gone in", "not gone through",
            "not made it", "yet to", "not yet", "yet^0.5", "not cleared", "taking so long",
            "so long", "take so long", "still waiting", "still not", "not arriv*",
            "not receiv*", "not got", "not gotten", "not credited", "not reflected",
            "not posted", "not deposited", "not complet*", "incomplete", "not finish*",
            "not updated", "balance^0.75", "where is my money^1.5", "deposit*", "show up",
            "showing up", "shows up", "take longer", "processing time", "nothing happened",
            "still processing^1.5", "processing", "waiting", "delayed^1.5", "clear*^0.75",
            # Spanish
            "comision*^2", "factura*^2", "tarifa*", "precio*", "cuanto cuesta",
            "tipo de cambio^2", "pendiente^1.5", "importe", "recibo", "iva", "cobrado de mas^2",
            "cobro de mas^2", "saldo^0.75", "cargo^0.75", "cobro^0.75", "no aparece",
            "no llega", "no ha llegado", "todavia no",
            # French
            "frais^2", "facture*^2", "tarif*", "prix", "combien", "taux de change^2",
            "en attente^1.5", "montant^0.5", "recu", "tva", "releve^0.75", "solde^0.75",
            "pas encore", "pas arrive", "toujours pas",
            # German
            "gebuhr*^2", "rechnung*^2", "kosten", "preis*", "wechselkurs*^2", "ausstehend^1.5",
            "betrag^0.5", "quittung", "mwst", "abrechnung*", "wie viel", "kontostand^0.75",
            "noch nicht", "nicht angekommen", "nicht eingegangen", "nicht gutgeschrieben",
            # Portuguese
            "fatura*^2", "taxa*^1.5", "tarifa", "preco", "cotacao", "cambio^1.5",
            "pendente^1.5", "valor^0.5", "cobranca^0.75", "extrato^0.75", "ainda nao",
            "nao chegou", "nao caiu",
            # Italian
            "fattura*^2", "commission*^2", "costo", "prezzo", "tasso di cambio^2",
            "in sospeso^1.5", "importo^0.5", "ricevuta", "addebito^0.75", "estratto conto^0.75",
            "non ancora", "non arrivato",
            # Dutch
            "factuur^2", "tarief", "wisselkoers^2", "in behandeling^1.5", "bedrag^0.5",
            "afschrift^0.75", "nog niet", "niet aangekomen",
        ],
    ),
    Category(
        name="refund_request",
        description=(
            "The customer wants money back: asks for a refund, asks where a promised "
            "refund is, or wants a payment or transfer they made cancelled or reversed."
        ),
        keywords=[
            # English
            "refund*^2.5", "money back^1.5", "reimburs*^2", "return my money^1.5",
            "get my money back^1.5", "cancel* purchase^2", "cancel* order^2", "return it^1.5",
            "faulty^1.5", "defective^1.5", "not as described^2", "wrong size", "give back",
            "returned item*", "cancel transfer^2", "cancel payment^1.5",
            "cancel transaction^1.5", "reverse transaction^1.5", "reverse payment^1.5",
            "reverse transfer^1.5", "revert transaction^1.5", "undo^1.5", "wrong account^1.5",
            "sent to wrong", "wrong person", "wrong recipient", "wrong details", "by mistake",
            "mistake", "stop transfer^1.5", "stop payment^1.5", "transfer cancel*^1.5",
            "transaction cancel*^1.5", "cancel it", "reverse it", "revert it", "messed up",
            "wrong transaction^1.5", "wrong transfer^1.5",
            # Spanish
            "reembols*^2.5", "devolucion*^2", "devolver^1.5", "devuelvan^2",
            "dinero de vuelta^2", "anular pago^1.5", "anular transferencia^2",
            "cancelar transferencia^2", "cancelar pago^1.5",
            # French
            "rembours*^2.5", "recuperer argent^2", "annuler virement^2", "annuler paiement^1.5",
            "restitu*",
            # German
            "ruckerstatt*^2.5", "erstattung^2.5", "erstatten^2", "geld zuruck^2", "zuruckbuch*",
            "zuruckzahl*^2", "uberweisung stornieren^2", "zahlung stornieren^1.5", "gutschrift",
            # Portuguese
            "devolucao^2", "estorn*^2", "dinheiro de volta^2",
            # Italian
            "rimbors*^2.5", "restituzione^2", "restituire^1.5", "soldi indietro^2",
            "annullare bonifico^2", "annullare pagamento^1.5",
            # Dutch
            "terugbetal*^2.5", "geld terug^2", "terugstort*^2", "terugboek*",
        ],
    ),
    Category(
        name="duplicate_charge",
        description=(
            "The customer was charged more than once for the same purchase: the same "
            "amount appears twice or several times."
        ),
        keywords=[
            # English
            "charged twice^3", "paid twice^3", "twice^2", "double charg*^3", "double payment^2",
            "charged double^3", "double billed^3", "duplicat*^3", "two times^2", "2 times^2",
            "same charge^2", "same payment^2", "same transaction^2", "same purchase^2",
            "same thing", "same item", "same amount^1.5", "charged again", "multiple charges^2",
            "two charges^2", "two identical^2", "two payments^2", "two transactions^2",
            "repeat* charge^2", "repeated", "second charge^1.5", "charg* several times^1.5",
            "charg* many times^1.5", "charg* multiple times^1.5", "two of the same^2",
            "more than once^2",
            # Spanish
            "dos veces^2.5", "doble cobro^3", "cobro duplicado^3", "duplicad*^3",
            "cobrado doble^3", "mismo cargo^2", "mismo cobro^2", "doble^1.5",
            # French
            "deux fois^2.5", "double prelevement^3", "double debit^3", "doublon^3",
            "en double^2.5", "meme paiement^2", "meme montant^1.5",
            # German
            "doppel*^2.5", "zweimal^2.5", "zwei mal^2.5", "mehrfach abgebucht^2.5",
            "mehrfach^1.5", "gleiche zahlung^2", "gleichen betrag^1.5",
            # Portuguese
            "duas vezes^2.5", "cobranca duplicada^3", "em dobro^2.5",
            # Italian
            "due volte^2.5", "doppio addebito^3", "addebitato due^2.5", "doppio^1.5",
            # Dutch
            "dubbel*^2.5", "twee keer^2.5", "tweemaal^2.5",
        ],
    ),
    Category(
        name="payment_failed",
        description=(
            "A payment, transfer, top-up or withdrawal the customer tried did not go "
            "through: declined, failed, rejected, blocked, or reverted afterwards."
        ),
        keywords=[
            # English
            "declin*^2.5", "fail*^2", "error pay*^1.5", "reject*^2", "refused^2", "denied^2",
            "didn't go through", "not go through", "not going through", "unsuccessful^2",
            "payment error^1.5", "couldn't pay", "can't pay", "unable to pay",
            "not able to pay", "insufficient funds^2", "bounced^2", "revert*^2", "reversed^1.5",
            "payment returned^1.5", "returned", "came back", "not allowed^1.5",
            "disallowed^1.5", "not possible", "been cancel*^1.5", "was cancel*^1.5",
            "got cancel*^1.5", "get cancel*^1.5", "won't accept", "wouldn't accept",
            "not accept*", "didn't work", "won't let me", "not let me", "can't transfer^1.5",
            "unable to transfer^1.5", "couldn't transfer^1.5", "not able to transfer",
            "can't withdraw^1.5", "unable to withdraw^1.5", "couldn't withdraw^1.5",
            "not able to withdraw", "can't get cash", "can't get money", "couldn't get cash",
            "can't make payment", "can't top up", "unable to top up", "couldn't top up",
            "tried twice", "tried several times", "tried multiple times", "disappeared",
            "money gone", "not approved^1.5", "not process*^1.5", "not come through",
            "deferred", "problems transferring", "cannot name", "not have funds^1.5",
            "no funds^1.5", "can't add money", "not give me cash^1.5", "not give me money^1.5",
            "not make withdrawal", "withdrawal cancel*^1.5", "payment cancel*^1.5",
            "top up cancel*^1.5",
            # Spanish
            "rechaz*^2.5", "denegad*^2.5", "fallid*^2", "fallo", "no se pudo",
            "no pude pagar^2", "no pasa", "no paso", "no se proceso", "no me deja",
            # French
            "refus*^2.5", "echou*^2", "echec^2", "pas passe", "pas abouti^2", "rejete*^2",
            "ne passe pas",
            # German
            "abgelehnt^2.5", "fehlgeschlagen^2.5", "nicht durchgegangen^2", "zahlung fehl*",
            "nicht moglich", "zuruckgewiesen^2",
            # Portuguese
            "recusad*^2.5", "falhou^2", "falha^1.5", "negad*^2", "nao foi aprovad*^2",
            "nao passou^2", "rejeitad*^2",
            # Italian
            "rifiutat*^2.5", "fallit*^2", "non andato a buon fine", "respint*^2",
            "non riuscito", "negat*",
            # Dutch
            "geweigerd^2.5", "mislukt^2", "afgewezen^2",
        ],
    ),
    Category(
        name="unrecognized_charge",
        description=(
            "The customer does not recognise a charge, direct debit or withdrawal, or "
            "suspects fraud or that someone else used their card or account."
        ),
        keywords=[
            # English
            "not recognis*^2", "not recogniz*^2", "unrecognis*^2.5", "unrecogniz*^2.5",
            "did not make", "never made", "did not do", "did not authori*", "unauthori*^2.5",
            "not authori*^2", "never authori*^2", "did not approve*", "never approve*",
            "did not buy", "never bought", "never ordered", "did not purchase", "not purchase*",
            "did not perform", "not done by me", "not set up", "fraud*^2.5", "scam*^2",
            "someone^1", "somebody^1", "someone used^1.5", "using my card^1.5",
            "taking my money^1.5", "did not withdraw^1.5", "don't remember doing^1.5",
            "don't remember making^1.5", "don't remember initiating^1.5",
            "someone is using^1.5", "someone else^1.5", "somebody else^1.5", "someone took",
            "hacked^2", "compromised^2", "unknown^1.5", "unfamiliar^2", "strange^1.5", "odd",
            "weird", "random", "unusual^1.5", "mysterious^2", "mystery^1.5", "false",
            "can't recall^1.5", "don't remember paying^1.5", "taken from my account^1.5",
            "suspicious^2", "what is this charge", "what is this payment",
            "what is this transaction", "what is this", "don't know what this", "no idea what",
            "not sure what", "don't understand where", "don't understand what",
            "where this came from", "without my permission^2", "without my consent^2",
            "without my knowledge^2", "not mine^2", "wasn't me^1.5", "not by me^1.5",
            "dispute*^1.5", "copy of my card^1.5", "copied", "cloned^2", "skimm*^2",
            "identity theft^2",
            # Spanish
            "no reconozco^2.5", "no autorice^2", "no autorizad*^2", "fraude^2.5", "no hice^1.5",
            "desconocid*^2", "sin mi permiso^2", "sospechos*^2", "no fui yo^2", "extrano^1.5",
            # French
            "reconnais pas^2.5", "pas autoris*^2", "inconnu*^2", "je n'ai pas fait",
            "sans mon accord^2", "suspect*^2", "frauduleu*^2", "bizarre", "etrange",
            # German
            "erkenne nicht^2.5", "nicht erkannt^2", "unbekannt*^2", "betrug*^2.5",
            "nicht autorisiert^2", "nicht genehmigt^2", "nicht getatigt^2", "verdachtig*^2",
            "ohne meine zustimmung^2", "seltsam*", "merkwurdig*",
            # Portuguese
            "nao reconheco^2.5", "nao autoriz*^2", "desconhecid*^2", "nao fiz^1.5",
            "suspeit*^2", "golpe^2", "estranh*",
            # Italian
            "non riconosco^2.5", "non autorizzat*^2", "frode^2.5", "truffa^2", "sconosciut*^2",
            "non ho fatto", "sospett*^2", "strano",
            # Dutch
            "herken niet^2.5", "niet herken*^2", "onbekend*^2", "oplichting^2",
            "niet geautoriseerd^2",
        ],
    ),
    Category(
        name="subscription_cancellation",
        description=(
            "The customer wants to cancel a subscription, plan or membership, stop "
            "automatic renewal, or close or delete their account."
        ),
        keywords=[
            # English
            "cancel subscription^2", "cancel membership^2", "cancel plan^1.5",
            "cancel account^2", "unsubscrib*^2.5", "subscription", "membership^0.75",
            "close* account^2", "delete account^2", "remove account^2", "terminat*^1.5",
            "terminat* account^2", "shut down account^2", "end account^2", "stop account^2",
            "get rid of account^2", "deactivate account^2", "invalidate account^2",
            "stop subscription^2", "end subscription^2", "stop renewal^2", "auto renew*^1.5",
            "automatic renewal^1.5", "cancel renewal^2", "opt out^1.5", "no longer want",
            "no longer need", "no longer use", "cancel^1.5", "stop charging^2", "renewal*",
            "every month",
            # Spanish
            "cancelar suscripcion^2", "cancelar^1.5", "dejen de cobrar*^2", "darme de baja^2",
            "dar de baja^2", "baja", "cerrar cuenta^2", "eliminar cuenta^2", "borrar cuenta^2",
            "suscripcion",
            # French
            "resili*^2.5", "annuler^1.5", "arretez de me prelever^2", "annuler abonnement^2",
            "desabonn*^2.5", "desinscri*^2", "fermer compte^2", "supprimer compte^2",
            "cloturer compte^2", "abonnement",
            # German
            "kundig*^2.5", "stornieren^1.5", "kuendig*^2.5", "abo beenden^2", "abo",
            "konto schliessen^2", "konto loschen^2", "konto auflosen^2", "abmelden^1.5",
            # Portuguese
            "cancelar assinatura^2", "parem de cobrar^2", "assinatura", "encerrar conta^2",
            "excluir conta^2", "fechar conta^2",
            # Italian
            "disdire^2", "annullare^1.5", "smettete di addebitar*^2", "disdetta^2",
            "annullare abbonamento^2", "abbonamento", "chiudere conto^2",
            "cancellare abbonamento^2", "disiscriv*^2",
            # Dutch
            "opzeggen^2.5", "account verwijderen^2", "uitschrijven^2",
        ],
    ),
    Category(
        name="account_access",
        description=(
            "The customer cannot get into or secure their account or card: login, "
            "password, passcode or PIN problems, a locked or blocked account or card, "
            "identity verification, or a lost or stolen card or phone."
        ),
        keywords=[
            # English
            "log in^1.5", "login^1.5", "log on^1.5", "sign in^1.5", "password*^2.5",
            "passcode*^2.5", "pass code^2.5", "pin^2", "locked out^2", "locked^1.5",
            "unlock*^1.5", "blocked^1.5", "unblock*^2", "can't access^1.5",
            "unable to access^1.5", "access my account^1.5", "two factor^2", "2fa^2",
            "verification code^1.5", "forgot*^1.5", "forgotten^1.5", "remember my",
            "verif* identity^2", "verif* id^2", "identity^2", "identification^2", "id check^2",
            "prove who i am^2", "proof of identity^2", "verif*", "id^1.5", "who i am^1.5",
            "identify^1.5", "lost my card^2", "lost card^2", "card lost^2", "lost",
            "can't find my card^2", "find my card^1.5", "stolen^1.5", "stole", "lost phone^2",
            "phone stolen^2", "phone", "mugged^1.5", "freeze card^1.5", "freeze", "frozen",
            "suspended", "security^0.5", "biometric", "face id", "fingerprint",
            # Spanish
            "contrasena^2.5", "iniciar sesion^2", "no puedo entrar^2", "acceder",
            "bloquead*^1.5", "olvide^1.5", "verificar identidad^2", "identidad^2",
            "perdi tarjeta^2", "tarjeta perdida^2", "robad*^1.5", "codigo de verificacion^1.5",
            # French
            "mot de passe^2.5", "connexion^1.5", "se connecter^1.5", "identifiant*^1.5",
            "bloque*^1.5", "oublie^1.5", "identite^2", "perdu carte^2", "carte perdue^2",
            "vole*^1.5", "code secret^1.5",
            # German
            "passwort^2.5", "kennwort^2.5", "anmelden^1.5", "einloggen^2", "gesperrt^1.5",
            "entsperr*^2", "zugang^1.5", "vergessen^1.5", "identitat^2", "karte verloren^2",
            "gestohlen^1.5", "geheimzahl^2",
            # Portuguese
            "senha^2.5", "entrar na conta^2", "esqueci^1.5", "acessar", "identidade^2",
            "cartao perdido^2", "roubad*^1.5",
            # Italian
            "accedere", "accesso", "bloccat*^1.5", "sblocc*^2", "dimenticat*^1.5", "identita^2",
            "carta smarrita^2", "smarrit*^1.5", "rubat*^1.5",
            # Dutch
            "wachtwoord^2.5", "inloggen^2", "geblokkeerd^1.5", "vergeten^1.5", "toegang^1.5",
            "gestolen^1.5", "kwijt^1.5", "pincode^2",
        ],
    ),
    Category(
        name="technical_issue",
        description=(
            "Something does not work as it should: the app or website shows errors, "
            "crashes or will not load, or a card fails at the terminal, contactless, "
            "online or in an ATM (including an ATM keeping the card)."
        ),
        keywords=[
            # English
            "not work*^1.5", "stopped working^1.5", "not function*^1.5", "broken^2",
            "broke^1.5", "damaged^2", "bug^2", "error message^1.5", "error^1.5", "crash*^2",
            "glitch*^2", "app^0.5", "website^0.75", "page^0.5", "loading", "not load*^1.5",
            "stuck", "contactless^2.5", "tap", "chip^1.5", "magnetic strip*^1.5", "atm took^2",
            "swallow*^2.5", "retained^1.5", "kept my card^2", "ate my card^2",
            "took my card^1.5", "card stuck^2", "not responding^1.5", "blank screen^2",
            "keeps closing^2", "technical^1.5", "can't use card^1.5", "unable to use card^1.5",
            "not able to use card^1.5", "card to work^1.5", "card out^1.5", "card back^1.5",
            "trapped^2", "sucked^2", "ate it^1.5", "atm ate^2", "atm stole^2", "machine took^2",
            "machine kept^2",
            # Spanish
            "no funciona^2", "falla", "se cierra^1.5", "pagina^0.5", "no carga^1.5",
            "sin contacto^2.5", "roto^2",
            # French
            "fonctionne pas^2", "marche pas^2", "erreur^1.5", "plante^1.5", "application^0.5",
            "site^0.5", "sans contact^2.5", "cassee^2",
            # German
            "funktioniert nicht^2", "geht nicht^1.5", "fehler*^1.5", "absturz*^2",
            "sturzt ab^2", "webseite^0.5", "ladt nicht^1.5", "kontaktlos^2.5", "kaputt^2",
            "defekt^2",
            # Portuguese
            "nao funciona^2", "erro^1.5", "trava*^1.5", "aplicativo^0.5", "sem contato^2.5",
            "quebrad*^2",
            # Italian
            "non funziona^2", "errore^1.5", "si blocca^1.5", "applicazione^0.5", "sito^0.5",
            "rott*^1.5",
            # Dutch
            "werkt niet^2", "fout", "storing^2", "crasht^2", "contactloos^2.5", "kapot^2",
        ],
    ),
    Category(
        name="general_inquiry",
        description=(
            "Anything else: how-to questions about cards, top-ups, transfers, "
            "delivery, limits, supported countries or currencies, personal details, "
            "or product information."
        ),
        keywords=[
            # English
            "deliver*^1.5", "ship*", "arriv*", "card arriv*^1.5", "card not arriv*^1.5",
            "not receiv* card^1.5", "card not here^1.5", "card still not^1.5", "get my card",
            "card show*^1.5", "card appear*^1.5", "link*^1.5", "reactivat*^1.5",
            "found my card^2", "card found^2", "found it", "track*", "activat*^1.5",
            "order card^1.5", "new card^1.5", "replacement card^1.5", "physical card^1.5",
            "virtual card^1.5", "disposable^1.5", "spare card^1.5", "extra card^1.5",
            "additional card^1.5", "another card^1.5", "limit*^1.5", "countr*", "currenc*",
            "age^1.5", "requirement*", "apple pay^2", "google pay^2", "top up", "topping up",
            "auto top up^1.5", "how long^0.5", "personal details^2", "address^1.5",
            "change name^1.5", "update details^1.5", "open account", "information^0.5",
            "question^0.5", "expir*^1.5", "visa^1.5", "mastercard^1.5", "link card", "add card",
            "accept*^0.75", "atm^0.5", "salary", "receive money", "source of funds^2",
            "verify top up^2", "fiat", "crypto",
            # Spanish
            "informacion^0.5", "pregunta^0.5", "envio", "activar^1.5", "limite*^1.5",
            "direccion^1.5", "nueva tarjeta^1.5", "entrega",
            # French
            "information*^0.5", "livraison", "activer^1.5", "adresse^1.5", "nouvelle carte^1.5",
            # German
            "frage^0.5", "lieferung", "aktivieren^1.5", "neue karte^1.5",
            # Portuguese
            "informacao^0.5", "pergunta^0.5", "ativar^1.5", "endereco^1.5", "novo cartao^1.5",
            # Italian
            "informazion*^0.5", "domanda^0.5", "consegna", "attivare^1.5", "indirizzo^1.5",
            "nuova carta^1.5",
            # Dutch
            "informatie^0.5", "vraag^0.5", "levering", "activeren^1.5", "adres^1.5",
            "nieuwe kaart^1.5",
        ],
    ),
]
# fmt: on

_KNOWN_FIELDS = frozenset({"name", "description", "keywords"})
_BOOST = re.compile(r"\^\s*(\d+(?:\.\d+)?)\s*$")


def load_taxonomy(entries: Iterable[Mapping[str, object]]) -> list[Category]:
    """Build a taxonomy from plain data (as read from YAML or JSON).

    Each entry needs a non-empty `name`, unique across the taxonomy (ignoring
    case); `description` and `keywords` are optional. When no keyword matches
    a ticket, rule-based providers fall back to `general_inquiry` if present,
    otherwise to the last category, so list a catch-all last.

    Raises ValueError, naming the entry, when anything is missing or wrong.
    """
    categories: list[Category] = []
    seen: dict[str, int] = {}
    for position, entry in enumerate(entries, start=1):
        category = _parse_category(position, entry)
        key = category.name.casefold()
        if key in seen:
            raise ValueError(
                f"taxonomy entry #{position}: name {category.name!r} is already used by "
                f"entry #{seen[key]}; category names must be unique"
            )
        seen[key] = position
        categories.append(category)
    if not categories:
        raise ValueError("the taxonomy is empty: give at least one category")
    return categories


def _parse_category(position: int, entry: Mapping[str, object]) -> Category:
    where = f"taxonomy entry #{position}"
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: expected a mapping with name, description, keywords")
    unknown = sorted(str(field) for field in set(entry) - _KNOWN_FIELDS)
    if unknown:
        raise ValueError(
            f"{where}: unknown field(s) {', '.join(unknown)}; "
            "allowed are name, description, keywords"
        )
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: 'name' must be a non-empty string")
    where = f"{where} ({name.strip()!r})"
    description = entry.get("description", "")
    if not isinstance(description, str):
        raise ValueError(f"{where}: 'description' must be a string")
    return Category(
        name=name.strip(),
        description=description.strip(),
        keywords=_parse_keywords(where, entry.get("keywords", [])),
    )


def _parse_keywords(where: str, raw: object) -> list[str]:
    # A lone string is almost always meant as a one-item list; refusing it
    # avoids silently treating each character as a keyword.
    if isinstance(raw, str) or not isinstance(raw, Iterable):
        raise ValueError(f"{where}: 'keywords' must be a list of strings")
    keywords: list[str] = []
    for keyword in raw:
        if not isinstance(keyword, str) or not keyword.strip():
            raise ValueError(f"{where}: every keyword must be a non-empty string")
        keywords.append(_check_boost(where, keyword.strip().lower()))
    return keywords


def _check_boost(where: str, keyword: str) -> str:
    if "^" not in keyword:
        return keyword
    boost = _BOOST.search(keyword)
    if boost is None or float(boost.group(1)) <= 0 or not keyword[: boost.start()].strip():
        raise ValueError(
            f"{where}: keyword {keyword!r}: write a boost as text^N with N a positive "
            "number, for example 'refund*^2'"
        )
    return keyword
