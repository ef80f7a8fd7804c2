"""Realistic synthetic support tickets and payment transactions.

Customers are generated one at a time from a single seeded `random.Random`, so
the output depends only on the seed and the ticket count, and memory stays flat
however many tickets are asked for. Every ticket knows the category it was
written for and the transactions it is about (`iter_sample`), so classification
and grounding can be measured on the data; the CSV files carry neither.

Texts are data: per language, tables of subjects, bodies, greetings, closings
and card sentences. A template may hold inline alternatives, "[I was|I've been]
charged", one of which is picked per ticket, and the placeholders {amount},
{date}, {last4}, {product}, {descriptor} and {email}, filled from the
customer's own transactions. Times are UTC; a ticket's naive timestamp is UTC
wall time.
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from bisect import bisect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from itertools import accumulate
from pathlib import Path
from random import Random
from typing import Generic, TypeVar

from supporter.domain.masking import luhn_valid

__all__ = [
    "CATEGORIES",
    "LANGUAGES",
    "TICKET_COLUMNS",
    "TRANSACTION_COLUMNS",
    "SampleCustomer",
    "SampleFiles",
    "SampleTicket",
    "iter_sample",
    "write_sample_data",
]

CATEGORIES = (
    "billing_question",
    "refund_request",
    "duplicate_charge",
    "payment_failed",
    "unrecognized_charge",
    "subscription_cancellation",
    "account_access",
    "technical_issue",
    "general_inquiry",
)
LANGUAGES = ("en", "es", "fr", "de", "pt", "it")
TICKET_COLUMNS = (
    "ticket_id",
    "customer_id",
    "subject",
    "body",
    "status",
    "created_at",
    "customer_email",
    "channel",
    "priority",
)
TRANSACTION_COLUMNS = (
    "transaction_id",
    "customer_id",
    "amount",
    "currency",
    "status",
    "created_at",
    "type",
    "description",
    "card_last4",
)


@dataclass(frozen=True, slots=True)
class SampleTicket:
    """One ticket row (keys in `TICKET_COLUMNS` order) and what it was written to be."""

    row: dict[str, str]
    category: str
    language: str
    tone: str  # "polite", "neutral" or "angry"
    transaction_ids: tuple[str, ...]  # the transactions the ticket is about; the first is cited
    has_card_number: bool


@dataclass(frozen=True, slots=True)
class SampleCustomer:
    customer_id: str
    tickets: tuple[SampleTicket, ...]
    transactions: tuple[dict[str, str], ...]  # keys in `TRANSACTION_COLUMNS` order, by time


@dataclass(frozen=True, slots=True)
class SampleFiles:
    tickets_path: Path
    transactions_path: Path
    tickets: int
    transactions: int
    customers: int


_T = TypeVar("_T")


class _Dice(Random):
    """`random.Random` with quick picks (its `choice` and `randrange` are slow pure Python)."""

    def pick(self, options: Sequence[_T]) -> _T:
        return options[int(self.random() * len(options))]

    def below(self, stop: int) -> int:
        return int(self.random() * stop)

    def between(self, start: int, stop: int) -> int:
        """An integer from `start` up to, not including, `stop`."""
        return start + int(self.random() * (stop - start))


class _Weighted(Generic[_T]):
    """A weighted choice that costs one `random()` call per pick."""

    __slots__ = ("_cumulative", "_total", "_values")

    def __init__(self, weights: Mapping[_T, float]) -> None:
        self._values = tuple(weights)
        cumulative = list(accumulate(weights.values()))
        self._total = cumulative[-1]
        cumulative[-1] = math.inf  # so rounding in `random() * total` can never pick past the end
        self._cumulative = tuple(cumulative)

    def pick(self, rng: Random) -> _T:
        return self._values[bisect(self._cumulative, rng.random() * self._total)]


# --- How the data is distributed -----------------------------------------------------------

_TICKETS_PER_CUSTOMER = _Weighted({1: 62, 2: 27, 3: 11})
_TRANSACTIONS_PER_CUSTOMER = _Weighted({1: 12, 2: 18, 3: 22, 4: 20, 5: 16, 6: 12})
_CATEGORY = _Weighted(
    {
        "billing_question": 14,
        "refund_request": 16,
        "duplicate_charge": 9,
        "payment_failed": 12,
        "unrecognized_charge": 8,
        "subscription_cancellation": 12,
        "account_access": 10,
        "technical_issue": 10,
        "general_inquiry": 9,
    }
)
_LANGUAGE = _Weighted({"en": 70, "es": 8, "fr": 7, "de": 6, "pt": 5, "it": 4})
_TONE = _Weighted({"polite": 35, "neutral": 47, "angry": 18})
# People who lost money write angrier tickets.
_TONE_MONEY_LOST = _Weighted({"polite": 20, "neutral": 45, "angry": 35})
_MONEY_LOST = frozenset({"duplicate_charge", "unrecognized_charge", "payment_failed"})
_TICKET_STATUS = _Weighted(
    {"new": 34, "open": 26, "Open": 6, "NEW": 5, "pending": 11, "solved": 10, "closed": 8}
)
_CHANNEL = _Weighted({"email": 50, "web": 22, "chat": 20, "phone": 8})
_PRIORITY = _Weighted({"": 45, "low": 14, "medium": 22, "high": 14, "urgent": 5})
_PRIORITY_ANGRY = _Weighted({"": 40, "low": 2, "medium": 13, "high": 30, "urgent": 15})
# zoned: the customer's UTC offset; zulu: "Z"; naive: UTC wall time; date: the UTC date only.
_TICKET_TIME_STYLE = _Weighted({"zoned": 62, "zulu": 16, "naive": 8, "naive_space": 6, "date": 8})
_TRANSACTION_TIME_STYLE = _Weighted({"zulu": 72, "offset": 23, "naive_space": 5})
_BACKGROUND = _Weighted(
    {
        "renewal": 50,
        "order": 32,
        "failed": 7,
        "pending": 2,
        "refunded": 5,
        "chargeback": 2.5,
        "payout": 1.5,
    }
)
_CARD_NUMBER_SHARE = 0.02
_TYPO_SHARE = 0.06
_EMOJI_SHARE = 0.05
_REFUND_ISSUED_SHARE = 0.3  # of refund requests: the refund exists and the customer chases it
_CHARGEBACK_SHARE = 0.2  # of unrecognized charges: the customer already disputed it
_SECOND_CARD_SHARE = 0.12
_NO_EMAIL_SHARE = 0.05

_TIERS = _Weighted({"Starter": 30, "Pro": 40, "Team": 20, "Business": 10})
_MONTHLY_CENTS = {"Starter": 999, "Pro": 1999, "Team": 4999, "Business": 9900}
_ANNUAL_CENTS = {"Starter": 9900, "Pro": 19900, "Team": 49900, "Business": 99000}
_ANNUAL_SHARE = 0.2
_ADD_ONS = ("extra seats", "priority support", "additional storage", "API calls pack")
_DESCRIPTORS = (
    "ACME*{TIER}",
    "ACME SOFTWARE",
    "ACME.COM BILLING",
    "PAYPAL *ACME",
    "ACME*{TIER} PLAN",
)
_CHARGEBACK_REASONS = ("fraudulent", "unrecognized", "product not received", "duplicate")
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "BRL": "R$"}
_CARD_BRANDS = _Weighted({("4", 16): 55, ("5", 16): 30, ("37", 15): 10, ("6011", 16): 5})
_CARD_SEPARATOR = _Weighted({" ": 50, "": 30, "-": 20})
_EMOJI = {"polite": ("🙏", "🙂", "😊"), "neutral": ("👍", "🙂"), "angry": ("😡", "😤", "🤬")}
_MERCHANT_EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example")

_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_DAY = 86_400
_HOUR = 3_600
_MINUTE = 60
# Transactions of different tickets, and background ones, keep this far apart, so the only
# duplicates in the data are the ones duplicate_charge tickets are about.
_SPACING = 2 * _DAY
_PLACEMENT_ATTEMPTS = 10
_CITES_NOTHING = ("account_access", "technical_issue", "general_inquiry")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# --- Texts, per language --------------------------------------------------------------------


@dataclass(frozen=True)
class _Language:
    code: str
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    currencies: _Weighted[str]
    utc_offsets: tuple[int, ...]  # hours
    months: tuple[str, ...]
    date_styles: _Weighted[str]  # keys: iso, year, month, mon, day
    money_styles: _Weighted[str]  # keys: symbol, code, amount
    product: str  # the plan as the customer names it; key: tier
    greetings: Mapping[str, tuple[str, ...]]  # by tone; "" is no greeting
    tone_lines: Mapping[str, tuple[str, ...]]
    closings: Mapping[str, tuple[str, ...]]
    card_lines: tuple[str, ...]  # keys: card, exp, cvv
    subjects: Mapping[str, tuple[str, ...]]  # by category
    bodies: Mapping[str, tuple[str, ...]]
    refund_followups: tuple[str, ...]  # refund requests where the refund is already issued
    signature_extras: tuple[str, ...] = ()
    mon: tuple[str, ...] = ()


_EU_MONEY = _Weighted(
    {"{amount} {code}": 35, "{amount} {symbol}": 30, "{symbol}{amount}": 15, "{code} {amount}": 20}
)
_EU_DATES = _Weighted({"{iso}": 70, "{day} {month}": 30})

_ENGLISH = _Language(
    code="en",
    first_names=_words(
        "James Mary Olivia Liam Emma Noah Ava Ethan Sophia Lucas Mia "
        "Jack Grace Henry Chloe Daniel Priya Wei"
    ),
    last_names=_words(
        "Smith Johnson Brown Taylor Wilson Davies Evans Thomas Clarke Walker "
        "Hughes Patel Nguyen Murphy O'Brien Kim"
    ),
    currencies=_Weighted({"USD": 70, "GBP": 20, "EUR": 5, "CAD": 3, "AUD": 2}),
    utc_offsets=(-5, -6, -8, 0, 1, 10),
    months=_words(
        "January February March April May June July August September October November December"
    ),
    mon=_words("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec"),
    date_styles=_Weighted(
        {
            "{iso}": 35,
            "{month} {day}": 35,
            "{mon} {day}": 10,
            "{day} {month}": 5,
            "{month} {day}, {year}": 15,
        }
    ),
    money_styles=_Weighted({"{symbol}{amount}": 60, "{amount} {code}": 25, "{code} {amount}": 15}),
    product="{tier} plan",
    greetings={
        "polite": ("Hello,", "Hi there,", "Good morning,", "Dear Support Team,", "Hello team,"),
        "neutral": ("Hi,", "Hello,", "Hey,", ""),
        "angry": ("Hello,", "", "To whom it may concern,", "Hi,"),
    },
    tone_lines={
        "polite": (
            "Thank you in advance for your help.",
            "I appreciate you looking into this.",
            "Sorry to bother you with this.",
        ),
        "neutral": ("Let me know if you need anything else from me.", "Thanks."),
        "angry": (
            "This is completely unacceptable.",
            "I am extremely frustrated.",
            "I expect this to be fixed TODAY.",
            "If this isn't resolved I will dispute it with my bank.",
            "Third time I'm writing about this!!!",
        ),
    },
    closings={
        "polite": (
            "Thanks so much,",
            "Kind regards,",
            "Many thanks,",
            "Best wishes,",
            "Thank you!",
        ),
        "neutral": ("Thanks,", "Regards,", "Best,", "Cheers,"),
        "angry": ("Regards,", "Waiting for your answer.", "", "Fix this."),
    },
    card_lines=(
        "My card number is {card}[, exp {exp}|][, CVV {cvv}|] if that helps.",
        "Here is the card I used: {card}",
        "In case you need it: card {card} exp {exp}",
        "[The|My] card is {card}[ and the CVV is {cvv}|].",
    ),
    signature_extras=("Sent from my iPhone", "Sent from my phone", "Get Outlook for Android"),
    subjects={
        "billing_question": (
            "Question about my invoice",
            "Question about a charge",
            "Need a receipt",
            "[Billing|Invoice] question",
            "VAT on my invoice",
            "Charge of {amount}",
        ),
        "refund_request": (
            "Refund request",
            "Requesting a refund",
            "Please refund my order",
            "Refund for {amount}",
            "I want my money back",
        ),
        "duplicate_charge": (
            "Charged twice",
            "Double charge",
            "Duplicate payment",
            "Charged twice for {amount}",
            "Two identical charges on my card",
        ),
        "payment_failed": (
            "Payment failed",
            "Card declined",
            "Can't pay",
            "Payment not going through",
            "Error when paying {amount}",
        ),
        "unrecognized_charge": (
            "Unknown charge",
            "I don't recognize this charge",
            "What is this charge?",
            "Unauthorized charge on my card",
            "Charge I did not make",
        ),
        "subscription_cancellation": (
            "Cancel my subscription",
            "Cancellation",
            "Please cancel my plan",
            "Stop charging me",
            "How do I cancel?",
        ),
        "account_access": (
            "Can't log in",
            "Locked out of my account",
            "Password reset not working",
            "2FA problem",
            "Login issue",
        ),
        "technical_issue": (
            "Bug report",
            "App keeps crashing",
            "Error on the dashboard",
            "Something is broken",
            "Export not working",
        ),
        "general_inquiry": (
            "Quick question",
            "Question about features",
            "Information request",
            "Do you offer discounts?",
            "Partnership inquiry",
        ),
    },
    bodies={
        "billing_question": (
            "[I was charged|I see a charge of|There's a charge for] {amount} on {date} and I'd "
            "like to understand what it covers. [Is this for the {product}?|Which plan is that "
            "for?]",
            "Could you send me an invoice for the payment of {amount} made on {date}? [I need it "
            "for my company's expense report.|Our accounting team needs it, with our VAT number on "
            "it.]",
            "Why was I charged {amount} this month? I thought the {product} was cheaper. [Did the "
            "price change?|Was there a price increase I missed?]",
            "Which card is being charged for my subscription? I [want to make sure|need to check] "
            "it's the one ending in {last4}.",
            "Can you explain how billing works for the {product}? [Am I billed at the start or the "
            "end of the month?|When exactly does the renewal charge happen?]",
            "I need a receipt for {date}. [The email with the receipt never arrived.|I can't find "
            "it in my account.]\n\nThe amount was {amount}.",
        ),
        "refund_request": (
            "I'd like to request a refund for [my purchase|the charge] of {amount} on {date}. "
            "[The product did not work as described.|I bought it by mistake.|I never ended up "
            "using it.]",
            "Please refund the {amount} you charged me on {date}. [I cancelled before the renewal "
            "date.|I cancelled on time, so this shouldn't have happened.]",
            "Can I get my money back for the {product}? [It's not what I expected.|It doesn't do "
            "what I need.] I [only signed up|signed up] a few days ago.",
            "I want a full refund of {amount}. [The service was down most of the week.|Nothing has "
            "worked since I paid.]",
            "I was charged {amount} on {date} for the wrong plan. Can you refund it and switch me "
            "to the right one?",
        ),
        "duplicate_charge": (
            "I was charged twice for the same [order|payment] on {date}: two charges of {amount} "
            "[a few minutes apart|within minutes]. Please refund the duplicate.",
            "My [bank statement|card statement|banking app] shows {amount} taken twice on {date}. "
            "I only [clicked pay once|made one purchase].",
            "You double charged me! {amount} twice on my card ending {last4}. [I want one of them "
            "back.|Refund the extra charge now.]",
            "There are two identical charges of {amount} on {date}. [Looks like a glitch on your "
            "side.|I think the checkout page submitted twice.] Can you reverse one?",
        ),
        "payment_failed": (
            "My payment of {amount} [keeps failing|failed] [and I don't know why|with no "
            "explanation]. [My card works everywhere else.|The card ending in {last4} has enough "
            "funds.]",
            "I tried to pay on {date} but the payment was declined. [My bank says they didn't "
            "block anything.|The bank sees no attempt.] What's going on?",
            "Card declined again when renewing my {product}. Please tell me how to [pay|update my "
            "card] before my account gets suspended.",
            'The checkout says "payment failed" every time I try to pay {amount}. [I tried two '
            "different cards.|I tried again this morning, same thing.]",
        ),
        "unrecognized_charge": (
            "There's a charge of {amount} on {date} [from|labelled] \"{descriptor}\" [that I don't "
            "recognize|that I didn't make]. [What is it for?|Please explain.]",
            "I don't remember buying anything from you. Why is there a {amount} charge on my card "
            "ending {last4}?",
            "Someone used my card! I see {amount} on {date} and [I never authorized it|I've never "
            "heard of this company]. [I've already contacted my bank.|Cancel it immediately.]",
            'My statement shows "{descriptor}" for {amount}. [Is this you?|Is this related to my '
            "account?] I don't recognize it.",
        ),
        "subscription_cancellation": (
            "Please cancel my {product} [effective immediately|at the end of the current period]. "
            "[I no longer need it.|We're moving to another tool.]",
            "I [tried to cancel|want to cancel] but [I can't find the option|the cancel button "
            "doesn't do anything]. I was charged again, {amount} on {date}.",
            "Cancel my subscription and stop charging my card. [I was billed {amount} again on "
            "{date} even though I asked to cancel.|I don't want any more renewals.]",
            "How do I cancel? I don't want to be charged {amount} every month anymore.",
            "I'd like to end my subscription. [Thanks for everything.|It was good while it "
            "lasted.]\n\nPlease confirm once it's done.",
        ),
        "account_access": (
            "I can't log in to my account. [The password reset email never arrives.|It says my "
            "password is wrong but I just reset it.]",
            "I'm locked out after too many attempts. [Can you unlock my account?|How long do I "
            "have to wait?]",
            "I lost my phone and can't get the two-factor code. How do I [get back into|recover] "
            "my account?",
            "I changed my email address and now I can't [sign in|access my account]. My old email "
            "was {email}.",
            "The login page just [keeps reloading|spins forever] [after I enter my password|when "
            "I click sign in].",
        ),
        "technical_issue": (
            "The [app|dashboard] [crashes|freezes] every time I open the [reports|invoices] page. "
            "[I'm on the latest version.|I cleared the cache already.]",
            'I get an error "500 Internal Server Error" when I try to [export my data|download '
            "invoices].",
            "Your API returns 429 errors even though we send very few requests. [Webhooks also "
            "arrive late.|Is there an outage?]",
            "The page doesn't load on [Safari|Firefox|my phone]. It's just blank. [Chrome seems "
            "fine.|Other sites work.]",
            "Since the last update, the [CSV export|sync with our CRM] [is broken|stopped "
            "working]. Nothing happens when I click the button.\n\nSteps: open Settings, click "
            "Export, wait.",
        ),
        "general_inquiry": (
            "Do you offer [a discount for nonprofits|student discounts|a discount for annual "
            "plans]?",
            "Is it possible to add more [users|team members] to my account? [How does that work?"
            "|What does it cost?]",
            "What are your support hours? [I'm in a different time zone.|Are you available on "
            "weekends?]",
            "Does the {product} include [API access|priority support|data export]? [I couldn't "
            "find it on the pricing page.|The website isn't clear.]",
            "We'd like to discuss a partnership [with your company|for our agency]. Who should I "
            "talk to?",
        ),
    },
    refund_followups=(
        "You told me a refund of {amount} was issued, but I still don't see it on my card ending "
        "in {last4}. [When will it arrive?|How long does it take?]",
        "I'm still waiting for my refund for the charge on {date} ({amount}). [It's been days.|"
        "Can you check the status?]",
        "Where is my refund? The {amount} from {date} hasn't come back yet.",
    ),
)

_SPANISH = _Language(
    code="es",
    first_names=_words("María José Lucía Javier Carmen Pablo Sofía Diego"),
    last_names=_words("García Martínez López Sánchez Pérez Gómez Fernández Ruiz"),
    currencies=_Weighted({"EUR": 92, "USD": 8}),
    utc_offsets=(1, 2),
    months=_words(
        "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
    ),
    date_styles=_Weighted({"{iso}": 70, "{day} de {month}": 30}),
    money_styles=_EU_MONEY,
    product="plan {tier}",
    greetings={
        "polite": ("Hola,", "Buenos días,", "Estimado equipo de soporte,"),
        "neutral": ("Hola,", ""),
        "angry": ("", "Hola,"),
    },
    tone_lines={
        "polite": ("Gracias de antemano por su ayuda.",),
        "neutral": ("Quedo atento.",),
        "angry": ("Esto es inaceptable.", "Estoy muy molesto.", "¡Es la tercera vez que escribo!"),
    },
    closings={
        "polite": ("Muchas gracias,", "Saludos cordiales,", "Un saludo,"),
        "neutral": ("Gracias,", "Saludos,"),
        "angry": ("Espero una respuesta.", ""),
    },
    card_lines=(
        "Mi tarjeta es {card}[, vence {exp}|][, CVV {cvv}|].",
        "Les paso la tarjeta: {card} exp {exp}",
    ),
    subjects={
        "billing_question": (
            "Pregunta sobre mi factura",
            "Consulta sobre un cargo",
            "Necesito un recibo",
        ),
        "refund_request": (
            "Solicitud de reembolso",
            "Quiero un reembolso",
            "Devolución de {amount}",
        ),
        "duplicate_charge": ("Cobro duplicado", "Me cobraron dos veces", "Doble cargo de {amount}"),
        "payment_failed": ("Pago fallido", "Tarjeta rechazada", "No puedo pagar"),
        "unrecognized_charge": (
            "Cargo desconocido",
            "No reconozco este cargo",
            "Cargo no autorizado",
        ),
        "subscription_cancellation": (
            "Cancelar suscripción",
            "Baja del servicio",
            "Dejen de cobrarme",
        ),
        "account_access": (
            "No puedo iniciar sesión",
            "Cuenta bloqueada",
            "Problema con la contraseña",
        ),
        "technical_issue": (
            "Error en la aplicación",
            "La aplicación se cierra",
            "Algo no funciona",
        ),
        "general_inquiry": ("Una pregunta", "Consulta general", "Información sobre precios"),
    },
    bodies={
        "billing_question": (
            "Tengo un cargo de {amount} del {date} y quisiera saber a qué corresponde. [¿Es por el "
            "{product}?|¿Qué plan es?]",
            "¿Podrían enviarme la factura del pago de {amount} realizado el {date}? [La necesito "
            "para mi empresa.|Necesito que incluya mi NIF.]",
            "¿Por qué me cobraron {amount} este mes? Pensaba que el {product} costaba menos.",
        ),
        "refund_request": (
            "Quisiera solicitar el reembolso del cargo de {amount} del {date}. [El producto no "
            "funciona como se describe.|Lo compré por error.]",
            "Por favor, devuélvanme los {amount} que me cobraron el {date}. Cancelé antes de la "
            "renovación.",
            "¿Puedo recuperar mi dinero del {product}? No es lo que esperaba.",
        ),
        "duplicate_charge": (
            "Me cobraron dos veces el mismo pedido el {date}: dos cargos de {amount} con pocos "
            "minutos de diferencia. Por favor, devuelvan el duplicado.",
            "En mi extracto aparece {amount} dos veces el {date}. Solo pagué una vez.",
            "¡Me han cobrado {amount} dos veces en la tarjeta terminada en {last4}! Quiero que me "
            "devuelvan uno.",
        ),
        "payment_failed": (
            "Mi pago de {amount} [sigue fallando|ha fallado] y no sé por qué. Mi tarjeta funciona "
            "en otros sitios.",
            "Intenté pagar el {date} pero el pago fue rechazado. El banco dice que no bloqueó "
            "nada. ¿Qué pasa?",
            'Me sale "pago fallido" cada vez que intento renovar el {product}. ¿Cómo actualizo '
            "mi tarjeta?",
        ),
        "unrecognized_charge": (
            'Hay un cargo de {amount} del {date} con el concepto "{descriptor}" que no '
            "reconozco. ¿A qué corresponde?",
            "No recuerdo haber comprado nada. ¿Por qué hay un cargo de {amount} en mi tarjeta "
            "terminada en {last4}?",
            "¡Alguien usó mi tarjeta! Veo {amount} el {date} y nunca lo autoricé.",
        ),
        "subscription_cancellation": (
            "Por favor, cancelen mi {product} [de inmediato|al final del periodo actual]. Ya no lo "
            "necesito.",
            "Intenté cancelar pero no encuentro la opción. Me volvieron a cobrar {amount} el "
            "{date}.",
            "Quiero darme de baja. No quiero que me cobren {amount} cada mes.",
        ),
        "account_access": (
            "No puedo entrar en mi cuenta. El correo para restablecer la contraseña nunca llega.",
            "Mi cuenta está bloqueada después de varios intentos. ¿Pueden desbloquearla?",
            "Perdí mi móvil y no recibo el código de verificación. ¿Cómo recupero el acceso?",
        ),
        "technical_issue": (
            "La aplicación se cierra cada vez que abro la página de informes. Ya tengo la última "
            "versión.",
            'Me aparece "500 Internal Server Error" al intentar exportar mis datos.',
            "La página no carga en [Safari|Firefox|el móvil], se queda en blanco.",
        ),
        "general_inquiry": (
            "¿Ofrecen descuentos para [estudiantes|organizaciones sin ánimo de lucro|planes "
            "anuales]?",
            "¿Se pueden añadir más usuarios a mi cuenta? ¿Cuánto cuesta?",
            "¿Cuál es su horario de atención? ¿Atienden los fines de semana?",
        ),
    },
    refund_followups=(
        "Me dijeron que el reembolso de {amount} ya se había emitido, pero todavía no lo veo en "
        "mi tarjeta terminada en {last4}.",
        "Sigo esperando el reembolso del cargo del {date} ({amount}). ¿Pueden revisarlo?",
    ),
)

_FRENCH = _Language(
    code="fr",
    first_names=_words("Camille Louis Léa Hugo Manon Jules Chloé Théo"),
    last_names=_words("Martin Bernard Dubois Moreau Laurent Lefèvre Girard Roux"),
    currencies=_Weighted({"EUR": 94, "USD": 3, "GBP": 3}),
    utc_offsets=(1, 2),
    months=_words(
        "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
    ),
    date_styles=_EU_DATES,
    money_styles=_EU_MONEY,
    product="forfait {tier}",
    greetings={
        "polite": ("Bonjour,", "Madame, Monsieur,", "Bonjour l'équipe,"),
        "neutral": ("Bonjour,", ""),
        "angry": ("", "Bonjour,"),
    },
    tone_lines={
        "polite": ("Merci d'avance pour votre aide.",),
        "neutral": ("Dans l'attente de votre retour.",),
        "angry": (
            "C'est inadmissible.",
            "Je suis vraiment très mécontent.",
            "C'est la troisième fois que j'écris !",
        ),
    },
    closings={
        "polite": ("Merci beaucoup,", "Cordialement,", "Bien à vous,"),
        "neutral": ("Merci,", "Cordialement,"),
        "angry": ("J'attends votre réponse.", ""),
    },
    card_lines=(
        "Mon numéro de carte est {card}[, exp {exp}|][, CVV {cvv}|].",
        "Voici ma carte : {card} exp {exp}",
    ),
    subjects={
        "billing_question": (
            "Question sur ma facture",
            "Question sur un prélèvement",
            "Besoin d'un reçu",
        ),
        "refund_request": (
            "Demande de remboursement",
            "Je souhaite être remboursé",
            "Remboursement de {amount}",
        ),
        "duplicate_charge": (
            "Double prélèvement",
            "Débité deux fois",
            "Paiement en double de {amount}",
        ),
        "payment_failed": ("Échec du paiement", "Carte refusée", "Impossible de payer"),
        "unrecognized_charge": (
            "Prélèvement inconnu",
            "Je ne reconnais pas ce paiement",
            "Paiement non autorisé",
        ),
        "subscription_cancellation": (
            "Résiliation de mon abonnement",
            "Annuler mon abonnement",
            "Arrêtez de me prélever",
        ),
        "account_access": (
            "Impossible de me connecter",
            "Compte bloqué",
            "Problème de mot de passe",
        ),
        "technical_issue": (
            "Bug dans l'application",
            "L'application plante",
            "Erreur sur le tableau de bord",
        ),
        "general_inquiry": ("Petite question", "Demande d'information", "Question sur les tarifs"),
    },
    bodies={
        "billing_question": (
            "J'ai un prélèvement de {amount} le {date} et j'aimerais savoir à quoi il correspond. "
            "[Est-ce pour le {product} ?|De quelle offre s'agit-il ?]",
            "Pourriez-vous m'envoyer la facture du paiement de {amount} du {date} ? [J'en ai "
            "besoin pour ma comptabilité.|Il me faut mon numéro de TVA dessus.]",
            "Pourquoi ai-je payé {amount} ce mois-ci ? Je pensais que le {product} coûtait moins "
            "cher.",
        ),
        "refund_request": (
            "Je souhaite obtenir le remboursement du paiement de {amount} du {date}. [Le produit "
            "ne fonctionne pas comme annoncé.|Je l'ai acheté par erreur.]",
            "Merci de me rembourser les {amount} prélevés le {date}. J'avais résilié avant le "
            "renouvellement.",
            "Est-il possible d'être remboursé pour le {product} ? Ce n'est pas ce que j'attendais.",
        ),
        "duplicate_charge": (
            "J'ai été débité deux fois pour la même commande le {date} : deux paiements de "
            "{amount} à quelques minutes d'intervalle. Merci de rembourser le doublon.",
            "Mon relevé bancaire montre {amount} prélevé deux fois le {date}. Je n'ai payé qu'une "
            "seule fois.",
            "Vous m'avez débité {amount} deux fois sur ma carte se terminant par {last4} ! Je veux "
            "être remboursé.",
        ),
        "payment_failed": (
            "Mon paiement de {amount} [échoue à chaque fois|a échoué] et je ne comprends pas "
            "pourquoi. Ma carte fonctionne ailleurs.",
            "J'ai essayé de payer le {date} mais le paiement a été refusé. Ma banque dit n'avoir "
            "rien bloqué.",
            "Carte refusée lors du renouvellement de mon {product}. Comment mettre à jour ma "
            "carte ?",
        ),
        "unrecognized_charge": (
            'Il y a un prélèvement de {amount} le {date} intitulé "{descriptor}" que je ne '
            "reconnais pas. À quoi correspond-il ?",
            "Je ne me souviens pas avoir acheté quoi que ce soit chez vous. Pourquoi y a-t-il un "
            "paiement de {amount} sur ma carte se terminant par {last4} ?",
            "Quelqu'un a utilisé ma carte ! Je vois {amount} le {date} et je ne l'ai jamais "
            "autorisé.",
        ),
        "subscription_cancellation": (
            "Merci de résilier mon {product} [immédiatement|à la fin de la période en cours]. Je "
            "n'en ai plus besoin.",
            "J'ai essayé d'annuler mais je ne trouve pas l'option. J'ai encore été prélevé de "
            "{amount} le {date}.",
            "Je veux annuler mon abonnement. Je ne veux plus payer {amount} chaque mois.",
        ),
        "account_access": (
            "Je n'arrive pas à me connecter à mon compte. L'e-mail de réinitialisation du mot de "
            "passe n'arrive jamais.",
            "Mon compte est bloqué après plusieurs tentatives. Pouvez-vous le débloquer ?",
            "J'ai perdu mon téléphone et je ne reçois plus le code de vérification. Comment "
            "récupérer mon compte ?",
        ),
        "technical_issue": (
            "L'application plante à chaque fois que j'ouvre la page des rapports. J'ai pourtant "
            "la dernière version.",
            "J'obtiens l'erreur \"500 Internal Server Error\" quand j'essaie d'exporter mes "
            "données.",
            "La page ne se charge pas sur [Safari|Firefox|mon téléphone], elle reste blanche.",
        ),
        "general_inquiry": (
            "Proposez-vous des réductions pour [les étudiants|les associations|les abonnements "
            "annuels] ?",
            "Est-il possible d'ajouter des utilisateurs à mon compte ? Combien cela coûte-t-il ?",
            "Quels sont vos horaires de support ? Êtes-vous disponibles le week-end ?",
        ),
    },
    refund_followups=(
        "Vous m'avez indiqué qu'un remboursement de {amount} avait été effectué, mais je ne le "
        "vois toujours pas sur ma carte se terminant par {last4}.",
        "J'attends toujours le remboursement du paiement du {date} ({amount}). Pouvez-vous "
        "vérifier ?",
    ),
)

_GERMAN = _Language(
    code="de",
    first_names=_words("Lukas Anna Jonas Lea Felix Marie Paul Laura"),
    last_names=_words("Müller Schmidt Schneider Fischer Weber Wagner Becker Hoffmann"),
    currencies=_Weighted({"EUR": 95, "USD": 5}),
    utc_offsets=(1, 2),
    months=_words(
        "Januar Februar März April Mai Juni Juli August September Oktober November Dezember"
    ),
    date_styles=_Weighted({"{iso}": 70, "{day}. {month}": 30}),
    money_styles=_EU_MONEY,
    product="{tier}-Tarif",
    greetings={
        "polite": ("Hallo,", "Guten Tag,", "Sehr geehrte Damen und Herren,"),
        "neutral": ("Hallo,", "Hi,", ""),
        "angry": ("", "Hallo,"),
    },
    tone_lines={
        "polite": ("Vielen Dank im Voraus für Ihre Hilfe.",),
        "neutral": ("Ich freue mich auf Ihre Antwort.",),
        "angry": (
            "Das ist völlig inakzeptabel.",
            "Ich bin sehr verärgert.",
            "Ich schreibe jetzt zum dritten Mal!",
        ),
    },
    closings={
        "polite": ("Vielen Dank,", "Mit freundlichen Grüßen,", "Viele Grüße,"),
        "neutral": ("Danke,", "Gruß,"),
        "angry": ("Ich erwarte eine Antwort.", ""),
    },
    card_lines=(
        "Meine Kartennummer ist {card}[, gültig bis {exp}|][, CVV {cvv}|].",
        "Hier meine Karte: {card} exp {exp}",
    ),
    subjects={
        "billing_question": (
            "Frage zu meiner Rechnung",
            "Frage zu einer Abbuchung",
            "Brauche eine Quittung",
        ),
        "refund_request": ("Rückerstattung", "Bitte um Erstattung", "Erstattung von {amount}"),
        "duplicate_charge": (
            "Doppelte Abbuchung",
            "Zweimal belastet",
            "Doppelte Zahlung über {amount}",
        ),
        "payment_failed": ("Zahlung fehlgeschlagen", "Karte abgelehnt", "Kann nicht bezahlen"),
        "unrecognized_charge": (
            "Unbekannte Abbuchung",
            "Ich erkenne diese Zahlung nicht",
            "Nicht autorisierte Abbuchung",
        ),
        "subscription_cancellation": (
            "Abo kündigen",
            "Kündigung",
            "Hören Sie auf, mir Geld abzubuchen",
        ),
        "account_access": (
            "Kann mich nicht anmelden",
            "Konto gesperrt",
            "Passwort zurücksetzen funktioniert nicht",
        ),
        "technical_issue": ("Fehler in der App", "App stürzt ab", "Fehler im Dashboard"),
        "general_inquiry": ("Kurze Frage", "Anfrage", "Frage zu den Preisen"),
    },
    bodies={
        "billing_question": (
            "Ich habe eine Abbuchung über {amount} vom {date} und möchte wissen, wofür sie ist. "
            "[Ist das für den {product}?|Welcher Tarif ist das?]",
            "Könnten Sie mir die Rechnung für die Zahlung über {amount} vom {date} schicken? [Ich "
            "brauche sie für die Buchhaltung.|Bitte mit unserer USt-IdNr.]",
            "Warum wurden mir diesen Monat {amount} berechnet? Ich dachte, der {product} wäre "
            "günstiger.",
        ),
        "refund_request": (
            "Ich möchte eine Rückerstattung für die Zahlung über {amount} vom {date}. [Das Produkt "
            "funktioniert nicht wie beschrieben.|Ich habe es versehentlich gekauft.]",
            "Bitte erstatten Sie mir die {amount}, die am {date} abgebucht wurden. Ich hatte vor "
            "der Verlängerung gekündigt.",
            "Kann ich mein Geld für den {product} zurückbekommen? Er entspricht nicht meinen "
            "Erwartungen.",
        ),
        "duplicate_charge": (
            "Mir wurde dieselbe Bestellung am {date} zweimal berechnet: zwei Zahlungen über "
            "{amount} im Abstand von wenigen Minuten. Bitte erstatten Sie die doppelte Zahlung.",
            "Auf meinem Kontoauszug steht {amount} zweimal am {date}. Ich habe nur einmal bezahlt.",
            "Sie haben meine Karte mit der Endung {last4} zweimal mit {amount} belastet! Ich will "
            "eine Zahlung zurück.",
        ),
        "payment_failed": (
            "Meine Zahlung über {amount} [schlägt immer wieder fehl|ist fehlgeschlagen] und ich "
            "weiß nicht warum. Meine Karte funktioniert überall sonst.",
            "Ich wollte am {date} bezahlen, aber die Zahlung wurde abgelehnt. Meine Bank sagt, "
            "sie hat nichts blockiert.",
            "Karte abgelehnt bei der Verlängerung meines {product}s. Wie kann ich meine Karte "
            "aktualisieren?",
        ),
        "unrecognized_charge": (
            "Es gibt eine Abbuchung über {amount} vom {date} mit der Bezeichnung "
            '"{descriptor}", die ich nicht kenne. Wofür ist die?',
            "Ich habe nichts bei Ihnen gekauft. Warum wurde meine Karte mit der Endung {last4} mit "
            "{amount} belastet?",
            "Jemand hat meine Karte benutzt! Ich sehe {amount} am {date} und habe das nie "
            "autorisiert.",
        ),
        "subscription_cancellation": (
            "Bitte kündigen Sie meinen {product} [sofort|zum Ende der aktuellen Laufzeit]. Ich "
            "brauche ihn nicht mehr.",
            "Ich wollte kündigen, finde aber die Option nicht. Am {date} wurden mir wieder "
            "{amount} abgebucht.",
            "Ich möchte mein Abo kündigen. Ich will nicht mehr jeden Monat {amount} zahlen.",
        ),
        "account_access": (
            "Ich kann mich nicht in mein Konto einloggen. Die E-Mail zum Zurücksetzen des "
            "Passworts kommt nie an.",
            "Mein Konto wurde nach mehreren Versuchen gesperrt. Können Sie es entsperren?",
            "Ich habe mein Handy verloren und bekomme keinen Bestätigungscode mehr. Wie komme ich "
            "wieder in mein Konto?",
        ),
        "technical_issue": (
            "Die App stürzt jedes Mal ab, wenn ich die Berichte öffne. Ich habe die neueste "
            "Version.",
            'Beim Exportieren meiner Daten bekomme ich den Fehler "500 Internal Server Error".',
            "Die Seite lädt nicht [in Safari|in Firefox|auf dem Handy], sie bleibt einfach weiß.",
        ),
        "general_inquiry": (
            "Bieten Sie Rabatte für [Studierende|gemeinnützige Organisationen|Jahrespläne] an?",
            "Kann ich weitere Benutzer zu meinem Konto hinzufügen? Was kostet das?",
            "Wann ist Ihr Support erreichbar? Auch am Wochenende?",
        ),
    },
    refund_followups=(
        "Sie haben mir mitgeteilt, dass eine Erstattung über {amount} veranlasst wurde, aber ich "
        "sehe sie immer noch nicht auf meiner Karte mit der Endung {last4}.",
        "Ich warte immer noch auf die Erstattung der Zahlung vom {date} ({amount}). Können Sie "
        "das prüfen?",
    ),
)

_PORTUGUESE = _Language(
    code="pt",
    first_names=_words("João Ana Pedro Beatriz Miguel Mariana Rafael Inês"),
    last_names=_words("Silva Santos Oliveira Costa Pereira Ferreira Rodrigues Almeida"),
    currencies=_Weighted({"EUR": 70, "BRL": 18, "USD": 12}),
    utc_offsets=(0, 1, -3),
    months=_words(
        "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro"
    ),
    date_styles=_Weighted({"{iso}": 70, "{day} de {month}": 30}),
    money_styles=_EU_MONEY,
    product="plano {tier}",
    greetings={
        "polite": ("Olá,", "Bom dia,", "Prezada equipe de suporte,"),
        "neutral": ("Olá,", "Oi,", ""),
        "angry": ("", "Olá,"),
    },
    tone_lines={
        "polite": ("Desde já agradeço a ajuda.",),
        "neutral": ("Aguardo retorno.",),
        "angry": ("Isso é inaceitável.", "Estou muito irritado.", "É a terceira vez que escrevo!"),
    },
    closings={
        "polite": ("Muito obrigado,", "Atenciosamente,", "Obrigada,"),
        "neutral": ("Obrigado,", "Abraço,"),
        "angry": ("Aguardo resposta.", ""),
    },
    card_lines=(
        "O número do meu cartão é {card}[, validade {exp}|][, CVV {cvv}|].",
        "Segue o cartão: {card} exp {exp}",
    ),
    subjects={
        "billing_question": (
            "Dúvida sobre minha fatura",
            "Dúvida sobre uma cobrança",
            "Preciso de um recibo",
        ),
        "refund_request": (
            "Pedido de reembolso",
            "Quero meu dinheiro de volta",
            "Reembolso de {amount}",
        ),
        "duplicate_charge": (
            "Cobrança duplicada",
            "Fui cobrado duas vezes",
            "Cobrança em dobro de {amount}",
        ),
        "payment_failed": ("Pagamento recusado", "Cartão recusado", "Não consigo pagar"),
        "unrecognized_charge": (
            "Cobrança desconhecida",
            "Não reconheço esta cobrança",
            "Cobrança não autorizada",
        ),
        "subscription_cancellation": ("Cancelar assinatura", "Cancelamento", "Parem de me cobrar"),
        "account_access": ("Não consigo entrar", "Conta bloqueada", "Problema com a senha"),
        "technical_issue": ("Erro no aplicativo", "O aplicativo trava", "Algo não funciona"),
        "general_inquiry": ("Uma dúvida", "Pedido de informação", "Dúvida sobre preços"),
    },
    bodies={
        "billing_question": (
            "Tenho uma cobrança de {amount} em {date} e gostaria de saber a que se refere. [É do "
            "{product}?|Qual plano é esse?]",
            "Vocês podem me enviar a fatura do pagamento de {amount} feito em {date}? Preciso para "
            "a contabilidade da empresa.",
            "Por que fui cobrado {amount} este mês? Achei que o {product} era mais barato.",
        ),
        "refund_request": (
            "Gostaria de solicitar o reembolso da cobrança de {amount} em {date}. [O produto não "
            "funciona como descrito.|Comprei por engano.]",
            "Por favor, devolvam os {amount} cobrados em {date}. Cancelei antes da renovação.",
            "Posso receber meu dinheiro de volta do {product}? Não é o que eu esperava.",
        ),
        "duplicate_charge": (
            "Fui cobrado duas vezes pelo mesmo pedido em {date}: duas cobranças de {amount} com "
            "poucos minutos de diferença. Por favor, estornem a duplicada.",
            "Meu extrato mostra {amount} duas vezes em {date}. Só paguei uma vez.",
            "Vocês cobraram {amount} duas vezes no meu cartão final {last4}! Quero uma delas de "
            "volta.",
        ),
        "payment_failed": (
            "Meu pagamento de {amount} [continua falhando|falhou] e não sei por quê. Meu cartão "
            "funciona em outros lugares.",
            "Tentei pagar em {date}, mas o pagamento foi recusado. O banco diz que não bloqueou "
            "nada.",
            "Cartão recusado na renovação do {product}. Como atualizo meu cartão?",
        ),
        "unrecognized_charge": (
            'Há uma cobrança de {amount} em {date} com a descrição "{descriptor}" que eu não '
            "reconheço. Do que se trata?",
            "Não me lembro de ter comprado nada. Por que há uma cobrança de {amount} no meu cartão "
            "final {last4}?",
            "Alguém usou meu cartão! Vejo {amount} em {date} e nunca autorizei isso.",
        ),
        "subscription_cancellation": (
            "Por favor, cancelem meu {product} [imediatamente|no fim do período atual]. Não "
            "preciso mais dele.",
            "Tentei cancelar, mas não encontro a opção. Fui cobrado de novo {amount} em {date}.",
            "Quero cancelar minha assinatura. Não quero mais pagar {amount} todo mês.",
        ),
        "account_access": (
            "Não consigo entrar na minha conta. O e-mail de redefinição de senha nunca chega.",
            "Minha conta foi bloqueada depois de várias tentativas. Podem desbloquear?",
            "Perdi meu celular e não recebo mais o código de verificação. Como recupero o acesso?",
        ),
        "technical_issue": (
            "O aplicativo fecha sozinho toda vez que abro a página de relatórios. Já estou na "
            "versão mais recente.",
            'Aparece o erro "500 Internal Server Error" quando tento exportar meus dados.',
            "A página não carrega no [Safari|Firefox|celular], fica em branco.",
        ),
        "general_inquiry": (
            "Vocês oferecem desconto para [estudantes|ONGs|planos anuais]?",
            "É possível adicionar mais usuários à minha conta? Quanto custa?",
            "Qual é o horário do suporte? Vocês atendem aos fins de semana?",
        ),
    },
    refund_followups=(
        "Vocês disseram que o reembolso de {amount} foi emitido, mas ainda não aparece no meu "
        "cartão final {last4}.",
        "Ainda estou esperando o reembolso da cobrança de {date} ({amount}). Podem verificar?",
    ),
)

_ITALIAN = _Language(
    code="it",
    first_names=_words("Giulia Marco Francesca Luca Chiara Matteo Sara Alessandro"),
    last_names=_words("Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci"),
    currencies=_Weighted({"EUR": 96, "USD": 4}),
    utc_offsets=(1, 2),
    months=_words(
        "gennaio febbraio marzo aprile maggio giugno luglio "
        "agosto settembre ottobre novembre dicembre"
    ),
    date_styles=_EU_DATES,
    money_styles=_EU_MONEY,
    product="piano {tier}",
    greetings={
        "polite": ("Buongiorno,", "Gentile assistenza,", "Salve,"),
        "neutral": ("Ciao,", "Salve,", ""),
        "angry": ("", "Buongiorno,"),
    },
    tone_lines={
        "polite": ("Grazie in anticipo per l'aiuto.",),
        "neutral": ("Attendo un riscontro.",),
        "angry": ("È inaccettabile.", "Sono molto arrabbiato.", "È la terza volta che scrivo!"),
    },
    closings={
        "polite": ("Grazie mille,", "Cordiali saluti,", "Distinti saluti,"),
        "neutral": ("Grazie,", "Saluti,"),
        "angry": ("Attendo una risposta.", ""),
    },
    card_lines=(
        "Il numero della mia carta è {card}[, scadenza {exp}|][, CVV {cvv}|].",
        "Ecco la carta: {card} exp {exp}",
    ),
    subjects={
        "billing_question": (
            "Domanda sulla fattura",
            "Domanda su un addebito",
            "Mi serve una ricevuta",
        ),
        "refund_request": ("Richiesta di rimborso", "Vorrei un rimborso", "Rimborso di {amount}"),
        "duplicate_charge": (
            "Addebito doppio",
            "Addebitato due volte",
            "Pagamento duplicato di {amount}",
        ),
        "payment_failed": ("Pagamento non riuscito", "Carta rifiutata", "Non riesco a pagare"),
        "unrecognized_charge": (
            "Addebito sconosciuto",
            "Non riconosco questo addebito",
            "Addebito non autorizzato",
        ),
        "subscription_cancellation": (
            "Disdetta abbonamento",
            "Annullare l'abbonamento",
            "Smettete di addebitarmi",
        ),
        "account_access": (
            "Non riesco ad accedere",
            "Account bloccato",
            "Problema con la password",
        ),
        "technical_issue": ("Errore nell'app", "L'app si blocca", "Qualcosa non funziona"),
        "general_inquiry": ("Una domanda", "Richiesta di informazioni", "Domanda sui prezzi"),
    },
    bodies={
        "billing_question": (
            "Ho un addebito di {amount} del {date} e vorrei sapere a cosa si riferisce. [È per il "
            "{product}?|Di quale piano si tratta?]",
            "Potete inviarmi la fattura del pagamento di {amount} del {date}? Mi serve per la "
            "contabilità.",
            "Perché mi avete addebitato {amount} questo mese? Pensavo che il {product} costasse "
            "meno.",
        ),
        "refund_request": (
            "Vorrei richiedere il rimborso dell'addebito di {amount} del {date}. [Il prodotto non "
            "funziona come descritto.|L'ho acquistato per errore.]",
            "Per favore rimborsatemi i {amount} addebitati il {date}. Avevo disdetto prima del "
            "rinnovo.",
            "Posso riavere i soldi del {product}? Non è quello che mi aspettavo.",
        ),
        "duplicate_charge": (
            "Mi è stato addebitato due volte lo stesso ordine il {date}: due addebiti di {amount} "
            "a pochi minuti di distanza. Per favore rimborsate il duplicato.",
            "Il mio estratto conto mostra {amount} due volte il {date}. Ho pagato una sola volta.",
            "Mi avete addebitato {amount} due volte sulla carta che termina con {last4}! Voglio "
            "indietro uno dei due.",
        ),
        "payment_failed": (
            "Il mio pagamento di {amount} [continua a fallire|non è andato a buon fine] e non so "
            "perché. La carta funziona ovunque.",
            "Ho provato a pagare il {date} ma il pagamento è stato rifiutato. La banca dice di non "
            "aver bloccato nulla.",
            "Carta rifiutata al rinnovo del {product}. Come aggiorno la carta?",
        ),
        "unrecognized_charge": (
            'C\'è un addebito di {amount} del {date} con la descrizione "{descriptor}" che non '
            "riconosco. Di cosa si tratta?",
            "Non ricordo di aver acquistato nulla. Perché c'è un addebito di {amount} sulla carta "
            "che termina con {last4}?",
            "Qualcuno ha usato la mia carta! Vedo {amount} il {date} e non l'ho mai autorizzato.",
        ),
        "subscription_cancellation": (
            "Per favore disdite il mio {product} [subito|alla fine del periodo in corso]. Non mi "
            "serve più.",
            "Ho provato ad annullare ma non trovo l'opzione. Mi avete addebitato di nuovo {amount} "
            "il {date}.",
            "Voglio disdire l'abbonamento. Non voglio più pagare {amount} ogni mese.",
        ),
        "account_access": (
            "Non riesco ad accedere al mio account. L'email per reimpostare la password non arriva "
            "mai.",
            "Il mio account è stato bloccato dopo diversi tentativi. Potete sbloccarlo?",
            "Ho perso il telefono e non ricevo più il codice di verifica. Come recupero l'accesso?",
        ),
        "technical_issue": (
            "L'app si chiude ogni volta che apro la pagina dei report. Ho già l'ultima versione.",
            'Ricevo l\'errore "500 Internal Server Error" quando provo a esportare i miei dati.',
            "La pagina non si carica [su Safari|su Firefox|sul telefono], resta bianca.",
        ),
        "general_inquiry": (
            "Offrite sconti per [studenti|associazioni no profit|piani annuali]?",
            "È possibile aggiungere altri utenti al mio account? Quanto costa?",
            "Quali sono gli orari dell'assistenza? Siete disponibili nel fine settimana?",
        ),
    },
    refund_followups=(
        "Mi avete detto che il rimborso di {amount} è stato emesso, ma non lo vedo ancora sulla "
        "carta che termina con {last4}.",
        "Sto ancora aspettando il rimborso dell'addebito del {date} ({amount}). Potete verificare?",
    ),
)

_LANGUAGES: Mapping[str, _Language] = {
    language.code: language
    for language in (_ENGLISH, _SPANISH, _FRENCH, _GERMAN, _PORTUGUESE, _ITALIAN)
}


# --- Rendering texts ------------------------------------------------------------------------

_ALTERNATIVES = re.compile(r"\[([^\[\]]*)\]")
# A word a typo may hit: letters only, and not a {placeholder} name.
_TYPO_WORD = re.compile(r"(?<![{\w])[^\W\d_]{5,}(?![}\w])")


@cache
def _parse(template: str) -> tuple[str | tuple[str, ...], ...]:
    parts: list[str | tuple[str, ...]] = []
    position = 0
    for match in _ALTERNATIVES.finditer(template):
        parts.append(template[position : match.start()])
        parts.append(tuple(match.group(1).split("|")))
        position = match.end()
    parts.append(template[position:])
    return tuple(part for part in parts if part)


def _render(rng: _Dice, choices: tuple[str, ...]) -> str:
    """One of `choices`, with one of each of its inline alternatives picked."""
    parts = _parse(rng.pick(choices))
    if len(parts) == 1 and isinstance(parts[0], str):
        return parts[0]
    return "".join(part if isinstance(part, str) else rng.pick(part) for part in parts)


def _with_typo(rng: _Dice, text: str) -> str:
    words = _TYPO_WORD.findall(text)
    if not words:
        return text
    word = rng.pick(words)
    index = rng.below(len(word) - 1)
    if rng.random() < 0.5:
        typo = word[:index] + word[index + 1] + word[index] + word[index + 2 :]
    else:
        typo = word[:index] + word[index + 1 :]
    return text.replace(word, typo, 1)


@cache
def _email_name(name: str) -> str:
    """ "Müller" -> "muller", "O'Brien" -> "obrien"."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(char for char in decomposed if char.isascii() and char.isalnum()).lower()


def _amount(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _utc_time(at: int, style: str) -> str:
    iso = (_EPOCH + timedelta(seconds=at)).isoformat(timespec="seconds")  # ...T..:..:..+00:00
    if style == "zulu":
        return iso[:19] + "Z"
    if style == "naive":
        return iso[:19]
    if style == "naive_space":
        return iso[:10] + " " + iso[11:19]
    if style == "date":
        return iso[:10]
    return iso


def _ticket_time(at: int, style: str, zone: timezone) -> str:
    if style == "zoned":
        return (_EPOCH + timedelta(seconds=at)).astimezone(zone).isoformat(timespec="seconds")
    return _utc_time(at, style)


# --- Generation -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Transaction:
    at: int  # seconds since _EPOCH
    type: str
    cents: int
    status: str
    description: str
    last4: str
    of: _Transaction | None = None  # the charge a refund or chargeback is about
    transaction_id: str = ""


def _crowds(at: int, transactions: list[_Transaction]) -> bool:
    """Whether `at` is too close to one of `transactions` to tell them apart from a duplicate."""
    return any(abs(at - tx.at) < _SPACING for tx in transactions)


@dataclass(frozen=True, slots=True)
class _Profile:
    customer_id: str
    language: _Language
    first_name: str
    last_name: str
    email: str
    currency: str
    zone: timezone
    cards: tuple[str, ...]  # last four digits
    tier: str
    monthly: bool
    plan_cents: int
    plan_description: str


@dataclass(slots=True)
class _TicketPlan:
    category: str
    at: int
    time_style: str
    tone: str
    transactions: list[_Transaction]  # the first is the one the ticket cites
    refund_issued: bool = False


class _SampleGenerator:
    def __init__(self, rng: _Dice) -> None:
        self._rng = rng
        self._customers = 0
        self._tickets = 0
        self._transactions = 0

    def customer(self, ticket_count: int) -> SampleCustomer:
        profile = self._profile()
        plans = self._ticket_plans(profile, ticket_count)
        transactions = [tx for plan in plans for tx in plan.transactions]
        self._add_background(profile, plans, transactions)
        transactions.sort(key=lambda tx: tx.at)
        for tx in transactions:
            self._transactions += 1
            tx.transaction_id = f"tx_{self._transactions:06d}"
        rows = tuple(self._transaction_row(profile, tx) for tx in transactions)
        tickets = tuple(self._ticket(profile, plan) for plan in plans)
        return SampleCustomer(profile.customer_id, tickets, rows)

    # -- customers and their transactions --

    def _profile(self) -> _Profile:
        rng = self._rng
        self._customers += 1
        language = _LANGUAGES[_LANGUAGE.pick(rng)]
        first = rng.pick(language.first_names)
        last = rng.pick(language.last_names)
        first_ascii, last_ascii = _email_name(first), _email_name(last)
        local = rng.pick(
            (
                f"{first_ascii}.{last_ascii}",
                f"{first_ascii}{last_ascii}",
                f"{first_ascii[0]}{last_ascii}",
                f"{first_ascii}{rng.below(100)}",
            )
        )
        email = f"{local}@{rng.pick(_MERCHANT_EMAIL_DOMAINS)}"
        cards = [f"{rng.below(10_000):04d}"]
        if rng.random() < _SECOND_CARD_SHARE:
            cards.append(f"{rng.below(10_000):04d}")
        tier = _TIERS.pick(rng)
        monthly = rng.random() >= _ANNUAL_SHARE
        if monthly:
            cents, description = _MONTHLY_CENTS[tier], f"{tier} plan (monthly)"
        else:
            cents, description = _ANNUAL_CENTS[tier], f"{tier} plan (annual)"
        return _Profile(
            customer_id=f"C{self._customers:05d}",
            language=language,
            first_name=first,
            last_name=last,
            email=email,
            currency=language.currencies.pick(rng),
            zone=timezone(timedelta(hours=rng.pick(language.utc_offsets))),
            cards=tuple(cards),
            tier=tier,
            monthly=monthly,
            plan_cents=cents,
            plan_description=description,
        )

    def _ticket_plans(self, profile: _Profile, count: int) -> list[_TicketPlan]:
        rng = self._rng
        # Tickets fall in 2024: the first between mid-February and mid-September.
        at = rng.between(45 * _DAY, 260 * _DAY)
        plans: list[_TicketPlan] = []
        placed: list[_Transaction] = []
        for _ in range(count):
            category = _CATEGORY.pick(rng)
            tone = (_TONE_MONEY_LOST if category in _MONEY_LOST else _TONE).pick(rng)
            style = _TICKET_TIME_STYLE.pick(rng)
            # A date-only timestamp reads as midnight UTC: keep what it cites two days earlier.
            min_age = 2 * _DAY if style == "date" else 0
            for _attempt in range(_PLACEMENT_ATTEMPTS):
                plan = _TicketPlan(category, at, style, tone, [])
                self._transactions_for(profile, plan, min_age=min_age)
                if not any(_crowds(tx.at, placed) for tx in plan.transactions):
                    break
            else:
                # No room among the earlier tickets' transactions: ask something that cites none.
                plan = _TicketPlan(rng.pick(_CITES_NOTHING), at, style, tone, [])
            placed.extend(plan.transactions)
            plans.append(plan)
            at += rng.between(2 * _DAY, 45 * _DAY)
        return plans

    def _transactions_for(self, profile: _Profile, plan: _TicketPlan, *, min_age: int) -> None:
        rng = self._rng
        category = plan.category

        def before(low: int, high: int) -> int:
            return plan.at - min_age - rng.between(low, high)

        if category == "billing_question":
            plan.transactions.append(self._charge(profile, before(_HOUR, 25 * _DAY), 0.6))
        elif category == "refund_request":
            charge = self._charge(profile, before(2 * _DAY, 30 * _DAY), 0.6)
            plan.transactions.append(charge)
            if rng.random() < _REFUND_ISSUED_SHARE:
                plan.refund_issued = True
                refund_at = charge.at + rng.between(_HOUR, plan.at - min_age - charge.at)
                plan.transactions.append(self._refund(charge, refund_at))
        elif category == "duplicate_charge":
            close = rng.random() < 0.85
            gap = rng.between(5, 15 * _MINUTE) if close else rng.between(_HOUR, 6 * _HOUR)
            first = self._charge(profile, before(_HOUR, 20 * _DAY) - gap, 0.5)
            second = _Transaction(
                first.at + gap,
                "charge",
                first.cents,
                "succeeded" if rng.random() < 0.8 else "pending",
                first.description,
                first.last4,
            )
            plan.transactions.extend((first, second))
        elif category == "payment_failed":
            failed = self._charge(profile, before(10 * _MINUTE, 10 * _DAY), 0.7, "failed")
            plan.transactions.append(failed)
            if rng.random() < 0.35:
                earlier = failed.at - rng.between(_HOUR, 2 * _DAY)
                plan.transactions.append(
                    _Transaction(
                        earlier, "charge", failed.cents, "failed", failed.description, failed.last4
                    )
                )
        elif category == "unrecognized_charge":
            charge = self._charge(profile, before(2 * _DAY, 40 * _DAY), 0.6)
            plan.transactions.append(charge)
            if rng.random() < _CHARGEBACK_SHARE:
                disputed_at = charge.at + rng.between(_HOUR, plan.at - min_age - charge.at)
                plan.transactions.append(self._chargeback(charge, disputed_at))
        elif category == "subscription_cancellation":
            latest = self._charge(profile, before(_DAY, 20 * _DAY), 1.0)
            plan.transactions.append(latest)
            if profile.monthly:
                plan.transactions.append(
                    _Transaction(
                        latest.at - rng.pick((28, 30, 31)) * _DAY,
                        "charge",
                        latest.cents,
                        "succeeded",
                        latest.description,
                        latest.last4,
                    )
                )

    def _add_background(
        self, profile: _Profile, plans: list[_TicketPlan], transactions: list[_Transaction]
    ) -> None:
        """Top the customer up to 1-6 transactions unrelated to any ticket."""
        rng = self._rng
        target = _TRANSACTIONS_PER_CUSTOMER.pick(rng)
        start = plans[0].at - 120 * _DAY
        span = plans[-1].at + 7 * _DAY - start
        while len(transactions) < target:
            at = start + rng.below(span)
            if _crowds(at, transactions):
                continue
            kind = _BACKGROUND.pick(rng)
            room = target - len(transactions)
            if kind in ("refunded", "chargeback") and room < 2:
                kind = "renewal"
            if kind == "renewal" and not profile.monthly:
                kind = "order"  # an annual plan renews once a year, outside this window
            if kind == "payout":
                cents = rng.between(10_000, 500_000)
                status = "succeeded" if rng.random() < 0.8 else "pending"
                transactions.append(
                    _Transaction(at, "payout", cents, status, "Payout to bank account", "")
                )
                continue
            share = 1.0 if kind == "renewal" else 0.0 if kind == "order" else 0.5
            status = {"failed": "failed", "pending": "pending"}.get(kind, "succeeded")
            charge = self._charge(profile, at, share, status)
            transactions.append(charge)
            if kind == "refunded":
                transactions.append(self._refund(charge, at + rng.between(_HOUR, 5 * _DAY)))
            elif kind == "chargeback":
                transactions.append(self._chargeback(charge, at + rng.between(2 * _DAY, 20 * _DAY)))

    def _charge(
        self, profile: _Profile, at: int, plan_share: float, status: str = "succeeded"
    ) -> _Transaction:
        rng = self._rng
        if rng.random() < plan_share:
            cents, description = profile.plan_cents, profile.plan_description
        elif rng.random() < 0.3:
            seats = rng.between(1, 6)
            cents = seats * rng.pick((500, 900, 1500))
            description = f"Add-on: {rng.pick(_ADD_ONS)} (x{seats})"
        else:
            cents = rng.between(5, 400) * 100 + rng.pick((0, 0, 99, 50, rng.below(100)))
            description = f"Order #{rng.between(10_000, 99_999)}"
        return _Transaction(at, "charge", cents, status, description, rng.pick(profile.cards))

    def _refund(self, charge: _Transaction, at: int) -> _Transaction:
        status = "succeeded" if self._rng.random() < 0.6 else "pending"
        if status == "succeeded":
            charge.status = "refunded"
        return _Transaction(at, "refund", charge.cents, status, "", charge.last4, of=charge)

    def _chargeback(self, charge: _Transaction, at: int) -> _Transaction:
        status = "pending" if self._rng.random() < 0.6 else "succeeded"
        return _Transaction(at, "chargeback", charge.cents, status, "", charge.last4, of=charge)

    def _transaction_row(self, profile: _Profile, tx: _Transaction) -> dict[str, str]:
        description = tx.description
        if tx.of is not None:
            if tx.type == "refund":
                description = f"Refund of {tx.of.transaction_id}"
            else:
                reason = self._rng.pick(_CHARGEBACK_REASONS)
                description = f"Chargeback on {tx.of.transaction_id} ({reason})"
        created_at = _utc_time(tx.at, _TRANSACTION_TIME_STYLE.pick(self._rng))
        return {
            "transaction_id": tx.transaction_id,
            "customer_id": profile.customer_id,
            "amount": _amount(tx.cents),
            "currency": profile.currency,
            "status": tx.status,
            "created_at": created_at,
            "type": tx.type,
            "description": description,
            "card_last4": tx.last4,
        }

    # -- tickets --

    def _ticket(self, profile: _Profile, plan: _TicketPlan) -> SampleTicket:
        rng = self._rng
        self._tickets += 1
        language = profile.language
        channel = _CHANNEL.pick(rng)
        cited = plan.transactions[0] if plan.transactions else None
        values = {
            "amount": self._money(language, profile.currency, cited.cents) if cited else "",
            "date": self._date(language, cited.at) if cited else "",
            "last4": cited.last4 if cited and cited.last4 else profile.cards[0],
            "product": language.product.format(tier=profile.tier),
            "descriptor": rng.pick(_DESCRIPTORS).format(TIER=profile.tier.upper()),
            "email": profile.email,
        }
        subject = _render(rng, language.subjects[plan.category]).format_map(values)
        if channel == "chat" and rng.random() < 0.25:
            subject = f"Chat with {profile.first_name} {profile.last_name}"
        elif channel == "phone" and rng.random() < 0.3:
            subject = f"Call from {profile.first_name}"
        elif plan.tone == "angry" and rng.random() < 0.12:
            subject = subject.upper()

        templates = language.refund_followups if plan.refund_issued else None
        main = _render(rng, templates or language.bodies[plan.category])
        if rng.random() < _TYPO_SHARE:
            main = _with_typo(rng, main)
        main = main.format_map(values)
        has_card = rng.random() < _CARD_NUMBER_SHARE
        body = self._body(profile, plan, channel, main, has_card)
        priority = (_PRIORITY_ANGRY if plan.tone == "angry" else _PRIORITY).pick(rng)
        row = {
            "ticket_id": f"T{self._tickets:06d}",
            "customer_id": profile.customer_id,
            "subject": subject,
            "body": body,
            "status": _TICKET_STATUS.pick(rng),
            "created_at": _ticket_time(plan.at, plan.time_style, profile.zone),
            "customer_email": "" if rng.random() < _NO_EMAIL_SHARE else profile.email,
            "channel": channel,
            "priority": priority,
        }
        transaction_ids = tuple(tx.transaction_id for tx in plan.transactions)
        return SampleTicket(row, plan.category, language.code, plan.tone, transaction_ids, has_card)

    def _body(
        self, profile: _Profile, plan: _TicketPlan, channel: str, main: str, has_card: bool
    ) -> str:
        rng = self._rng
        language = profile.language
        tone = plan.tone
        written = channel in ("email", "web")
        paragraphs: list[str] = []
        if written or rng.random() < 0.15:
            greeting = _render(rng, language.greetings[tone])
            if greeting:
                paragraphs.append(greeting)
        if rng.random() < (0.15 if tone == "neutral" else 0.6):
            line = _render(rng, language.tone_lines[tone])
            main = f"{main}\n\n{line}" if written and rng.random() < 0.5 else f"{main} {line}"
        if rng.random() < _EMOJI_SHARE:
            main = f"{main} {rng.pick(_EMOJI[tone])}"
        paragraphs.append(main)
        if has_card:
            paragraphs.append(self._card_line(language, profile.cards[0]))
        if written:
            closing = _render(rng, language.closings[tone])
            signed = rng.random()
            name = (
                profile.first_name
                if signed < 0.5
                else f"{profile.first_name} {profile.last_name}"
                if signed < 0.9
                else ""
            )
            signature = "\n".join(part for part in (closing, name) if part)
            if signature:
                paragraphs.append(signature)
            if language.signature_extras and rng.random() < 0.04:
                paragraphs.append(rng.pick(language.signature_extras))
        elif channel == "chat" and rng.random() < 0.15:
            return " ".join(paragraphs).lower()
        return ("\n\n" if written else " ").join(paragraphs)

    def _card_line(self, language: _Language, last4: str) -> str:
        rng = self._rng
        prefix, length = _CARD_BRANDS.pick(rng)
        middle_length = length - len(prefix) - 4
        middle = f"{rng.below(10**middle_length):0{middle_length}d}"
        # Fix the first middle digit so the whole number passes the Luhn check.
        number = next(
            candidate
            for digit in "0123456789"
            if luhn_valid(candidate := prefix + digit + middle[1:] + last4)
        )
        if length == 15:
            groups = [number[:4], number[4:10], number[10:]]
        else:
            groups = [number[index : index + 4] for index in range(0, length, 4)]
        separator = _CARD_SEPARATOR.pick(rng)
        values = {
            "card": separator.join(groups),
            "exp": f"{rng.between(1, 13):02d}/{rng.between(25, 31)}",
            "cvv": f"{rng.between(10 ** (length - 12), 10 ** (length - 11))}",
        }
        return _render(rng, language.card_lines).format_map(values)

    def _money(self, language: _Language, currency: str, cents: int) -> str:
        style = language.money_styles.pick(self._rng)
        return style.format(symbol=_SYMBOLS[currency], code=currency, amount=_amount(cents))

    def _date(self, language: _Language, at: int) -> str:
        day = (_EPOCH + timedelta(seconds=at)).date()
        style = language.date_styles.pick(self._rng)
        return style.format(
            iso=day.isoformat(),
            year=day.year,
            month=language.months[day.month - 1],
            mon=(language.mon or language.months)[day.month - 1],
            day=day.day,
        )


# --- Public API -----------------------------------------------------------------------------


def iter_sample(tickets: int, *, seed: int = 7) -> Iterator[SampleCustomer]:
    """Customers one at a time, together holding exactly `tickets` tickets.

    The same seed and count give the same customers; a smaller count gives a prefix of a
    larger one's customers (all but the last, which may be cut short).
    """
    if tickets < 0:
        raise ValueError(f"tickets must be 0 or more, not {tickets}")
    rng = _Dice(seed)
    generator = _SampleGenerator(rng)
    remaining = tickets
    while remaining > 0:
        count = min(_TICKETS_PER_CUSTOMER.pick(rng), remaining)
        remaining -= count
        yield generator.customer(count)


def write_sample_data(out_dir: Path, tickets: int, *, seed: int = 7) -> SampleFiles:
    """Write `tickets.csv` and `transactions.csv` into `out_dir`, streamed customer by customer."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tickets_path = out_dir / "tickets.csv"
    transactions_path = out_dir / "transactions.csv"
    ticket_count = transaction_count = customer_count = 0
    with (
        tickets_path.open("w", encoding="utf-8", newline="") as tickets_file,
        transactions_path.open("w", encoding="utf-8", newline="") as transactions_file,
    ):
        ticket_writer = csv.writer(tickets_file, lineterminator="\n")
        transaction_writer = csv.writer(transactions_file, lineterminator="\n")
        ticket_writer.writerow(TICKET_COLUMNS)
        transaction_writer.writerow(TRANSACTION_COLUMNS)
        for customer in iter_sample(tickets, seed=seed):
            customer_count += 1
            for ticket in customer.tickets:
                ticket_writer.writerow(ticket.row.values())
            transaction_writer.writerows(row.values() for row in customer.transactions)
            ticket_count += len(customer.tickets)
            transaction_count += len(customer.transactions)
    return SampleFiles(
        tickets_path, transactions_path, ticket_count, transaction_count, customer_count
    )
