"""German tickets: names, money and date styles, and the texts per category and tone."""

from __future__ import annotations

from supporter.sample_data.dice import Weighted
from supporter.sample_data.texts.language import EU_MONEY, LanguageTexts, words

GERMAN = LanguageTexts(
    code="de",
    first_names=words("Lukas Anna Jonas Lea Felix Marie Paul Laura"),
    last_names=words("Müller Schmidt Schneider Fischer Weber Wagner Becker Hoffmann"),
    currencies=Weighted({"EUR": 95, "USD": 5}),
    utc_offsets=(1, 2),
    months=words(
        "Januar Februar März April Mai Juni Juli August September Oktober November Dezember"
    ),
    date_styles=Weighted({"{iso}": 70, "{day}. {month}": 30}),
    money_styles=EU_MONEY,
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
