"""What `screencap -p` shows: each node's box and text drawn into a grey PNG at a tenth of the screen's size."""

from __future__ import annotations

import struct
import zlib

from simulator.display import SCREEN_HEIGHT, SCREEN_WIDTH, Node

# Screen pixels per image pixel: cheap enough for a screenshot a second per phone, and the size
# (108x240) the simulator's screenshots have always had.
SCALE = 10
WIDTH, HEIGHT = SCREEN_WIDTH // SCALE, SCREEN_HEIGHT // SCALE
_GLYPH_SIZE = 1  # image pixels per font dot
_ADVANCE = 4 * _GLYPH_SIZE

# A 3x5 font: each glyph is 5 rows of 3 bits, top row first, most significant bit on the left.
_FONT_ROWS = {
    "A": "27557", "B": "67576", "C": "34443", "D": "65556", "E": "74647", "F": "74644", "G": "34553",
    "H": "55755", "I": "72227", "J": "11153", "K": "55655", "L": "44447", "M": "57755", "N": "67555",
    "O": "25552", "P": "65644", "Q": "25563", "R": "65655", "S": "34216", "T": "72222", "U": "55557",
    "V": "55552", "W": "55775", "X": "55255", "Y": "55222", "Z": "71247",
    "0": "25552", "1": "26222", "2": "61247", "3": "61216", "4": "55711", "5": "74616", "6": "34656",
    "7": "71122", "8": "25252", "9": "25311", " ": "00000", ".": "00002", ",": "00024", ":": "02020",
    ";": "02024", "!": "22202", "?": "61202", "'": "22000", '"': "55000", "-": "00700", "+": "02720",
    "_": "00007", "/": "11244", "\\": "44211", "(": "12221", ")": "42224", "[": "32223", "]": "62226",
    "@": "25743", "#": "57575", "%": "51245", "&": "25253", "*": "52725", "=": "07070", "<": "12421",
    ">": "42124", "|": "22222", "~": "03600", "^": "25000", "$": "36736", "{": "32623", "}": "62326",
    "`": "42000",
}
_FONT = {char: [int(digit, 16) for digit in rows] for char, rows in _FONT_ROWS.items()}
_UNKNOWN = [7, 5, 5, 5, 7]  # a box per glyph the font lacks (any non-ASCII character)


def render_png(nodes: list[Node], *, app: bool) -> bytes:
    image = bytearray([235 if app else 90]) * (WIDTH * HEIGHT)
    for node in nodes[1:]:  # the root covers the whole screen
        left, top, right, bottom = (value // SCALE for value in node.bounds)
        left, top = max(0, left), max(0, top)
        right, bottom = min(WIDTH, right), min(HEIGHT, bottom)
        if right <= left or bottom <= top:
            continue
        if node.clickable:
            _fill(image, left, top, right, bottom, 255)
        _outline(image, left, top, right, bottom, 40 if node.clickable else 150)
        _text(image, node.text or node.content_desc, left + 2, top + min(2, max(1, bottom - top - 6)), right - 1,
              bottom)
    return _png(bytes(image))


def _fill(image: bytearray, left: int, top: int, right: int, bottom: int, shade: int) -> None:
    line = bytes([shade]) * (right - left)
    for y in range(top, bottom):
        image[y * WIDTH + left:y * WIDTH + right] = line


def _outline(image: bytearray, left: int, top: int, right: int, bottom: int, shade: int) -> None:
    _fill(image, left, top, right, top + 1, shade)
    _fill(image, left, bottom - 1, right, bottom, shade)
    _fill(image, left, top, left + 1, bottom, shade)
    _fill(image, right - 1, top, right, bottom, shade)


def _text(image: bytearray, text: str, x: int, y: int, right: int, bottom: int) -> None:
    if y + 5 * _GLYPH_SIZE > bottom:
        return
    for char in text:
        if x + 3 * _GLYPH_SIZE > right:
            return
        for row_index, bits in enumerate(_FONT.get(char.upper(), _UNKNOWN if char.strip() else _FONT[" "])):
            for column in range(3):
                if bits & (4 >> column):
                    dot_x, dot_y = x + column * _GLYPH_SIZE, y + row_index * _GLYPH_SIZE
                    _fill(image, dot_x, dot_y, dot_x + _GLYPH_SIZE, dot_y + 1, 0)
                    _fill(image, dot_x, dot_y + 1, dot_x + _GLYPH_SIZE, dot_y + _GLYPH_SIZE, 0)
        x += _ADVANCE


def _png(gray: bytes) -> bytes:
    """An 8-bit greyscale PNG; every row with filter type 0."""
    raw = b"".join(b"\x00" + gray[y * WIDTH:(y + 1) * WIDTH] for y in range(HEIGHT))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 1))
            + chunk(b"IEND", b""))
