"""Spanish tickets: names, money and date styles, and the texts per category and tone."""

from __future__ import annotations

from supporter.sample_data.dice import Weighted
from supporter.sample_data.texts.language import EU_MONEY, LanguageTexts, words

SPANISH = LanguageTexts(
    code="es",
    first_names=words("María José Lucía Javier Carmen Pablo Sofía Diego"),
    last_names=words("García Martínez López Sánchez Pérez Gómez Fernández Ruiz"),
    currencies=Weighted({"EUR": 92, "USD": 8}),
    utc_offsets=(1, 2),
    months=words(
        "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
    ),
    date_styles=Weighted({"{iso}": 70, "{day} de {month}": 30}),
    money_styles=EU_MONEY,
    product="plan {tier}",
    greetings={
        "polite": ("Hola,", "Buenos días,", "Estimado equipo de soporte,"),
        "neutral": ("Hola,", ""),
        "angry": ("", "Hola,"),
    },
    tone_lines={
        "polite": ("Gracias de antemano por su ayuda.",),
        "neutral": ("Quedo atento.",),
        "angry": ("Esto es inaceptable.", "Estoy muy molesto.", "¡Es la tercera vez que escribo!"),
    },
    closings={
        "polite": ("Muchas gracias,", "Saludos cordiales,", "Un saludo,"),
        "neutral": ("Gracias,", "Saludos,"),
        "angry": ("Espero una respuesta.", ""),
    },
    card_lines=(
        "Mi tarjeta es {card}[, vence {exp}|][, CVV {cvv}|].",
        "Les paso la tarjeta: {card} exp {exp}",
    ),
    subjects={
        "billing_question": (
            "Pregunta sobre mi factura",
            "Consulta sobre un cargo",
            "Necesito un recibo",
        ),
        "refund_request": (
            "Solicitud de reembolso",
            "Quiero un reembolso",
            "Devolución de {amount}",
        ),
        "duplicate_charge": ("Cobro duplicado", "Me cobraron dos veces", "Doble cargo de {amount}"),
        "payment_failed": ("Pago fallido", "Tarjeta rechazada", "No puedo pagar"),
        "unrecognized_charge": (
            "Cargo desconocido",
            "No reconozco este cargo",
            "Cargo no autorizado",
        ),
        "subscription_cancellation": (
            "Cancelar suscripción",
            "Baja del servicio",
            "Dejen de cobrarme",
        ),
        "account_access": (
            "No puedo iniciar sesión",
            "Cuenta bloqueada",
            "Problema con la contraseña",
        ),
        "technical_issue": (
            "Error en la aplicación",
            "La aplicación se cierra",
            "Algo no funciona",
        ),
        "general_inquiry": ("Una pregunta", "Consulta general", "Información sobre precios"),
    },
    bodies={
        "billing_question": (
            "Tengo un cargo de {amount} del {date} y quisiera saber a qué corresponde. [¿Es por el "
            "{product}?|¿Qué plan es?]",
            "¿Podrían enviarme la factura del pago de {amount} realizado el {date}? [La necesito "
            "para mi empresa.|Necesito que incluya mi NIF.]",
            "¿Por qué me cobraron {amount} este mes? Pensaba que el {product} costaba menos.",
        ),
        "refund_request": (
            "Quisiera solicitar el reembolso del cargo de {amount} del {date}. [El producto no "
            "funciona como se describe.|Lo compré por error.]",
            "Por favor, devuélvanme los {amount} que me cobraron el {date}. Cancelé antes de la "
            "renovación.",
            "¿Puedo recuperar mi dinero del {product}? No es lo que esperaba.",
        ),
        "duplicate_charge": (
            "Me cobraron dos veces el mismo pedido el {date}: dos cargos de {amount} con pocos "
            "minutos de diferencia. Por favor, devuelvan el duplicado.",
            "En mi extracto aparece {amount} dos veces el {date}. Solo pagué una vez.",
            "¡Me han cobrado {amount} dos veces en la tarjeta terminada en {last4}! Quiero que me "
            "devuelvan uno.",
        ),
        "payment_failed": (
            "Mi pago de {amount} [sigue fallando|ha fallado] y no sé por qué. Mi tarjeta funciona "
            "en otros sitios.",
            "Intenté pagar el {date} pero el pago fue rechazado. El banco dice que no bloqueó "
            "nada. ¿Qué pasa?",
            'Me sale "pago fallido" cada vez que intento renovar el {product}. ¿Cómo actualizo '
            "mi tarjeta?",
        ),
        "unrecognized_charge": (
            'Hay un cargo de {amount} del {date} con el concepto "{descriptor}" que no '
            "reconozco. ¿A qué corresponde?",
            "No recuerdo haber comprado nada. ¿Por qué hay un cargo de {amount} en mi tarjeta "
            "terminada en {last4}?",
            "¡Alguien usó mi tarjeta! Veo {amount} el {date} y nunca lo autoricé.",
        ),
        "subscription_cancellation": (
            "Por favor, cancelen mi {product} [de inmediato|al final del periodo actual]. Ya no lo "
            "necesito.",
            "Intenté cancelar pero no encuentro la opción. Me volvieron a cobrar {amount} el "
            "{date}.",
            "Quiero darme de baja. No quiero que me cobren {amount} cada mes.",
        ),
        "account_access": (
            "No puedo entrar en mi cuenta. El correo para restablecer la contraseña nunca llega.",
            "Mi cuenta está bloqueada después de varios intentos. ¿Pueden desbloquearla?",
            "Perdí mi móvil y no recibo el código de verificación. ¿Cómo recupero el acceso?",
        ),
        "technical_issue": (
            "La aplicación se cierra cada vez que abro la página de informes. Ya tengo la última "
            "versión.",
            'Me aparece "500 Internal Server Error" al intentar exportar mis datos.',
            "La página no carga en [Safari|Firefox|el móvil], se queda en blanco.",
        ),
        "general_inquiry": (
            "¿Ofrecen descuentos para [estudiantes|organizaciones sin ánimo de lucro|planes "
            "anuales]?",
            "¿Se pueden añadir más usuarios a mi cuenta? ¿Cuánto cuesta?",
            "¿Cuál es su horario de atención? ¿Atienden los fines de semana?",
        ),
    },
    refund_followups=(
        "Me dijeron que el reembolso de {amount} ya se había emitido, pero todavía no lo veo en "
        "mi tarjeta terminada en {last4}.",
        "Sigo esperando el reembolso del cargo del {date} ({amount}). ¿Pueden revisarlo?",
    ),
)
