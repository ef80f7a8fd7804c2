"""The texts of the sample tickets, per language code."""

from collections.abc import Mapping

from supporter.sample_data.texts.english import ENGLISH
from supporter.sample_data.texts.french import FRENCH
from supporter.sample_data.texts.german import GERMAN
from supporter.sample_data.texts.italian import ITALIAN
from supporter.sample_data.texts.language import LanguageTexts
from supporter.sample_data.texts.portuguese import PORTUGUESE
from supporter.sample_data.texts.spanish import SPANISH

TEXTS: Mapping[str, LanguageTexts] = {
    language.code: language for language in (ENGLISH, SPANISH, FRENCH, GERMAN, PORTUGUESE, ITALIAN)
}

__all__ = ["TEXTS", "LanguageTexts"]
