"""Limits before decoding (issue #16): a long file is refused from its header, in milliseconds and
in the memory of a normal call; a header that lies (or says nothing) is stopped at the sample cap.

The 10-hour Opus file is assembled from one real libopus packet (tests/_ingest_support.py), so
building it takes well under a second; the refusal is timed and its peak RSS measured in a fresh
interpreter, against the same interpreter ingesting a normal call.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.config import IngestOptions
from pipeline.errors import InputError
from pipeline.ingest import ingest
from tests._ingest_support import write_long_opus
from tests._paths import REPO, SAMPLE_CALLS

TEN_HOURS = 10 * 3600.0

# One ingest in a fresh interpreter: its outcome, how long ingest() took, and the process's peak RSS.
_CHILD = """
import json, resource, sys, time
from pathlib import Path
from pipeline.config import IngestOptions
from pipeline.errors import InputError
from pipeline.ingest import ingest
started = time.perf_counter()
try:
    outcome = "ok %.1f" % ingest(Path(sys.argv[1]), IngestOptions()).duration_s
except InputError as e:
    outcome = e.reason
print(json.dumps({"outcome": outcome, "elapsed_s": time.perf_counter() - started,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _ingest_in_child(path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_ten_hour_opus_file_is_refused_in_milliseconds_and_a_normal_calls_memory(tmp_path):
    long_file = write_long_opus(tmp_path / "ten-hours.opus", TEN_HOURS)
    assert long_file.stat().st_size < 16 * 2**20  # a few MB: the size limit does not catch it
    normal = _ingest_in_child(SAMPLE_CALLS / "sample-001.flac")
    refused = _ingest_in_child(long_file)
    assert normal["outcome"].startswith("ok")
    assert refused["outcome"] == "too_long"
    assert refused["elapsed_s"] < 2.0, refused
    # Decoded whole, 10 h of 48 kHz float32 would be 6.9 GB; the refusal costs what a normal call does.
    assert refused["peak_rss_mb"] - normal["peak_rss_mb"] < 200, (refused, normal)


def test_the_header_refuses_before_decoding(tmp_path):
    with pytest.raises(InputError) as e:
        ingest(write_long_opus(tmp_path / "long.opus", 120.0), IngestOptions(max_duration_s=30.0))
    assert e.value.reason == "too_long"
    assert "from its header" in str(e.value)


def test_a_header_that_understates_the_length_is_stopped_at_the_cap(tmp_path):
    # 120 s of packets; the last page's granule position says the stream ends after 1 s.
    liar = write_long_opus(tmp_path / "liar.opus", 120.0, claim_s=1.0)
    with pytest.raises(InputError) as e:
        ingest(liar, IngestOptions(max_duration_s=30.0))
    assert e.value.reason == "too_long"
    assert "decoding stopped at 30 s" in str(e.value) and "header said 1 s" in str(e.value)
    # Under a cap it does not reach, the same file decodes to what it holds, not what it claims.
    assert ingest(liar, IngestOptions(max_duration_s=600.0)).duration_s > 60.0


def test_a_flac_without_a_length_is_stopped_at_the_cap(tmp_path):
    path = tmp_path / "nolen.flac"
    sf.write(path, (0.1 * np.sin(np.arange(10 * 16000) / 10)).astype(np.float32), 16000)
    data = bytearray(path.read_bytes())
    # STREAMINFO's 36-bit total-samples field (bytes 21-25 of the file): 0 means "unknown" (RFC 9639).
    data[21] &= 0xF0
    data[22:26] = bytes(4)
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as e:
        ingest(path, IngestOptions(max_duration_s=5.0))
    assert e.value.reason == "too_long"
    assert "header said no length" in str(e.value)


@pytest.mark.parametrize(("options", "reason"), [
    (IngestOptions(max_sample_rate=44100), "bad_sample_rate"),  # Opus always decodes at 48 kHz
    (IngestOptions(max_channels=1), "too_many_channels"),
])
def test_rate_and_channels_come_from_the_header(tmp_path, options, reason):
    path = tmp_path / "stereo.wav"
    sf.write(path, np.zeros((16000 * 2, 2), np.float32), 16000)
    opus = write_long_opus(tmp_path / "mono.opus", 2.0)
    with pytest.raises(InputError) as e:
        ingest(opus if reason == "bad_sample_rate" else path, options)
    assert e.value.reason == reason
