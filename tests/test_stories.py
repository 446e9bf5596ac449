"""Stories: syndicated copies cluster with their original, distinct reports of one event do not."""

from pathlib import Path

import pytest
import yaml

from narrative_archive.analysis import stories
from narrative_archive.analysis.stories import (
    SIGNATURE_BYTES,
    MemoryStorage,
    StoryIndex,
    band_keys,
    cluster,
    signature,
    similarity,
    stories_of,
)

CORPUS = yaml.safe_load((Path(__file__).parent / "files" / "stories" / "corpus.yml").read_text(encoding="utf-8"))
REPORTS = {report["id"]: report for event in CORPUS["events"] for report in event["reports"]}
EVENT_OF = {report["id"]: event["id"] for event in CORPUS["events"] for report in event["reports"]}


def syndicate(text, copy):
    paragraphs = text.split("\n\n")
    if copy.get("trim"):
        paragraphs = paragraphs[: -copy["trim"]]
    return copy.get("prefix", "") + "\n\n".join(paragraphs) + copy.get("suffix", "")


def corpus_rows():
    """(article_id, text, date): every report, then its copies published seconds later."""
    rows = []
    for report_id, report in REPORTS.items():
        rows.append((report_id, report["text"], report["date"]))
        for n, copy in enumerate(CORPUS["copies"]):
            rows.append((f"{report_id}/{copy['name']}", syndicate(report["text"], copy), report["date"].replace(":00+00:00", f":{10 + n}+00:00")))
    return rows


def test_every_copy_joins_its_original_and_reports_stay_apart():
    rows = sorted(corpus_rows(), key=lambda row: row[2])
    stories = stories_of(cluster(rows))
    for article_id, _, _ in rows:
        assert stories[article_id] == article_id.split("/")[0], article_id
    assert len(set(stories.values())) == len(REPORTS)


def test_two_outlets_quoting_one_briefing_are_two_stories():
    index = StoryIndex()
    first = index.add("zb-wire", REPORTS["zb-wire"]["text"], REPORTS["zb-wire"]["date"])
    second = index.add("zb-state", REPORTS["zb-state"]["text"], REPORTS["zb-state"]["date"])
    assert (first.story_id, second.story_id) == ("zb-wire", "zb-state")
    assert second.matches == ()


def test_a_copy_seen_first_is_re_rooted_when_the_earlier_original_arrives():
    text = REPORTS["nh-wire"]["text"]
    index = StoryIndex()
    copy = index.add("yahoo-copy", syndicate(text, CORPUS["copies"][1]), "2017-03-23T18:00:00+00:00")
    assert copy.story_id == "yahoo-copy"
    original = index.add("ap-original", text, "2017-03-23T14:02:00+00:00")
    assert original.story_id == "ap-original"
    assert original.merged == ("yahoo-copy",)
    assert original.matches[0][0] == "yahoo-copy" and original.matches[0][1] >= 0.5
    assert index.story_of("yahoo-copy") == "ap-original"


def test_a_copy_linking_two_stories_merges_them_into_the_earliest():
    text = REPORTS["tr-paper"]["text"]
    paragraphs = text.split("\n\n")
    index = StoryIndex()
    index.add("half-a", "\n\n".join(paragraphs[:3]), "2017-10-21T09:00:00+00:00")
    index.add("half-b", "\n\n".join(paragraphs[1:]), "2017-10-21T08:00:00+00:00")
    whole = index.add("whole", text, "2017-10-21T10:00:00+00:00")
    assert whole.story_id == "half-b"
    assert index.story_of("half-a") == "half-b"


def test_the_hundredth_copy_of_a_wire_story_is_compared_with_one_of_its_copies(monkeypatch):
    compared = []
    monkeypatch.setattr(stories, "similarity", lambda a, b: compared.append(b) or similarity(a, b))
    text = REPORTS["nh-wire"]["text"]
    index = StoryIndex()
    for n in range(99):
        index.add(f"copy-{n}", syndicate(text, {"prefix": f"Outlet {n}. "}), "2017-03-23T14:02:00+00:00")
    compared.clear()
    last = index.add("copy-99", syndicate(text, {"prefix": "Outlet 99. "}), "2017-03-23T15:00:00+00:00")
    assert last.story_id == "copy-0"
    assert len(compared) == len(last.matches) == 1


def test_an_article_without_a_date_sorts_after_dated_ones():
    text = REPORTS["mf-agency"]["text"]
    index = StoryIndex()
    index.add("undated", text, None)
    assert index.add("dated", syndicate(text, CORPUS["copies"][0]), "2018-11-09T10:00:00+00:00").story_id == "dated"


def test_a_changed_text_is_indexed_again():
    index = StoryIndex()
    index.add("a", REPORTS["vc-factcheck"]["text"], "2019-02-02T08:00:00+00:00")
    index.add("b", REPORTS["vc-factcheck"]["text"], "2019-02-02T09:00:00+00:00")
    assert index.story_of("b") == "a"
    assert index.add("b", REPORTS["vc-blog"]["text"], "2019-02-02T09:00:00+00:00").story_id == "b"


@pytest.mark.parametrize("text", [None, "", " — "])
def test_texts_without_words_are_their_own_story(text):
    index = StoryIndex()
    assert index.add("x", text, None).story_id == "x"
    assert index.add("y", text, None).story_id == "y"


SHORT = "KABUL (Reuters) - Russia is arming the Taliban, a U.S. general said on Thursday."


def test_exact_copies_of_a_short_text_are_one_story_whatever_their_length():
    """Under MIN_WORDS there are no shingles to compare, but the same words are a copy."""
    index = StoryIndex()
    assert index.add("copy", SHORT.upper(), "2017-03-24T09:00:00Z").story_id == "copy"
    assert index.add("wire", SHORT, "2017-03-23T17:00:00Z").story_id == "wire"
    assert index.story_of("copy") == "wire"  # the earlier one is the original
    assert index.add("other", "Russia denies arming the Taliban, TASS said.",
                     "2017-03-24T10:00:00Z").story_id == "other"
    # one word more is not an exact copy, and a short text never joins a long one
    assert index.add("edited", SHORT + " More soon.", "2017-03-25T00:00:00Z").story_id == "edited"


def test_a_text_that_is_not_a_string_is_a_clear_error():
    with pytest.raises(TypeError, match="text must be a str"):
        StoryIndex().add("x", 42, None)


def test_signatures_and_band_keys_are_plain_values_a_table_can_hold():
    sig = signature(REPORTS["pr-tass"]["text"])
    assert isinstance(sig, bytes) and len(sig) == SIGNATURE_BYTES
    keys = band_keys(sig)
    assert all(isinstance(key, int) and -(2**63) <= key < 2**63 for key in keys)
    assert keys == band_keys(signature(REPORTS["pr-tass"]["text"]))
    assert similarity(sig, signature(REPORTS["pr-paper"]["text"])) < 0.2
    with pytest.raises(ValueError, match="signature is"):
        band_keys(b"short")


def test_signatures_are_datasketchs_minhash_bit_for_bit():
    # stories computes datasketch's MinHash with numpy alone (importing datasketch imports
    # scipy: 59 MiB in every extraction worker); archives keep the signatures it stored.
    datasketch = pytest.importorskip("datasketch")
    from narrative_archive.analysis.stories import _hash32, shingles

    texts = [report["text"] for report in REPORTS.values()] + ["one two three", "a"]
    for text in texts:
        minhash = datasketch.MinHash(num_perm=128, hashfunc=_hash32)
        minhash.update_batch(list(shingles(text)))
        assert signature(text) == minhash.hashvalues.astype("<u4").tobytes()
    assert signature("") == datasketch.MinHash(num_perm=128).hashvalues.astype("<u4").tobytes()


def test_a_five_megabyte_text_is_read_up_to_a_bound():
    long_text = REPORTS["nh-daily"]["text"] + "\n\n" + " ".join(f"word{i}" for i in range(700_000))
    index = StoryIndex(MemoryStorage())
    index.add("long", long_text, "2017-03-23T16:40:00+00:00")
    copy = index.add("long-copy", "WASHINGTON — " + long_text, "2017-03-24T16:40:00+00:00")
    assert copy.story_id == "long"
