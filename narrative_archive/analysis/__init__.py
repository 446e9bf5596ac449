"""The analyse stage: pure functions over one article's plain values.

stance     who asserts, reports or disputes a narrative (cue lists in config/stance.yml)
stories    near-duplicate clusters of article texts (MinHash LSH, store-agnostic index)
citations  links and attributions ("according to X") resolved to outlets
"""
