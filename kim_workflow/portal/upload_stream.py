"""Streaming a multipart upload straight to a staging file: chunk by chunk, hashed on the way, never whole in memory.

Small form fields (the CSRF token) are collected up to a few KB; the one file part is written to ``target`` while
its SHA-256 and size are computed and its first bytes kept for recognising the type by content.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

HEAD_BYTES = 8192
FIELD_MAX = 4096


class UploadTooLarge(Exception):
    """The file part grew beyond the limit (the staging file is removed)."""


class BadUpload(Exception):
    """Not a multipart form the portal sent."""


@dataclass
class ReceivedUpload:
    fields: dict[str, str] = field(default_factory=dict)
    filename: str = ""
    size: int = 0
    sha256: str = ""
    head: bytes = b""
    has_file: bool = False


@dataclass
class _State:
    target: Path
    limit: int
    result: ReceivedUpload = field(default_factory=ReceivedUpload)
    header_field: bytes = b""
    header_value: bytes = b""
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str = ""
    is_file: bool = False
    value: bytearray = field(default_factory=bytearray)
    out: IO[bytes] | None = None
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    head: bytearray = field(default_factory=bytearray)
    too_large: bool = False

    def part_begin(self) -> None:
        self.headers, self.name, self.is_file, self.value = {}, "", False, bytearray()

    def header_end(self) -> None:
        self.headers[self.header_field.lower()] = self.header_value
        self.header_field = self.header_value = b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        self.is_file = filename is not None and not self.result.has_file
        if self.is_file:
            self.result.has_file = True
            self.result.filename = (filename or b"").decode("utf-8", "replace")
            self.out = self.target.open("xb")

    def data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if not self.is_file:
            if len(self.value) + len(chunk) > FIELD_MAX:
                raise BadUpload("field too long")
            self.value += chunk
            return
        if self.too_large:
            return
        self.result.size += len(chunk)
        if self.result.size > self.limit:
            self.too_large = True
            return
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        self.digest.update(chunk)
        assert self.out is not None
        self.out.write(chunk)

    def part_end(self) -> None:
        if self.is_file and self.out is not None:
            self.out.close()
            self.out = None
        elif self.name:
            self.result.fields[self.name] = self.value.decode("utf-8", "replace")


async def receive_upload(content_type: str, body: AsyncIterator[bytes], *, target: Path, limit: int) -> ReceivedUpload:
    """Parse the request body; the file part goes to ``target``. ``UploadTooLarge`` above ``limit`` bytes."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise BadUpload("not multipart")
    state = _State(target, limit)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state.header_field += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state.header_value += data[start:end]

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": state.part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": state.header_end,
            "on_headers_finished": state.headers_finished,
            "on_part_data": state.data,
            "on_part_end": state.part_end,
        },
    )
    try:
        async for chunk in body:
            parser.write(chunk)
            if state.too_large:
                break
        else:
            parser.finalize()
    except BadUpload:
        raise
    except Exception as exc:  # a malformed body from python-multipart
        raise BadUpload(str(exc)) from None
    finally:
        if state.out is not None:
            state.out.close()
    if state.too_large:
        target.unlink(missing_ok=True)
        raise UploadTooLarge()
    result = state.result
    result.sha256, result.head = state.digest.hexdigest(), bytes(state.head)
    return result
