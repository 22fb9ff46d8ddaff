"""The site's keys: the redaction key (CALLQA_REDACTION_KEY), the audit key, and their ids.

Findings carry HMAC-SHA256(key, normalised value): the same value gives the same digest in
every call, so a subject-access or erasure request can find it, and without the key the
digest cannot be turned back into a phone number by trying them all.

The audit log's chain is keyed too (pipeline.redact.audit): by $CALLQA_AUDIT_KEY when set, else
by a key derived from the redaction key with a domain-separated HMAC, so one secret is enough
and a digest of a value can never be confused with a record hash.

Every key has a short, non-secret id (an HMAC of a fixed label under the key): records and
results carry it, so a digest made under one key is never compared with another's in silence.
The public development key's ids start with "dev-": anything made with it is marked, and
exports and the web app refuse it unless told otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass, field

from pipeline.errors import ConfigError

__all__ = [
    "AUDIT_KEY_ENV",
    "DEV_KEY",
    "DEV_KEY_PREFIX",
    "KEY_ENV",
    "AuditKey",
    "audit_key",
    "audit_key_for",
    "derive_audit_key",
    "hmac_value",
    "is_dev_key_id",
    "key_id",
    "redaction_key",
]

logger = logging.getLogger(__name__)

KEY_ENV = "CALLQA_REDACTION_KEY"
AUDIT_KEY_ENV = "CALLQA_AUDIT_KEY"
# Used only with the explicit development flag; digests made with it are not secret.
DEV_KEY = b"callqa-development-key-NOT-SECRET"
DEV_KEY_PREFIX = "dev-"
_MIN_KEY_LENGTH = 16
# Domain-separation labels: each use of a secret gets its own HMAC label (versioned).
_AUDIT_LABEL = b"callqa/audit-chain/v1"
_ID_LABEL = b"callqa/key-id/v1"


def _env_key(name: str) -> bytes | None:
    value = os.environ.get(name)
    if not value:
        return None
    if len(value) < _MIN_KEY_LENGTH:
        raise ConfigError(f"the key must be at least {_MIN_KEY_LENGTH} characters", file="<environment>", key=name)
    return value.encode("utf-8")


def redaction_key(allow_dev: bool = False) -> bytes:
    """The HMAC key from $CALLQA_REDACTION_KEY.

    Args:
        allow_dev: when the variable is unset, use a fixed, public development key (with a warning).

    Returns:
        bytes: the key.

    Raises:
        ConfigError: the variable is unset (and allow_dev is False) or shorter than 16 characters.
    """
    value = _env_key(KEY_ENV)
    if value is None:
        if allow_dev:
            logger.warning("%s is not set: using the public development key; digests are not secret", KEY_ENV)
            return DEV_KEY
        raise ConfigError(
            f"set {KEY_ENV} to a secret of at least {_MIN_KEY_LENGTH} characters "
            "(or pass the development flag for test runs)",
            file="<environment>",
            key=KEY_ENV,
        )
    return value


def _id_of(secret: bytes, dev: bool) -> str:
    digest = hmac.new(secret, _ID_LABEL, hashlib.sha256).hexdigest()
    return f"{DEV_KEY_PREFIX}{digest[:8]}" if dev else f"k-{digest[:12]}"


def key_id(key: bytes) -> str:
    """The short, non-secret id of a redaction key ("dev-..." for the public development key)."""
    return _id_of(key, hmac.compare_digest(key, DEV_KEY))


def is_dev_key_id(value: str | None) -> bool:
    """True for an id of the public development key (or of the audit key derived from it)."""
    return bool(value) and value.startswith(DEV_KEY_PREFIX)


@dataclass(frozen=True)
class AuditKey:
    """The audit chain's HMAC key and its id; the secret never shows in a repr."""

    secret: bytes = field(repr=False)
    key_id: str

    @property
    def is_dev(self) -> bool:
        return is_dev_key_id(self.key_id)


def derive_audit_key(redaction: bytes) -> AuditKey:
    """The audit key derived from a redaction key: HMAC-SHA256(redaction key, fixed label)."""
    secret = hmac.new(redaction, _AUDIT_LABEL, hashlib.sha256).digest()
    return AuditKey(secret=secret, key_id=_id_of(secret, hmac.compare_digest(redaction, DEV_KEY)))


def audit_key_for(redaction: bytes) -> AuditKey:
    """The audit key that goes with a redaction key the caller already holds: $CALLQA_AUDIT_KEY
    when set, else the one derived from it."""
    own = _env_key(AUDIT_KEY_ENV)
    return AuditKey(secret=own, key_id=_id_of(own, False)) if own is not None else derive_audit_key(redaction)


def audit_key(allow_dev: bool = False) -> AuditKey:
    """The audit chain's key: $CALLQA_AUDIT_KEY, else derived from $CALLQA_REDACTION_KEY.

    Args:
        allow_dev: with neither variable set, derive it from the public development key.

    Raises:
        ConfigError: neither is set (and allow_dev is False), or one is shorter than 16 characters.
    """
    if _env_key(AUDIT_KEY_ENV) is not None:
        return audit_key_for(b"")
    return derive_audit_key(redaction_key(allow_dev=allow_dev))


def hmac_value(key: bytes, normalised_value: str) -> str:
    """Hex HMAC-SHA256 of an already normalised value (see `normalise.normalise_value`)."""
    return hmac.new(key, normalised_value.encode("utf-8"), hashlib.sha256).hexdigest()
