"""How a busy code's uses are spread over its shards."""

from __future__ import annotations

import random
from collections import Counter

from shared.domain.promos import PROMO_SHARDS, first_shard, shard_shares


def test_the_limit_is_split_as_evenly_as_it_goes():
    assert shard_shares(13, PROMO_SHARDS) == [1] * 13 + [0] * 3
    assert shard_shares(1000, PROMO_SHARDS) == [63] * 8 + [62] * 8
    assert sum(shard_shares(1000, PROMO_SHARDS)) == 1000
    assert shard_shares(None, 4) == [None] * 4


def test_every_attempt_draws_its_first_shard_again_so_retries_spread_over_all_of_them():
    rng = random.Random(7)
    picks = Counter(first_shard(PROMO_SHARDS, rng) for _ in range(3200))
    assert set(picks) == set(range(PROMO_SHARDS))
    assert max(picks.values()) < 2 * min(picks.values())  # 200 expected on each
