#!/usr/bin/env bash
# Runs every GPU check and benchmark of invad in one go, on a machine with an
# NVIDIA GPU and no Go. Build the binaries first, on any machine:
#
#   CGO_ENABLED=0 go test -c -o .gpu/cuda.test ./cuda/
#   CGO_ENABLED=0 go build -o .gpu/invad ./cmd/invad
#
# then, from the repository root on the GPU machine (with .gpu carried):
#
#   bash cuda/gpu-check.sh [OUT]     # OUT: folder for the logs (default .gpu/out)
#
# It prints the device; the verdicts of the tests (every kernel, the device
# Linearization against the CPU's on every program, Newton on the device,
# the bench families); invad demo --backend cuda end to end; the benchmarks
# (copy bandwidth, batched LU blocks/s and GB/s beside cuBLAS's
# dgetrfBatched, gemm GFLOP/s beside cuBLAS's dgemm, each product on the
# device over the primal on the device); the reference batched LU of
# PyTorch and cuBLAS (testdata/gpubench.py) and the dense J⁻¹v of JAX and
# PyTorch (testdata/densesolve.py); and leaves the full logs in OUT. About
# five minutes on an H200.
set -uo pipefail
cd "$(dirname "$0")"
bin=../.gpu/cuda.test
cli=../.gpu/invad
out=${1:-../.gpu/out}
mkdir -p "$out"
[ -x "$bin" ] || { echo "gpu-check: no $bin; build it with: CGO_ENABLED=0 go test -c -o .gpu/cuda.test ./cuda/"; exit 2; }
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/device.txt"

# cuBLAS for the reference benchmarks: the libcublas the Python packages
# carry (nvidia-cublas, PyTorch, CuPy), unless INVAD_CUBLAS names one.
if [ -z "${INVAD_CUBLAS:-}" ]; then
  INVAD_CUBLAS=$( (ldconfig -p 2>/dev/null | awk '/libcublas\.so\.[0-9]+ /{print $NF; exit}'; python3 - <<'PY' 2>/dev/null
import glob, os, site
dirs = site.getsitepackages() + [site.getusersitepackages()]
found = []
for d in dirs:
    for pat in ("nvidia/cublas/lib/libcublas.so.*", "torch/lib/libcublas.so.*", "cupy*/**/libcublas.so.*"):
        found += [f for f in glob.glob(os.path.join(d, pat), recursive=True) if "Lt" not in os.path.basename(f)]
print(sorted(found)[0] if found else "")
PY
) | head -1)
  export INVAD_CUBLAS
fi
echo "cuBLAS: ${INVAD_CUBLAS:-none found (the cuBLAS benchmarks skip)}"

echo "== tests (TestGPU, TestEmbeddedPTX)"
"$bin" -test.v -test.run 'TestGPU|TestEmbeddedPTX' -test.timeout 300s >"$out/tests.log" 2>&1
rc=$?
grep -E '^(--- (PASS|FAIL|SKIP)|\s+--- (PASS|FAIL|SKIP)|PASS|FAIL|ok)' "$out/tests.log" | tail -60
grep -E 'GPU: ' "$out/tests.log" | head -1
[ $rc -eq 0 ] || grep -E -A8 '^\s+[a-z_]+_test.go:[0-9]+' "$out/tests.log" | head -40

if [ -x "$cli" ]; then
  echo "== invad demo --backend cuda"
  timeout 180 "$cli" demo --backend cuda >"$out/demo.log" 2>&1
  drc=$?
  cat "$out/demo.log"
  [ $drc -eq 0 ] || { echo "gpu-check: the demo failed (exit $drc)"; rc=1; }
  if [ -n "${INVAD_CUBLAS:-}" ]; then
    echo "== invad demo --backend cuda --cublas (products after the Newton table)"
    timeout 120 "$cli" demo --backend cuda --cublas >"$out/demo-cublas.log" 2>&1 || { echo "gpu-check: the demo with cuBLAS failed"; rc=1; }
    sed -n '/product at the solution/,/log|det/p' "$out/demo-cublas.log"
  fi
else
  echo "== no $cli: the demo was not run (CGO_ENABLED=0 go build -o .gpu/invad ./cmd/invad)"
fi

echo "== benchmarks"
"$bin" -test.run '^$' -test.bench 'GPU' -test.benchtime 3x -test.timeout 400s >"$out/bench.log" 2>&1
grep -E '^(Benchmark|--- FAIL|\s+bench_test)' "$out/bench.log"

echo "== references: PyTorch and cuBLAS batched LU"
timeout 120 python3 testdata/gpubench.py >"$out/ref.log" 2>&1
cat "$out/ref.log"

echo "== references: the dense J⁻¹v of JAX and PyTorch (coupling family)"
timeout 150 python3 testdata/densesolve.py --budget 15 >"$out/dense.log" 2>&1
cat "$out/dense.log"
exit $rc
