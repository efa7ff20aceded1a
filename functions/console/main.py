"""console: the back office in a browser — Russian pages for the marketer, manager, accountant and admin.

    GET  /login, POST /login   e-mail, password and the authenticator's code -> a session cookie
    GET  /mfa, POST /mfa       enrol the second factor (the roles that move money act only with it)
    POST /logout               the session ends server-side
    GET  /static/{name}        the console's stylesheet and script
    GET  /                     the overview: the dashboards the roles open, then the sections
    GET  /payouts…, /audit, /orders/flagged   payouts, the audit log, flagged orders (docs/console.md)

Pages are rendered on the server (:mod:`console.app`); each screen calls the same
use cases as the admin JSON API, under the same roles (:mod:`shared.edge.admin_auth`).
"""

from __future__ import annotations

from typing import Any

from console.app import router
from console.pages import approvals, audit, auth, campaigns, customers, flagged, home, messages, payouts, program, stickers  # noqa: F401  (each registers its routes)

__all__ = ["console", "router"]


def console(request: Any) -> Any:
    """The functions-framework entry point."""
    return router.dispatch(request)
