"""`callqa bench`: the measuring maths, the plan, the corpus composition, and one real run."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from pipeline.lab.bench.baselines import TranscribeComparison, TranscribeRun, wants_batched
from pipeline.lab.bench.corpus import compose_script, estimate_seconds, samples_scripts_dir
from pipeline.lab.bench.measure import (MemoryWatcher, gpu_memory_reader, linear_slope, parse_nvidia_smi, rss_mb, rtf,
                                    x_realtime)
from pipeline.lab.bench.options import (BaselineOptions, BatchOptions, BenchOptions, CorpusOptions, Profile,
                                    load_bench_options, make_plan)
from pipeline.lab.bench.results import STAGES, BatchFigure, memory_slope, stage_figure
from pipeline.errors import ConfigError
from pipeline.lab.scripts import load_scripts


def test_linear_slope_recovers_a_line_and_refuses_one_point():
    xs = [0.0, 1.0, 2.0, 3.0]
    assert linear_slope(xs, [10.0 + 2.5 * x for x in xs]) == pytest.approx(2.5)
    assert linear_slope(xs, [7.0] * 4) == pytest.approx(0.0)
    assert linear_slope([1.0], [3.0]) is None
    assert linear_slope([1.0, 1.0], [3.0, 4.0]) is None


def test_memory_slope_leaves_the_warm_up_calls_out():
    # Two warm-up calls grow the heap by 200 MiB, then it stays flat: no leak.
    rss = [800.0, 1000.0] + [1000.0 + (0.3 if i % 2 else -0.3) for i in range(20)]
    assert memory_slope(rss, warmup_calls=2) == pytest.approx(0.0, abs=0.05)
    assert memory_slope(rss, warmup_calls=0) > 1.0  # counted in, the warm-up looks like growth
    leaking = [1000.0 + 5.0 * i for i in range(10)]
    assert memory_slope(leaking, warmup_calls=2) == pytest.approx(5.0)
    assert memory_slope(leaking[:5], warmup_calls=2, min_calls=5) is None  # 3 points: no verdict


def test_batch_figure_flags_growth_above_the_configured_slope():
    common = dict(size=8, workers=2, transcribe_slots=1, layout="stereo", minutes=1.0, done=8, failed=0,
                  audio_s=480.0, wall_s=60.0, stage_s={}, peak_rss_mb=1200.0, warmup_calls=2,
                  max_slope_mb_per_call=1.0, load_average_start=[1.0], load_average_end=[1.0])
    flat = BatchFigure(rss_after_call_mb=[900, 1000, 1000, 1000.2, 999.9, 1000.1, 1000, 1000], **common)
    growing = BatchFigure(rss_after_call_mb=[900, 1000, 1010, 1020, 1030, 1040, 1050, 1060], **common)
    assert flat.memory_flat is True and growing.memory_flat is False
    assert growing.slope_mb_per_call == pytest.approx(10.0)
    assert flat.x_realtime == pytest.approx(8.0)
    dumped = growing.model_dump(mode="json")
    assert dumped["memory_flat"] is False and dumped["x_realtime"] == pytest.approx(8.0)


def test_rates_are_inverse_and_text_stages_get_words_per_second():
    assert rtf(6.0, 60.0) == pytest.approx(0.1)
    assert x_realtime(6.0, 60.0) == pytest.approx(10.0)
    assert rtf(1.0, 0.0) is None and x_realtime(0.0, 60.0) is None
    redact = stage_figure("redact", 0.5, 60.0, 150)
    transcribe = stage_figure("transcribe", 6.0, 60.0, 150)
    assert redact.words_per_s == pytest.approx(300.0)
    assert transcribe.words_per_s is None and transcribe.rtf == pytest.approx(0.1)
    instant = stage_figure("score", 0.001, 60.0, 150)  # below the pipeline's millisecond timings
    assert instant.words_per_s is None and instant.x_realtime is None and instant.rtf is not None


def test_overhead_is_measured_against_the_fastest_plain_run():
    comparison = TranscribeComparison(audio_s=60.0, channels=2, repeats=1, runs=[
        TranscribeRun(name="pipeline", seconds=15.0, cpu_s=11.0, words=150),
        TranscribeRun(name="faster_whisper_vad_filter", seconds=9.0, cpu_s=10.0, words=120),
        TranscribeRun(name="faster_whisper_no_vad", seconds=30.0, cpu_s=20.0, words=151),
        TranscribeRun(name="faster_whisper_batched", seconds=1.0, cpu_s=1.0, words=150),  # GPU: not "plain"
    ])
    assert comparison.overhead("faster_whisper_no_vad") == pytest.approx(-0.45)
    assert comparison.overhead("faster_whisper_no_vad", "seconds") == pytest.approx(-0.5)
    name, value = comparison.headline_overhead()  # on CPU time, whatever the wall clock said
    assert name == "faster_whisper_vad_filter" and value == pytest.approx(0.1)


def test_nvidia_smi_output_is_read_for_this_process_only():
    text = "1234, 500\n5678, 2048\n5678, 100\nnot a line\n"
    assert parse_nvidia_smi(text, 5678) == pytest.approx(2148.0)
    assert parse_nvidia_smi(text, 42) is None


def test_gpu_memory_and_batched_baseline_are_chosen_by_device():
    assert gpu_memory_reader("cpu") is None
    reader = gpu_memory_reader("cuda")  # on a machine without a GPU it still picks a way, and reads nothing
    assert reader is not None and reader.source in ("pynvml", "nvidia-smi", "none")
    assert wants_batched("auto", "cuda") and not wants_batched("auto", "cpu")
    assert wants_batched("always", "cpu") and not wants_batched("never", "cuda")


def test_memory_watcher_sees_an_allocation_inside_its_span():
    with MemoryWatcher(0.01) as watcher:
        before = rss_mb()
        with watcher.span() as peak:
            block = np.ones(64 * 1024 * 1024 // 8)  # 64 MiB, touched
            time.sleep(0.05)
            del block
    assert peak.rss_mb >= before + 50


def test_packaged_config_loads_and_the_command_line_overrides_the_profile():
    options = load_bench_options()
    quick = make_plan(options, "quick")
    assert quick.model == "tiny.en" and quick.batch_sizes
    plan = make_plan(options, "full", model="base", batch=50, device="cpu")
    assert plan.model == "base" and plan.batch_sizes == [50] and plan.device == "cpu"
    assert plan.lengths_min == [1, 5, 15]
    with pytest.raises(ConfigError, match="no profile"):
        make_plan(options, "nightly")
    with pytest.raises(ConfigError, match="device"):
        make_plan(options, "quick", device="tpu")


def test_bad_bench_config_names_the_key(tmp_path):
    bad = tmp_path / "bench.yaml"
    bad.write_text("profiles:\n  quick: {lengths_min: [1], layouts: [stereo], batch_sizes: [1], speed: 2}\n")
    with pytest.raises(ConfigError, match="profiles.quick.speed"):
        load_bench_options(bad)


@pytest.mark.parametrize("minutes", [0.5, 1, 5, 15])
def test_composed_calls_reach_the_target_length_from_the_samples(minutes):
    options = CorpusOptions()
    script = compose_script(load_scripts(samples_scripts_dir()), minutes, options)
    estimate = estimate_seconds(list(script.turns), options.speech_words_per_s)
    assert minutes * 60 <= estimate < minutes * 60 + 40  # at most one turn over
    assert script.channel_type == "telephone" and script.turns[0].overlap_s == 0.0
    assert max(t.pause_before_s for t in script.turns) <= options.max_pause_s


def test_bench_command_refuses_bad_options_before_running_anything(tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    device = CliRunner().invoke(app, ["bench", "--quick", "--device", "tpu"])
    assert device.exit_code == 2 and "device" in device.output
    # --json prints on stdout; a file is --json-file, so a path after --json is not an option value.
    old_style = CliRunner().invoke(app, ["bench", "--json", str(tmp_path / "bench.json")])
    assert old_style.exit_code == 2 and not (tmp_path / "bench.json").exists()
    bad_yaml = tmp_path / "bench.yaml"
    bad_yaml.write_text("profiles: {quick: {lengths_min: [-1]}}\n", encoding="utf-8")
    config = CliRunner().invoke(app, ["bench", "--bench-config", str(bad_yaml)])
    assert config.exit_code == 2 and "bench.yaml" in config.output and "Traceback" not in config.output


@pytest.mark.slow
def test_bench_runs_end_to_end_on_a_tiny_corpus(tmp_path):
    """Real Piper audio, real faster-whisper, real Presidio: every stage timed, baselines present."""
    from pipeline.lab.bench.runner import run_bench
    from pipeline.lab.bench.report import summary_lines, tables, to_json
    from pipeline.settings import load_settings

    options = BenchOptions(
        profiles={"tiny": Profile(model="tiny.en", lengths_min=[0.3], layouts=["stereo"], batch_sizes=[3])},
        batch=BatchOptions(workers=2, transcribe_slots=1, layout="stereo", length_min=0.3),
        baselines=BaselineOptions(batched_whisper="always"),  # the GPU baseline's code path, on CPU
    )
    plan = make_plan(options, "tiny", device="cpu")
    steps: list[tuple[str, int, int | None]] = []
    report = run_bench(plan, options, load_settings(), cache_root=tmp_path / "corpus",
                       progress=lambda *a: steps.append(a))
    data = json.loads(json.dumps(to_json(report)))
    # Progress through the one hook shape: every step ends complete.
    last = {step: (done, total) for step, done, total in steps}
    assert last["corpus"] == (2, 2) and last["calls"] == (1, 1) and last["batch of 3"] == (3, 3)
    assert last["models"][0] == last["models"][1] and last["warm-up"] == (1, 1)

    call = data["calls"][0]
    assert 15 < call["audio_s"] < 40 and call["words"] > 20
    # Every stage is timed (stereo: diarise is by channel, and redact_audio runs on audio inputs).
    # They run one after another inside the call's total, so their times add up to at most that
    # total (plus the millisecond rounding of each), and the expensive ones take measurable time.
    walls = {stage: call["stages"][stage]["wall_s"] for stage in STAGES}
    assert sum(walls.values()) <= call["total"]["wall_s"] + 0.001 * len(walls)
    assert walls["transcribe"] > 0.1 and walls["redact"] > 0 and walls["detect"] > 0
    for stage in ("transcribe", "redact", "detect"):
        assert call["stages"][stage]["rtf"] > 0 and call["stages"][stage]["x_realtime"] > 0
        assert call["stages"][stage]["peak_rss_mb"] > 100
    assert call["stages"]["redact"]["words_per_s"] > 0
    assert data["model_load_s"]["whisper"] > 0 and "presidio_defaults" in data["model_load_s"]

    runs = {r["name"]: r for r in data["transcription_baselines"][0]["comparison"]["runs"]}
    assert set(runs) == {"pipeline", "faster_whisper_vad_filter", "faster_whisper_no_vad", "faster_whisper_batched"}
    assert all(r["seconds"] > 0 for r in runs.values()) and runs["faster_whisper_no_vad"]["words"] > 20
    # The headline is the pipeline's CPU time over the cheaper plain faster-whisper run's, minus one.
    baseline = data["transcription_baselines"][0]
    cheapest = min(("faster_whisper_vad_filter", "faster_whisper_no_vad"), key=lambda n: runs[n]["cpu_s"])
    assert baseline["comparison"]["basis"] == "cpu_s"
    assert baseline["headline_overhead"]["against"] == cheapest
    assert baseline["headline_overhead"]["overhead"] == pytest.approx(
        runs["pipeline"]["cpu_s"] / runs[cheapest]["cpu_s"] - 1, abs=1e-3)
    assert data["redaction_baseline"]["presidio_defaults_words_per_s"] > 0

    batch = data["batches"][0]
    assert batch["done"] == 3 and batch["failed"] == 0 and len(batch["rss_after_call_mb"]) == 3
    assert batch["x_realtime"] > 0 and batch["peak_rss_mb"] >= max(batch["rss_after_call_mb"]) - 1
    # Two calls start at once and one slot transcribes: one waits, and that wait is not "store" time.
    assert batch["transcribe_queue_s"] > 0
    assert 0 <= batch["stage_s"]["store"] < batch["stage_s"]["transcribe"]
    assert len(data["environment"]["load_average_start"]) == 3 and data["environment"]["device"] == "cpu"
    assert data["warmup_s"] > 0
    assert tables(report) and any("overhead" in line for line in summary_lines(report))
