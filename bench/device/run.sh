#!/usr/bin/env bash
# The bench on a machine with a real GPU (Vulkan) and no Node: unpacks tmp/bench-device.tar.xz
# (made by bench/device/pack.sh, carried with the tree), then runs the bundled bench with the
# Node it holds, on the GPU through Dawn: rhc in Node, onnxruntime-web's WebGPU EP in Node (no
# Chromium there), onnxruntime-node on the CPU. It prints the same tables as `npm run bench` and
# writes the JSON to $OUT (or bench/results). A watchdog keeps it under 8 minutes.
#
#   bash bench/device/run.sh [--dry-run] [bench options...]
#
# --dry-run: a fresh bundle of this tree, this machine's own node and SwiftShader, the micro
# model and --quick: checks the whole path (bundle, carried packages, ORT-web on Dawn) without a
# GPU, in a few minutes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="$ROOT/tmp/bench-device"
PACK="$ROOT/tmp/bench-device.tar.xz"
LIMIT_S=${BENCH_LIMIT_S:-460}
DRY=0
if [[ "${1:-}" == "--dry-run" ]]; then DRY=1; shift; fi

if [[ $DRY == 1 ]]; then
  # Here the tree is the truth: bundle it afresh (no Node, no archive), as pack.sh would.
  bash "$ROOT/bench/device/pack.sh" --no-node --no-archive >&2
elif [[ -f "$PACK" && ( ! -f "$DIR/bench.mjs" || "$PACK" -nt "$DIR/bench.mjs" ) ]]; then
  echo "device: unpacking $(basename "$PACK")" >&2
  rm -rf "$DIR"
  if command -v xz >/dev/null; then xz -dc "$PACK" | tar -C "$ROOT/tmp" -xf -
  else python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' "$PACK" "$ROOT/tmp"; fi
  touch "$DIR/bench.mjs"
elif [[ ! -f "$DIR/bench.mjs" ]]; then
  echo "device: $PACK is missing: run bash bench/device/pack.sh where npm works and carry tmp/bench-device.tar.xz" >&2
  exit 1
fi

if [[ $DRY == 0 && -x "$DIR/node/bin/node" ]]; then NODE="$DIR/node/bin/node"; else NODE="$(command -v node)"; fi
[[ -n "$NODE" ]] || { echo "device: no node: the pack holds none (pack.sh --no-node) and none is installed" >&2; exit 1; }
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
args=(--tag device --runners rhc-node,ort-web-node,ort-node --rhc "$DIR/rhc.mjs" --out "${OUT:-$ROOT/bench/results}")
if [[ $DRY == 1 ]]; then
  export VK_ICD_FILENAMES="${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json}"
  args+=(--dry-run --tag device-dry)
else
  # Real GPUs: a bigger matmul for the rate, both models.
  args+=(--models tiny,small --matmul-n 2048)
fi
echo "device: $("$NODE" --version) at $NODE; limit ${LIMIT_S}s" >&2
cd "$ROOT"
exec timeout --kill-after=10 "$LIMIT_S" "$NODE" --expose-gc "$DIR/bench.mjs" "${args[@]}" "$@"
