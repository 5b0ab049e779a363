"""ALBERT model configuration: Google's ``albert_config.json`` plus two extensions.

The JSON keys are those of google-research/albert (``embedding_size``, ``hidden_size``,
``num_hidden_layers``, ``num_hidden_groups``, ``inner_group_num``,
``num_attention_heads``, ``intermediate_size``, ``hidden_act``, ``hidden_dropout_prob``,
``attention_probs_dropout_prob``, ``max_position_embeddings``, ``type_vocab_size``,
``vocab_size``, ``initializer_range``). Two optional keys extend it:

* ``share_type``: which sublayers are shared across depth: ``all`` (ALBERT, default),
  ``attention``, ``ffn`` or ``none`` (a BERT-like stack with a factorised embedding).
* ``ln_type``: ``postln`` (ALBERT/BERT, default) or ``preln`` (LayerNorm before each
  sublayer plus a final LayerNorm).

Keys Google's files carry that the model does not use (``net_structure_type``,
``layers_to_keep``, ``gap_size``, ``num_memory_blocks``, ``down_scale_factor``) are
accepted and ignored.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from albert_data.errors import UserError

SHARE_TYPES = ("all", "attention", "ffn", "none")
LN_TYPES = ("postln", "preln")
ACTIVATIONS = ("gelu", "gelu_new", "gelu_exact", "relu", "tanh", "swish", "linear")
GOOGLE_KEYS = (
    "embedding_size",
    "hidden_size",
    "num_hidden_layers",
    "num_hidden_groups",
    "inner_group_num",
    "num_attention_heads",
    "intermediate_size",
    "hidden_act",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "max_position_embeddings",
    "type_vocab_size",
    "vocab_size",
    "initializer_range",
)
IGNORED_KEYS = (
    "net_structure_type",
    "layers_to_keep",
    "gap_size",
    "num_memory_blocks",
    "down_scale_factor",
)


MAX_VOCAB_SIZE = 2**31 - 1  # token ids are int32 in the trainer's inputs


@dataclass(frozen=True)
class AlbertConfig:
    """Shapes and hyper-parameters of an ALBERT encoder (defaults: ``albert_base_v2``)."""

    vocab_size: int = 30000
    embedding_size: int = 128
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_hidden_groups: int = 1
    inner_group_num: int = 1
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    share_type: str = "all"
    ln_type: str = "postln"

    def __post_init__(self) -> None:
        self.validate()

    # --- validation -------------------------------------------------------------------

    def validate(self, source: str = "the model config") -> None:
        """Raise :class:`UserError` for values that cannot make a model."""
        for name in (
            "vocab_size",
            "embedding_size",
            "hidden_size",
            "num_hidden_layers",
            "num_hidden_groups",
            "inner_group_num",
            "num_attention_heads",
            "intermediate_size",
            "max_position_embeddings",
            "type_vocab_size",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserError(f"{source}: {name}={value!r} must be a positive integer")
        if self.vocab_size > MAX_VOCAB_SIZE:
            raise UserError(
                f"{source}: vocab_size={self.vocab_size} is over {MAX_VOCAB_SIZE:,}: the "
                "trainer reads token ids as 32-bit integers"
            )
        if self.hidden_size % self.num_attention_heads:
            raise UserError(
                f"{source}: hidden_size={self.hidden_size} is not divisible by "
                f"num_attention_heads={self.num_attention_heads}; choose heads that divide it"
            )
        if self.num_hidden_groups > self.num_hidden_layers:
            raise UserError(
                f"{source}: num_hidden_groups={self.num_hidden_groups} exceeds "
                f"num_hidden_layers={self.num_hidden_layers}"
            )
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise UserError(f"{source}: {name}={value!r} must be in [0, 1)")
        if not isinstance(self.initializer_range, (int, float)) or self.initializer_range <= 0:
            raise UserError(f"{source}: initializer_range={self.initializer_range!r} must be > 0")
        if self.hidden_act not in ACTIVATIONS:
            raise UserError(
                f"{source}: hidden_act={self.hidden_act!r} is not one of {', '.join(ACTIVATIONS)}"
            )
        if self.share_type not in SHARE_TYPES:
            raise UserError(
                f"{source}: share_type={self.share_type!r} is not one of {', '.join(SHARE_TYPES)}"
            )
        if self.ln_type not in LN_TYPES:
            raise UserError(
                f"{source}: ln_type={self.ln_type!r} is not one of {', '.join(LN_TYPES)}"
            )

    # --- derived ----------------------------------------------------------------------

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def layer_plan(self) -> list[tuple[int, int]]:
        """(attention block, feed-forward block) used at each effective layer, in order.

        Google's loop: layer ``i`` of ``num_hidden_layers`` runs group
        ``int(i / (num_hidden_layers / num_hidden_groups))``, and each group applies its
        ``inner_group_num`` layers in turn. Blocks are numbered ``group * inner_group_num +
        inner``; a sublayer that ``share_type`` does not share gets one block per layer.
        """
        plan = []
        per_group = self.num_hidden_layers / self.num_hidden_groups
        for layer in range(self.num_hidden_layers):
            group = int(layer / per_group)
            for inner in range(self.inner_group_num):
                shared = group * self.inner_group_num + inner
                own = layer * self.inner_group_num + inner
                attention = shared if self.share_type in ("all", "attention") else own
                ffn = shared if self.share_type in ("all", "ffn") else own
                plan.append((attention, ffn))
        return plan

    # --- JSON ------------------------------------------------------------------------

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self, path: str | Path) -> None:
        """Write Google's ``albert_config.json`` layout (extensions included)."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def from_dict(cls, data: dict, source: str = "the model config") -> AlbertConfig:
        """Build from a Google-style dict; missing keys and unknown ones are user errors."""
        if not isinstance(data, dict):
            raise UserError(f"{source}: expected a JSON object, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        missing = [k for k in GOOGLE_KEYS if k not in data]
        if missing:
            raise UserError(
                f"{source}: missing keys {', '.join(missing)}; an albert_config.json needs "
                f"all of {', '.join(GOOGLE_KEYS)}"
            )
        unknown = sorted(set(data) - known - set(IGNORED_KEYS))
        if unknown:
            raise UserError(f"{source}: unknown keys {', '.join(unknown)}; remove them")
        config = cls.__new__(cls)
        for field in dataclasses.fields(cls):
            value = data.get(field.name, field.default)
            object.__setattr__(config, field.name, value)
        config.validate(source)
        return config

    @classmethod
    def from_json(cls, path: str | Path) -> AlbertConfig:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise UserError(f"config file {path} does not exist") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise UserError(f"config file {path} is not valid JSON: {err}") from None
        return cls.from_dict(data, source=str(path))


PRESETS: dict[str, AlbertConfig] = {
    "base": AlbertConfig(),
    "large": AlbertConfig(
        hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096
    ),
    "xlarge": AlbertConfig(
        hidden_size=2048, num_hidden_layers=24, num_attention_heads=16, intermediate_size=8192
    ),
    "xxlarge": AlbertConfig(
        hidden_size=4096, num_hidden_layers=12, num_attention_heads=64, intermediate_size=16384
    ),
    "tiny": AlbertConfig(
        embedding_size=32,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=128,
    ),
}


def preset(name: str) -> AlbertConfig:
    """A named preset (``base``, ``large``, ``xlarge``, ``xxlarge``, ``tiny``)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise UserError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None
