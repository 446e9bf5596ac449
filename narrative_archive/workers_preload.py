"""Imported once by the extraction forkserver (see workers.ExtractorPool), never elsewhere.

It loads everything extraction needs, the language model above all, before any
worker is forked: every worker then starts warm and shares those pages of
memory with the others instead of loading its own copy.
"""

from narrative_archive.workers import warm_up

warm_up()
