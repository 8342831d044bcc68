"""Provenance metadata: every stored image says it is AI-generated (IPTC "trainedAlgorithmicMedia" in XMP) and
carries no camera-style EXIF."""

from __future__ import annotations

import re
import struct
import zlib
from io import BytesIO
from xml.sax.saxutils import escape

from PIL import Image, ImageOps, PngImagePlugin

AI_SOFTWARE = "Avatar Data Generator"
# IPTC digital source type for media made by a trained model:
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"
_PNG_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
# Chunks Pillow writes before the text ones; ours go right after them, as Pillow puts them.
_PNG_HEADER_CHUNKS = {b"IHDR", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB", b"cICP"}
# Text chunks we replace (ours) or drop (EXIF/XMP smuggled in by other tools, e.g. ImageMagick's raw profiles).
_PNG_DROPPED_KEYWORDS = {
    _PNG_XMP_KEYWORD,
    b"Software",
    b"Raw profile type exif",
    b"Raw profile type APP1",
    b"Raw profile type xmp",
}
_JPEG_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_JPEG_EXTENDED_XMP_HEADER = b"http://ns.adobe.com/xmp/extension/\x00"
_JPEG_EXIF_HEADER = b"Exif\x00\x00"
_JPEG_FLASHPIX_HEADER = b"FPXR\x00"  # EXIF's FlashPix extension: camera data as well
_JPEG_MAX_SEGMENT = 65535  # the length field counts itself: 2 + payload
_SOS, _APP0, _APP1, _APP2 = 0xDA, 0xE0, 0xE1, 0xE2
_STANDALONE_MARKERS = {0x01, *range(0xD0, 0xD8)}  # no length field
_ORIENTATION = 0x0112
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xmp_packet(description: str = "") -> bytes:
    """An XMP packet saying the image is AI-generated (IPTC digital source type), made by us, optionally described.

    The IPTC field is what platforms and C2PA-aware tools read to label synthetic media.
    """
    description_xml = ""
    if description:
        text = escape(_XML_ILLEGAL.sub("", description))
        description_xml = (
            f'\n   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{text}</rdf:li></rdf:Alt></dc:description>\n  '
        )
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        f'    Iptc4xmpExt:DigitalSourceType="{TRAINED_ALGORITHMIC_MEDIA}"\n'
        f'    xmp:CreatorTool="{escape(AI_SOFTWARE)}">{description_xml}</rdf:Description>\n'
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
    return packet.encode("utf-8")


def with_ai_metadata(data: bytes, *, description: str = "", reencode: bool = False) -> tuple[bytes, str]:
    """Mark an image as returned by an API as AI-generated, without re-encoding its pixels; drop any EXIF.

    A PNG or JPEG keeps its pixel data byte-identical (a JPEG re-encoded by Pillow would lose quality and cost a
    decode and an encode per base): only its metadata chunks or segments are replaced, ours built by Pillow. Anything
    else (WebP, or a JPEG/PNG whose EXIF rotates it, which we could not drop without changing how it looks) is decoded
    and saved by Pillow as lossless PNG with our XMP, as is any image when `reencode` is asked (a file whose container
    other readers refuse). Returns (bytes, extension), extension 'png' or 'jpg'. Idempotent.
    """
    packet = xmp_packet(description)
    if reencode:
        return _reencoded_png_with_xmp(data, packet), "png"
    if data.startswith(_PNG_SIGNATURE):
        chunks = _png_chunks(data)
        if not any(_png_exif_rotates(kind, body) for kind, body, _ in chunks):
            return _png_with_xmp(data, chunks, packet), "png"
    elif data.startswith(b"\xff\xd8"):
        segments, scan_start = _jpeg_header_segments(data)
        if not any(_jpeg_exif_rotates(marker, segment) for marker, segment in segments):
            return _jpeg_with_xmp(data, segments, scan_start, packet), "jpg"
    return _reencoded_png_with_xmp(data, packet), "png"


def read_xmp(data: bytes) -> str | None:
    """The XMP packet of a PNG, JPEG or WebP as Pillow reads it, as text; None when it has none or is not a readable
    image. Only the header is read, except for a PNG with no XMP before its pixel data: it is decoded, since an XMP
    chunk after the pixel data still counts."""
    try:
        with Image.open(BytesIO(data)) as image:
            xmp = image.info.get("xmp")
            if xmp is None and image.format == "PNG":
                image.load()  # reads the chunks after the pixel data too
                xmp = image.info.get("xmp")
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error):
        return None  # not an image, or a broken one: it proves nothing
    if isinstance(xmp, bytes):
        return xmp.decode("utf-8", errors="replace")
    return xmp or None


def _exif_rotates(exif_payload: bytes) -> bool:
    """Whether an EXIF block turns or mirrors the image (Orientation other than 1)."""
    exif = Image.Exif()
    try:
        exif.load(exif_payload)
    except (SyntaxError, ValueError, struct.error, OSError):
        return False  # unreadable EXIF: viewers cannot apply it either
    return exif.get(_ORIENTATION, 1) not in (1, None)


# PNG: a signature, then chunks of length (4), type (4), body, CRC of type + body (4).


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """(type, body, whole chunk) for every chunk up to and including IEND; raises ValueError on a broken file."""
    chunks = []
    pos = len(_PNG_SIGNATURE)
    while pos < len(data):
        if pos + 8 > len(data):
            raise ValueError("truncated PNG chunk header")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise ValueError(f"truncated PNG chunk {kind!r}")
        chunks.append((kind, data[pos + 8 : end - 4], data[pos:end]))
        pos = end
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR":
        raise ValueError("a PNG must start with IHDR")
    return chunks


def _png_exif_rotates(kind: bytes, body: bytes) -> bool:
    return kind == b"eXIf" and _exif_rotates(_JPEG_EXIF_HEADER + body)


def _png_dropped(kind: bytes, body: bytes) -> bool:
    """EXIF, and the text chunks we own (so applying twice replaces them rather than adding more)."""
    if kind == b"eXIf":
        return True
    return kind in _PNG_TEXT_CHUNKS and body.split(b"\x00", 1)[0] in _PNG_DROPPED_KEYWORDS


def _ai_png_info(packet: bytes) -> PngImagePlugin.PngInfo:
    """Our PNG text chunks, as Pillow writes them: the XMP in an uncompressed iTXt, and tEXt Software."""
    info = PngImagePlugin.PngInfo()
    info.add_itxt(_PNG_XMP_KEYWORD, packet)
    info.add_text("Software", AI_SOFTWARE)
    return info


def _png_with_xmp(data: bytes, chunks: list[tuple[bytes, bytes, bytes]], packet: bytes) -> bytes:
    """The PNG with our chunks (Pillow's) where Pillow puts text, after the header and colour-space chunks; every
    other chunk copied verbatim. A PNG Pillow saved with our chunks comes out unchanged."""
    out = BytesIO()
    for kind, body, *_ in _ai_png_info(packet).chunks:
        PngImagePlugin.putchunk(out, kind, body)
    kept = [(kind, whole) for kind, body, whole in chunks if not _png_dropped(kind, body)]
    at = next((n for n, (kind, _) in enumerate(kept) if kind not in _PNG_HEADER_CHUNKS), len(kept))
    consumed = len(_PNG_SIGNATURE) + sum(len(whole) for _, _, whole in chunks)
    wholes = [whole for _, whole in kept]
    return b"".join([_PNG_SIGNATURE, *wholes[:at], out.getvalue(), *wholes[at:], data[consumed:]])


# JPEG: SOI, then marker segments (0xFF, marker, 2-byte length counting itself, payload) up to the first SOS; the
# entropy-coded scan data follows. Metadata lives in the header segments, so only those are touched.


def _jpeg_header_segments(data: bytes) -> tuple[list[tuple[int, bytes]], int]:
    """(marker, whole segment) for each segment before the first SOS, and where that SOS starts."""
    segments = []
    pos = 2
    while True:
        while data[pos : pos + 2] == b"\xff\xff":  # fill bytes before a marker
            pos += 1
        if pos + 2 > len(data) or data[pos] != 0xFF:
            raise ValueError("broken JPEG: no marker where one was expected")
        marker = data[pos + 1]
        if marker == _SOS:
            return segments, pos
        if marker in _STANDALONE_MARKERS:
            segments.append((marker, data[pos : pos + 2]))
            pos += 2
            continue
        if marker in (0xD8, 0xD9):
            raise ValueError("broken JPEG: no image data before the end marker")
        if pos + 4 > len(data):
            raise ValueError("broken JPEG: truncated segment")
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2 or pos + 2 + length > len(data):
            raise ValueError("broken JPEG: truncated segment")
        segments.append((marker, data[pos : pos + 2 + length]))
        pos += 2 + length


def _jpeg_exif_rotates(marker: int, segment: bytes) -> bool:
    return marker == _APP1 and segment[4:].startswith(_JPEG_EXIF_HEADER) and _exif_rotates(segment[4:])


def _jpeg_dropped(marker: int, segment: bytes) -> bool:
    """EXIF (with its FlashPix extension) and any XMP, ours included, so applying twice replaces rather than adds."""
    payload = segment[4:]
    if marker == _APP1:
        return payload.startswith((_JPEG_EXIF_HEADER, _JPEG_XMP_HEADER, _JPEG_EXTENDED_XMP_HEADER))
    return marker == _APP2 and payload.startswith(_JPEG_FLASHPIX_HEADER)


def _jpeg_with_xmp(data: bytes, segments: list[tuple[int, bytes]], scan_start: int, packet: bytes) -> bytes:
    """SOI, the JFIF APP0 segment(s) if any, our APP1 XMP, the other header segments, then the scans verbatim."""
    length = 2 + len(_JPEG_XMP_HEADER) + len(packet)
    if length > _JPEG_MAX_SEGMENT:
        raise ValueError("the XMP packet is too long for one JPEG segment; shorten the description")
    xmp = b"\xff\xe1" + struct.pack(">H", length) + _JPEG_XMP_HEADER + packet
    kept = [(marker, segment) for marker, segment in segments if not _jpeg_dropped(marker, segment)]
    leading_app0 = 0
    while leading_app0 < len(kept) and kept[leading_app0][0] == _APP0:
        leading_app0 += 1
    head = [segment for _, segment in kept[:leading_app0]]
    rest = [segment for _, segment in kept[leading_app0:]]
    return b"".join([b"\xff\xd8", *head, xmp, *rest, data[scan_start:]])


def _reencoded_png_with_xmp(data: bytes, packet: bytes) -> bytes:
    """Decode, apply any EXIF orientation, and save as lossless PNG (keeping the ICC profile) with our chunks."""
    with Image.open(BytesIO(data)) as source:
        source.load()
        image = ImageOps.exif_transpose(source)
    if image.mode not in ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    params: dict[str, object] = {"pnginfo": _ai_png_info(packet)}
    if icc_profile := image.info.get("icc_profile"):
        params["icc_profile"] = icc_profile
    out = BytesIO()
    image.save(out, "PNG", **params)
    return out.getvalue()
