"""Measuring tools: synthesised test calls, evaluation of every stage against labelled scripts, benchmarks.

    scripts      THE labelled-script reader (tests/data/SCHEMA.md): CallScript, load_script(s)
    truth        a synthesised call's timing truth: CallTruth, load_truth
    synth/       scripts -> telephone audio + truth (`callqa synth`, `callqa make-samples`)
    evaluate     the whole pipeline on synthesised scripts (`callqa eval`)
    eval_detect  detection on scripts as transcripts (`callqa detect eval`)
    eval_redact  PII recall and over-redaction (`callqa redact eval`)
    eval_outputs what redaction left behind in a call's outputs: transcript and re-listen recall,
                 payment data audible, over-redaction in text and audio (`callqa eval`)
    challenge/   the generated PII challenge corpus (`callqa challenge make|run|score-text`)
    eval_diarise DER, role accuracy and overlap recall against a truth
    wer          word error rate
    bench/       per-stage speed and memory (`callqa bench`)

Every tool reads scripts through `scripts` and truths through `truth`. Lab code may import
stages and services; nothing in a stage or service imports it.
"""
