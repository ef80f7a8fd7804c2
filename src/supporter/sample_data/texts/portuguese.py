"""Portuguese tickets: names, money and date styles, and the texts per category and tone."""

from __future__ import annotations

from supporter.sample_data.dice import Weighted
from supporter.sample_data.texts.language import EU_MONEY, LanguageTexts, words

PORTUGUESE = LanguageTexts(
    code="pt",
    first_names=words("João Ana Pedro Beatriz Miguel Mariana Rafael Inês"),
    last_names=words("Silva Santos Oliveira Costa Pereira Ferreira Rodrigues Almeida"),
    currencies=Weighted({"EUR": 70, "BRL": 18, "USD": 12}),
    utc_offsets=(0, 1, -3),
    months=words(
        "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro"
    ),
    date_styles=Weighted({"{iso}": 70, "{day} de {month}": 30}),
    money_styles=EU_MONEY,
    product="plano {tier}",
    greetings={
        "polite": ("Olá,", "Bom dia,", "Prezada equipe de suporte,"),
        "neutral": ("Olá,", "Oi,", ""),
        "angry": ("", "Olá,"),
    },
    tone_lines={
        "polite": ("Desde já agradeço a ajuda.",),
        "neutral": ("Aguardo retorno.",),
        "angry": ("Isso é inaceitável.", "Estou muito irritado.", "É a terceira vez que escrevo!"),
    },
    closings={
        "polite": ("Muito obrigado,", "Atenciosamente,", "Obrigada,"),
        "neutral": ("Obrigado,", "Abraço,"),
        "angry": ("Aguardo resposta.", ""),
    },
    card_lines=(
        "O número do meu cartão é {card}[, validade {exp}|][, CVV {cvv}|].",
        "Segue o cartão: {card} exp {exp}",
    ),
    subjects={
        "billing_question": (
            "Dúvida sobre minha fatura",
            "Dúvida sobre uma cobrança",
            "Preciso de um recibo",
        ),
        "refund_request": (
            "Pedido de reembolso",
            "Quero meu dinheiro de volta",
            "Reembolso de {amount}",
        ),
        "duplicate_charge": (
            "Cobrança duplicada",
            "Fui cobrado duas vezes",
            "Cobrança em dobro de {amount}",
        ),
        "payment_failed": ("Pagamento recusado", "Cartão recusado", "Não consigo pagar"),
        "unrecognized_charge": (
            "Cobrança desconhecida",
            "Não reconheço esta cobrança",
            "Cobrança não autorizada",
        ),
        "subscription_cancellation": ("Cancelar assinatura", "Cancelamento", "Parem de me cobrar"),
        "account_access": ("Não consigo entrar", "Conta bloqueada", "Problema com a senha"),
        "technical_issue": ("Erro no aplicativo", "O aplicativo trava", "Algo não funciona"),
        "general_inquiry": ("Uma dúvida", "Pedido de informação", "Dúvida sobre preços"),
    },
    bodies={
        "billing_question": (
            "Tenho uma cobrança de {amount} em {date} e gostaria de saber a que se refere. [É do "
            "{product}?|Qual plano é esse?]",
            "Vocês podem me enviar a fatura do pagamento de {amount} feito em {date}? Preciso para "
            "a contabilidade da empresa.",
            "Por que fui cobrado {amount} este mês? Achei que o {product} era mais barato.",
        ),
        "refund_request": (
            "Gostaria de solicitar o reembolso da cobrança de {amount} em {date}. [O produto não "
            "funciona como descrito.|Comprei por engano.]",
            "Por favor, devolvam os {amount} cobrados em {date}. Cancelei antes da renovação.",
            "Posso receber meu dinheiro de volta do {product}? Não é o que eu esperava.",
        ),
        "duplicate_charge": (
            "Fui cobrado duas vezes pelo mesmo pedido em {date}: duas cobranças de {amount} com "
            "poucos minutos de diferença. Por favor, estornem a duplicada.",
            "Meu extrato mostra {amount} duas vezes em {date}. Só paguei uma vez.",
            "Vocês cobraram {amount} duas vezes no meu cartão final {last4}! Quero uma delas de "
            "volta.",
        ),
        "payment_failed": (
            "Meu pagamento de {amount} [continua falhando|falhou] e não sei por quê. Meu cartão "
            "funciona em outros lugares.",
            "Tentei pagar em {date}, mas o pagamento foi recusado. O banco diz que não bloqueou "
            "nada.",
            "Cartão recusado na renovação do {product}. Como atualizo meu cartão?",
        ),
        "unrecognized_charge": (
            'Há uma cobrança de {amount} em {date} com a descrição "{descriptor}" que eu não '
            "reconheço. Do que se trata?",
            "Não me lembro de ter comprado nada. Por que há uma cobrança de {amount} no meu cartão "
            "final {last4}?",
            "Alguém usou meu cartão! Vejo {amount} em {date} e nunca autorizei isso.",
        ),
        "subscription_cancellation": (
            "Por favor, cancelem meu {product} [imediatamente|no fim do período atual]. Não "
            "preciso mais dele.",
            "Tentei cancelar, mas não encontro a opção. Fui cobrado de novo {amount} em {date}.",
            "Quero cancelar minha assinatura. Não quero mais pagar {amount} todo mês.",
        ),
        "account_access": (
            "Não consigo entrar na minha conta. O e-mail de redefinição de senha nunca chega.",
            "Minha conta foi bloqueada depois de várias tentativas. Podem desbloquear?",
            "Perdi meu celular e não recebo mais o código de verificação. Como recupero o acesso?",
        ),
        "technical_issue": (
            "O aplicativo fecha sozinho toda vez que abro a página de relatórios. Já estou na "
            "versão mais recente.",
            'Aparece o erro "500 Internal Server Error" quando tento exportar meus dados.',
            "A página não carrega no [Safari|Firefox|celular], fica em branco.",
        ),
        "general_inquiry": (
            "Vocês oferecem desconto para [estudantes|ONGs|planos anuais]?",
            "É possível adicionar mais usuários à minha conta? Quanto custa?",
            "Qual é o horário do suporte? Vocês atendem aos fins de semana?",
        ),
    },
    refund_followups=(
        "Vocês disseram que o reembolso de {amount} foi emitido, mas ainda não aparece no meu "
        "cartão final {last4}.",
        "Ainda estou esperando o reembolso da cobrança de {date} ({amount}). Podem verificar?",
    ),
)
