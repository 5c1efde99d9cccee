from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest

from adapters.alpaca.credentials import Credentials, Secret
from adapters.alpaca.limits import RateLimiter
from adapters.alpaca.rest import AlpacaRest
from tests.adapters.alpaca.fake_alpaca import KEY, SECRET, FakeAlpaca, serve


@pytest.fixture
def creds() -> Credentials:
    return Credentials(Secret(KEY), Secret(SECRET))


@pytest.fixture
def fake() -> FakeAlpaca:
    return FakeAlpaca()


@pytest.fixture
async def rest(fake: FakeAlpaca, creds: Credentials) -> AsyncIterator[AlpacaRest]:
    async with serve(fake) as url:
        client = AlpacaRest(
            creds,
            base_url=url,
            data_url=url,
            limiter=RateLimiter(200, 0.1),
            timeout_seconds=0.5,
            backoff_base=0.01,
            backoff_cap=0.05,
            rng=random.Random(7),
        )
        try:
            yield client
        finally:
            await client.close()
