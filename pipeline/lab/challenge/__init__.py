"""The PII challenge corpus (issue #15): generated call scripts that carry many valid values in many phrasings.

    values     random but valid values per entity type, and how people say them
    phrasings  the ways a value gets said (asked, volunteered, read back, corrected, split, spelled...)
    build      service calls assembled from both, split into a train half and a frozen test half

`write_corpus(out_dir, seed=, calls=)` writes OUT/train and OUT/test in the tests/data/SCHEMA.md
format, so the script reader, the synthesiser and the evaluators read them as they are.
"""

from pipeline.lab.challenge.build import build_corpus, write_corpus

__all__ = ["build_corpus", "write_corpus"]
