"""What the detection tests share: how to read which kinds fired on a turn, and a detector that
runs the lexicon rules alone."""

import pytest


def kinds_at(detection, turn_index: int) -> set[str]:
    return {e.kind for e in detection.events if e.turn_index == turn_index}


@pytest.fixture(scope="session")
def rule_detector(detect_setup):
    """rule_detector([(speaker, text), ...], channel_type) -> Detection from the lexicon rules
    alone (models.detector: null). Since issue #17 the trained classifiers decide and the rules are
    their features and the fallback; the tests that pin a rule's behaviour on a single sentence in
    a two- or three-turn call use this (such toy calls are unlike the whole calls the classifiers
    learned from: docs/detection.md lists where the classifiers differ on them)."""
    from pipeline.detect import detect, load_detect_models
    from pipeline.schema import Turn

    options, _ = detect_setup
    options = options.model_copy(update={"models": options.models.model_copy(update={"detector": None})})
    models = load_detect_models(options)

    def run(script: list[tuple[str, str]], channel_type: str = "telephone"):
        turns = [Turn(index=i, speaker=sp, start_s=None, end_s=None, text=text) for i, (sp, text) in enumerate(script)]
        return detect(turns, channel_type=channel_type, options=options, models=models)

    return run
