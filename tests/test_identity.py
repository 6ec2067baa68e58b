"""Identity tokens: signature, expiry, audience and issuer, with public keys and a shared secret."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.privacy.identity import IdentityError, IdentityKey, TokenVerifier, ensure_development_key, load_identity_keys


def rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


PRIVATE, PUBLIC = rsa_pair()
OTHER_PRIVATE, _ = rsa_pair()
VERIFIER = TokenVerifier([IdentityKey("city-2026", "RS256", PUBLIC)], audience="citybot", issuer="https://login.city")


def token(private: str = PRIVATE, **claims: object) -> str:
    body = {"sub": "citizen-42", "aud": "citybot", "iss": "https://login.city", "exp": int(time.time()) + 300}
    body.update(claims)
    return jwt.encode(body, private, algorithm="RS256", headers={"kid": "city-2026"})


def test_a_valid_token_names_the_citizen() -> None:
    assert VERIFIER.verify(token()) == "citizen-42"


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (lambda: token(OTHER_PRIVATE), "forged"),
        (lambda: token(exp=int(time.time()) - 120), "expired"),
        (lambda: token(aud="another-service"), "audience"),
        (lambda: token(iss="https://evil.example"), "audience"),
        (lambda: token(sub="not a valid id!"), "malformed"),
        (lambda: "not.a.token", "malformed"),
        (lambda: jwt.encode({"sub": "x", "aud": "citybot", "exp": 9999999999}, "s" * 40, algorithm="HS256"), "forged"),
    ],
)
def test_bad_tokens_are_refused_with_the_reason(bad: object, code: str) -> None:
    with pytest.raises(IdentityError) as refused:
        VERIFIER.verify(bad())  # type: ignore[operator]
    assert refused.value.code == code


def test_a_token_without_expiry_is_refused() -> None:
    no_exp = jwt.encode(
        {"sub": "citizen-42", "aud": "citybot", "iss": "https://login.city"}, PRIVATE, algorithm="RS256"
    )
    with pytest.raises(IdentityError):
        VERIFIER.verify(no_exp)


def test_development_key_file_is_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "identity.yml"
    ensure_development_key(path)
    first = path.read_text()
    ensure_development_key(path)
    assert path.read_text() == first and path.stat().st_mode & 0o077 == 0
    [key] = load_identity_keys(path)
    assert key.algorithm == "HS256" and len(key.key) >= 32
