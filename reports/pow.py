"""Optional proof of work on report intake (POW_DIFFICULTY > 0), self-hosted: no
third-party captcha, which might be down in the very outage being reported.

GET /api/v1/pow/ issues a challenge "<expires>.<random>.<signature>", HMAC-signed with the
difficulty, so nothing is stored until it is used. The client finds a nonce such that
sha256(challenge + nonce) starts with `difficulty` zero bits and sends both with its
report. A challenge counts once: its first use is recorded in the cache (Redis SET NX with
a TTL until it expires), and a second use is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

CHALLENGE_SECONDS = 300
MAX_NONCE_LENGTH = 64


class PowRejected(Exception):
    def __init__(self, code: str, message: str, *, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True, slots=True)
class Challenge:
    challenge: str
    difficulty: int
    expires: int  # Unix time


def pow_required() -> bool:
    return settings.POW_DIFFICULTY > 0


def _signature(expires: int, token: str, difficulty: int) -> str:
    message = f"pow|{expires}|{token}|{difficulty}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:32]


def challenge_issue() -> Challenge:
    difficulty = settings.POW_DIFFICULTY
    expires = int(time.time()) + CHALLENGE_SECONDS
    token = secrets.token_hex(16)
    return Challenge(f"{expires}.{token}.{_signature(expires, token, difficulty)}", difficulty, expires)


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte:
            return bits + 8 - byte.bit_length()
        bits += 8
    return bits


def pow_check(challenge: object, nonce: object) -> None:
    """Raise PowRejected unless `nonce` solves a fresh, genuine, unused `challenge`.
    Does nothing when proof of work is off."""
    difficulty = settings.POW_DIFFICULTY
    if difficulty <= 0:
        return
    if not challenge or not nonce:
        raise PowRejected(
            "pow_required",
            "Proof of work is required: GET /api/v1/pow/, then send pow_challenge and pow_nonce.",
            status=400,
        )
    if not isinstance(challenge, str) or not isinstance(nonce, str) or len(nonce) > MAX_NONCE_LENGTH:
        raise PowRejected("pow_invalid", "pow_challenge and pow_nonce must be short strings.", status=400)
    parts = challenge.split(".")
    if len(parts) != 3 or not parts[0].isdigit():
        raise PowRejected("pow_invalid", "Not a challenge issued here; get a new one.", status=403)
    expires, token, signature = int(parts[0]), parts[1], parts[2]
    if not hmac.compare_digest(signature, _signature(expires, token, difficulty)):
        raise PowRejected("pow_invalid", "Not a challenge issued here; get a new one.", status=403)
    if expires < time.time():
        raise PowRejected("pow_expired", "The challenge has expired; get a new one.", status=403)
    digest = hashlib.sha256(f"{challenge}{nonce}".encode()).digest()
    if leading_zero_bits(digest) < difficulty:
        raise PowRejected(
            "pow_invalid", f"The nonce does not give {difficulty} leading zero bits.", status=403
        )
    # Marked used only once it checks out, so a wrong guess does not burn the challenge.
    ttl = max(1, expires - int(time.time()) + 1)
    first_use = cache.add(f"pow:used:{signature}", 1, ttl)
    if first_use is None:  # cache unreachable (django-redis ignores and logs the error)
        logger.warning("proof-of-work replay check skipped: the cache is unreachable")
    elif not first_use:
        raise PowRejected("pow_replayed", "This challenge was used already; get a new one.", status=403)


def pow_solve(challenge: str, difficulty: int) -> str:
    """A nonce for `challenge` (what the browser's pow.js does; for tests and clients)."""
    counter = 0
    while True:
        nonce = format(counter, "x")
        if leading_zero_bits(hashlib.sha256(f"{challenge}{nonce}".encode()).digest()) >= difficulty:
            return nonce
        counter += 1
