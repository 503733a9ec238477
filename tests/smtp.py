"""A real SMTP server for tests (aiosmtpd on 127.0.0.1) that keeps what it accepts and can
refuse a recipient with any reply, 4xx ("try again later") or 5xx ("no such user")."""

import socket
from collections import defaultdict
from email import message_from_bytes
from email.message import Message

from aiosmtpd.controller import Controller


class SmtpSink:
    def __init__(self):
        self.delivered: list[Message] = []
        self._refusals: dict[str, list[str]] = defaultdict(list)
        with socket.socket() as probe:  # a free port (aiosmtpd checks it can connect back)
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def reset(self) -> None:
        self.delivered.clear()
        self._refusals.clear()

    def refuse(self, address: str, *replies: str) -> None:
        """Answer the next RCPT TO for ``address`` with each of ``replies`` in turn, then
        accept it."""
        self._refusals[address.lower()].extend(replies)

    @property
    def mailer(self) -> dict:
        """A MAILERS entry that sends here through Django's SMTP backend."""
        return {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": self.port, "timeout": 5},
        }

    # aiosmtpd's handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        refusals = self._refusals.get(address.lower())
        if refusals:
            return refusals.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.delivered.append(message_from_bytes(envelope.original_content))
        return "250 Message accepted for delivery"
