"""What a reply says, per language: the templates `replies` fills."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from supporter.domain.models import TransactionType


@dataclass(frozen=True, slots=True)
class Plural:
    """A sentence about one transaction and about several: verbs and nouns agree."""

    one: str
    many: str

    def of(self, count: int) -> str:
        return self.one if count == 1 else self.many


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
    failed: Plural
    pending: Plural
    refund_issued: str
    refund_recorded: str  # a refund the processor records on the charge itself
    chargeback: Plural
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
    failed=Plural("The payment {refs} shows as failed.", "The payments {refs} show as failed."),
    pending=Plural(
        "The payment {refs} is still pending; a pending payment is either completed or "
        "released by the bank, which can take a few days.",
        "The payments {refs} are still pending; a pending payment is either completed or "
        "released by the bank, which can take a few days.",
    ),
    refund_issued="A refund of {amount} was already issued on {date} (reference {id}). "
    "Depending on your bank, it can take a few business days to appear on your statement.",
    refund_recorded="{amount} of the payment {id} has already been refunded. Depending on your "
    "bank, it can take a few business days to appear on your statement.",
    chargeback=Plural(
        "We can see that a chargeback has been opened for {refs}; our team will follow it "
        "up with your bank.",
        "We can see that chargebacks have been opened for {refs}; our team will follow them "
        "up with your bank.",
    ),
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
    failed=Plural("El pago {refs} figura como fallido.", "Los pagos {refs} figuran como fallidos."),
    pending=Plural(
        "El pago {refs} sigue pendiente; un pago pendiente se completa o el banco lo "
        "libera, lo que puede tardar unos días.",
        "Los pagos {refs} siguen pendientes; un pago pendiente se completa o el banco lo "
        "libera, lo que puede tardar unos días.",
    ),
    refund_issued="Ya se emitió un reembolso de {amount} el {date} (referencia {id}). Según "
    "su banco, puede tardar unos días hábiles en aparecer en su extracto.",
    refund_recorded="Ya se reembolsaron {amount} del pago {id}. Según su banco, puede tardar unos "
    "días hábiles en aparecer en su extracto.",
    chargeback=Plural(
        "Vemos que se ha abierto un contracargo para {refs}; nuestro equipo le dará "
        "seguimiento con su banco.",
        "Vemos que se han abierto contracargos para {refs}; nuestro equipo les dará "
        "seguimiento con su banco.",
    ),
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
    failed=Plural(
        "Le paiement {refs} apparaît comme échoué.",
        "Les paiements {refs} apparaissent comme échoués.",
    ),
    pending=Plural(
        "Le paiement {refs} est toujours en attente ; un paiement en attente est soit "
        "finalisé, soit libéré par la banque, ce qui peut prendre quelques jours.",
        "Les paiements {refs} sont toujours en attente ; un paiement en attente est soit "
        "finalisé, soit libéré par la banque, ce qui peut prendre quelques jours.",
    ),
    refund_issued="Un remboursement de {amount} a déjà été émis le {date} (référence {id}). "
    "Selon votre banque, il peut falloir quelques jours ouvrés pour qu'il apparaisse sur "
    "votre relevé.",
    refund_recorded="{amount} du paiement {id} ont déjà été remboursés. Selon votre banque, cela "
    "peut prendre quelques jours ouvrés avant d'apparaître sur votre relevé.",
    chargeback=Plural(
        "Nous voyons qu'une rétrofacturation a été ouverte pour {refs} ; notre équipe en "
        "assure le suivi avec votre banque.",
        "Nous voyons que des rétrofacturations ont été ouvertes pour {refs} ; notre équipe "
        "en assure le suivi avec votre banque.",
    ),
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
    failed=Plural(
        "Die Zahlung {refs} wird als fehlgeschlagen angezeigt.",
        "Die Zahlungen {refs} werden als fehlgeschlagen angezeigt.",
    ),
    pending=Plural(
        "Die Zahlung {refs} ist noch ausstehend; eine ausstehende Zahlung wird entweder "
        "abgeschlossen oder von der Bank freigegeben, was einige Tage dauern kann.",
        "Die Zahlungen {refs} sind noch ausstehend; eine ausstehende Zahlung wird entweder "
        "abgeschlossen oder von der Bank freigegeben, was einige Tage dauern kann.",
    ),
    refund_issued="Eine Rückerstattung über {amount} wurde bereits am {date} veranlasst "
    "(Referenz {id}). Je nach Bank kann es einige Werktage dauern, bis sie auf Ihrem "
    "Kontoauszug erscheint.",
    refund_recorded="Von der Zahlung {id} wurden bereits {amount} erstattet. Je nach Bank kann es "
    "einige Werktage dauern, bis dies auf Ihrem Kontoauszug erscheint.",
    chargeback=Plural(
        "Wir sehen, dass für {refs} eine Rückbuchung eröffnet wurde; unser Team kümmert "
        "sich darum mit Ihrer Bank.",
        "Wir sehen, dass für {refs} Rückbuchungen eröffnet wurden; unser Team kümmert sich "
        "darum mit Ihrer Bank.",
    ),
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

PORTUGUESE = Phrasebook(
    greeting="Olá,",
    openings={
        "billing_question": "Obrigado pela sua pergunta sobre as suas cobranças.",
        "refund_request": "Obrigado por nos contactar sobre um reembolso.",
        "duplicate_charge": "Obrigado por nos avisar de uma possível cobrança duplicada.",
        "payment_failed": "Obrigado por nos avisar de que o seu pagamento não foi concluído.",
        "unrecognized_charge": "Obrigado por nos informar de uma cobrança que não reconhece.",
        "subscription_cancellation": "Obrigado por nos informar de que deseja cancelar.",
        "account_access": "Obrigado por nos contactar sobre o acesso à sua conta.",
        "technical_issue": "Obrigado por nos informar deste problema e desculpe o incómodo.",
        "general_inquiry": "Obrigado pela sua mensagem.",
    },
    opening_other="Obrigado pela sua mensagem.",
    found_one="Esta é a transação que encontrámos na sua conta:",
    found_many="Estas são as transações que encontrámos na sua conta:",
    line="- {amount} em {date}, {kind}, {status}{card} (referência {id})",
    card=", cartão terminado em {last4}",
    kinds={
        TransactionType.CHARGE: "pagamento",
        TransactionType.REFUND: "reembolso",
        TransactionType.CHARGEBACK: "estorno",
        TransactionType.PAYOUT: "transferência",
    },
    statuses={
        "completed": "concluído",
        "pending": "pendente",
        "failed": "falhado",
        "declined": "recusado",
        "refunded": "reembolsado",
        "cancelled": "cancelado",
        "disputed": "em disputa",
    },
    and_word="e",
    nothing_found="Ainda não conseguimos associar a sua mensagem a uma transação concreta. Se "
    "se tratar de um pagamento, responda com a data e o valor (nunca o número completo do "
    "seu cartão).",
    duplicates="As cobranças {refs} têm o mesmo valor e parecem uma possível duplicação.",
    no_duplicates="Ainda não vemos a mesma cobrança duas vezes nas suas transações "
    "recentes; se puder, responda com as datas de ambas as cobranças.",
    failed=Plural(
        "O pagamento {refs} aparece como falhado.", "Os pagamentos {refs} aparecem como falhados."
    ),
    pending=Plural(
        "O pagamento {refs} continua pendente; um pagamento pendente é concluído ou libertado "
        "pelo banco, o que pode demorar alguns dias.",
        "Os pagamentos {refs} continuam pendentes; um pagamento pendente é concluído ou "
        "libertado pelo banco, o que pode demorar alguns dias.",
    ),
    refund_issued="Já foi emitido um reembolso de {amount} em {date} (referência {id}). "
    "Dependendo do seu banco, pode demorar alguns dias úteis a aparecer no seu extrato.",
    refund_recorded="Já foram reembolsados {amount} do pagamento {id}. Dependendo do seu banco, "
    "pode levar alguns dias úteis a aparecer no seu extrato.",
    chargeback=Plural(
        "Vemos que foi aberto um estorno para {refs}; a nossa equipa vai acompanhá-lo com o "
        "seu banco.",
        "Vemos que foram abertos estornos para {refs}; a nossa equipa vai acompanhá-los com o "
        "seu banco.",
    ),
    next_steps={
        "billing_question": "Se algo não lhe parecer correto, responda com os detalhes e a "
        "nossa equipa vai analisar.",
        "refund_request": "A nossa equipa vai analisar o seu pedido e responder-lhe o mais "
        "depressa possível.",
        "duplicate_charge": "A nossa equipa vai analisar estas cobranças e responder-lhe o mais "
        "depressa possível.",
        "payment_failed": "Na maioria dos casos é o emissor do cartão que recusa o pagamento, "
        "por exemplo por saldo insuficiente, um cartão expirado ou uma verificação de "
        "segurança. Contacte o seu banco ou experimente outro meio de pagamento; se continuar "
        "a falhar, responda e a nossa equipa vai analisar.",
        "unrecognized_charge": "A nossa equipa vai analisar isto com atenção e responder-lhe. "
        "Se acha que outra pessoa usou o seu cartão, contacte também o seu banco para o "
        "bloquear.",
        "subscription_cancellation": "Passámos o seu pedido à nossa equipa, que vai tratar dele "
        "e confirmá-lo por e-mail.",
        "account_access": "Por segurança, nunca nos envie a sua palavra-passe nem o número "
        "completo do seu cartão. Pode redefinir a palavra-passe com a ligação «Esqueceu-se da "
        "palavra-passe?» na página de início de sessão; se não funcionar, responda e a nossa "
        "equipa vai ajudá-lo a recuperar o acesso.",
        "technical_issue": "Pode indicar-nos que dispositivo e que aplicação ou navegador usa, "
        "o que estava a fazer quando aconteceu e a mensagem de erro que viu? A nossa equipa "
        "vai analisar.",
        "general_inquiry": "Um membro da nossa equipa vai analisar a sua pergunta e responder-lhe.",
    },
    next_steps_other="Um membro da nossa equipa vai analisar e responder-lhe.",
    closing="Com os melhores cumprimentos,\nApoio ao cliente",
)

ITALIAN = Phrasebook(
    greeting="Buongiorno,",
    openings={
        "billing_question": "Grazie per la sua domanda sui suoi addebiti.",
        "refund_request": "Grazie per averci scritto a proposito di un rimborso.",
        "duplicate_charge": "Grazie per averci segnalato un possibile addebito doppio.",
        "payment_failed": "Grazie per averci segnalato che il suo pagamento non è andato a "
        "buon fine.",
        "unrecognized_charge": "Grazie per averci segnalato un addebito che non riconosce.",
        "subscription_cancellation": "Grazie per averci comunicato che desidera disdire.",
        "account_access": "Grazie per averci contattato riguardo all'accesso al suo account.",
        "technical_issue": "Grazie per averci segnalato questo problema e ci scusi per il disagio.",
        "general_inquiry": "Grazie per il suo messaggio.",
    },
    opening_other="Grazie per il suo messaggio.",
    found_one="Questa è la transazione che abbiamo trovato sul suo conto:",
    found_many="Queste sono le transazioni che abbiamo trovato sul suo conto:",
    line="- {amount} il {date}, {kind}, {status}{card} (riferimento {id})",
    card=", carta che termina con {last4}",
    kinds={
        TransactionType.CHARGE: "pagamento",
        TransactionType.REFUND: "rimborso",
        TransactionType.CHARGEBACK: "chargeback",
        TransactionType.PAYOUT: "accredito",
    },
    statuses={
        "completed": "completato",
        "pending": "in sospeso",
        "failed": "non riuscito",
        "declined": "rifiutato",
        "refunded": "rimborsato",
        "cancelled": "annullato",
        "disputed": "contestato",
    },
    and_word="e",
    nothing_found="Non siamo ancora riusciti a collegare il suo messaggio a una transazione "
    "precisa. Se riguarda un pagamento, ci risponda indicandone la data e l'importo (mai il "
    "numero completo della carta).",
    duplicates="Gli addebiti {refs} hanno lo stesso importo e sembrano un possibile doppio "
    "addebito.",
    no_duplicates="Tra le sue transazioni recenti non vediamo ancora lo stesso addebito due "
    "volte; se possibile, ci risponda con le date di entrambi gli addebiti.",
    failed=Plural(
        "Il pagamento {refs} risulta non riuscito.",
        "I pagamenti {refs} risultano non riusciti.",
    ),
    pending=Plural(
        "Il pagamento {refs} è ancora in sospeso; un pagamento in sospeso viene completato o "
        "sbloccato dalla banca, il che può richiedere alcuni giorni.",
        "I pagamenti {refs} sono ancora in sospeso; un pagamento in sospeso viene completato o "
        "sbloccato dalla banca, il che può richiedere alcuni giorni.",
    ),
    refund_issued="Un rimborso di {amount} è già stato emesso il {date} (riferimento {id}). "
    "A seconda della banca, possono servire alcuni giorni lavorativi prima che compaia "
    "sull'estratto conto.",
    refund_recorded="Sono già stati rimborsati {amount} del pagamento {id}. A seconda della "
    "banca, possono servire alcuni giorni lavorativi prima che compaiano sull'estratto conto.",
    chargeback=Plural(
        "Vediamo che è stato aperto un chargeback per {refs}; il nostro team lo seguirà con "
        "la sua banca.",
        "Vediamo che sono stati aperti dei chargeback per {refs}; il nostro team li seguirà "
        "con la sua banca.",
    ),
    next_steps={
        "billing_question": "Se qualcosa non le sembra corretto, ci risponda con i dettagli e il "
        "nostro team se ne occuperà.",
        "refund_request": "Il nostro team esaminerà la sua richiesta e le risponderà il prima "
        "possibile.",
        "duplicate_charge": "Il nostro team esaminerà questi addebiti e le risponderà il prima "
        "possibile.",
        "payment_failed": "Di solito è l'emittente della carta a rifiutare il pagamento, per "
        "esempio per fondi insufficienti, una carta scaduta o un controllo di sicurezza. "
        "Verifichi con la sua banca o provi un altro metodo di pagamento; se continua a non "
        "riuscire, ci risponda e il nostro team se ne occuperà.",
        "unrecognized_charge": "Il nostro team esaminerà la questione con attenzione e le "
        "risponderà. Se pensa che qualcun altro abbia usato la sua carta, contatti anche la "
        "sua banca per bloccarla.",
        "subscription_cancellation": "Abbiamo inoltrato la sua richiesta al nostro team, che se "
        "ne occuperà e gliela confermerà via e-mail.",
        "account_access": "Per la sua sicurezza, non ci invii mai la password né il numero "
        "completo della carta. Può reimpostare la password con il link «Password dimenticata?» "
        "nella pagina di accesso; se non funziona, ci risponda e il nostro team la aiuterà a "
        "recuperare l'accesso.",
        "technical_issue": "Può indicarci quale dispositivo e quale app o browser usa, che cosa "
        "stava facendo quando è successo e il messaggio di errore che ha visto? Il nostro team "
        "se ne occuperà.",
        "general_inquiry": "Un membro del nostro team esaminerà la sua domanda e le risponderà.",
    },
    next_steps_other="Un membro del nostro team se ne occuperà e le risponderà.",
    closing="Cordiali saluti,\nAssistenza clienti",
)

PHRASEBOOKS: Final[Mapping[str, Phrasebook]] = {
    "en": ENGLISH,
    "es": SPANISH,
    "fr": FRENCH,
    "de": GERMAN,
    "pt": PORTUGUESE,
    "it": ITALIAN,
}
