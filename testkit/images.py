"""Image files a hostile or broken image API might send, built without ever holding their pixels in memory."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _header(width: int, height: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))


def blank_png(width: int, height: int) -> bytes:
    """A valid black RGB PNG of any size, compressed row by row: a 12000x12000 one is a few hundred KB."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + 3 * width)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return _header(width, height) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def header_only_png(width: int = 1024, height: int = 1024) -> bytes:
    return _header(width, height)


def jpeg_header_only() -> bytes:
    """The first bytes of a real 1024x1024 JPEG: its headers and no scan data."""
    buffer = io.BytesIO()
    Image.new("RGB", (1024, 1024), (200, 120, 90)).save(buffer, "JPEG")
    data = buffer.getvalue()
    return data[: data.index(b"\xff\xda") + 2]


def jpeg(width: int = 1024, height: int = 1024) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 90)).save(buffer, "JPEG")
    return buffer.getvalue()


def padded(data: bytes, total: int) -> bytes:
    """The image followed by filler up to `total` bytes (most decoders ignore what follows the end)."""
    return data + b"\x00" * max(0, total - len(data))
