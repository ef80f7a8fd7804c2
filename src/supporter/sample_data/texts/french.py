"""French tickets: names, money and date styles, and the texts per category and tone."""

from __future__ import annotations

from supporter.sample_data.dice import Weighted
from supporter.sample_data.texts.language import EU_DATES, EU_MONEY, LanguageTexts, words

FRENCH = LanguageTexts(
    code="fr",
    first_names=words("Camille Louis Léa Hugo Manon Jules Chloé Théo"),
    last_names=words("Martin Bernard Dubois Moreau Laurent Lefèvre Girard Roux"),
    currencies=Weighted({"EUR": 94, "USD": 3, "GBP": 3}),
    utc_offsets=(1, 2),
    months=words(
        "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
    ),
    date_styles=EU_DATES,
    money_styles=EU_MONEY,
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
