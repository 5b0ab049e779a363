"""make-pretraining says in one line when --max-predictions-per-seq keeps masking well
below --masked-lm-prob (Google's defaults stay the defaults)."""

from __future__ import annotations

import json

from albert_data.jobs.make_pretraining import masking_cap_lines
from tests.cli_helpers import invoke


def test_a_binding_cap_is_named_in_the_summary(sample_en, tmp_path):
    out = tmp_path / "records"
    done = invoke(
        "make-pretraining", sample_en["sentences"], "--spm-model", sample_en["spm"],
        "-o", out, "--max-seq-length", 128, "--max-predictions-per-seq", 5,
        "--dupe-factor", 1, "--no-progress",
    )  # fmt: skip
    stats = json.loads((out / "stats.json").read_text())
    fraction = stats["counts"]["masked_fraction"]
    assert fraction < 0.06  # 5 of ~110 tokens
    (line,) = [ln for ln in done.stderr.splitlines() if "caps masking" in ln]
    assert "--max-predictions-per-seq 5" in line and f"{100 * fraction:.1f}%" in line
    assert "--masked-lm-prob 0.15" in line and "--max-predictions-per-seq 20 would" in line


def test_no_note_when_the_cap_does_not_bind(made):
    stats = json.loads((made["records"] / "stats.json").read_text())
    assert stats["counts"]["masked_fraction"] > 0.12  # 10 predictions at 64 tokens
    assert masking_cap_lines(stats) == []


def test_dynamic_records_get_the_bound_the_trainer_will_meet(made):
    stats = json.loads((made["records"] / "stats.json").read_text())
    stats["config"] = {**stats["config"], "masking": "dynamic", "max_predictions_per_seq": 2}
    stats["counts"] = {**stats["counts"], "masked_tokens": 0, "masked_fraction": 0.0}
    (line,) = masking_cap_lines(stats)
    assert "will mask at most" in line and "--max-predictions-per-seq 2 caps" in line
