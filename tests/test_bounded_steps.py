"""make-pretraining holds a bounded step at a time: records are made, masked and handed
on at most ``chunk_tokens`` tokens of instances at a time, whatever the dupe factor or
the length of a document, with the same bytes as making everything at once. Measured
as what one step holds (tokens, records), not as the machine's memory."""

from __future__ import annotations

import numpy as np
import pytest

from albert_data.jobs.make_pretraining import pretraining_config
from albert_data.pretraining.document_records import (
    DocumentRngs,
    VocabIds,
    bundle_records,
    document_hash,
    record_chunks,
)
from albert_data.pretraining.instances import TokenizedDocument
from albert_data.records import schema
from albert_data.text.tokenization import load_tokenizer
from pipelines.pretraining import MakeRecords
from tests.pretraining_records import VOCAB, config, documents


def _long_document(seed: int, sentences: int = 600) -> tuple[TokenizedDocument, bytes]:
    """One document of ``sentences`` sentences (~6 000 tokens, ~150 instances at L=48)."""
    rng = np.random.default_rng(seed)
    ids = [
        rng.integers(5, 300, int(rng.integers(1, 20))).astype(np.int32) for _ in range(sentences)
    ]
    starts = [rng.random(a.size) < 0.7 for a in ids]
    return TokenizedDocument.from_sentences(ids, starts), document_hash(f"long {seed}")


@pytest.mark.parametrize("masking", ["static", "dynamic"])
def test_a_step_holds_at_most_chunk_tokens_whatever_the_dupe_factor(masking):
    docs = [_long_document(1), *documents(30, seed=4), _long_document(2)]
    held = {}
    for dupe_factor in (2, 40):
        cfg = config(masking, dupe_factor=dupe_factor)
        chunks = list(record_chunks(docs, config=cfg, vocab=VOCAB, chunk_tokens=600))
        tokens = [sum(r.num_tokens for r in c.records) for c in chunks]
        assert [c.tokens for c in chunks] == tokens
        held[dupe_factor] = (max(tokens), max(len(c.records) for c in chunks), len(chunks))
        # Steps are filled: every step but the last would overflow with one more instance.
        assert min(tokens[:-1]) > 600 - cfg.instances.max_seq_length
    (tokens2, records2, steps2), (tokens40, records40, steps40) = held[2], held[40]
    assert tokens2 <= 600 and tokens40 <= 600
    # An instance has at least 5 tokens ([CLS] a [SEP] b [SEP]), so records are bounded too.
    assert records2 <= 600 // 5 and records40 <= 600 // 5
    assert steps40 > 15 * steps2  # the output does: it comes in more steps


@pytest.mark.parametrize("chunk_tokens", [1, 48, 257, 5_000, 10**9])
def test_steps_of_any_size_give_the_same_records(chunk_tokens):
    cfg = config("static", dupe_factor=5)
    docs = [*documents(12, seed=9), _long_document(3, 200), *documents(5, seed=10)]
    want = bundle_records(docs, config=cfg, vocab=VOCAB)
    got = [[] for _ in docs]
    rngs = DocumentRngs()
    for chunk in record_chunks(docs, config=cfg, vocab=VOCAB, rngs=rngs, chunk_tokens=chunk_tokens):
        assert chunk.tokens <= max(chunk_tokens, cfg.instances.max_seq_length)
        records = iter(chunk.records)
        for document, count in chunk.documents:
            got[document] += [next(records) for _ in range(count)]
    assert got == want and sum(map(len, want)) > 300


def test_make_records_emits_bounded_elements_for_a_long_document_at_any_dupe_factor(sample_en):
    # The DoFn hands on one element per step: with a 40-fold dupe factor its elements are
    # no larger than with 2, only more numerous (before, one element held every duplicate
    # of a group of documents).
    tokenizer = load_tokenizer(spm_model=str(sample_en["spm"]))
    text = sample_en["sentences"].read_text(encoding="utf-8")
    one_long = [s for d in text.strip("\n").split("\n\n") for s in d.split("\n")]
    one_long = one_long[: len(one_long) // 3]  # a third: still ~15 steps at dupe factor 2
    largest, elements = {}, {}
    for dupe_factor in (2, 40):
        fn = MakeRecords(
            tokenizer=tokenizer,
            config=pretraining_config(max_seq_length=64, dupe_factor=dupe_factor),
            vocab=VocabIds.of(tokenizer),
            num_shards=2,
        )
        fn.CHUNK_TOKENS = 2_000
        fn.setup()
        fn.start_bundle()
        out = list(fn.process(one_long))
        out += [w.value for w in fn.finish_bundle() if isinstance(w.value, list)]
        sizes = [
            sum(int(schema.parse(data)["input_mask"].sum()) for _, _, data in element)
            for element in out
        ]
        assert max(sizes) <= 2_000
        largest[dupe_factor], elements[dupe_factor] = max(sizes), len(out)
        assert sum(len(e) for e in out) == fn.stats.instances
    assert largest[40] <= 2_000 and elements[40] > 10 * elements[2]
