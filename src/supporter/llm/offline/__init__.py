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

Modules: `text` (tokens), `matching` (the cue matcher), `negation`,
`signals` (fraud, urgency, anger, ... and sentiment), `language`,
`categories` (scoring the taxonomy), `priority`, `summary`, `transactions`,
`phrasebooks` (reply templates per language), `replies` (composing a reply),
`version` (the fingerprint) and `provider` (the port).
"""

from supporter.llm.offline.categories import FALLBACK_CATEGORY
from supporter.llm.offline.priority import NEEDS_HUMAN_BELOW
from supporter.llm.offline.provider import OfflineProvider, rules_analysis
from supporter.llm.offline.version import RULES_VERSION

__all__ = [
    "FALLBACK_CATEGORY",
    "NEEDS_HUMAN_BELOW",
    "RULES_VERSION",
    "OfflineProvider",
    "rules_analysis",
]
