"""The back-office console's sessions: server-side, behind an HttpOnly cookie, with an idle timeout.

Why server-side sessions and not a token in the page: the console is a set of
server-rendered pages, so nothing in the browser needs the admin token. The
browser keeps a random 256-bit id in a ``__Host-`` cookie (HttpOnly, Secure,
SameSite=Strict); the store keeps only its SHA-256 with the admin token
issued at sign-in (:func:`shared.services.admins.login`, second factor
included). Every request re-checks that token through
:func:`shared.edge.admin_auth.admin_of_token`, so a deactivated account, a
password reset or a role taken away apply at once. A session ends at sign-out,
after :data:`IDLE` without a request, or when its token expires; sign-out
ends it server-side, so a copied cookie is worth nothing afterwards.

Forms carry a CSRF token derived from the session id under a purpose key
(:func:`csrf_token`): a page of another site can neither read it nor, with the
SameSite=Strict cookie, send the cookie at all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from shared.domain.admins import ConsoleSession
from shared.domain.errors import Unauthorized
from shared.domain.ledger import require_utc
from shared.edge import admin_auth
from shared.edge.admin_auth import Admin
from shared.platform.order_tokens import purpose_key
from shared.platform.settings import settings
from shared.services import admins
from shared.services.ports import Store, UnitOfWork

COOKIE = "__Host-kopilka_console"
TOUCH_EVERY = timedelta(minutes=1)  # seen_at is written at most this often: a page's burst of requests writes once


def idle() -> timedelta:
    return timedelta(minutes=settings().console_idle_minutes)


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start(store: Store, *, token: str, email: str, expires_at: datetime, now: datetime) -> str:
    """A new session for the admin token just issued; answers the id for the cookie."""
    require_utc(now)
    session_id = secrets.token_urlsafe(32)
    session = ConsoleSession(key=_key(session_id), email=email, token=token, created_at=now, seen_at=now, expires_at=expires_at)
    store.run(lambda uow: uow.console_sessions.put(session))
    return session_id


def _expired() -> Unauthorized:
    return Unauthorized("the console session is over", message_ru="Сеанс завершён. Войдите снова.")


def resume(store: Store, session_id: str | None, *, now: datetime, enrolling: bool = False) -> Admin:
    """The admin of an open session (its last request within :func:`idle`), the session marked seen;
    else :class:`Unauthorized`. ``enrolling`` lets a token without the second factor through (setting it up)."""
    require_utc(now)
    if not session_id or len(session_id) > 128:
        raise _expired()
    key = _key(session_id)
    session = store.read(lambda uow: uow.console_sessions.get(key))
    if session is None or not session.open_at(now, idle()):
        raise _expired()
    admin = admin_auth.admin_of_token(store, session.token, now, enrolling=enrolling)
    if now - session.seen_at >= TOUCH_EVERY:

        def touch(uow: UnitOfWork) -> None:
            current = uow.console_sessions.get(key)
            if current is not None and current.ended_at is None and current.seen_at < now:
                uow.console_sessions.put(current.seen(now))

        store.run(touch)
    return admin


def end(store: Store, session_id: str | None, *, now: datetime) -> None:
    """Sign-out: the session is over for every copy of its cookie (idempotent)."""
    require_utc(now)
    if not session_id or len(session_id) > 128:
        return
    key = _key(session_id)

    def unit(uow: UnitOfWork) -> None:
        current = uow.console_sessions.get(key)
        if current is not None and current.ended_at is None:
            uow.console_sessions.put(current.ended(now))

    store.run(unit)


def csrf_token(session_id: str) -> str:
    """The forms' token of one session: an HMAC of its id under the console's purpose key."""
    return hmac.new(purpose_key(admins.token_secret(), "console csrf"), session_id.encode(), hashlib.sha256).hexdigest()


def csrf_ok(session_id: str | None, sent: str | None) -> bool:
    return bool(session_id and sent) and hmac.compare_digest(csrf_token(session_id or ""), sent or "")
