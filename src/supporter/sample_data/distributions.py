"""How the data is distributed: how often each category, language, tone, status, ...
occurs, and the plans, prices and cards customers have."""

from __future__ import annotations

from supporter.sample_data.dice import Weighted

TICKETS_PER_CUSTOMER = Weighted({1: 62, 2: 27, 3: 11})
TRANSACTIONS_PER_CUSTOMER = Weighted({1: 12, 2: 18, 3: 22, 4: 20, 5: 16, 6: 12})
CATEGORY = Weighted(
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
LANGUAGE = Weighted({"en": 70, "es": 8, "fr": 7, "de": 6, "pt": 5, "it": 4})
TONE = Weighted({"polite": 35, "neutral": 47, "angry": 18})
# People who lost money write angrier tickets.
TONE_MONEY_LOST = Weighted({"polite": 20, "neutral": 45, "angry": 35})
MONEY_LOST = frozenset({"duplicate_charge", "unrecognized_charge", "payment_failed"})
TICKET_STATUS = Weighted(
    {"new": 34, "open": 26, "Open": 6, "NEW": 5, "pending": 11, "solved": 10, "closed": 8}
)
CHANNEL = Weighted({"email": 50, "web": 22, "chat": 20, "phone": 8})
PRIORITY = Weighted({"": 45, "low": 14, "medium": 22, "high": 14, "urgent": 5})
PRIORITY_ANGRY = Weighted({"": 40, "low": 2, "medium": 13, "high": 30, "urgent": 15})
# zoned: the customer's UTC offset; zulu: "Z"; naive: UTC wall time; date: the UTC date only.
TICKET_TIME_STYLE = Weighted({"zoned": 62, "zulu": 16, "naive": 8, "naive_space": 6, "date": 8})
TRANSACTION_TIME_STYLE = Weighted({"zulu": 72, "offset": 23, "naive_space": 5})
BACKGROUND = Weighted(
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
CARD_NUMBER_SHARE = 0.02
TYPO_SHARE = 0.06
EMOJI_SHARE = 0.05
REFUND_ISSUED_SHARE = 0.3  # of refund requests: the refund exists and the customer chases it
CHARGEBACK_SHARE = 0.2  # of unrecognized charges: the customer already disputed it
SECOND_CARD_SHARE = 0.12
NO_EMAIL_SHARE = 0.05

TIERS = Weighted({"Starter": 30, "Pro": 40, "Team": 20, "Business": 10})
MONTHLY_CENTS = {"Starter": 999, "Pro": 1999, "Team": 4999, "Business": 9900}
ANNUAL_CENTS = {"Starter": 9900, "Pro": 19900, "Team": 49900, "Business": 99000}
ANNUAL_SHARE = 0.2
ADD_ONS = ("extra seats", "priority support", "additional storage", "API calls pack")
DESCRIPTORS = (
    "ACME*{TIER}",
    "ACME SOFTWARE",
    "ACME.COM BILLING",
    "PAYPAL *ACME",
    "ACME*{TIER} PLAN",
)
CHARGEBACK_REASONS = ("fraudulent", "unrecognized", "product not received", "duplicate")
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "BRL": "R$"}
CARD_BRANDS = Weighted({("4", 16): 55, ("5", 16): 30, ("37", 15): 10, ("6011", 16): 5})
CARD_SEPARATOR = Weighted({" ": 50, "": 30, "-": 20})
EMOJI = {"polite": ("🙏", "🙂", "😊"), "neutral": ("👍", "🙂"), "angry": ("😡", "😤", "🤬")}
MERCHANT_EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example")
