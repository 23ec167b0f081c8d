#!/usr/bin/env bash
# The seed's experiment, small: train LR, LR+norm, GP, GP+norm and plain GPT-2 at tiny dims on
# WikiText-2's validation text, evaluate each on the test text, plot the runs together and
# print the table. The defaults are sized for SwiftShader (no GPU; about 5 minutes a variant
# on 2 idle cores, most of it the 50257-way softmax); on a GPU raise STEPS, SEQ, BATCH and the
# dims. Usage:
# examples/compare-variants.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-runs/compare-variants}
DATA=${DATA:-../shared/data/wikitext-2}
STEPS=${STEPS:-200}
SEQ=${SEQ:-32}
BATCH=${BATCH:-2}
LR=${LR:-3e-3}
EVAL_BLOCKS=${EVAL_BLOCKS:-32}
DIMS=(--set n_layer=2 --set n_embd=${N_EMBD:-32} --set n_head=2 --set n_positions=64)
VARIANTS=(lr lr-norm gp gp-norm gpt2-abs)

mkdir -p "$OUT"
for v in "${VARIANTS[@]}"; do
  echo "== $v" >&2
  rm -rf "${OUT:?}/$v"
  npx rhc train "spec/$v.rh" --data "$DATA/wiki.valid.tokens" --eval-data "$DATA/wiki.test.tokens" \
    --eval-blocks "$EVAL_BLOCKS" --eval-every $((STEPS / 2)) --max-steps "$STEPS" --seq-len "$SEQ" \
    --batch-size "$BATCH" --lr "$LR" --out "$OUT/$v" "${DIMS[@]}"
done

runs=()
for v in "${VARIANTS[@]}"; do runs+=("$OUT/$v"); done
npx rhc plot "${runs[@]}" -o "$OUT/curves.svg"
npx rhc plot --frequencies "$OUT/lr-norm/$(cat "$OUT/lr-norm/latest")" -o "$OUT/lr-norm-frequencies.svg"

# The table: each run's last evaluation on wiki.test.tokens (the first EVAL_BLOCKS blocks).
node -e '
const fs = require("fs"), path = require("path");
const rows = process.argv.slice(1).map((dir) => {
  const recs = fs.readFileSync(path.join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map(JSON.parse);
  const ev = recs.filter((r) => "eval_loss" in r).pop();
  const first = recs.filter((r) => "eval_loss" in r)[0];
  const last = recs.filter((r) => "loss" in r).pop();
  return `| ${path.basename(dir)} | ${last.step} | ${last.loss.toFixed(3)} | ${first.eval_loss.toFixed(3)} | ${ev.eval_loss.toFixed(3)} | ${ev.perplexity.toFixed(1)} | ${ev.accuracy.toFixed(4)} |`;
});
console.log("| variant | steps | train loss | eval loss (first eval) | eval loss | perplexity | accuracy |");
console.log("|:--|--:|--:|--:|--:|--:|--:|");
for (const r of rows) console.log(r);
' "${runs[@]}" | tee "$OUT/table.md"
echo "wrote $OUT/curves.svg, $OUT/lr-norm-frequencies.svg and $OUT/table.md" >&2
