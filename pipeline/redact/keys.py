"""The site's redaction key (CALLQA_REDACTION_KEY) and the keyed hash of a value.

Findings carry HMAC-SHA256(key, normalised value): the same value gives the same digest in
every call, so a subject-access or erasure request can find it, and without the key the
digest cannot be turned back into a phone number by trying them all.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os

from pipeline.errors import ConfigError

__all__ = ["KEY_ENV", "DEV_KEY", "redaction_key", "hmac_value"]

logger = logging.getLogger(__name__)

KEY_ENV = "CALLQA_REDACTION_KEY"
# Used only with the explicit development flag; digests made with it are not secret.
DEV_KEY = b"callqa-development-key-NOT-SECRET"
_MIN_KEY_LENGTH = 16


def redaction_key(allow_dev: bool = False) -> bytes:
    """The HMAC key from $CALLQA_REDACTION_KEY.

    Args:
        allow_dev: when the variable is unset, use a fixed, public development key (with a warning).

    Returns:
        bytes: the key.

    Raises:
        ConfigError: the variable is unset (and allow_dev is False) or shorter than 16 characters.
    """
    value = os.environ.get(KEY_ENV)
    if not value:
        if allow_dev:
            logger.warning("%s is not set: using the public development key; digests are not secret", KEY_ENV)
            return DEV_KEY
        raise ConfigError(
            f"set {KEY_ENV} to a secret of at least {_MIN_KEY_LENGTH} characters "
            "(or pass the development flag for test runs)",
            file="<environment>",
            key=KEY_ENV,
        )
    if len(value) < _MIN_KEY_LENGTH:
        raise ConfigError(f"the key must be at least {_MIN_KEY_LENGTH} characters", file="<environment>", key=KEY_ENV)
    return value.encode("utf-8")


def hmac_value(key: bytes, normalised_value: str) -> str:
    """Hex HMAC-SHA256 of an already normalised value (see `normalise.normalise_value`)."""
    return hmac.new(key, normalised_value.encode("utf-8"), hashlib.sha256).hexdigest()
