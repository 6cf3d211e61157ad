"""The DCT unit tests' docker environment: passphrases, repository and digest."""

from __future__ import annotations

ENV = {
    "DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE": "unit root passphrase",
    "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": "unit repository passphrase",
}


REPO = "localhost:5000/unit/app"


DIGEST = "ab" * 32
