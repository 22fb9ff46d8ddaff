"""Builders for ingest tests: Ogg/Opus files of any length in a few MB, with an honest or lying header.

Encoding ten hours of audio would take minutes, so the file is assembled from one real Opus packet
(libopus, through PyAV): 120 ms of digital silence at 6 kbit/s, repeated in hand-written Ogg pages
(RFC 3533 framing, RFC 7845 Opus mapping). Every packet is valid, so a decoder would decode all of
it. A demuxer reads the container's "duration" from the last page's granule position, so
`claim_s` writes a lie there (FFmpeg trims a page whose granule runs behind its packets, so only
the last page lies: the pages before it, and the audio they hold, are honest).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

RATE = 48000  # Opus granule positions always count 48 kHz samples
FRAME = 5760  # 120 ms at 48 kHz: the longest Opus packet, so the fewest packets per hour
_PER_PAGE = 255  # one lacing value per packet (each < 255 bytes), at most 255 per page

# Ogg's CRC-32 is the MSB-first form (polynomial 0x04C11DB7, init 0, no final xor); zlib's is the
# bit-reflected form, so reflect the bytes in and the result out.
_REFLECT = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def ogg_crc(data: bytes) -> int:
    raw = zlib.crc32(data.translate(_REFLECT), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{raw:032b}"[::-1], 2)


def _page(body_packets: list[bytes], granule: int, seq: int, flags: int = 0, serial: int = 0x0CA11) -> bytes:
    lacing = bytearray()
    for packet in body_packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, seq, 0, len(lacing)) + bytes(lacing)
    page = bytearray(header + b"".join(body_packets))
    page[22:26] = struct.pack("<I", ogg_crc(bytes(page)))
    return bytes(page)


def _silence_packet() -> tuple[bytes, bytes]:
    """(OpusHead, one steady-state 120 ms packet of digital silence) from libopus."""
    import av
    import numpy as np

    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate, enc.layout, enc.format, enc.bit_rate = RATE, "mono", "s16", 6000
    enc.options = {"frame_duration": "120", "application": "voip"}
    enc.open()
    packets: list[bytes] = []
    for i in range(4):
        frame = av.AudioFrame.from_ndarray(np.zeros((1, FRAME), np.int16), format="s16", layout="mono")
        frame.sample_rate, frame.pts = RATE, i * FRAME
        packets += [bytes(p) for p in enc.encode(frame)]
    return bytes(enc.extradata), packets[-1]


def write_long_opus(path: Path, seconds: float, *, claim_s: float | None = None) -> Path:
    """An Ogg/Opus file holding `seconds` of silence; its header says `claim_s` (default: the truth)."""
    head, packet = _silence_packet()
    pre_skip = struct.unpack("<H", head[10:12])[0]
    n_packets = int(round(seconds * RATE / FRAME))
    vendor = b"callqa-test"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    with path.open("wb") as f:
        f.write(_page([head], 0, 0, flags=0x02))
        f.write(_page([tags], 0, 1))
        seq, done = 2, 0
        while done < n_packets:
            count = min(_PER_PAGE, n_packets - done)
            done += count
            granule = pre_skip + done * FRAME
            if done == n_packets and claim_s is not None:
                granule = pre_skip + int(claim_s * RATE)
            f.write(_page([packet] * count, granule, seq, flags=0x04 if done == n_packets else 0))
            seq += 1
    return path
