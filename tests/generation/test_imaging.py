from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass
from io import BytesIO
from xml.etree import ElementTree

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from generation.imaging.metadata import AI_SOFTWARE, TRAINED_ALGORITHMIC_MEDIA, read_xmp, with_ai_metadata, xmp_packet
from generation.imaging.photos import split_grid
from generation.imaging.tiles import Box, find_tile_boxes

WHITE = (255, 255, 255)
NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
}
IPTC_SOURCE_TYPE = "{http://iptc.org/std/Iptc4xmpExt/2008-02-29/}DigitalSourceType"
CREATOR_TOOL = "{http://ns.adobe.com/xap/1.0/}CreatorTool"


@dataclass
class Grid:
    image: Image.Image
    tiles: list[Box]


def draw_grid(size: tuple[int, int], col_spans: list[tuple[int, int]], row_spans: list[tuple[int, int]], seed=1):
    """A white canvas with a textured photo-like tile at each span crossing: everything else is gutter or border."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, WHITE)
    draw = ImageDraw.Draw(image)
    tiles = []
    for top, bottom in row_spans:
        for left, right in col_spans:
            draw.rectangle((left, top, right - 1, bottom - 1), fill=tuple(rng.randrange(40, 180) for _ in range(3)))
            for _ in range(25):  # texture: ellipses that never reach gutter brightness
                x, y = rng.randrange(left, right - 20), rng.randrange(top, bottom - 20)
                w, h = rng.randrange(10, 120), rng.randrange(10, 120)
                colour = tuple(rng.randrange(0, 200) for _ in range(3))
                draw.ellipse((x, y, min(x + w, right - 1), min(y + h, bottom - 1)), fill=colour)
            tiles.append(Box(left, top, right, bottom))
    return Grid(image, tiles)


def grid_2x2() -> Grid:
    # 1024²: left border 20 px, no right border, no top border, bottom border 31 px; a 7 px column gutter 40 px right
    # of the content's middle and a 13 px row gutter 45 px above it.
    return draw_grid((1024, 1024), [(20, 554), (561, 1024)], [(0, 451), (464, 993)])


def grid_2x4() -> Grid:
    # 1024×1536, 2 columns and 4 rows: right border 16, top 24, bottom 9; gutters of 13, 7, 13 and 9 px, each
    # 30 to 60 px (2-4 %) off its equal-cut position.
    return draw_grid((1024, 1536), [(0, 470), (483, 1008)], [(24, 450), (457, 715), (728, 1181), (1190, 1527)])


GRIDS = {"2x2": (grid_2x2, 2, 2), "2x4": (grid_2x4, 2, 4)}


def assert_boxes_match(found: list[Box], expected: list[Box], tolerance: int = 1) -> None:
    assert len(found) == len(expected)
    for box, tile in zip(found, expected, strict=True):
        deltas = [abs(a - b) for a, b in zip(box.as_tuple(), tile.as_tuple(), strict=True)]
        assert max(deltas) <= tolerance, f"{box} is not {tile}"


def equal_boxes(width: int, height: int, cols: int, rows: int) -> list[Box]:
    xs = [width * k // cols for k in range(cols + 1)]
    ys = [height * k // rows for k in range(rows + 1)]
    return [Box(xs[c], ys[r], xs[c + 1], ys[r + 1]) for r in range(rows) for c in range(cols)]


def encoded(image: Image.Image, image_format: str, **params) -> bytes:
    out = BytesIO()
    image.save(out, image_format, **params)
    return out.getvalue()


def png_chunks(data: bytes) -> list[tuple[bytes, bytes, int]]:
    """(type, body, stored CRC) of each chunk, read independently of the module under test."""
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        chunks.append((kind, body, crc))
        pos += 12 + length
    return chunks


def jpeg_segments(data: bytes) -> tuple[list[bytes], bytes]:
    """The header segments (marker byte + payload) before the first SOS, and everything from SOS on."""
    segments, pos = [], 2
    while data[pos + 1] != 0xDA:
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segments.append(data[pos + 1 : pos + 2] + data[pos + 4 : pos + 2 + length])
        pos += 2 + length
    return segments, data[pos:]


def camera_jpeg(orientation: int | None = None) -> bytes:
    image = draw_grid((96, 64), [(0, 96)], [(0, 64)]).image
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 5D"
    if orientation:
        exif[0x0112] = orientation
    return encoded(image, "JPEG", quality=85, exif=exif)


def parsed_xmp(text: str) -> ElementTree.Element:
    description = ElementTree.fromstring(text).find("rdf:RDF/rdf:Description", NS)
    assert description is not None
    return description


# --- find_tile_boxes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", GRIDS)
def test_find_tile_boxes_returns_the_drawn_tiles_despite_uneven_gutters_and_borders(name):
    make, cols, rows = GRIDS[name]
    grid = make()
    assert_boxes_match(find_tile_boxes(grid.image, cols, rows), grid.tiles)


@pytest.mark.parametrize("name", GRIDS)
def test_find_tile_boxes_still_finds_the_tiles_after_jpeg_compression(name):
    make, cols, rows = GRIDS[name]
    grid = make()
    with Image.open(BytesIO(encoded(grid.image, "JPEG", quality=80))) as image:
        assert_boxes_match(find_tile_boxes(image, cols, rows), grid.tiles)


@pytest.mark.parametrize("name", GRIDS)
def test_no_found_tile_has_a_white_band_along_any_edge(name):
    make, cols, rows = GRIDS[name]
    grid = make()
    grey = grid.image.convert("L")
    for box in find_tile_boxes(grid.image, cols, rows):
        tile = grey.crop(box.as_tuple())
        w, h = tile.size
        for edge in [(0, 0, w, 1), (0, h - 1, w, h), (0, 0, 1, h), (w - 1, 0, w, h)]:
            bright = ImageStat.Stat(tile.crop(edge).point(lambda v: 255 if v >= 235 else 0)).mean[0] / 255
            assert bright < 0.5, f"{box} has a white edge at {edge}"


def test_near_white_gutters_count_as_gutters():
    grid = grid_2x4()
    tinted = grid.image.copy()
    tinted.paste((250, 244, 236), mask=grid.image.convert("L").point(lambda v: 255 if v == 255 else 0))  # grey ≈ 245
    with Image.open(BytesIO(encoded(tinted, "JPEG", quality=75))) as image:
        assert image.getpixel((1020, 5)) != WHITE
        assert_boxes_match(find_tile_boxes(image, 2, 4), grid.tiles)


def test_tiles_come_in_reading_order_row_by_row():
    boxes = find_tile_boxes(grid_2x4().image, 2, 4)
    assert [(b.top, b.left) for b in boxes] == sorted((b.top, b.left) for b in boxes)
    assert boxes[0].left < boxes[1].left and boxes[0].top == boxes[1].top


@pytest.mark.parametrize(("size", "cols", "rows"), [((1024, 1024), 2, 2), ((1024, 1536), 2, 4), ((1001, 999), 3, 3)])
def test_an_image_without_gutters_is_cut_into_exactly_equal_tiles(size, cols, rows):
    noise = Image.frombytes("RGB", size, random.Random(7).randbytes(size[0] * size[1] * 3))
    assert find_tile_boxes(noise, cols, rows) == equal_boxes(*size, cols, rows)


def test_a_blank_white_image_is_cut_into_equal_tiles():
    blank = Image.new("RGB", (1024, 1536), WHITE)
    assert find_tile_boxes(blank, 2, 4) == equal_boxes(1024, 1536, 2, 4)


def test_a_bright_patch_inside_a_tile_does_not_move_the_cuts():
    grid = grid_2x2()
    draw = ImageDraw.Draw(grid.image)
    # A white wall the full height of the top-left tile, touching the column gutter...
    draw.rectangle((400, 0, 553, 450), fill=WHITE)
    # ...a white sky across the full width of the bottom-right tile, touching the right edge of the image...
    draw.rectangle((561, 464, 1023, 600), fill=WHITE)
    # ...and a near-white window against the left border in the bottom-left tile.
    draw.rectangle((20, 700, 200, 992), fill=(245, 245, 240))
    assert_boxes_match(find_tile_boxes(grid.image, 2, 2), grid.tiles)


def test_a_missing_gutter_is_cut_at_the_equal_position_while_the_other_axis_uses_its_gutters():
    # Rows are separated by a gutter, columns touch each other with no white between them.
    grid = draw_grid((1000, 800), [(0, 500), (500, 1000)], [(0, 380), (392, 800)])
    assert_boxes_match(find_tile_boxes(grid.image, 2, 2), grid.tiles, tolerance=0)


def test_cuts_that_would_leave_a_tile_far_too_small_fall_back_to_equal_cuts():
    # Four columns, but the only white band sits at 14 % of the width: a first tile of 14 % against 25 % expected.
    grid = draw_grid((1000, 400), [(0, 140), (150, 1000)], [(0, 400)])
    assert find_tile_boxes(grid.image, 4, 1) == equal_boxes(1000, 400, 4, 1)


def test_transparent_gutters_count_as_white():
    grid = grid_2x2()
    opaque = grid.image.convert("L").point(lambda v: 0 if v == 255 else 255)
    # Gutters and borders fully transparent, and black underneath: only the alpha says they are background.
    rgba = Image.composite(grid.image.convert("RGBA"), Image.new("RGBA", grid.image.size, (0, 0, 0, 0)), opaque)
    assert_boxes_match(find_tile_boxes(rgba, 2, 2), grid.tiles)


def test_find_tile_boxes_refuses_an_empty_grid():
    with pytest.raises(ValueError):
        find_tile_boxes(Image.new("RGB", (10, 10)), 0, 2)


# --- split_grid -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("image_format", "pillow_format"), [("jpeg", "JPEG"), ("webp", "WEBP")])
@pytest.mark.parametrize("name", GRIDS)
def test_split_grid_returns_every_tile_encoded_marked_as_ai_and_without_exif(name, image_format, pillow_format):
    make, cols, rows = GRIDS[name]
    grid = make()
    tiles = split_grid(encoded(grid.image, "PNG"), cols, rows, image_format=image_format)
    assert len(tiles) == cols * rows
    for data, box in zip(tiles, grid.tiles, strict=True):
        with Image.open(BytesIO(data)) as tile:
            assert tile.format == pillow_format
            tile.load()
            assert abs(tile.width - box.width) <= 1 and abs(tile.height - box.height) <= 1
            assert len(tile.getexif()) == 0
            assert "exif" not in tile.info
        assert TRAINED_ALGORITHMIC_MEDIA in read_xmp(data)


def test_split_grid_drops_the_camera_exif_and_comment_of_the_source():
    grid = grid_2x4()
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    source = encoded(grid.image, "JPEG", quality=92, exif=exif, comment=b"shot on a camera")
    tiles = split_grid(source, 2, 4)
    assert len(tiles) == 8
    for data in tiles:
        with Image.open(BytesIO(data)) as tile:
            assert len(tile.getexif()) == 0
            assert "comment" not in tile.info
        assert b"Canon" not in data


def test_split_grid_tiles_show_the_source_pixels():
    grid = grid_2x2()
    tiles = split_grid(encoded(grid.image, "PNG"), 2, 2, quality=95)
    for data, box in zip(tiles, grid.tiles, strict=True):
        with Image.open(BytesIO(data)) as tile:
            original = grid.image.crop(box.as_tuple()).resize(tile.size)
            difference = ImageChops.difference(tile.convert("RGB"), original).convert("L")
            assert ImageStat.Stat(difference).mean[0] < 8


def test_split_grid_reads_the_grid_the_way_it_is_shown_when_exif_rotates_it():
    grid = grid_2x4()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored lying on its side, shown turned a quarter clockwise
    source = encoded(grid.image.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=92, exif=exif)
    tiles = split_grid(source, 2, 4)
    for data, box in zip(tiles, grid.tiles, strict=True):
        with Image.open(BytesIO(data)) as tile:
            assert abs(tile.width - box.width) <= 1 and abs(tile.height - box.height) <= 1
            assert len(tile.getexif()) == 0


def test_split_grid_puts_the_description_in_the_xmp():
    tiles = split_grid(encoded(grid_2x2().image, "PNG"), 2, 2, description='Ada <"30"> & friends')
    description = parsed_xmp(read_xmp(tiles[0]))
    assert description.find("dc:description/rdf:Alt/rdf:li", NS).text == 'Ada <"30"> & friends'


def test_split_grid_refuses_an_unknown_format():
    with pytest.raises(ValueError):
        split_grid(encoded(grid_2x2().image, "PNG"), 2, 2, image_format="gif")


# --- xmp_packet -------------------------------------------------------------------------------------------------


def test_xmp_packet_is_an_xpacket_of_well_formed_xml_naming_the_source_type_and_the_software():
    packet = xmp_packet().decode("utf-8")
    assert packet.startswith("<?xpacket begin=") and packet.endswith('<?xpacket end="w"?>')
    description = parsed_xmp(packet)
    assert description.get(IPTC_SOURCE_TYPE) == TRAINED_ALGORITHMIC_MEDIA
    assert description.get(CREATOR_TOOL) == AI_SOFTWARE
    assert description.find("dc:description", NS) is None


def test_xmp_packet_escapes_the_description_and_drops_characters_xml_cannot_hold():
    description = parsed_xmp(xmp_packet("a <b> & c\x00\x07 é 👩").decode("utf-8"))
    assert description.find("dc:description/rdf:Alt/rdf:li", NS).text == "a <b> & c é 👩"


# --- with_ai_metadata and read_xmp ------------------------------------------------------------------------------


def test_with_ai_metadata_leaves_the_png_pixel_data_byte_identical_and_adds_readable_xmp():
    source = encoded(grid_2x2().image, "PNG")
    data, extension = with_ai_metadata(source)
    assert extension == "png"
    before, after = png_chunks(source), png_chunks(data)
    assert [body for kind, body, _ in after if kind == b"IDAT"] == [body for kind, body, _ in before if kind == b"IDAT"]
    assert [kind for kind, _, _ in after[:3]] == [b"IHDR", b"iTXt", b"tEXt"]
    assert all(zlib.crc32(kind + body) == crc for kind, body, crc in after)
    assert after[2][1] == b"Software\x00" + AI_SOFTWARE.encode()
    assert TRAINED_ALGORITHMIC_MEDIA in read_xmp(data)
    with Image.open(BytesIO(data)) as image:
        assert image.info["xmp"]  # Pillow reads our chunk too
        assert ImageChops.difference(image.convert("RGB"), grid_2x2().image).getbbox() is None


def test_with_ai_metadata_replaces_png_exif_and_foreign_xmp():
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    source = encoded(Image.new("RGB", (32, 32), (10, 20, 30)), "PNG", exif=exif)
    # Another tool's XMP, after the pixel data (allowed in PNG):
    itxt = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta>camera</x:xmpmeta>"
    chunk = struct.pack(">I", len(itxt)) + b"iTXt" + itxt + struct.pack(">I", zlib.crc32(b"iTXt" + itxt))
    source = source[:-12] + chunk + source[-12:]
    assert b"eXIf" in source
    data, _ = with_ai_metadata(source)
    kinds = [kind for kind, _, _ in png_chunks(data)]
    assert b"eXIf" not in kinds and kinds.count(b"iTXt") == 1 and b"camera" not in data
    with Image.open(BytesIO(data)) as image:
        assert len(image.getexif()) == 0


def test_with_ai_metadata_removes_camera_exif_from_a_jpeg_and_keeps_the_scan_data():
    source = camera_jpeg()
    with Image.open(BytesIO(source)) as image:
        assert image.getexif()[0x010F] == "Canon"
    data, extension = with_ai_metadata(source)
    assert extension == "jpg"
    with Image.open(BytesIO(data)) as image:
        assert len(image.getexif()) == 0
        assert image.info["xmp"]
    segments, scan = jpeg_segments(data)
    assert scan == jpeg_segments(source)[1]
    assert not any(segment.startswith(b"\xe1Exif\x00\x00") for segment in segments)
    assert b"Canon" not in data
    assert segments[0].startswith(b"\xe0JFIF\x00")  # JFIF stays first, our XMP right after it
    assert segments[1].startswith(b"\xe1http://ns.adobe.com/xap/1.0/\x00")
    assert TRAINED_ALGORITHMIC_MEDIA in read_xmp(data)


def test_with_ai_metadata_puts_the_xmp_right_after_soi_when_a_jpeg_has_no_jfif():
    image = Image.new("RGB", (16, 16), (1, 2, 3))
    source = encoded(image, "JPEG")
    source = b"\xff\xd8" + source[2 + 2 + struct.unpack(">H", source[4:6])[0] :]  # drop the JFIF APP0
    data, _ = with_ai_metadata(source)
    segments, _ = jpeg_segments(data)
    assert segments[0].startswith(b"\xe1http://ns.adobe.com/xap/1.0/\x00")


@pytest.mark.parametrize("make", [lambda: encoded(grid_2x2().image, "PNG"), camera_jpeg], ids=["png", "jpeg-with-exif"])
def test_with_ai_metadata_twice_gives_the_same_bytes_as_once(make):
    once, extension = with_ai_metadata(make())
    assert with_ai_metadata(once) == (once, extension)


def test_with_ai_metadata_re_encodes_webp_as_png_with_the_same_pixels():
    image = grid_2x2().image.resize((256, 256))
    data, extension = with_ai_metadata(encoded(image, "WEBP", lossless=True))
    assert extension == "png"
    assert TRAINED_ALGORITHMIC_MEDIA in read_xmp(data)
    with Image.open(BytesIO(data)) as result:
        assert result.format == "PNG"
        assert ImageChops.difference(result.convert("RGB"), image).getbbox() is None
    assert with_ai_metadata(data) == (data, "png")


def test_with_ai_metadata_applies_exif_rotation_before_dropping_it():
    source = camera_jpeg(orientation=6)  # shown turned a quarter clockwise
    data, extension = with_ai_metadata(source)
    assert extension == "png"
    with Image.open(BytesIO(data)) as result:
        assert result.size == (64, 96)
        assert len(result.getexif()) == 0
    assert TRAINED_ALGORITHMIC_MEDIA in read_xmp(data)


def test_with_ai_metadata_can_carry_a_description():
    data, _ = with_ai_metadata(camera_jpeg(), description="Ada, 30")
    assert parsed_xmp(read_xmp(data)).find("dc:description/rdf:Alt/rdf:li", NS).text == "Ada, 30"


def test_read_xmp_is_none_without_xmp_or_without_an_image():
    assert read_xmp(encoded(Image.new("RGB", (8, 8)), "PNG")) is None
    assert read_xmp(encoded(Image.new("RGB", (8, 8)), "JPEG")) is None
    assert read_xmp(encoded(Image.new("RGB", (8, 8)), "WEBP")) is None
    assert read_xmp(b"not an image") is None


def test_read_xmp_reads_webp_written_by_pillow():
    data = encoded(Image.new("RGB", (8, 8)), "WEBP", xmp=xmp_packet())
    assert TRAINED_ALGORITHMIC_MEDIA in read_xmp(data)
