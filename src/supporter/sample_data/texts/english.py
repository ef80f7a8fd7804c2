"""English tickets: names, money and date styles, and the texts per category and tone."""

from __future__ import annotations

from supporter.sample_data.dice import Weighted
from supporter.sample_data.texts.language import LanguageTexts, words

ENGLISH = LanguageTexts(
    code="en",
    first_names=words(
        "James Mary Olivia Liam Emma Noah Ava Ethan Sophia Lucas Mia "
        "Jack Grace Henry Chloe Daniel Priya Wei"
    ),
    last_names=words(
        "Smith Johnson Brown Taylor Wilson Davies Evans Thomas Clarke Walker "
        "Hughes Patel Nguyen Murphy O'Brien Kim"
    ),
    currencies=Weighted({"USD": 70, "GBP": 20, "EUR": 5, "CAD": 3, "AUD": 2}),
    utc_offsets=(-5, -6, -8, 0, 1, 10),
    months=words(
        "January February March April May June July August September October November December"
    ),
    mon=words("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec"),
    date_styles=Weighted(
        {
            "{iso}": 35,
            "{month} {day}": 35,
            "{mon} {day}": 10,
            "{day} {month}": 5,
            "{month} {day}, {year}": 15,
        }
    ),
    money_styles=Weighted({"{symbol}{amount}": 60, "{amount} {code}": 25, "{code} {amount}": 15}),
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
