#!/usr/bin/env bash
# One-shot GPU check, for a session that is lent a GPU machine (the device tool's `run`), sized to fit one
# short call (about 8 minutes on an H200 host): WebGPU throughput of both paper networks and a timed
# paper-deep training run, all written to one folder.
#
#   bash scripts/gpu-check.sh [OUT_DIR]        # default: $OUT (the device tool's output folder) or ./gpu-check-out
#
# Needs on that machine: Node.js 20.19+, the GPU's Vulkan driver (NVIDIA: driver 535+ with its Vulkan ICD,
# plus libvulkan1), and this repository's node_modules (pnpm install, or carried along). It installs
# nothing itself: the device machines reach no registry. Each part has its own time limit, and a failing
# part is recorded in summary.txt without stopping the others.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR="${1:-${OUT:-$PWD/gpu-check-out}}"
mkdir -p "$OUT_DIR"
SUMMARY="$OUT_DIR/summary.txt"
: > "$SUMMARY"
note() { printf '%s\n' "$*" | tee -a "$SUMMARY"; }
part() { # part NAME SECONDS COMMAND...: runs COMMAND with a time limit, output to NAME.log, status to the summary
  local name=$1 secs=$2; shift 2
  local t0=$SECONDS
  timeout "$secs" "$@" > "$OUT_DIR/$name.log" 2>&1
  local rc=$?
  note "$name: exit $rc in $((SECONDS - t0)) s (limit $secs s)"
}

note "gpu-check $(date -u +%FT%TZ) on $(hostname) in $PWD"
{ nvidia-smi 2>&1 || echo "nvidia-smi: not available"; } > "$OUT_DIR/nvidia-smi.txt"
{ vulkaninfo --summary 2>&1 || echo "vulkaninfo: not available (apt-get install vulkan-tools)"; } > "$OUT_DIR/vulkaninfo.txt"
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d > "$OUT_DIR/vulkan-icd.txt" 2>&1
if ! command -v node >/dev/null; then note "node: not found; nothing else can run"; exit 1; fi
note "node $(node --version)"
if [ ! -d node_modules/@tensorflow ]; then note "node_modules missing: run pnpm install first (or carry node_modules)"; exit 1; fi

NODE=(node --conditions=@fer/source --import tsx)
# 1. Which adapter Dawn finds, and why (E_NO_ADAPTER lists the Vulkan loader, ICD files and VK_* variables).
part adapter 60 "${NODE[@]}" --input-type=module -e "const e = await import('./packages/fer-engine/src/index.ts'); try { const i = await e.initBackend({ backend: 'webgpu' }); console.log(JSON.stringify(e.describeBackend(), null, 2)); } catch (err) { console.log(String(err)); process.exitCode = 1; } finally { await e.disposeBackend(); }"
# 2. Throughput of both paper networks on WebGPU (JSON lines, as pnpm bench models), and on the native CPU kernels for scale.
part bench-webgpu 240 "${NODE[@]}" harness/src/bench.ts models --backend webgpu --threads 1 --steps 5 --repeat 1 --no-torch
cp "$OUT_DIR/bench-webgpu.log" "$OUT_DIR/bench-webgpu.jsonl" 2>/dev/null
part bench-native 150 "${NODE[@]}" harness/src/bench.ts models --backend native --steps 3 --repeat 1
# 3. A timed paper-deep training run: real FER2013 when FER2013_PATH is set, else the synthetic set.
DATA_ARGS=()
[ -n "${FER2013_PATH:-}" ] && DATA_ARGS=(--data "$FER2013_PATH")
part train-deep 240 "${NODE[@]}" harness/src/cli.ts train --model paper-deep --backend webgpu --out "$OUT_DIR/paper-deep" \
  "${DATA_ARGS[@]}" --set epochs=1 --set limit=8000
grep -E 'img/s|epoch|backend' "$OUT_DIR/train-deep.log" | tail -5 >> "$SUMMARY"
note "results in $OUT_DIR"
