"""How the pipeline tells failures apart: retry, give up on the ticket, or stop the run."""


class SupporterError(Exception):
    """Base of every error Supporter raises on purpose."""


class TransientError(SupporterError):
    """Worth another try later: a timeout, a 429, a 5xx, a broker hiccup.

    These say the other side is unavailable, which is what opens a circuit
    breaker; a provider that answers badly raises `InvalidAnswerError` instead.

    `retry_after` (seconds) is a hint from the other side, honoured over our backoff.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidAnswerError(TransientError):
    """The provider answered, but not in the shape asked for: another sample may do.

    Unlike the rest of `TransientError`, it says the provider is up: it uses the
    ticket's tries but never opens a circuit breaker.
    """


class NotTriedError(TransientError):
    """The work was not tried: something of ours stands in its way (another worker holds
    it). Retried like any transient error, but it says nothing about the provider, which
    was not called: it neither opens nor closes a circuit breaker.
    """


class PermanentError(SupporterError):
    """Another try would fail the same way: invalid data, a refusal. Dead-letter at once."""


class FatalError(SupporterError):
    """Nothing will work until a person acts (no quota, bad credentials): stop intake.

    The message that met it is returned to its queue, never dead-lettered.
    """
