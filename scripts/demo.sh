#!/usr/bin/env bash
# The whole chain on the bundled sample corpus: split-sentences → spm-train →
# make-pretraining → inspect → a short training run. Usage: demo.sh en|zh
set -euo pipefail
LANG_CODE="${1:-en}"
OUT="${OUT:-demo-out}"
BIN="${BIN:-.venv/bin}"
AD="$BIN/albert-data"

rm -rf "$OUT"
mkdir -p "$OUT"
echo "== 1. sample corpus ($LANG_CODE)"
"$AD" sample --lang "$LANG_CODE" -o "$OUT/raw.txt"

echo "== 2. split-sentences"
"$AD" split-sentences "$OUT/raw.txt" -o "$OUT/sentences.txt" --no-progress

echo "== 3. spm-train"
if [ "$LANG_CODE" = zh ]; then
  "$AD" spm-train "$OUT/sentences.txt" --model-prefix "$OUT/spm" --lang zh \
    --vocab-size 3000 --no-hard-vocab-limit
else
  "$AD" spm-train "$OUT/sentences.txt" --model-prefix "$OUT/spm" \
    --vocab-size 2000 --no-hard-vocab-limit
fi

echo "== 4. make-pretraining"
"$AD" make-pretraining "$OUT/sentences.txt" -o "$OUT/records" --spm-model "$OUT/spm.model" \
  --max-seq-length 128 --max-predictions-per-seq 20 --dupe-factor 3 --num-shards 2

echo "== 5. inspect"
"$AD" inspect "$OUT"/records/*.tfrecord --vocab "$OUT/spm.model" --show 1

echo "== 6. train (a short run of the tiny preset on CPU)"
VOCAB_SIZE=$(wc -l < "$OUT/spm.vocab")
"$AD" train --records "$OUT/records" --model-dir "$OUT/model" --preset tiny \
  --vocab-size "$VOCAB_SIZE" --vocab "$OUT/spm.model" \
  --max-seq-length 128 --max-predictions-per-seq 20 --train-batch-size 16 \
  --num-train-steps 100 --num-warmup-steps 10 --learning-rate 1e-2 \
  --save-every 50 --log-every 20

echo "== 7. export (SavedModel, Hugging Face, Google checkpoint)"
"$AD" export --model-dir "$OUT/model" --output "$OUT/export" --spm-model "$OUT/spm.model" \
  --records "$OUT/records"

echo
echo "demo outputs:"
echo "  raw text            $OUT/raw.txt"
echo "  sentences           $OUT/sentences.txt"
echo "  vocabulary          $OUT/spm.model $OUT/spm.vocab $OUT/spm.json"
echo "  records + stats     $OUT/records/"
echo "  model + TensorBoard $OUT/model/"
echo "  exported model      $OUT/export/{saved_model,hf,google}"
exit 0
