"""The offline provider: rules that classify, prioritise and answer without a network."""

import re
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from supporter.analysis.grounding import check_reply, compute_facts
from supporter.analysis.taxonomy import DEFAULT_TAXONOMY, load_taxonomy
from supporter.domain.errors import PermanentError
from supporter.domain.masking import contains_card_number
from supporter.domain.models import (
    Analysis,
    Priority,
    Reply,
    Sentiment,
    Ticket,
    Transaction,
    TransactionFacts,
    TransactionType,
    Usage,
)
from supporter.llm.base import AnalysisRequest, Category, ReplyRequest
from supporter.llm.offline import RULES_VERSION, OfflineProvider
from supporter.llm.offline.phrasebooks import PHRASEBOOKS
from supporter.sample_data.generator import iter_sample
from supporter.sample_data.texts import TEXTS

NOW = datetime(2024, 3, 10, 9, 30, tzinfo=UTC)


def ticket(body: str, subject: str = "", ticket_id: str = "T-1") -> Ticket:
    return Ticket(
        ticket_id=ticket_id,
        customer_id="C-1",
        subject=subject,
        body=body,
        status="open",
        created_at=NOW,
    )


def charge(
    transaction_id: str,
    amount: str,
    *,
    days_ago: int = 3,
    status: str = "succeeded",
    kind: TransactionType = TransactionType.CHARGE,
    currency: str = "USD",
    card_last4: str | None = "4242",
) -> Transaction:
    return Transaction(
        transaction_id=transaction_id,
        customer_id="C-1",
        amount=Decimal(amount),
        currency=currency,
        status=status,
        created_at=NOW - timedelta(days=days_ago),
        type=kind,
        card_last4=card_last4,
    )


def analysis_request(
    body: str,
    subject: str = "",
    *,
    transactions: list[Transaction] | None = None,
    facts: TransactionFacts | None = None,
    taxonomy: list[Category] | None = None,
) -> AnalysisRequest:
    return AnalysisRequest(
        ticket=ticket(body, subject),
        transactions=transactions or [],
        facts=facts or TransactionFacts(),
        taxonomy=DEFAULT_TAXONOMY if taxonomy is None else taxonomy,
    )


@pytest.fixture
def provider() -> OfflineProvider:
    return OfflineProvider(DEFAULT_TAXONOMY)


async def analyze(
    provider: OfflineProvider,
    body: str,
    subject: str = "",
    *,
    transactions: list[Transaction] | None = None,
    facts: TransactionFacts | None = None,
    taxonomy: list[Category] | None = None,
) -> Analysis:
    request = analysis_request(
        body, subject, transactions=transactions, facts=facts, taxonomy=taxonomy
    )
    return (await provider.analyze(request)).value


# --------------------------------------------------------------------------- identity


def test_name_is_offline_and_version_names_the_rules(provider: OfflineProvider) -> None:
    assert provider.name == "offline"
    assert re.fullmatch(rf"{RULES_VERSION}:[0-9a-f]{{12}}", provider.version)


def test_version_is_stable_for_the_same_taxonomy() -> None:
    assert OfflineProvider(DEFAULT_TAXONOMY).version == OfflineProvider(DEFAULT_TAXONOMY).version


def test_version_changes_with_the_taxonomy() -> None:
    changed = [*DEFAULT_TAXONOMY[:-1], Category(name="general_inquiry", keywords=["other"])]
    assert OfflineProvider(changed).version != OfflineProvider(DEFAULT_TAXONOMY).version


def test_an_empty_taxonomy_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one category"):
        OfflineProvider([])


async def test_a_request_without_taxonomy_is_a_permanent_error(provider: OfflineProvider) -> None:
    with pytest.raises(PermanentError, match="empty taxonomy"):
        await provider.analyze(analysis_request("hello", taxonomy=[]))


async def test_usage_is_zero_and_provider_is_named(provider: OfflineProvider) -> None:
    response = await provider.analyze(analysis_request("I was charged twice"))
    assert response.usage == Usage()
    assert response.provider == "offline"


# --------------------------------------------------------------------------- categories


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("I was charged twice for the same order this morning.", "duplicate_charge"),
        ("Me han cobrado dos veces el mismo pedido.", "duplicate_charge"),
        ("J'ai été débité deux fois pour la même commande.", "duplicate_charge"),
        ("Mir wurde der Betrag zweimal abgebucht.", "duplicate_charge"),
        ("Fui cobrado duas vezes no cartão.", "duplicate_charge"),
        ("Mi è stato fatto un doppio addebito.", "duplicate_charge"),
        ("Ik ben twee keer afgeschreven.", "duplicate_charge"),
        ("Please refund my last payment, the product never worked.", "refund_request"),
        ("Quiero un reembolso de mi compra.", "refund_request"),
        ("Je souhaite être remboursé de ma commande.", "refund_request"),
        ("Ich möchte eine Rückerstattung für meine Bestellung.", "refund_request"),
        ("Vorrei un rimborso per il mio ordine.", "refund_request"),
        ("My card was declined at checkout.", "payment_failed"),
        ("Mi pago fue rechazado.", "payment_failed"),
        ("Mon paiement a été refusé.", "payment_failed"),
        ("Meine Zahlung wurde abgelehnt.", "payment_failed"),
        ("Meu pagamento foi recusado.", "payment_failed"),
        ("I don't recognise this charge on my statement.", "unrecognized_charge"),
        ("No reconozco este cargo en mi tarjeta.", "unrecognized_charge"),
        ("Je ne reconnais pas cette opération.", "unrecognized_charge"),
        ("Ich erkenne diese Abbuchung nicht, ist das Betrug?", "unrecognized_charge"),
        ("Please cancel my subscription, I no longer need it.", "subscription_cancellation"),
        ("Quiero darme de baja.", "subscription_cancellation"),
        ("Je veux résilier mon abonnement.", "subscription_cancellation"),
        ("Ich möchte mein Abo kündigen.", "subscription_cancellation"),
        ("I forgot my password and cannot log in.", "account_access"),
        ("Olvidé mi contraseña.", "account_access"),
        ("J'ai oublié mon mot de passe.", "account_access"),
        ("Ich habe mein Passwort vergessen.", "account_access"),
        ("Ho dimenticato la password.", "account_access"),
        ("The app keeps crashing with an error message.", "technical_issue"),
        ("La aplicación no funciona.", "technical_issue"),
        ("L'application ne fonctionne pas.", "technical_issue"),
        ("Die App funktioniert nicht.", "technical_issue"),
        ("Why is there a fee on my invoice?", "billing_question"),
        ("¿Por qué hay una comisión en mi factura?", "billing_question"),
        ("Pourquoi ces frais sur ma facture ?", "billing_question"),
        ("Warum steht eine Gebühr auf meiner Rechnung?", "billing_question"),
        ("When will my new card be delivered?", "general_inquiry"),
    ],
)
async def test_clear_messages_get_their_category(
    provider: OfflineProvider, body: str, expected: str
) -> None:
    assert (await analyze(provider, body)).category == expected


async def test_contractions_and_accents_do_not_matter(provider: OfflineProvider) -> None:
    for body in (
        "I didn't recognise this payment",
        "I did not recognize this payment",
        "I didnt recognise this payment",
    ):
        assert (await analyze(provider, body)).category == "unrecognized_charge"


async def test_a_refund_the_customer_does_not_want_does_not_count(
    provider: OfflineProvider,
) -> None:
    result = await analyze(provider, "I don't want a refund, please just cancel my plan.")
    assert result.category == "subscription_cancellation"


async def test_subject_weighs_more_than_body(provider: OfflineProvider) -> None:
    body = "The app shows an error. Also I was charged twice."
    assert (await analyze(provider, body, "App error")).category == "technical_issue"
    assert (await analyze(provider, body, "Charged twice")).category == "duplicate_charge"


async def test_facts_support_a_vague_message_about_money(provider: OfflineProvider) -> None:
    vague = "There is something wrong with my payment from yesterday."
    plain = await analyze(provider, vague)
    duplicated = await analyze(
        provider, vague, facts=TransactionFacts(duplicate_charge_ids=["a", "b"])
    )
    failed = await analyze(provider, vague, facts=TransactionFacts(failed_ids=["a"]))
    assert plain.category != "duplicate_charge"
    assert duplicated.category == "duplicate_charge"
    assert failed.category == "payment_failed"


async def test_facts_do_not_make_a_question_about_money(provider: OfflineProvider) -> None:
    facts = TransactionFacts(duplicate_charge_ids=["a", "b"])
    result = await analyze(provider, "When will my new card be delivered?", facts=facts)
    assert result.category == "general_inquiry"


async def test_no_cue_falls_back_to_general_inquiry_with_low_confidence(
    provider: OfflineProvider,
) -> None:
    result = await analyze(provider, "Hello there, hope you are well.")
    assert result.category == "general_inquiry"
    assert result.confidence < 0.5
    assert result.needs_human


async def test_confidence_is_higher_for_clear_cues_than_for_mixed_ones(
    provider: OfflineProvider,
) -> None:
    clear = await analyze(provider, "I was charged twice, a duplicate charge of the same amount.")
    mixed = await analyze(provider, "The app shows an error and my card was declined.")
    assert 0.0 <= mixed.confidence < clear.confidence <= 1.0
    assert clear.confidence >= 0.7
    assert not clear.needs_human


# --------------------------------------------------------------------------- custom taxonomy

CUSTOM = load_taxonomy(
    [
        {"name": "shipping", "keywords": ["parcel*", "delivery", "tracking number"]},
        {"name": "returns", "keywords": ["return*^2", "exchange"]},
        {"name": "other", "keywords": ["delivery"]},
    ]
)


async def test_custom_taxonomy_uses_its_own_keywords() -> None:
    provider = OfflineProvider(CUSTOM)
    result = await analyze(provider, "My parcel has no tracking number", taxonomy=CUSTOM)
    assert result.category == "shipping"
    assert result.priority is Priority.MEDIUM


async def test_custom_taxonomy_falls_back_to_its_last_category() -> None:
    provider = OfflineProvider(CUSTOM)
    result = await analyze(provider, "Hello, a quick question about you.", taxonomy=CUSTOM)
    assert result.category == "other"


async def test_a_boost_decides_between_categories() -> None:
    provider = OfflineProvider(CUSTOM)
    result = await analyze(provider, "Delivery was fine but I want to return it", taxonomy=CUSTOM)
    assert result.category == "returns"


async def test_a_request_may_carry_another_taxonomy(provider: OfflineProvider) -> None:
    result = await analyze(provider, "Where is my parcel?", taxonomy=CUSTOM)
    assert result.category == "shipping"


async def test_requests_alternating_taxonomies_each_get_their_own_rules() -> None:
    # The provider remembers the last request's taxonomy by its objects: a request
    # with other objects of the same length, or with the same names and other
    # keywords, must not be answered with the remembered rules.
    swapped = load_taxonomy(
        [
            {"name": "shipping", "keywords": ["return*^2", "exchange"]},
            {"name": "returns", "keywords": ["parcel*", "delivery", "tracking number"]},
            {"name": "other", "keywords": ["delivery"]},
        ]
    )
    provider = OfflineProvider(CUSTOM)
    for _ in range(2):
        assert (await analyze(provider, "Where is my parcel?", taxonomy=CUSTOM)).category == (
            "shipping"
        )
        assert (await analyze(provider, "Where is my parcel?", taxonomy=swapped)).category == (
            "returns"
        )
        copied = [category.model_copy() for category in CUSTOM]
        assert (await analyze(provider, "Where is my parcel?", taxonomy=copied)).category == (
            "shipping"
        )
        default = await analyze(provider, "Where is my parcel?", taxonomy=DEFAULT_TAXONOMY)
        assert default.category not in {"shipping", "returns"}


# --------------------------------------------------------------------------- language


@pytest.mark.parametrize(
    ("body", "language"),
    [
        ("Hello, I was charged twice for my order and I would like to know why.", "en"),
        ("Hola, me han cobrado dos veces y quiero saber por qué.", "es"),
        ("Bonjour, j'ai été débité deux fois et je voudrais savoir pourquoi.", "fr"),
        ("Hallo, mir wurde zweimal abgebucht und ich möchte wissen warum.", "de"),
        # No umlaut and few of the commonest words: "an Ihrem" and "jedes" tell.
        ("Dreimal versucht, jedes Mal abgelehnt. Liegt es an Ihrem System?", "de"),
        ("Olá, fui cobrado duas vezes e não sei porque.", "pt"),
        ("Ciao, mi hanno addebitato due volte e vorrei sapere perché.", "it"),
        ("Hallo, ik ben twee keer afgeschreven en ik wil graag weten waarom.", "nl"),
        ("12345", "en"),
    ],
)
async def test_language_is_detected(provider: OfflineProvider, body: str, language: str) -> None:
    assert (await analyze(provider, body)).language == language


# --------------------------------------------------------------------------- priority


async def test_a_plain_question_is_low_priority(provider: OfflineProvider) -> None:
    result = await analyze(provider, "How do I update my address?")
    assert result.priority is Priority.LOW
    assert result.sentiment is Sentiment.NEUTRAL


async def test_a_legal_threat_is_urgent_and_needs_a_person(provider: OfflineProvider) -> None:
    result = await analyze(provider, "Refund me or my lawyer will take you to court.")
    assert result.priority is Priority.URGENT
    assert result.needs_human
    assert result.sentiment is Sentiment.NEGATIVE


async def test_a_chargeback_in_the_facts_is_urgent(provider: OfflineProvider) -> None:
    result = await analyze(
        provider, "Question about my invoice", facts=TransactionFacts(chargeback_ids=["cb_1"])
    )
    assert result.priority is Priority.URGENT
    assert result.needs_human


async def test_suspected_fraud_is_high_and_needs_a_person(provider: OfflineProvider) -> None:
    result = await analyze(provider, "There is a fraudulent charge on my card.")
    assert result.category == "unrecognized_charge"
    assert result.priority in (Priority.HIGH, Priority.URGENT)
    assert result.needs_human


async def test_locked_out_and_urgent_is_urgent(provider: OfflineProvider) -> None:
    result = await analyze(provider, "URGENT: I am locked out of my account, help right now")
    assert result.category == "account_access"
    assert result.priority is Priority.URGENT


async def test_urgency_words_raise_priority(provider: OfflineProvider) -> None:
    calm = await analyze(provider, "How much is the fee for a transfer?")
    hurried = await analyze(provider, "How much is the fee for a transfer? It's urgent.")
    assert calm.priority is Priority.LOW
    assert hurried.priority is Priority.HIGH


async def test_a_denied_urgency_does_not_count(provider: OfflineProvider) -> None:
    result = await analyze(provider, "Not urgent, but how much is the fee for a transfer?")
    assert result.priority is Priority.LOW


async def test_a_large_amount_raises_priority(provider: OfflineProvider) -> None:
    small = await analyze(
        provider, "Why this fee?", facts=TransactionFacts(mentioned_amounts=[Decimal("20")])
    )
    large = await analyze(
        provider, "Why this fee?", facts=TransactionFacts(mentioned_amounts=[Decimal("2500")])
    )
    assert small.priority is Priority.LOW
    assert large.priority is Priority.HIGH


async def test_large_means_more_in_small_unit_currencies(provider: OfflineProvider) -> None:
    yen = [charge("tx_1", "5000", currency="JPY")]
    facts = TransactionFacts(related_transaction_ids=["tx_1"])
    result = await analyze(provider, "Why this fee?", transactions=yen, facts=facts)
    assert result.priority is Priority.LOW


async def test_an_angry_customer_gets_high_priority(provider: OfflineProvider) -> None:
    result = await analyze(provider, "This fee is RIDICULOUS and UNACCEPTABLE!!")
    assert result.sentiment is Sentiment.NEGATIVE
    assert result.priority is Priority.HIGH


# --------------------------------------------------------------------------- sentiment


@pytest.mark.parametrize(
    ("body", "sentiment"),
    [
        ("I am really frustrated, I was charged twice.", Sentiment.NEGATIVE),
        ("I am not happy with this fee.", Sentiment.NEGATIVE),
        ("Estoy muy decepcionado con el servicio.", Sentiment.NEGATIVE),
        ("Ich bin sehr enttäuscht.", Sentiment.NEGATIVE),
        ("Great service, I love the app, thanks!", Sentiment.POSITIVE),
        ("Merci, c'est parfait !", Sentiment.POSITIVE),
        ("How do I change my address? Thanks.", Sentiment.NEUTRAL),
    ],
)
async def test_sentiment(provider: OfflineProvider, body: str, sentiment: Sentiment) -> None:
    assert (await analyze(provider, body)).sentiment is sentiment


# --------------------------------------------------------------------------- summary


async def test_summary_is_one_short_line_from_facts_not_the_body(
    provider: OfflineProvider,
) -> None:
    body = (
        "Hi, my card 4111 1111 1111 1111 was charged twice for the same order, "
        "please look into it as soon as you can, this is the third time I write. " * 3
    )
    transactions = [charge("tx_1", "49.99", days_ago=2), charge("tx_2", "49.99", days_ago=2)]
    facts = TransactionFacts(
        related_transaction_ids=["tx_1", "tx_2"], duplicate_charge_ids=["tx_1", "tx_2"]
    )
    result = await analyze(provider, body, transactions=transactions, facts=facts)
    assert len(result.summary) <= 120
    assert "\n" not in result.summary
    assert not contains_card_number(result.summary)
    assert "4111" not in result.summary
    assert "Duplicate charge" in result.summary
    assert "49.99 USD" in result.summary
    assert body[:30] not in result.summary
    assert result.related_transaction_ids == ["tx_1", "tx_2"]


async def test_summary_says_when_no_transaction_matched(provider: OfflineProvider) -> None:
    result = await analyze(provider, "Why is there a fee?")
    assert result.summary.startswith("Billing question:")
    assert "no matching transaction" in result.summary


# --------------------------------------------------------------------------- replies

DUPLICATES = [
    charge("tx_1", "49.99", days_ago=3),
    charge("tx_2", "49.99", days_ago=3),
    charge("tx_9", "12.00", days_ago=20, card_last4=None),
]
DUPLICATE_FACTS = TransactionFacts(
    related_transaction_ids=["tx_1", "tx_2"], duplicate_charge_ids=["tx_1", "tx_2"]
)


async def draft(
    provider: OfflineProvider,
    body: str,
    transactions: list[Transaction],
    facts: TransactionFacts,
    *,
    language: str | None = None,
    category: str | None = None,
) -> tuple[str, list[str]]:
    request = analysis_request(body, transactions=transactions, facts=facts)
    analysis = (await provider.analyze(request)).value
    updates = {
        key: value
        for key, value in (("language", language), ("category", category))
        if value is not None
    }
    analysis = analysis.model_copy(update=updates)
    reply = (
        await provider.draft_reply(
            ReplyRequest(
                ticket=request.ticket, transactions=transactions, facts=facts, analysis=analysis
            )
        )
    ).value
    return reply.body, reply.cited_transaction_ids


async def test_reply_cites_the_related_transactions_exactly(provider: OfflineProvider) -> None:
    body, cited = await draft(provider, "I was charged twice!", DUPLICATES, DUPLICATE_FACTS)
    assert cited == ["tx_1", "tx_2"]
    assert "49.99 USD on 2024-03-07" in body
    assert "card ending 4242" in body
    assert "tx_1 and tx_2" in body
    # The unrelated transaction is not mentioned at all.
    assert "tx_9" not in body
    assert "12.00" not in body


async def test_reply_writes_amounts_as_given_and_dates_in_utc(provider: OfflineProvider) -> None:
    late_evening = datetime(2024, 3, 7, 22, 0, tzinfo=timezone(timedelta(hours=-5)))
    tx = Transaction(
        transaction_id="tx_7",
        customer_id="C-1",
        amount=Decimal("100"),
        currency="EUR",
        status="succeeded",
        created_at=late_evening,
    )
    facts = TransactionFacts(related_transaction_ids=["tx_7"])
    body, cited = await draft(provider, "Why this fee?", [tx], facts)
    assert "100 EUR on 2024-03-08" in body
    assert cited == ["tx_7"]


async def test_reply_skips_related_ids_that_are_not_transactions(
    provider: OfflineProvider,
) -> None:
    facts = TransactionFacts(related_transaction_ids=["tx_missing", "tx_1"])
    body, cited = await draft(provider, "Why this fee?", DUPLICATES, facts)
    assert cited == ["tx_1"]
    assert "tx_missing" not in body


async def test_reply_never_promises_money_back(provider: OfflineProvider) -> None:
    body, _ = await draft(provider, "Please refund me now!", DUPLICATES, DUPLICATE_FACTS)
    lowered = body.lower()
    assert "will review" in lowered
    assert not re.search(r"we (?:will|'ll) (?:refund|credit|reimburse)", lowered)
    assert "already issued" not in lowered


async def test_reply_mentions_an_issued_refund_only_when_one_exists(
    provider: OfflineProvider,
) -> None:
    refund = charge("re_5", "49.99", days_ago=1, kind=TransactionType.REFUND, card_last4=None)
    facts = DUPLICATE_FACTS.model_copy(update={"refund_ids": ["re_5"]})
    body, cited = await draft(provider, "Where is my refund?", [*DUPLICATES, refund], facts)
    assert "A refund of 49.99 USD was already issued on 2024-03-09 (reference re_5)" in body
    assert cited == ["tx_1", "tx_2", "re_5"]


async def test_a_failed_refund_is_not_called_issued(provider: OfflineProvider) -> None:
    refund = charge("re_5", "49.99", days_ago=1, kind=TransactionType.REFUND, status="failed")
    facts = TransactionFacts(related_transaction_ids=["tx_1"], refund_ids=["re_5"])
    body, cited = await draft(provider, "Where is my refund?", [*DUPLICATES, refund], facts)
    assert "already issued" not in body
    assert "re_5" not in cited


async def test_a_charge_marked_refunded_is_listed_as_a_charge_not_as_an_issued_refund(
    provider: OfflineProvider,
) -> None:
    refunded = charge("tx_9", "99.00", days_ago=20, status="refunded")
    facts = TransactionFacts(related_transaction_ids=["tx_9"], refund_ids=["tx_9"])
    body, cited = await draft(provider, "Where is my refund?", [refunded], facts)
    assert "already issued" not in body
    assert "99.00 USD on 2024-02-19" in body
    assert cited == ["tx_9"]


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "30.00 USD of the payment tx_9 has already been refunded"),
     ("de", "Von der Zahlung tx_9 wurden bereits 30.00 USD erstattet")],
)  # fmt: skip
async def test_reply_states_a_refund_recorded_on_the_charge_and_passes_the_check(
    provider: OfflineProvider, language: str, words: str
) -> None:
    partial = charge("tx_9", "99.00", days_ago=20, status="partially_refunded").model_copy(
        update={"amount_refunded": Decimal("30.00")}
    )
    facts = compute_facts(ticket("Where is my refund?", ""), [partial])
    body, cited = await draft(provider, "Where is my refund?", [partial], facts, language=language)
    assert words in body
    assert cited == ["tx_9"]
    assert check_reply(Reply(body=body, cited_transaction_ids=cited), [partial]).passed


async def test_reply_states_a_dispute_in_progress(provider: OfflineProvider) -> None:
    disputed = charge("tx_9", "99.00", days_ago=20).model_copy(
        update={"dispute_status": "needs_response", "disputed_amount": Decimal("99.00")}
    )
    facts = compute_facts(ticket("I disputed this charge with my bank", ""), [disputed])
    body, cited = await draft(provider, "I disputed this charge", [disputed], facts)
    assert "a chargeback has been opened for tx_9" in body
    assert check_reply(Reply(body=body, cited_transaction_ids=cited), [disputed]).passed


async def test_reply_asks_for_details_when_nothing_matched(provider: OfflineProvider) -> None:
    body, cited = await draft(provider, "I was charged twice", [], TransactionFacts())
    assert cited == []
    assert "date and amount" in body
    assert not re.search(r"\d", body)


async def test_reply_never_contains_a_card_number(provider: OfflineProvider) -> None:
    body, _ = await draft(
        provider, "My card 4111 1111 1111 1111 was charged twice", DUPLICATES, DUPLICATE_FACTS
    )
    assert not contains_card_number(body)
    assert "4111" not in body


@pytest.mark.parametrize(
    ("language", "phrase"),
    [
        ("en", "Hello,"),
        ("es", "Hola:"),
        ("fr", "Bonjour,"),
        ("de", "Guten Tag,"),
        ("pt", "Olá,"),
        ("it", "Buongiorno,"),
    ],
)
async def test_reply_is_in_the_ticket_language(
    provider: OfflineProvider, language: str, phrase: str
) -> None:
    body, _ = await draft(provider, "charged twice", DUPLICATES, DUPLICATE_FACTS, language=language)
    assert body.startswith(phrase)
    assert "49.99 USD" in body
    assert "2024-03-07" in body


@pytest.mark.parametrize("language", sorted(PHRASEBOOKS))
@pytest.mark.parametrize("category", [*(c.name for c in DEFAULT_TAXONOMY), "custom_thing"])
async def test_every_reply_passes_the_grounding_check(
    provider: OfflineProvider, language: str, category: str
) -> None:
    refund = charge("re_5", "49.99", days_ago=1, kind=TransactionType.REFUND, card_last4=None)
    pending = charge("tx_3", "15.50", days_ago=1, status="pending")
    chargeback = charge("cb_4", "12.00", days_ago=1, kind=TransactionType.CHARGEBACK)
    transactions = [*DUPLICATES, refund, pending, chargeback]
    facts = TransactionFacts(
        related_transaction_ids=["tx_1", "tx_2", "tx_3", "cb_4"],
        duplicate_charge_ids=["tx_1", "tx_2"],
        pending_ids=["tx_3"],
        refund_ids=["re_5"],
        chargeback_ids=["cb_4"],
    )
    request = analysis_request("help", transactions=transactions, facts=facts)
    analysis = (await provider.analyze(request)).value.model_copy(
        update={"language": language, "category": category}
    )
    reply = (
        await provider.draft_reply(
            ReplyRequest(
                ticket=request.ticket, transactions=transactions, facts=facts, analysis=analysis
            )
        )
    ).value
    verdict = check_reply(reply, transactions, request.ticket)
    assert verdict.passed, verdict.problems
    assert set(reply.cited_transaction_ids) == {"tx_1", "tx_2", "tx_3", "cb_4", "re_5"}


async def test_a_reply_without_refunds_passes_the_grounding_check(
    provider: OfflineProvider,
) -> None:
    for category in ("refund_request", "duplicate_charge"):
        body, cited = await draft(
            provider, "refund please", DUPLICATES, DUPLICATE_FACTS, category=category
        )
        verdict = check_reply(Reply(body=body, cited_transaction_ids=cited), DUPLICATES)
        assert verdict.passed, verdict.problems


def test_every_language_of_the_sample_data_has_its_phrasebook() -> None:
    assert set(TEXTS) <= set(PHRASEBOOKS)


async def test_sample_tickets_are_answered_in_their_own_language(
    provider: OfflineProvider,
) -> None:
    answered: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for customer in iter_sample(300, seed=11):
        for sample in customer.tickets:
            request = analysis_request(sample.row["body"], sample.row["subject"])
            analysis = (await provider.analyze(request)).value
            reply = (
                await provider.draft_reply(
                    ReplyRequest(
                        ticket=request.ticket,
                        transactions=[],
                        facts=TransactionFacts(),
                        analysis=analysis,
                    )
                )
            ).value
            answered[sample.language] += 1
            right[sample.language] += reply.body.startswith(PHRASEBOOKS[sample.language].greeting)
    assert set(answered) == set(TEXTS)
    for language, count in answered.items():
        assert right[language] >= 0.9 * count, (language, right[language], count)


@pytest.mark.parametrize("language", sorted(PHRASEBOOKS))
async def test_sentences_about_several_payments_agree_in_number(
    provider: OfflineProvider, language: str
) -> None:
    failed = [charge(f"tx_{n}", "20.00", days_ago=n, status="failed") for n in (1, 2)]
    book = PHRASEBOOKS[language]
    one, _ = await draft(
        provider,
        "my payment failed",
        failed[:1],
        TransactionFacts(related_transaction_ids=["tx_1"], failed_ids=["tx_1"]),
        language=language,
        category="payment_failed",
    )
    two, _ = await draft(
        provider,
        "my payments failed",
        failed,
        TransactionFacts(related_transaction_ids=["tx_1", "tx_2"], failed_ids=["tx_1", "tx_2"]),
        language=language,
        category="payment_failed",
    )
    assert book.failed.one.format(refs="tx_1") in one
    assert book.failed.many.format(refs=f"tx_1 {book.and_word} tx_2") in two
    assert book.failed.one != book.failed.many


async def test_the_english_plural_reads_right(provider: OfflineProvider) -> None:
    failed = [charge(f"tx_{n}", "20.00", days_ago=n, status="failed") for n in (1, 2)]
    body, _ = await draft(
        provider,
        "my payments failed",
        failed,
        TransactionFacts(related_transaction_ids=["tx_1", "tx_2"], failed_ids=["tx_1", "tx_2"]),
        language="en",
        category="payment_failed",
    )
    assert "The payments tx_1 and tx_2 show as failed." in body
    assert "shows as failed" not in body


# --------------------------------------------------------------------------- determinism, speed


async def test_answers_are_deterministic_across_instances() -> None:
    body = "Je ne reconnais pas ce paiement de 49.99 USD, c'est urgent !"
    first = OfflineProvider(DEFAULT_TAXONOMY)
    second = OfflineProvider(DEFAULT_TAXONOMY)
    request = analysis_request(body, transactions=DUPLICATES, facts=DUPLICATE_FACTS)
    a = await first.analyze(request)
    b = await second.analyze(request)
    assert a == b
    reply_request = ReplyRequest(
        ticket=request.ticket, transactions=DUPLICATES, facts=DUPLICATE_FACTS, analysis=a.value
    )
    assert await first.draft_reply(reply_request) == await second.draft_reply(reply_request)
