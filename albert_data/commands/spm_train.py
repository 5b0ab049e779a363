"""``albert-data spm-train``: a SentencePiece vocabulary trained with ALBERT's recipe.

Streams sentence-per-line input (files, directories, globs, ``.gz``/``.bz2``, ``gs://`` and
other Beam file systems), keeps a uniform sample of at most ``--input-sentence-size``
lines (reservoir sampling seeded by ``--seed``, or a Beam pipeline with ``--runner``),
normalises it with :class:`albert_data.text.normalize.Normalization` — the function every
tokenizer applies before encoding — and trains SentencePiece in-process. Writes
``PREFIX.model``, ``PREFIX.vocab`` and the ``PREFIX.json`` sidecar.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import click

from albert_data.errors import UserError

_OUTPUT_SUFFIXES = (".model", ".vocab", ".json")


@dataclass(frozen=True)
class Sample:
    lines: list
    lines_read: int
    sampler: str


def _split_symbols(value: str) -> tuple[str, ...]:
    return tuple(s for s in value.split(",") if s)


class _CountingReader(io.RawIOBase):
    """A raw binary stream that reports the (compressed) bytes it reads to a progress bar."""

    def __init__(self, raw, progress):
        super().__init__()
        self._raw = raw
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self._progress.update(len(data))
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def iter_lines(path: str, progress):
    """The non-empty, stripped lines of one file (UTF-8, BOM dropped, bad bytes replaced);
    ``progress`` is advanced by the raw (compressed) bytes read."""
    from albert_data.files.fileio import open_read

    stream = open_read(path, wrap_raw=lambda raw: io.BufferedReader(_CountingReader(raw, progress)))
    try:
        with io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace") as text:
            for line in text:
                line = line.strip()
                if line:
                    yield line
    except (OSError, EOFError) as err:
        raise UserError(f"{path}: cannot read ({err}); is the file complete?") from None
    finally:
        stream.close()


def sample_locally(files: list[str], size: int, seed: int) -> Sample:
    import numpy as np
    from tqdm import tqdm

    from albert_data.files.fileio import file_size
    from vocab.reservoir import Reservoir

    reservoir = Reservoir(size, np.random.default_rng(seed))
    total = sum(file_size(f) for f in files)
    with tqdm(
        total=total, unit="B", unit_scale=True, desc="spm-train: reading", disable=None
    ) as bar:
        for path in files:
            reservoir.extend(iter_lines(path, bar))
    return Sample(reservoir.sample(), reservoir.seen, "reservoir")


def sample_with_beam(
    files: list[str], size: int, seed: int, runner: str, beam_args: list[str]
) -> Sample:
    """The ``size`` lines with the smallest seeded keys, drawn by a Beam pipeline and written
    under ``--temp_location`` (a local temporary directory by default)."""
    import shutil
    import tempfile
    import uuid

    import apache_beam as beam
    import numpy as np
    from apache_beam.io.filesystems import FileSystems

    from pipelines.options import build_options, counter, run_pipeline
    from pipelines.spm_sample import LINES_READ, build_sample_pipeline

    options = build_options(
        runner=runner, pass_through=beam_args, job_name="albert-data-spm-sample"
    )
    temp_root = options.get_all_options().get("temp_location")
    own_temp = not temp_root
    if own_temp:
        temp_root = tempfile.mkdtemp(prefix="albert-data-spm-")
    prefix = FileSystems.join(temp_root, f"spm-sample-{uuid.uuid4().hex}", "sample")
    pipeline = beam.Pipeline(options=options)
    build_sample_pipeline(pipeline, files, k=size, seed=seed, output_prefix=prefix)
    try:
        result = run_pipeline(pipeline)
        shards = [m.path for m in FileSystems.match([prefix + "*"])[0].metadata_list]
        lines: list[str] = []
        for shard in shards:
            with io.TextIOWrapper(FileSystems.open(shard), encoding="utf-8") as f:
                lines += [ln for ln in (raw.rstrip("\n") for raw in f) if ln]
    finally:
        if own_temp:
            shutil.rmtree(temp_root, ignore_errors=True)
        else:
            FileSystems.delete([m.path for m in FileSystems.match([prefix + "*"])[0].metadata_list])
    lines.sort()  # shard order depends on the runner; the seeded shuffle below does not
    order = np.random.default_rng(seed).permutation(len(lines))
    return Sample([lines[i] for i in order], counter(result, LINES_READ), "beam-smallest-keys")


def _prepare_sample(lines: list[str], normalization, segmenter) -> list[str]:
    prepared = []
    for line in lines:
        text = normalization(line)
        if segmenter is not None:
            text = segmenter.presegment(text)[0]
        if text:
            prepared.append(text)
    return prepared


def _output_paths(prefix: str) -> dict[str, str]:
    return {suffix: prefix + suffix for suffix in _OUTPUT_SUFFIXES}


def _check_outputs(paths: dict[str, str], overwrite: bool) -> None:
    existing = [p for p in paths.values() if os.path.exists(p)]
    if existing and not overwrite:
        raise UserError(
            f"{existing[0]} already exists; pass --overwrite or choose another --model-prefix"
        )
    parent = os.path.dirname(paths[".model"]) or "."
    os.makedirs(parent, exist_ok=True)


def _vocab_text(model: bytes) -> str:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_proto=model)
    return "".join(
        f"{sp.id_to_piece(i)}\t{sp.get_score(i):g}\n" for i in range(sp.get_piece_size())
    )


def _write_outputs(paths: dict[str, str], model: bytes, sidecar) -> None:
    """Write every output under a temporary name, then rename them all."""
    tmp = {s: f"{p}.tmp-{os.getpid()}" for s, p in paths.items()}
    try:
        with open(tmp[".model"], "wb") as f:
            f.write(model)
        with open(tmp[".vocab"], "w", encoding="utf-8") as f:
            f.write(_vocab_text(model))
        sidecar.write(tmp[".json"])
        for suffix in _OUTPUT_SUFFIXES:
            os.replace(tmp[suffix], paths[suffix])
    finally:
        for t in tmp.values():
            if os.path.exists(t):
                os.remove(t)


def _size_error(err, inputs: str, sentences: int, coverage: float) -> UserError:
    from vocab.spm_recipe import VocabSizeTooLarge

    if isinstance(err, VocabSizeTooLarge):
        return UserError(
            f"{inputs}: the sample ({sentences} sentences) supports at most {err.max_size} pieces, "
            f"not --vocab-size {err.vocab_size}; use --vocab-size {err.max_size}, or "
            f"--no-hard-vocab-limit to accept fewer pieces, or give more text"
        )
    return UserError(
        f"{inputs}: --vocab-size {err.vocab_size} cannot hold the {err.required} characters and "
        f"symbols needed at --character-coverage {coverage}; use --vocab-size {err.required} or "
        f"more, or lower --character-coverage"
    )


def _check_recipe(recipe) -> None:
    symbols = set(recipe.control_symbols) | set(recipe.user_defined_symbols)
    for name in ("[CLS]", "[SEP]", "[MASK]"):
        if name not in symbols:
            raise UserError(
                f"--control-symbols {','.join(recipe.control_symbols)} lacks {name}, which ALBERT "
                f"pretraining needs; add it back"
            )
    for flag, value in (("--pad-id", recipe.pad_id), ("--unk-id", recipe.unk_id)):
        if value < 0:
            raise UserError(
                f"{flag} {value}: ALBERT needs a padding and an unknown symbol; use an id >= 0"
            )
    if recipe.vocab_size < 1:
        raise UserError(f"--vocab-size {recipe.vocab_size} must be positive")


def _describe_inputs(files: list[str]) -> str:
    return files[0] if len(files) == 1 else f"{files[0]} (+{len(files) - 1} more files)"


@click.command(
    "spm-train",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--model-prefix", required=True, help="Writes PREFIX.model, PREFIX.vocab, PREFIX.json."
)
@click.option("--vocab-size", type=int, default=30000, show_default=True)
@click.option(
    "--model-type",
    type=click.Choice(["unigram", "bpe", "char", "word"]),
    default="unigram",
    show_default=True,
)
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option(
    "--character-coverage",
    type=float,
    default=None,
    help="Default 0.99995 (ALBERT), 0.9995 for --lang zh.",
)
@click.option(
    "--input-sentence-size",
    type=click.IntRange(min=1),
    default=10_000_000,
    show_default=True,
    help="Sentences sampled uniformly from the input.",
)
@click.option("--seed", type=int, default=12345, show_default=True, help="Seed of the sample.")
@click.option("--num-threads", type=click.IntRange(min=1), default=None, help="Default: all cores.")
@click.option("--nfkc/--no-nfkc", default=True, show_default=True, help="Unicode NFKC first.")
@click.option("--lower-case/--no-lower-case", default=True, show_default=True)
@click.option("--strip-accents/--keep-accents", default=False, show_default=True)
@click.option(
    "--rewrite-quotes/--no-rewrite-quotes",
    default=False,
    show_default=True,
    help="ALBERT's preprocess_text: `` and '' become \".",
)
@click.option(
    "--jieba/--no-jieba",
    default=False,
    show_default=True,
    help="Pre-segment Chinese with jieba (--lang zh); recorded and applied again at encoding.",
)
@click.option(
    "--hard-vocab-limit/--no-hard-vocab-limit",
    default=True,
    show_default=True,
    help="--no-hard-vocab-limit accepts fewer pieces when the corpus is small.",
)
@click.option("--pad-id", type=int, default=0, show_default=True)
@click.option("--unk-id", type=int, default=1, show_default=True)
@click.option("--bos-id", type=int, default=-1, show_default=True)
@click.option("--eos-id", type=int, default=-1, show_default=True)
@click.option("--control-symbols", default="[CLS],[SEP],[MASK]", show_default=True)
@click.option("--user-defined-symbols", default='(,),",-,.,–,£,€', show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@click.option("--verbose", is_flag=True, help="Show SentencePiece's own log.")
@click.option(
    "--runner",
    default=None,
    help="Draw the sample with this Beam runner (other Beam options as --name=value).",
)
@click.pass_context
def spm_train(ctx: click.Context, inputs: tuple[str, ...], **opts) -> None:
    """Train a SentencePiece vocabulary with ALBERT's recipe on sentence-per-line INPUTS.

    INPUTS are files, directories or globs (.gz/.bz2 read transparently; gs:// and other
    Beam file systems too). Defaults: unigram, 30 000 pieces, <pad>=0, <unk>=1, no BOS/EOS,
    [CLS] [SEP] [MASK] = 2 3 4, user symbols ( ) " - . – £ €, lower-cased text.
    """
    from albert_data.commands.beam_args import split_pass_through

    positional, beam_args = split_pass_through(list(inputs) + list(ctx.args))
    if beam_args and opts["runner"] is None:
        raise UserError(f"unknown option {beam_args[0]}; Beam pipeline options need --runner")
    if not positional:
        raise UserError("no INPUTS given; name sentence-per-line files, directories or globs")
    run_spm_train(tuple(positional), beam_args=beam_args, **opts)


def _recipe(opts: dict):
    from vocab.spm_recipe import CHARACTER_COVERAGE, SpmRecipe

    if opts["jieba"] and opts["lang"] != "zh":
        raise UserError("--jieba pre-segments Chinese; use it with --lang zh")
    recipe = SpmRecipe(
        vocab_size=opts["vocab_size"],
        model_type=opts["model_type"],
        pad_id=opts["pad_id"],
        unk_id=opts["unk_id"],
        bos_id=opts["bos_id"],
        eos_id=opts["eos_id"],
        control_symbols=_split_symbols(opts["control_symbols"]),
        user_defined_symbols=_split_symbols(opts["user_defined_symbols"]),
        character_coverage=opts["character_coverage"] or CHARACTER_COVERAGE[opts["lang"]],
        input_sentence_size=opts["input_sentence_size"],
        hard_vocab_limit=opts["hard_vocab_limit"],
    )
    _check_recipe(recipe)
    return recipe


def _normalization(opts: dict):
    from albert_data.text.normalize import Normalization

    return Normalization(
        nfkc=opts["nfkc"],
        lower_case=opts["lower_case"],
        strip_accents=opts["strip_accents"],
        rewrite_quotes=opts["rewrite_quotes"],
    )


def _train(sentences: list[str], recipe, files: list[str], num_threads: int, verbose: bool):
    from vocab.base import VocabError
    from vocab.sentencepiece_tokenizer import SentencePieceTokenizer
    from vocab.spm_recipe import VocabSizeTooLarge, VocabSizeTooSmall, train_spm

    where = _describe_inputs(files)
    if not sentences:
        raise UserError(f"{where}: no text to train on (empty input); give sentence-per-line files")
    try:
        model = train_spm(sentences, recipe, num_threads=num_threads, verbose=verbose)
        SentencePieceTokenizer(model)  # every special symbol resolvable
    except (VocabSizeTooLarge, VocabSizeTooSmall) as err:
        raise _size_error(err, where, len(sentences), recipe.character_coverage) from None
    except VocabError as err:
        raise UserError(f"{where}: {err}") from None
    return model


def _sidecar(opts: dict, recipe, normalization, sample: Sample, sentences: int, files, threads):
    import datetime

    import sentencepiece

    from albert_data import __version__
    from vocab.jieba_words import jieba_version
    from vocab.sidecar import Sidecar

    return Sidecar(
        normalization=normalization.to_dict(),
        recipe=recipe.to_dict(),
        lang=opts["lang"],
        pre_segmentation="jieba" if opts["jieba"] else "none",
        sample={
            "sentences": sentences,
            "lines_read": sample.lines_read,
            "sampler": sample.sampler,
            "seed": opts["seed"],
            "input_files": files,
            "num_threads": threads,
        },
        versions={
            "sentencepiece": sentencepiece.__version__,
            "jieba": jieba_version() if opts["jieba"] else None,
            "albert_data": __version__,
        },
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    )


def run_spm_train(inputs: tuple[str, ...], *, beam_args: list[str], **opts) -> None:
    """Check the options, sample the input, normalise the sample, train, write the outputs."""
    from albert_data.files.fileio import expand_inputs
    from albert_data.text.rawtext import check_not_binary
    from vocab.jieba_words import JiebaSegmenter

    recipe = _recipe(opts)
    normalization = _normalization(opts)
    paths = _output_paths(opts["model_prefix"])
    _check_outputs(paths, opts["overwrite"])
    files = expand_inputs(inputs)
    for path in files:
        check_not_binary(path)
    size, seed = recipe.input_sentence_size, opts["seed"]
    if opts["runner"]:
        sample = sample_with_beam(files, size, seed, opts["runner"], beam_args)
    else:
        sample = sample_locally(files, size, seed)
    segmenter = JiebaSegmenter() if opts["jieba"] else None
    sentences = _prepare_sample(sample.lines, normalization, segmenter)
    threads = opts["num_threads"] or os.cpu_count() or 1
    model = _train(sentences, recipe, files, threads, opts["verbose"])
    sidecar = _sidecar(opts, recipe, normalization, sample, len(sentences), files, threads)
    _write_outputs(paths, model, sidecar)
    _print_summary(paths, model, sample, len(sentences), len(files))


def _print_summary(
    paths: dict[str, str], model: bytes, sample: Sample, sentences: int, n_files: int
) -> None:
    import sentencepiece as spm

    size = spm.SentencePieceProcessor(model_proto=model).get_piece_size()
    click.echo(
        f"read {sample.lines_read} lines from {n_files} file(s); trained on {sentences} sentences",
        err=True,
    )
    click.echo(f"wrote {paths['.model']} ({size} pieces)")
    click.echo(f"wrote {paths['.vocab']}")
    click.echo(f"wrote {paths['.json']}")
