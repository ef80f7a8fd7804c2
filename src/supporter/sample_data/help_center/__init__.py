"""A help center for the sample company (Lumio, a subscription app), and tickets that
its articles answer.

The articles (Markdown with front matter, English and German) and the customer
questions are data files beside this module; their policies are Lumio's own and
differ from our generic replies (a 14-day refund window, refunds within 5 business
days, a 1.75% conversion fee, a 15.00 EUR chargeback fee). Each question becomes a
ticket labelled with the article that answers it. The last three questions of each
article and language are the held-out part, written to a file of their own
(`knowledge-heldout.csv`): wordings no retrieval setting was ever tuned on.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

import yaml

from supporter.sample_data.records import TICKET_COLUMNS

HELD_OUT_PER_ARTICLE: Final = 3
# The tickets file's required columns, then what the ticket was written for.
PAIR_COLUMNS: Final = (*TICKET_COLUMNS[:6], "language", "article_id")
_TIERS: Final = ("Basic", "Plus", "Pro")
_AMOUNTS: Final = {
    "en": ("4.99 EUR", "9.99 EUR", "€19.99", "99.00 EUR"),
    "de": ("4,99 €", "9,99 EUR", "19,99 €", "99,00 EUR"),
}
_GREETINGS: Final = {
    "en": ("Hi,", "Hello,", "", "Dear Lumio team,"),
    "de": ("Hallo,", "", "Guten Tag,"),
}
_CLOSINGS: Final = {
    "en": ("Thanks", "Best regards, Sam", "", "Thank you!"),
    "de": ("Danke", "Viele Grüße, Jana", "", "Mit freundlichen Grüßen"),
}
# The team's saved replies: a saved reply of a category is what the offline provider
# answers with when the ticket is about a transaction it can fill them from.
SAVED_REPLIES: Final = (
    (
        "Duplicate charge",
        "Hello,\n\nthank you for telling us. We see the payment of {{amount}} on {{date}} "
        "({{transaction_id}}). If a second charge of the same amount is settled, we review "
        "both within 2 business days; a hold that your bank placed disappears within 7 days.\n\n"
        "Kind regards,\nThe Lumio Team",
        "duplicate_charge",
        "en",
    ),
    (
        "Doppelte Abbuchung",
        "Hallo,\n\ndanke für Ihre Nachricht. Wir sehen die Zahlung über {{amount}} vom {{date}} "
        "({{transaction_id}}). Ist eine zweite Belastung über denselben Betrag gebucht, prüfen "
        "wir beide innerhalb von 2 Werktagen; eine Vormerkung Ihrer Bank verschwindet innerhalb "
        "von 7 Tagen.\n\nViele Grüße\nIhr Lumio-Team",
        "duplicate_charge",
        "de",
    ),
    (
        "Cancellation received",
        "Hello,\n\nyou can cancel at any time under Settings, then Plan. Your plan stays active "
        "until the end of the period you paid for ({{amount}} on {{date}}), and you are not "
        "charged again.\n\nKind regards,\nThe Lumio Team",
        "subscription_cancellation",
        "en",
    ),
    (
        "Kündigung erhalten",
        "Hallo,\n\nSie können jederzeit unter Einstellungen, dann Tarif, kündigen. Ihr Tarif "
        "bleibt bis zum Ende des bezahlten Zeitraums aktiv ({{amount}} vom {{date}}), und es "
        "wird nicht erneut abgebucht.\n\nViele Grüße\nIhr Lumio-Team",
        "subscription_cancellation",
        "de",
    ),
)


@dataclass(frozen=True, slots=True)
class HelpCenterFiles:
    folder: Path
    pairs: Path
    held_out_pairs: Path
    articles: int
    tickets: int
    held_out: int

    def __str__(self) -> str:
        return (
            f"{self.folder} ({self.articles} articles, {len(SAVED_REPLIES)} saved replies) and "
            f"{self.pairs} ({self.tickets - self.held_out} labelled tickets) and "
            f"{self.held_out_pairs} ({self.held_out} held out)"
        )


def write_help_center(out_dir: Path, *, seed: int = 7) -> HelpCenterFiles:
    """Write `help-center/` (articles and saved replies), `knowledge-pairs.csv` and
    `knowledge-heldout.csv`."""
    data = resources.files(__package__)
    folder = out_dir / "help-center"
    articles = 0
    for language in ("en", "de"):
        (folder / language).mkdir(parents=True, exist_ok=True)
        for source in sorted(data.joinpath(language).iterdir(), key=lambda item: item.name):
            if source.name.endswith(".md"):
                text = source.read_text(encoding="utf-8")
                (folder / language / source.name).write_text(text, encoding="utf-8")
                articles += 1
    with (folder / "saved-replies.csv").open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(("title", "body", "category", "language"))
        writer.writerows(SAVED_REPLIES)
    topics: list[dict[str, Any]] = yaml.safe_load(
        data.joinpath("questions.yaml").read_text(encoding="utf-8")
    )
    pairs = out_dir / "knowledge-pairs.csv"
    held_out_pairs = out_dir / "knowledge-heldout.csv"
    rng = random.Random(seed)
    tickets = held_out = 0
    with (
        pairs.open("w", encoding="utf-8", newline="") as tune_file,
        held_out_pairs.open("w", encoding="utf-8", newline="") as held_out_file,
    ):
        tune = csv.writer(tune_file, lineterminator="\n")
        kept_out = csv.writer(held_out_file, lineterminator="\n")
        tune.writerow(PAIR_COLUMNS)
        kept_out.writerow(PAIR_COLUMNS)
        for topic in topics:
            for language in ("en", "de"):
                questions: list[str] = topic[f"{language}_questions"]
                for number, question in enumerate(questions):
                    tickets += 1
                    is_held_out = number >= len(questions) - HELD_OUT_PER_ARTICLE
                    held_out += is_held_out
                    subject, body = _ticket_text(rng, language, question)
                    (kept_out if is_held_out else tune).writerow(
                        (
                            f"K{tickets:05d}",
                            f"KC{rng.randrange(1, 10_000):05d}",
                            subject,
                            body,
                            "open",
                            f"2024-06-{1 + tickets % 28:02d}T{8 + tickets % 10:02d}:15:00Z",
                            language,
                            topic[language],
                        )
                    )
    return HelpCenterFiles(folder, pairs, held_out_pairs, articles, tickets, held_out)


def _ticket_text(rng: random.Random, language: str, question: str) -> tuple[str, str]:
    subject, body = question.split(" :: ", 1)
    values = {"tier": rng.choice(_TIERS), "amount": rng.choice(_AMOUNTS[language])}
    subject, body = subject.format_map(values), body.format_map(values)
    parts = [rng.choice(_GREETINGS[language]), body, rng.choice(_CLOSINGS[language])]
    return subject, "\n\n".join(part for part in parts if part)
