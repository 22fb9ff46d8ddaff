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


# --- the simulated night (callqa bench --night N) ----------------------------------------------

def test_night_plan_is_seeded_mixed_on_the_grid_and_scaled():
    from pipeline.lab.bench.night_corpus import parse_mix, plan_night

    mix = parse_mix("stereo:2,mono:1,chat:1")
    plan = plan_night(400, mix=mix)
    assert plan == plan_night(400, mix=mix)  # the same night on any machine
    assert plan != plan_night(400, mix=mix, seed=20)
    kinds = {k: sum(c.kind == k for c in plan) for k in ("stereo", "mono", "chat")}
    assert kinds == {"stereo": 200, "mono": 100, "chat": 100}  # the mix's proportions, exactly
    assert [c.kind for c in plan[:12]] != sorted(c.kind for c in plan[:12])  # shuffled, not in blocks
    minutes = [c.minutes for c in plan]
    assert min(minutes) == 1.0 and max(minutes) == 8.0 and all((m * 2).is_integer() for m in minutes)
    assert len({c.call_id for c in plan}) == 400
    short = plan_night(400, mix=mix, length_scale=0.25)
    assert [c.minutes for c in short] == [m * 0.25 for m in minutes]
    assert {c.kind for c in plan_night(50, mix=parse_mix("chat:1"))} == {"chat"}
    assert sorted(c.kind for c in plan_night(3, mix=parse_mix("stereo:1,chat:2"))) == ["chat", "chat", "stereo"]
    for bad in ("video:1", "stereo:x", "stereo:-1", "chat:0"):
        with pytest.raises(ConfigError):
            parse_mix(bad)


def test_composed_chat_reaches_its_length_with_times_in_order():
    from pipeline.lab.bench.night_corpus import _chat_sample, compose_chat

    sample = _chat_sample()
    chat = compose_chat(sample, "night-0007", 6.0)
    starts = [t["start_s"] for t in chat["turns"]]
    assert chat["call_id"] == "night-0007" and starts == sorted(starts)
    assert 360 <= chat["turns"][-1]["end_s"] < 360 + max(t["end_s"] for t in sample["turns"]) + 5
    assert len(chat["turns"]) > len(sample["turns"])


def test_audit_blocks_count_a_call_logged_twice():
    from pipeline.lab.bench.night_results import audit_blocks

    lines = [{"call_id": "a", "kind": "finding"}, {"call_id": "a", "kind": "flag"}, {"call_id": "b"},
             {"kind": "chain"}, {"call_id": "c"}, {"call_id": "a", "kind": "finding"}]
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "redaction.jsonl"
        path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
        assert audit_blocks(path) == {"a": 2, "b": 1, "c": 1}
        assert audit_blocks(Path(d) / "missing.jsonl") == {}


def test_integrity_finds_lost_and_duplicated_calls(tmp_path):
    import sqlite3
    from collections import Counter

    from pipeline.lab.bench.night_results import integrity

    for call in ("n1", "n2"):
        (tmp_path / call).mkdir()
        (tmp_path / call / "result.json").write_text("{}", encoding="utf-8")
    with sqlite3.connect(tmp_path / "callqa.db") as db:
        db.execute("CREATE TABLE calls (call_id TEXT)")
        db.execute("CREATE TABLE results (call_id TEXT)")
        db.executemany("INSERT INTO calls VALUES (?)", [("n1",), ("n2",)])
        db.executemany("INSERT INTO results VALUES (?)", [("n1",), ("n2",), ("n2",)])
    (tmp_path / "audit").mkdir()
    (tmp_path / "audit" / "redaction.jsonl").write_text(
        "\n".join(json.dumps({"call_id": c}) for c in ("n1", "n2", "n1")) + "\n", encoding="utf-8")
    checked = integrity(tmp_path, ["n1", "n2", "n3"], Counter({"n1": 1, "n2": 1, "n3": 1}), Counter({"n2": 2}))
    assert checked.missing_results == ["n3"] and checked.missing_index == ["n3"] and checked.missing_audit == ["n3"]
    assert checked.duplicated_index == ["n2"] and checked.duplicated_audit == ["n1"]
    assert checked.completed_more_than_once == ["n2"]
    assert checked.lost == 1 and checked.duplicated == 2


def test_overhead_is_task_wall_less_pipeline_time_against_a_five_minute_call():
    from pipeline.lab.bench.night_results import overhead

    walls = {"a": 11.0, "b": 21.0, "c": 5.0}
    elapsed = {"a": 10.0, "b": 20.0, "d": 3.0}  # c never finished in the pipeline, d has no task run
    over = overhead(walls, elapsed, [4.0, 6.0], n_calls=10, seconds_per_audio_s=0.1)
    assert over.per_call_s.n == 2 and over.per_call_s.mean == pytest.approx(1.0)
    # A 5-minute call takes 30 s here: 1 s is 3.33 % of it, and 2 s over 30 s of own time is 6.67 %.
    assert over.per_call_pct_of_5min_call == pytest.approx(3.33, abs=0.01) and over.within_target
    assert over.per_call_pct_of_own_time == pytest.approx(6.67, abs=0.01)
    assert over.shard_startup_per_call_s == pytest.approx(1.0)
    assert overhead(walls, elapsed, [], 10, None).per_call_pct_of_5min_call is None


def test_worker_memory_reports_the_late_slope_per_worker():
    from pipeline.lab.bench.night_results import worker_memory

    samples = [(t * 60.0, "w1", 500.0 + (400.0 if t else 0.0)) for t in range(10)]  # loads, then flat
    samples += [(t * 60.0, "w2", 900.0 + 10.0 * t) for t in range(10)]  # grows 10 MiB a minute
    w1, w2 = worker_memory(samples)
    assert (w1.name, w1.first_mb, w1.peak_mb, w1.slope_mb_per_min) == ("w1", 500.0, 900.0, 0.0)
    assert w2.slope_mb_per_min == pytest.approx(10.0)


def test_cuda_bench_refuses_clearly_without_a_gpu():
    """`callqa bench --device cuda --quick` on a machine with no CUDA says why and runs nothing."""
    import ctranslate2
    from typer.testing import CliRunner

    from pipeline.cli import app
    from pipeline.lab.bench.gpu import cuda_missing

    if ctranslate2.get_cuda_device_count() > 0:
        assert cuda_missing() is None or "PyTorch" in cuda_missing()
        pytest.skip("this machine has CUDA: the refusal cannot show here (the GPU run is documented in docs/bench.md)")
    assert "CTranslate2 sees no CUDA device" in cuda_missing()
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["bench", "--device", "cuda", "--quick"])
    assert result.exit_code == 2
    assert "--device cuda needs a CUDA GPU" in result.output and "Nothing was run" in result.output
    assert "callqa bench --device cuda --quick" in result.output and "Traceback" not in result.output
    assert time.perf_counter() - started < 30  # no corpus, no model loaded


def test_gpu_models_are_tiny_en_then_the_larger_ones_in_the_store():
    from pipeline.lab.bench.gpu import gpu_models
    from pipeline.models import model_status

    present = [r["name"] for r in model_status() if r["kind"] == "whisper" and r["status"] != "unavailable"]
    chosen = gpu_models("tiny.en")
    assert chosen[0] == "tiny.en" and set(chosen) == set(present) | {"tiny.en"}


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.scale
def test_night_runs_end_to_end_through_run_prefect_and_dask(tmp_path):
    """Three short calls, chat-heavy, through every leg on real engines: the JSON has every field,
    every call is done once in every leg, and a worker killed mid-night loses nothing."""
    from typer.testing import CliRunner

    from pipeline.cli import app
    from pipeline.lab.bench.night_results import Leg, NightReport
    from tests._score_support import pg_admin

    pg_admin().close()  # skips (or fails under CALLQA_REQUIRE_POSTGRES=1) without PostgreSQL
    out = tmp_path / "night.json"
    result = CliRunner().invoke(app, [
        "bench", "--night", "3", "--length-scale", "0.1", "--mix", "stereo:1,chat:2", "--workers", "2",
        "--kill-workers", "1", "--cache-dir", str(tmp_path / "corpus"), "--json-file", str(out),
        "--plot", str(tmp_path / "night.png")])
    assert result.exit_code == 0, result.output[-3000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(NightReport.model_fields) <= set(data)
    assert data["night"]["calls"] == 3 and sum(data["night"]["by_kind"].values()) == 3
    legs = {leg["name"]: leg for leg in data["legs"]}
    assert list(legs) == ["callqa run", "prefect", "dask"]
    for name, leg in legs.items():
        assert set(Leg.model_fields) <= set(leg), name
        assert leg["done"] == 3 and leg["failed"] == 0, name
        assert leg["integrity"]["lost"] == 0 and leg["integrity"]["duplicated"] == 0, (name, leg["integrity"])
        assert leg["per_call_s"]["n"] == 3 and leg["per_call_s"]["p50"] > 0 and leg["memory"], name
        assert all(m["peak_mb"] > 100 for m in leg["memory"]), name  # a worker holds the models
    for name in ("prefect", "dask"):
        over = legs[name]["overhead"]
        assert over["per_call_s"]["n"] == 3 and over["per_call_s"]["p50"] >= 0 and "within_target" in over
    prefect = legs["prefect"]
    # The kill either happened (and lost nothing) or the night ended first, which the leg says.
    assert (prefect["kill"] is not None and prefect["kill"]["lost"] == 0) or "ended before" in prefect["note"]
    assert (tmp_path / "night.png").stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.scale
def test_sizing_runs_each_cell_on_the_same_batch(tmp_path):
    """Two cells, one round, two short calls: every cell processes the whole batch, a second slot
    takes the wait for transcription away, and CPU time is recorded beside wall time."""
    from pipeline.lab.bench.sizing import run_sizing
    from pipeline.settings import load_settings

    report = run_sizing(BenchOptions(profiles={}), load_settings(), cache_root=tmp_path / "corpus", calls=2,
                        minutes=0.3, cells=((1, 1), (2, 1)), rounds=1)
    one, two = report.cells
    assert (one.slots, two.slots) == (1, 2) and one.cpu_threads == two.cpu_threads == 1
    for cell in report.cells:
        assert cell.best.done == 2 and cell.best.failed == 0 and cell.best.audio_s > 10
        assert len(cell.rounds_wall_s) == len(cell.rounds_cpu_s) == 1 and cell.rounds_cpu_s[0] > 0
    # Two calls start at once: with one slot one of them waits for it, with two neither does.
    assert one.best.transcribe_queue_s > 0 and two.best.transcribe_queue_s == 0
    assert report.auto["cores"] >= 1 and report.auto["slots"] >= 1
