"""Small synthetic labelled tickets whose answers are known, for the classifier's tests."""

from __future__ import annotations

import csv
import random
from pathlib import Path

CUES = {
    "refund_request": ["refund", "money back", "reimburse me", "return my payment"],
    "duplicate_charge": ["charged twice", "double charge", "billed two times", "duplicate payment"],
    "account_access": ["reset my password", "locked out", "cannot log in", "login code"],
    "card_delivery": ["card has not arrived", "new card delivery", "where is my card", "card post"],
}
LABELS = sorted(CUES)
_OPENINGS = ["Hello,", "Hi team,", "Good morning.", "", "Dear support,"]
_FILLERS = ["for order", "since last week", "on my account", "this morning", "again"]
_CLOSINGS = ["Thanks.", "Please help.", "Regards", "", "ASAP please"]


def clear_examples(per_label: int, seed: int = 0) -> list[tuple[str, str]]:
    """Tickets that each name their label's cue: a good model gets nearly all right."""
    rng = random.Random(seed)
    rows = []
    for _ in range(per_label):
        for label in LABELS:
            text = " ".join(
                part
                for part in (
                    rng.choice(_OPENINGS),
                    f"I need help: {rng.choice(CUES[label])}",
                    rng.choice(_FILLERS),
                    str(rng.randint(100, 999)),
                    rng.choice(_CLOSINGS),
                )
                if part
            )
            rows.append((text, label))
    return rows


def noisy_examples(count: int, seed: int, agreement: float = 0.8) -> list[tuple[str, str]]:
    """Every ticket names one label's cue, yet carries that label only with probability
    `agreement` (another label otherwise): the best possible confidence is `agreement`."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        home = rng.choice(LABELS)
        label = home if rng.random() < agreement else rng.choice([x for x in LABELS if x != home])
        rows.append((f"question about {rng.choice(CUES[home])} number {rng.randint(1, 9)}", label))
    return rows


def write_labelled_csv(path: Path, rows: list[tuple[str, str]], header: tuple[str, str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path
