"""What every broker adapter shares: how a broker URL is shown in messages."""

from __future__ import annotations

import pytest

from supporter.brokers.base import masked_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("amqp://guest:s3cret@rabbit:5672/", "amqp://guest:***@rabbit:5672/"),
        ("redis://:s3cret@redis:6379/0", "redis://:***@redis:6379/0"),
        ("redis://default:s3cret@redis:6379/0", "redis://default:***@redis:6379/0"),
        ("amqp://rabbit:5672/", "amqp://rabbit:5672/"),
        ("amqp://guest@rabbit/", "amqp://guest@rabbit/"),
        ("kafka://a:9092,b:9092", "kafka://a:9092,b:9092"),
        # One that does not parse (a port that is no number, an @ in the password).
        ("amqp://guest:s3cret@rabbit:port/", "amqp://guest:***@rabbit:port/"),
        ("amqp://guest:s3c@ret@rabbit/", "amqp://guest:***@rabbit/"),
        ("not a url", "not a url"),
        # redis-py also takes the password as a query parameter.
        ("redis://redis:6379/0?password=s3cret", "redis://redis:6379/0?password=***"),
        (
            "redis://u:p1@redis:6379/0?socket_timeout=5&Password=s3cret",
            "redis://u:***@redis:6379/0?socket_timeout=5&Password=***",
        ),
        (
            "kafka://a:9092?sasl_plain_password=s3cret&security_protocol=SASL_SSL",
            "kafka://a:9092?sasl_plain_password=***&security_protocol=SASL_SSL",
        ),
        ("amqp://rabbit/?heartbeat=30", "amqp://rabbit/?heartbeat=30"),
    ],
)
def test_a_password_is_never_shown(url: str, shown: str) -> None:
    assert masked_url(url) == shown
