"""The exported model in a fine-tuning user's hands: a tiny ALBERT trained a few steps on
the Chinese sample (records made with a WordPiece ``vocab.txt``), exported with
``--vocab-file``, then loaded as the ALBERT write-ups load theirs — ``AutoTokenizer`` and
``AlbertForMultipleChoice`` / ``AlbertForSequenceClassification.from_pretrained``, and the
SavedModel through ``tensorflow_hub.KerasLayer`` and ``tf.saved_model.load``. Plus the
jieba-pre-segmented SentencePiece case and the vocabulary mistakes ``export`` refuses.

The README's "Fine-tuning the export" snippets are the code of these tests."""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from albert_data.cli import main
from albert_data.model.initialization import initialize_weights
from albert_data.text.tokenization import load_tokenizer
from tests.cli_helpers import invoke
from tests.wordpiece_vocab import chinese_vocab, write_chinese_vocab

SEQ, PREDS = 64, 10
PROMPT = "小明今天早上去了哪里？"
CHOICES = [
    "他去了学校上课。",
    "他去公园跑步了。",
    "他在家里睡觉。",
    "他去 Beijing 参加 ALBERT 会议。",
]


def cli(*args) -> str:
    """``albert-data ARGS`` in this process (TensorFlow is already imported); its stderr."""
    run = CliRunner().invoke(main, [str(a) for a in args])
    assert run.exit_code == 0, run.output + (run.stderr or "")
    return run.stderr


@pytest.fixture(scope="module")
def zh(sample_zh, tmp_path_factory) -> dict:
    """Records from the Chinese sample with a BERT-style Chinese vocab.txt, a tiny model
    trained 3 steps on them, and its export with ``--vocab-file``."""
    root = tmp_path_factory.mktemp("zh-wordpiece")
    vocab = write_chinese_vocab(root / "vocab.txt")
    records, model_dir, export = root / "records", root / "model", root / "export"
    invoke(
        "make-pretraining", sample_zh["sentences"], "-o", records, "--vocab-file", vocab,
        "--max-seq-length", SEQ, "--max-predictions-per-seq", PREDS, "--dupe-factor", 1,
        "--num-shards", 1, "--num-workers", 1, "--no-progress",
    )  # fmt: skip
    cli(
        "train", "--records", records, "--model-dir", model_dir, "--preset", "tiny",
        "--vocab", vocab, "--max-seq-length", SEQ, "--max-predictions-per-seq", PREDS,
        "--train-batch-size", 8, "--num-train-steps", 3, "--num-warmup-steps", 1,
        "--learning-rate", 0.01, "--shuffle-buffer", 32, "--log-every", 1, "--no-jit",
    )  # fmt: skip
    stderr = cli(
        "export", "--model-dir", model_dir, "--output", export, "--vocab-file", vocab,
        "--records", records,
    )  # fmt: skip
    return {
        "root": root,
        "vocab": vocab,
        "records": records,
        "model_dir": model_dir,
        "export": export,
        "hf": str(export / "hf"),
        "saved_model": str(export / "saved_model"),
        "stderr": stderr,
        "lines": [line for line in sample_zh["sentences"].read_text().split("\n") if line.strip()],
    }


def our_tokenizer(zh):
    """Our WordPiece tokenizer as the records recorded it (lower-cased, jieba word starts)."""
    recorded = json.loads((zh["records"] / "stats.json").read_text())["vocabulary"]
    assert recorded["kind"] == "wordpiece" and recorded["do_lower_case"] is True
    return load_tokenizer(vocab_file=str(zh["vocab"]), do_lower_case=recorded["do_lower_case"])


# -- the tokenizer ---------------------------------------------------------------------------

MIXED = [
    "我用 ALBERT 模型做 NLP，效果很好！", "BERT模型和GPT-4都是Transformer。", "iPhone15发布了",
    "ΟΔΟΣ 与 Σ 的小写", "Café naïve résumé 咖啡", "ＡＢＣ１２３全角", "  多个\t空白\u3000和\u00a0不换行  ",
    "零宽\u200b字符\ufeff", "控制\x07字符\x1c", "表情🙂符号", "日本語のテキスト", "한국어 문장", "İstanbul ß ﬁ ½",
    "“引号”和《书名》——破折号…省略号", "价格：£3.50 或 €4，涨幅 42.5%", "e\u0301 组合重音",
    "x-y (括号) [方括号] {花括号}", "超长词" + "a" * 120, "", "   ",
]  # fmt: skip
NOISE = ["ALBERT", "BERT模型", "Ｆｕｌｌ", "Café", "ΟΔΟΣ", "🙂", "\u200b", "\u3000", "\t", "x-y",
         "42.5", "，", "。", "（", "）", "——", "…", "naïve", "İ", "ß", "\x07", "中文"]  # fmt: skip


def stress_strings(lines: list[str], *, seed: int, count: int) -> list[str]:
    """Sample sentences with Latin words, full-width, accented, control and format
    characters spliced in at random places."""
    rng = np.random.default_rng(seed)
    out = list(MIXED)
    for _ in range(count):
        text = str(rng.choice(lines))
        for _ in range(int(rng.integers(1, 5))):
            at = int(rng.integers(0, len(text) + 1))
            glue = " " if rng.random() < 0.5 else ""
            text = text[:at] + glue + str(rng.choice(NOISE)) + glue + text[at:]
        out.append(text)
    return out


def encoding_mismatches(ours, encode, texts: list[str]) -> list:
    bad = []
    for text in texts:
        want = ours.encode(text).ids.tolist()
        got = encode(text)
        if got != want:
            bad.append((text, want, got))
    return bad


def test_exported_tokenizer_encodes_as_ours_on_the_sample_and_stress_text(zh):
    from tokenizers import Tokenizer

    transformers = pytest.importorskip("transformers")
    hf = zh["hf"]
    config = json.loads(open(f"{hf}/tokenizer_config.json").read())
    assert config["tokenizer_class"] == "BertTokenizerFast" and config["do_lower_case"] is True
    assert open(f"{hf}/vocab.txt").read() == zh["vocab"].read_text()
    assert "note:" not in zh["stderr"] and "warning:" not in zh["stderr"]  # nothing to add
    ours = our_tokenizer(zh)
    texts = zh["lines"] + stress_strings(zh["lines"], seed=5, count=1500)
    raw = Tokenizer.from_file(f"{hf}/tokenizer.json")
    assert (
        encoding_mismatches(ours, lambda t: raw.encode(t, add_special_tokens=False).ids, texts)
        == []
    )
    auto = transformers.AutoTokenizer.from_pretrained(hf)
    assert auto.is_fast and "BertTokenizer" in type(auto).__name__
    encode = lambda t: auto(t, add_special_tokens=False)["input_ids"]  # noqa: E731
    assert encoding_mismatches(ours, encode, texts) == []


@pytest.mark.parametrize(
    "extra, settings, tokenizer_class",
    [
        ([], {"do_lower_case": False}, "BertTokenizerFast"),
        (["ο", "##δ", "##ος", "##οσ", "σ", "ς", "cafe", "café"], {}, "PreTrainedTokenizerFast"),
        (["cafe", "café"], {"nfkc": True, "strip_accents": True}, "PreTrainedTokenizerFast"),
    ],
    ids=["cased", "greek-sigma", "nfkc-strip-accents"],
)
def test_wordpiece_tokenizer_files_for_other_settings(
    sample_zh, tmp_path, extra, settings, tokenizer_class
):
    """Cased, a vocabulary holding σ/ς (BERT's fast class would lower-case a final Σ to σ),
    an extra normalisation: AutoTokenizer on the written files encodes as ours."""
    from albert_data.interop.hf_tokenizer_files import wordpiece_files

    transformers = pytest.importorskip("transformers")
    vocab = write_chinese_vocab(tmp_path / "vocab.txt", extra=extra)
    ours = load_tokenizer(vocab_file=str(vocab), **settings)
    written = wordpiece_files(ours, model_max_length=128)
    hf = tmp_path / "hf"
    hf.mkdir()
    for name, data in written.files.items():
        (hf / name).write_bytes(data)
    auto = transformers.AutoTokenizer.from_pretrained(str(hf))
    assert auto.is_fast
    assert ("BertTokenizer" in type(auto).__name__) == (tokenizer_class == "BertTokenizerFast")
    assert (
        json.loads((hf / "tokenizer_config.json").read_text())["tokenizer_class"] == tokenizer_class
    )
    assert bool(written.notes) == (tokenizer_class != "BertTokenizerFast")
    lines = [line for line in sample_zh["sentences"].read_text().split("\n") if line.strip()]
    texts = lines[:300] + stress_strings(lines, seed=len(extra), count=800)
    texts += ["ΟΔΟΣ ΟΣ Σ", "Ꮎ ΣΑ ς", "CAFÉ Café cafe"]
    encode = lambda t: auto(t, add_special_tokens=False)["input_ids"]  # noqa: E731
    assert encoding_mismatches(ours, encode, texts) == []


# -- transformers: multiple choice and sentence-pair classification --------------------------

HEADS = ("predictions.", "sop_classifier.")  # the pretraining heads a task model drops


def assert_encoder_loaded(info: dict, hf: str, model) -> None:
    """Only the new classifier is missing, only pretraining heads are unused, and every
    encoder weight is the exported one."""
    from safetensors.torch import load_file

    assert set(info["missing_keys"]) == {"classifier.weight", "classifier.bias"}
    assert info["unexpected_keys"] and all(k.startswith(HEADS) for k in info["unexpected_keys"])
    assert not info["mismatched_keys"] and not info["error_msgs"]
    exported = {
        k: v for k, v in load_file(f"{hf}/model.safetensors").items() if k.startswith("albert.")
    }
    state = model.state_dict()
    assert exported and all(k in state for k in exported)
    for name, value in exported.items():
        assert bool((state[name] == value).all()), name


def trained_encoder(zh):
    from albert_data.interop.loading import load_trained_model

    model, _ = load_trained_model(str(zh["model_dir"]))
    return model.encoder


def test_multiple_choice_from_pretrained(zh):
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import AlbertForMultipleChoice, AutoTokenizer

    export_dir = zh["hf"]
    # -- the README's multiple-choice snippet
    tokenizer = AutoTokenizer.from_pretrained(export_dir)
    model, info = AlbertForMultipleChoice.from_pretrained(export_dir, output_loading_info=True)
    batch = tokenizer([PROMPT] * len(CHOICES), CHOICES, padding=True, return_tensors="pt")
    batch = {name: tensor.unsqueeze(0) for name, tensor in batch.items()}  # [1, 4, seq]
    with torch.no_grad():
        logits = model(**batch).logits
    # --
    assert tuple(logits.shape) == (1, 4) and bool(torch.isfinite(logits).all())
    assert_encoder_loaded(info, export_dir, model)
    ours = our_tokenizer(zh)
    first = batch["input_ids"][0, 0].tolist()
    sp = ours.special
    want = [
        sp.cls,
        *ours.encode(PROMPT).ids.tolist(),
        sp.sep,
        *ours.encode(CHOICES[0]).ids.tolist(),
        sp.sep,
    ]
    assert first[: len(want)] == want
    # The loaded encoder is the trained one: its pooled output is our model's.
    ids, mask, seg = (
        batch[k][0].numpy() for k in ("input_ids", "attention_mask", "token_type_ids")
    )
    with torch.no_grad():
        pooled = model.albert(**{k: v[0] for k, v in batch.items()}).pooler_output.numpy()
    want_pooled = trained_encoder(zh)(ids, seg, mask, training=False)["pooled_output"]
    np.testing.assert_allclose(pooled, np.asarray(want_pooled), atol=1e-4)
    # One fine-tuning step moves the new head and the encoder.
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    before = model.classifier.weight.detach().clone(), model.albert.pooler.weight.detach().clone()
    loss = model(**batch, labels=torch.tensor([1])).loss
    loss.backward()
    optimizer.step()
    assert bool(torch.isfinite(loss))
    assert not torch.equal(before[0], model.classifier.weight)
    assert not torch.equal(before[1], model.albert.pooler.weight)


def test_sequence_classification_on_a_sentence_pair(zh):
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import AlbertForSequenceClassification, AutoTokenizer

    export_dir = zh["hf"]
    tokenizer = AutoTokenizer.from_pretrained(export_dir)
    model, info = AlbertForSequenceClassification.from_pretrained(
        export_dir, num_labels=3, output_loading_info=True
    )
    batch = tokenizer("今天天气很好。", "我们去公园散步吧。", return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    assert tuple(logits.shape) == (1, 3)
    assert_encoder_loaded(info, export_dir, model)
    ours = our_tokenizer(zh)
    sp = ours.special
    a, b = (ours.encode(t).ids.tolist() for t in ("今天天气很好。", "我们去公园散步吧。"))
    assert batch["input_ids"][0].tolist() == [sp.cls, *a, sp.sep, *b, sp.sep]
    assert batch["token_type_ids"][0].tolist() == [0] * (len(a) + 2) + [1] * (len(b) + 1)


# -- TF-Hub-style loading of the SavedModel --------------------------------------------------


def hub_inputs(zh) -> dict:
    """A padded batch of two sentence pairs, as the ALBERT README's TF-Hub examples feed it."""
    ours = our_tokenizer(zh)
    sp = ours.special
    rows = []
    for a, b in ((PROMPT, CHOICES[3]), ("今天天气很好。", "我们去公园散步吧。")):
        ids = [sp.cls, *ours.encode(a).ids.tolist(), sp.sep]
        rows.append((ids + ours.encode(b).ids.tolist() + [sp.sep], len(ids)))
    width = max(len(ids) for ids, _ in rows) + 3
    out = {
        name: np.zeros((2, width), np.int32) for name in ("input_ids", "input_mask", "segment_ids")
    }
    for i, (ids, first) in enumerate(rows):
        out["input_ids"][i, : len(ids)] = ids
        out["input_mask"][i, : len(ids)] = 1
        out["segment_ids"][i, first : len(ids)] = 1
    return out


def test_tensorflow_hub_keras_layer_gives_the_models_outputs(zh):
    with warnings.catch_warnings():  # tensorflow_hub 0.16 imports the deprecated pkg_resources
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        import tensorflow_hub as hub
    import tf_keras

    inputs = hub_inputs(zh)
    encoder = trained_encoder(zh)
    want = encoder(inputs["input_ids"], inputs["segment_ids"], inputs["input_mask"], training=False)
    want = {k: np.asarray(v) for k, v in want.items()}
    saved_model_dir = zh["saved_model"]
    # -- the README's TF-Hub snippet
    encoder_layer = hub.KerasLayer(
        saved_model_dir, signature="serving_default", signature_outputs_as_dict=True
    )
    outputs = encoder_layer(inputs)  # {"pooled_output": [batch, hidden], "sequence_output": ...}
    # --
    for key in ("pooled_output", "sequence_output"):
        np.testing.assert_allclose(outputs[key].numpy(), want[key], atol=1e-5, err_msg=key)
    pooled_only = hub.KerasLayer(
        saved_model_dir, signature="serving_default", output_key="pooled_output"
    )
    np.testing.assert_allclose(pooled_only(inputs).numpy(), want["pooled_output"], atol=1e-5)
    # As a reusable SavedModel (its __call__), fine-tuned inside a tf_keras classifier.
    names = ("input_ids", "input_mask", "segment_ids")
    keras_inputs = {n: tf_keras.Input(shape=(None,), dtype=tf.int32, name=n) for n in names}
    reusable = hub.KerasLayer(saved_model_dir, trainable=True)
    np.testing.assert_allclose(
        reusable(inputs)["pooled_output"].numpy(), want["pooled_output"], atol=1e-5
    )
    assert len(reusable.trainable_weights) == len(encoder.trainable_weights)
    logits = tf_keras.layers.Dense(2)(reusable(keras_inputs)["pooled_output"])
    classifier = tf_keras.Model(keras_inputs, logits)
    classifier.compile(
        optimizer=tf_keras.optimizers.Adam(1e-3),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    before = [w.numpy().copy() for w in reusable.trainable_weights]
    history = classifier.fit(inputs, np.array([0, 1]), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, reusable.trainable_weights))


def test_saved_model_signature_without_tensorflow_hub(zh):
    inputs = hub_inputs(zh)
    encoder = trained_encoder(zh)
    want = encoder(inputs["input_ids"], inputs["segment_ids"], inputs["input_mask"], training=False)
    # -- the README's tf.saved_model.load snippet
    serving = tf.saved_model.load(zh["saved_model"]).signatures["serving_default"]
    outputs = serving(**{name: tf.constant(value) for name, value in inputs.items()})
    # --
    for key in ("pooled_output", "sequence_output"):
        np.testing.assert_allclose(outputs[key].numpy(), np.asarray(want[key]), atol=1e-5)


# -- a SentencePiece vocabulary trained on jieba-pre-segmented text --------------------------


def export_untrained(spm, tmp_path) -> tuple:
    """A tiny model sized to the SentencePiece model ``spm`` (initial weights), exported to
    Hugging Face format with ``--spm-model``: the directory and export's stderr."""
    from albert_data.model import build_pretraining_model, preset

    size = len(spm.with_suffix(".vocab").read_text(encoding="utf-8").splitlines())
    config = dataclasses.replace(preset("tiny"), vocab_size=size)
    model = build_pretraining_model(config)
    initialize_weights(model, 0)
    (tmp_path / "model").mkdir()
    tf.train.Checkpoint(model=model).write(str(tmp_path / "model" / "ckpt-1"))
    config.to_json(tmp_path / "model" / "albert_config.json")
    out = tmp_path / "export"
    stderr = cli(
        "export", "--checkpoint", tmp_path / "model" / "ckpt-1", "--output", out,
        "--format", "hf", "--spm-model", spm,
    )  # fmt: skip
    return out / "hf", stderr


def test_english_sentencepiece_export_multiple_choice(sample_en, tmp_path):
    """The same route for an English SentencePiece vocabulary."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import AlbertForMultipleChoice, AutoTokenizer

    hf, _ = export_untrained(sample_en["spm"], tmp_path)
    export_dir = str(hf)
    tokenizer = AutoTokenizer.from_pretrained(export_dir)
    model, info = AlbertForMultipleChoice.from_pretrained(export_dir, output_loading_info=True)
    prompt = "Where did the river flow after the storm?"
    choices = ["To the north.", "Into the old town.", "Nowhere at all.", "Back to the sea."]
    batch = tokenizer([prompt] * len(choices), choices, padding=True, return_tensors="pt")
    batch = {name: tensor.unsqueeze(0) for name, tensor in batch.items()}
    with torch.no_grad():
        logits = model(**batch).logits
    assert tuple(logits.shape) == (1, 4)
    assert_encoder_loaded(info, export_dir, model)
    ours = load_tokenizer(spm_model=str(sample_en["spm"]))
    sp = ours.special
    want = [sp.cls, *ours.encode(prompt).ids.tolist(), sp.sep]
    want += [*ours.encode(choices[1]).ids.tolist(), sp.sep]
    assert batch["input_ids"][0, 1].tolist()[: len(want)] == want


def test_jieba_vocabulary_export_says_what_to_do_and_the_helper_does_it(sample_zh, tmp_path):
    from albert_data.interop.jieba_presegment import JiebaPreSegmenter

    transformers = pytest.importorskip("transformers")
    spm = sample_zh["spm"]
    assert json.loads(spm.with_suffix(".json").read_text())["pre_segmentation"] == "jieba"
    hf, stderr = export_untrained(spm, tmp_path)
    (note,) = [line for line in stderr.splitlines() if "pre-segmented" in line]
    assert note.startswith("note: ") and str(spm) in note
    assert (
        f'JiebaPreSegmenter.from_pretrained("{hf}")' in note
        and "before calling the tokenizer" in note
    )
    assert (hf / "albert_data_presegmentation.json").exists()
    # -- the README's jieba snippet
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(hf))
    presegment = JiebaPreSegmenter.from_pretrained(str(hf))
    lines = [line for line in sample_zh["sentences"].read_text().split("\n") if line.strip()]
    ids = tokenizer(presegment(lines), add_special_tokens=False)["input_ids"]
    # --
    ours = load_tokenizer(spm_model=str(spm))  # pre-segments with jieba, as make-pretraining did
    assert ids == [e.ids.tolist() for e in ours.encode_batch(lines)]
    unsegmented = tokenizer(lines[:50], add_special_tokens=False)["input_ids"]
    assert unsegmented != ids[:50]  # the pre-segmentation step is not optional


# -- vocabulary mistakes: one line, exit 2, nothing written ----------------------------------


def refused(zh, tmp_path, *args) -> str:
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["export", "--output", str(out), *map(str, args)])
    assert run.exit_code == 2, run.output
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".albert-data")] == []
    return lines[0]


def test_vocab_file_and_spm_model_together_are_refused(zh, sample_zh, tmp_path):
    line = refused(
        zh,
        tmp_path,
        "--model-dir",
        zh["model_dir"],
        "--vocab-file",
        zh["vocab"],
        "--spm-model",
        sample_zh["spm"],
    )
    assert "--spm-model" in line and "--vocab-file" in line and str(zh["vocab"]) in line


def test_vocabulary_of_another_size_is_refused(zh, tmp_path):
    bigger = write_chinese_vocab(tmp_path / "bigger.txt", extra=["额外"])
    line = refused(zh, tmp_path, "--model-dir", zh["model_dir"], "--vocab-file", bigger)
    size = len(chinese_vocab())
    assert (
        str(bigger) in line and f"has {size + 1} pieces" in line and f"vocab_size is {size}" in line
    )


def test_another_vocabulary_than_the_model_dir_records_is_refused(zh, tmp_path):
    recorded = json.loads((zh["model_dir"] / "stats.json").read_text())  # copied there by train
    assert recorded == json.loads((zh["records"] / "stats.json").read_text())
    pieces = chinese_vocab()
    pieces[200], pieces[201] = pieces[201], pieces[200]  # same size, another vocabulary
    swapped = tmp_path / "swapped.txt"
    swapped.write_text("".join(p + "\n" for p in pieces), encoding="utf-8")
    line = refused(zh, tmp_path, "--model-dir", zh["model_dir"], "--vocab-file", swapped)
    assert str(swapped) in line and str(zh["model_dir"] / "stats.json") in line
    assert "--allow-vocab-mismatch" in line
    out = tmp_path / "forced"
    cli(
        "export",
        "--model-dir",
        zh["model_dir"],
        "--output",
        out,
        "--format",
        "hf",
        "--vocab-file",
        swapped,
        "--allow-vocab-mismatch",
    )
    assert (out / "hf" / "vocab.txt").read_text() == swapped.read_text()


def test_bad_vocabulary_is_refused_before_tensorflow_is_imported(zh, tmp_path):
    """The checks need no TensorFlow: a mistake costs no TensorFlow start-up."""
    import subprocess
    import sys

    bigger = write_chinese_vocab(tmp_path / "bigger.txt", extra=["额外"])
    out, marker = tmp_path / "out", tmp_path / "imported.txt"
    args = ["export", "--output", out, "--model-dir", zh["model_dir"], "--vocab-file", bigger]
    code = (
        "import atexit, pathlib, sys\n"
        "marker = pathlib.Path(sys.argv.pop(1))\n"
        "atexit.register(lambda: marker.write_text(' '.join(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('tensorflow', 'keras')))))\n"
        "from albert_data.cli import main\n"
        "main(prog_name='albert-data')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(marker), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.startswith("error: ") and str(bigger) in proc.stderr
    assert marker.read_text() == ""  # neither tensorflow nor keras was imported
    assert not out.exists()


def test_tensorflow_start_up_logs_hidden_unless_verbose(zh, tmp_path):
    """export imports TensorFlow quietly (its C++ start-up lines, such as ``E0000 … failed
    call to cuInit`` on a machine without a GPU, read like failures); --verbose shows them."""
    import os
    import re
    import subprocess
    import sys

    native = re.compile(r"^(?:[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ |WARNING: All log messages before)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    base = [sys.executable, "-m", "albert_data", "export", "--model-dir", str(zh["model_dir"])]
    base += ["--vocab-file", str(zh["vocab"]), "--format", "hf"]
    runs = {}
    for name, extra in (("quiet", []), ("verbose", ["--verbose"])):
        out = tmp_path / name
        proc = subprocess.run(
            [*base, "--output", str(out), *extra],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr
        assert (out / "hf" / "config.json").is_file()
        runs[name] = [line for line in proc.stderr.splitlines() if native.match(line)]
    assert runs["quiet"] == []
    assert runs["verbose"]
