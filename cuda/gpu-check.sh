#!/usr/bin/env bash
# Runs every GPU check and benchmark of package cuda in one go, on a machine
# with an NVIDIA GPU and no Go. Build the test binary first, on any machine:
#
#   CGO_ENABLED=0 go test -c -o .gpu/cuda.test ./cuda/
#
# then, from the repository root on the GPU machine (with .gpu carried):
#
#   bash cuda/gpu-check.sh [OUT]     # OUT: folder for the logs (default .gpu/out)
#
# It prints the device, the tests' verdicts, the benchmarks (batched LU
# blocks/s and GB/s against the copy bandwidth, gemm GFLOP/s) and the
# reference batched LU timings of PyTorch and cuBLAS (testdata/gpubench.py),
# and leaves the full logs in OUT.
set -uo pipefail
cd "$(dirname "$0")"
bin=../.gpu/cuda.test
out=${1:-../.gpu/out}
mkdir -p "$out"
[ -x "$bin" ] || { echo "gpu-check: no $bin; build it with: CGO_ENABLED=0 go test -c -o .gpu/cuda.test ./cuda/"; exit 2; }
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/device.txt"

echo "== tests (TestGPU, TestEmbeddedPTX)"
"$bin" -test.v -test.run 'TestGPU|TestEmbeddedPTX' -test.timeout 300s >"$out/tests.log" 2>&1
rc=$?
grep -E '^(=== RUN|--- (PASS|FAIL|SKIP)|\s+--- (PASS|FAIL|SKIP)|PASS|FAIL|ok)' "$out/tests.log" | grep -v '=== RUN' | tail -30
grep -E 'GPU: ' "$out/tests.log" | head -1

echo "== benchmarks"
"$bin" -test.run '^$' -test.bench 'GPU' -test.benchtime 5x -test.timeout 300s >"$out/bench.log" 2>&1
grep -E '^Benchmark' "$out/bench.log"

echo "== references: PyTorch and cuBLAS batched LU"
python3 testdata/gpubench.py >"$out/ref.log" 2>&1
cat "$out/ref.log"
exit $rc
