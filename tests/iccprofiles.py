"""Real wide-gamut ICC profiles, built here from their published definitions.

Pillow's ImageCms can only create sRGB, LAB and XYZ profiles, so this writes ICC v2
matrix/TRC display profiles byte by byte: the primaries and white point of Display P3
(SMPTE EG 432-1, as Apple phones tag their photos) and Adobe RGB (1998), adapted to the
D50 connection space with the Bradford transform as the ICC specification requires.
"""

import struct

import numpy as np

_D50 = np.array([0.9642, 1.0, 0.8249])
_D65_XY = (0.3127, 0.3290)
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])


def display_p3() -> bytes:
    """Display P3: DCI-P3 primaries, D65 white, the sRGB tone curve."""
    return _profile("Display P3", [(0.680, 0.320), (0.265, 0.690), (0.150, 0.060)], _srgb_curve())


def adobe_rgb() -> bytes:
    """Adobe RGB (1998): wider greens, D65 white, a pure gamma of 563/256."""
    return _profile("Adobe RGB (1998)", [(0.64, 0.33), (0.21, 0.71), (0.15, 0.06)], _gamma_curve(563 / 256))


def _xyz(x: float, y: float) -> np.ndarray:
    return np.array([x / y, 1.0, (1 - x - y) / y])


def _colorants(primaries) -> np.ndarray:
    """Columns: the D50-adapted XYZ of full red, green and blue."""
    white = _xyz(*_D65_XY)
    columns = np.stack([_xyz(*p) for p in primaries], axis=1)
    to_xyz = columns * np.linalg.solve(columns, white)
    cone_ratio = np.diag((_BRADFORD @ _D50) / (_BRADFORD @ white))
    return np.linalg.inv(_BRADFORD) @ cone_ratio @ _BRADFORD @ to_xyz


def _srgb_curve() -> bytes:
    x = np.linspace(0, 1, 1024)
    y = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    table = np.rint(y * 65535).astype(">u2").tobytes()
    return b"curv" + bytes(4) + struct.pack(">I", 1024) + table


def _gamma_curve(gamma: float) -> bytes:
    return b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256)) + bytes(2)


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz_tag(xyz) -> bytes:
    return b"XYZ " + bytes(4) + b"".join(_s15(v) for v in xyz)


def _description(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\x00"
    return b"desc" + bytes(4) + struct.pack(">I", len(ascii_text)) + ascii_text + bytes(4 + 4 + 2 + 1 + 67)


def _profile(name: str, primaries, curve: bytes) -> bytes:
    colorants = _colorants(primaries)
    tags = [
        (b"desc", _description(name)),
        (b"cprt", b"text" + bytes(4) + b"No copyright, test profile\x00"),
        (b"wtpt", _xyz_tag(_D50)),
        (b"rXYZ", _xyz_tag(colorants[:, 0])),
        (b"gXYZ", _xyz_tag(colorants[:, 1])),
        (b"bXYZ", _xyz_tag(colorants[:, 2])),
        (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
    ]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    entries, bodies = b"", b""
    for signature, body in tags:
        body += bytes(-len(body) % 4)
        entries += signature + struct.pack(">II", offset + len(bodies), len(body))
        bodies += body
    size = 128 + table_size + len(bodies)
    header = (
        struct.pack(">I", size) + bytes(4) + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0) + b"acsp" + bytes(24) + struct.pack(">I", 0)
        + b"".join(_s15(v) for v in _D50) + bytes(48)
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + entries + bodies
