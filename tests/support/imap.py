"""A small IMAP4rev1 server on 127.0.0.1 for tests: one mailbox, the commands ``imaplib`` sends for a bounce poll
(CAPABILITY, LOGIN, SELECT, UID SEARCH, UID FETCH, UID STORE, EXPUNGE, NOOP, LOGOUT) and nothing else."""

from __future__ import annotations

import re
import socketserver
import threading
from dataclasses import dataclass, field

from kim_workflow.email.sink import free_port

_TOKEN = re.compile(rb'"((?:[^"\\]|\\.)*)"|(\([^)]*\))|(\S+)')


@dataclass
class StoredMessage:
    uid: int
    data: bytes
    flags: set[str] = field(default_factory=set)


@dataclass
class Mailbox:
    user: str = "bounces"
    password: str = "geheim"
    name: str = "INBOX"
    messages: list[StoredMessage] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)  # every command seen, for assertions
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, data: bytes) -> int:
        with self.lock:
            uid = max((m.uid for m in self.messages), default=0) + 1
            self.messages.append(StoredMessage(uid, data))
            return uid

    def flags(self, uid: int) -> set[str]:
        with self.lock:
            return next(set(m.flags) for m in self.messages if m.uid == uid)


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.send(b"* OK [CAPABILITY IMAP4rev1] kim test IMAP ready")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            parts = [a or b or c for a, b, c in _TOKEN.findall(line.rstrip(b"\r\n"))]
            if len(parts) < 2:
                self.send(b"* BAD empty command")
                continue
            tag, command, args = parts[0], parts[1].upper().decode(), [p.decode() for p in parts[2:]]
            self.server.mailbox.commands.append(" ".join([command, *args[:1]]))
            if not self.dispatch(tag, command, args):
                return

    def send(self, data: bytes) -> None:
        self.wfile.write(data + b"\r\n")

    def ok(self, tag: bytes, text: str) -> None:
        self.send(tag + b" OK " + text.encode())

    def dispatch(self, tag: bytes, command: str, args: list[str]) -> bool:
        box = self.server.mailbox
        if command == "CAPABILITY":
            self.send(b"* CAPABILITY IMAP4rev1")
            self.ok(tag, "CAPABILITY completed")
        elif command == "LOGIN":
            if args[:2] != [box.user, box.password]:
                self.send(tag + b" NO [AUTHENTICATIONFAILED] invalid credentials")
            else:
                self.ok(tag, "LOGIN completed")
        elif command == "SELECT":
            if args[:1] != [box.name]:
                self.send(tag + b" NO no such mailbox")
                return True
            with box.lock:
                self.send(f"* {len(box.messages)} EXISTS".encode())
            self.send(b"* 0 RECENT")
            self.send(b"* FLAGS (\\Seen \\Deleted)")
            self.send(b"* OK [UIDVALIDITY 1] UIDs valid")
            self.ok(tag, "[READ-WRITE] SELECT completed")
        elif command == "UID" and args:
            self.uid(tag, args[0].upper(), args[1:])
        elif command == "EXPUNGE":
            with box.lock:
                box.messages = [m for m in box.messages if "\\Deleted" not in m.flags]
            self.ok(tag, "EXPUNGE completed")
        elif command == "NOOP":
            self.ok(tag, "NOOP completed")
        elif command == "LOGOUT":
            self.send(b"* BYE logging out")
            self.ok(tag, "LOGOUT completed")
            return False
        else:
            self.send(tag + b" BAD unknown command")
        return True

    def uid(self, tag: bytes, sub: str, args: list[str]) -> None:
        box = self.server.mailbox
        with box.lock:
            messages = list(enumerate(box.messages, start=1))
        if sub == "SEARCH":
            unseen = args[:1] == ["UNSEEN"]
            uids = [str(m.uid) for _, m in messages if not (unseen and "\\Seen" in m.flags)]
            self.send(" ".join(["* SEARCH", *uids]).encode())
            self.ok(tag, "SEARCH completed")
            return
        wanted = {int(u) for u in args[0].split(",")} if args else set()
        for number, message in messages:
            if message.uid not in wanted:
                continue
            if sub == "FETCH":
                item = "BODY[]" if "PEEK" in args[1].upper() or "BODY" in args[1].upper() else "RFC822"
                if item == "RFC822":
                    message.flags.add("\\Seen")
                head = f"* {number} FETCH (UID {message.uid} {item} {{{len(message.data)}}}".encode()
                self.wfile.write(head + b"\r\n" + message.data + b")\r\n")
            elif sub == "STORE":
                flags = set(args[2].strip("()").split())
                if args[1].upper().startswith("+"):
                    message.flags |= flags
                else:
                    message.flags -= flags
                flag_text = " ".join(sorted(message.flags))
                self.send(f"* {number} FETCH (UID {message.uid} FLAGS ({flag_text}))".encode())
        self.ok(tag, f"UID {sub} completed")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    mailbox: Mailbox


class ImapServer:
    """``ImapServer().start()``; messages go in with ``server.mailbox.add(raw)``; ``stop()`` at the end."""

    def __init__(self) -> None:
        self.host, self.port = "127.0.0.1", free_port()
        self.mailbox = Mailbox()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ImapServer:
        self._server = _Server((self.host, self.port), _Handler)
        self._server.mailbox = self.mailbox
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
