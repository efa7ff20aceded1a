"""referral_reward: credit a partner's reward on a delivered order again.

    POST /credit   internal (Cloud Scheduler OIDC or the sweep secret): {order_id}.
                   Idempotent: the reward is credited once per order; asking
                   again answers what was credited. The retry path for a delivery
                   whose partner transaction did not commit.
"""

from __future__ import annotations

from typing import Any

from shared.api.referral_reward import CreditRequest
from shared.edge import entry, scheduler_auth
from shared.edge.http import Context, Router
from shared.services import referral

router = Router("referral_reward")


@router.post("/credit")
def credit_endpoint(request: Any, ctx: Context) -> Any:
    scheduler_auth.require_scheduler(request)
    body = ctx.body(CreditRequest)
    return referral.recredit_reward(entry.store(), config=entry.config(ctx.now), order_id=body.order_id, now=ctx.now)


def referral_reward(request: Any) -> Any:
    """The functions-framework target."""
    return router.dispatch(request)
