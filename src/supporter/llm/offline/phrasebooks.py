"""What a reply says, per language: the templates `replies` fills."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from supporter.domain.models import TransactionType


@dataclass(frozen=True, slots=True)
class Phrasebook:
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


ENGLISH = Phrasebook(
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

SPANISH = Phrasebook(
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

FRENCH = Phrasebook(
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

GERMAN = Phrasebook(
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

PHRASEBOOKS: Final[Mapping[str, Phrasebook]] = {
    "en": ENGLISH,
    "es": SPANISH,
    "fr": FRENCH,
    "de": GERMAN,
}
