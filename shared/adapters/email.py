"""E-mail over SMTP (``smtplib``), with a timeout, retries and the one-click unsubscribe headers.

Every message carries ``List-Unsubscribe: <https://…/account/unsubscribe?token=…>`` and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058), and the same link at the
end of its text. Its ``Message-ID`` is derived from the outbox key, so a message sent twice
(a lost answer) carries the same id and mail clients thread it as one. A connection that
fails before the message was handed over is tried again; a refusal (5xx) is final.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate

from shared.adapters.retry import Again, Exhausted, Retry


class EmailUnavailable(Exception):
    """The SMTP server did not take the message."""


class SmtpMailer:
    def __init__(
        self,
        *,
        host: str,
        port: int = 587,
        sender: str,
        user: str = "",
        password: str = "",
        starttls: bool = True,
        timeout: float = 10.0,
        attempts: int = 3,
        backoff_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password, self.starttls, self.timeout = user, password, starttls, timeout
        self.retry = Retry(attempts=attempts, backoff_seconds=backoff_seconds, sleep=sleep)

    def build(self, *, to: str, subject: str, body: str, unsubscribe_url: str, key: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(usegmt=True)
        domain = self.sender.rpartition("@")[2].strip(">") or "localhost"
        message["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(f"{body}\n\n—\nОтписаться от писем: {unsubscribe_url}\n")
        return message

    def send(self, message: EmailMessage) -> None:
        def attempt(_: int) -> None:
            try:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            except OSError as exc:  # nothing was handed over yet
                raise Again(type(exc).__name__) from None
            try:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(message)
            except smtplib.SMTPResponseException as exc:
                if 400 <= exc.smtp_code < 500:
                    raise Again(f"SMTP {exc.smtp_code}") from None
                raise EmailUnavailable(f"the SMTP server refused the message ({exc.smtp_code})") from None
            except (smtplib.SMTPException, OSError) as exc:
                raise EmailUnavailable(f"the SMTP server failed ({type(exc).__name__})") from None
            finally:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()

        try:
            self.retry.run(attempt)
        except Exhausted as gave_up:
            raise EmailUnavailable(f"the SMTP server could not be reached ({gave_up.reason})") from None
