"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1:PORT. Each message it receives is
parsed with Python's own e-mail package and written as FOLDER/NNNNN.json (envelope, headers, the
text and HTML parts); "ready" is printed once it listens, and it stops when stdin closes."""
import email
import email.policy
import json
import pathlib
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        self.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "content_type": message.get_content_type(),
            "text": text.get_content() if text else None,
            "html": html.get_content() if html else None,
        }
        path = self.folder / f"{self.count:05d}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.rename(path)
        return "250 OK"


port, folder = int(sys.argv[1]), pathlib.Path(sys.argv[2])
controller = Controller(Sink(folder), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
try:
    sys.stdin.read()
finally:
    controller.stop()
