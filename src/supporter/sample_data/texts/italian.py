"""Italian tickets: names, money and date styles, and the texts per category and tone."""

from __future__ import annotations

from supporter.sample_data.dice import Weighted
from supporter.sample_data.texts.language import EU_DATES, EU_MONEY, LanguageTexts, words

ITALIAN = LanguageTexts(
    code="it",
    first_names=words("Giulia Marco Francesca Luca Chiara Matteo Sara Alessandro"),
    last_names=words("Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci"),
    currencies=Weighted({"EUR": 96, "USD": 4}),
    utc_offsets=(1, 2),
    months=words(
        "gennaio febbraio marzo aprile maggio giugno luglio "
        "agosto settembre ottobre novembre dicembre"
    ),
    date_styles=EU_DATES,
    money_styles=EU_MONEY,
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
