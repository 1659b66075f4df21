package cuda

import (
	"fmt"
	"slices"

	"github.com/invad/invad/internal/cudadrv"
	"github.com/invad/invad/ops"
)

// argKind is the type of one kernel parameter.
type argKind uint8

const (
	argPtr argKind = iota // a device pointer: cudadrv.DevicePtr, .param .u64
	argI64                // long long: int64, .param .u64
	argI32                // int: int32, .param .u32
	argF64                // double: float64, .param .f64
)

// ptxType is the PTX parameter type NVRTC declares for the kind.
func (k argKind) ptxType() string {
	switch k {
	case argI32:
		return ".u32"
	case argF64:
		return ".f64"
	}
	return ".u64"
}

func (k argKind) String() string {
	return [...]string{"pointer", "int64", "int32", "float64"}[k]
}

// kernelSpec is a kernel's source file and parameter list.
type kernelSpec struct {
	source string
	params []argKind
}

// unaryOps are the names of the unary elementwise ops with kernels: every
// op declared in ops.UnaryDecls (go generate writes their kernels'
// formulas into kernels/unary_ops.cuh); binaryOps those of the binary ops.
var (
	unaryOps = func() []string {
		var names []string
		for _, d := range ops.UnaryDecls() {
			names = append(names, d.Name)
		}
		return names
	}()
	binaryOps = []string{"add", "sub", "mul", "div"}
)

// UnaryOps returns the names of the unary elementwise ops that have kernels.
func UnaryOps() []string { return slices.Clone(unaryOps) }

// BinaryOps returns the names of the binary elementwise ops that have kernels.
func BinaryOps() []string { return slices.Clone(binaryOps) }

// maxSmallK is the largest order with a register kernel (one thread per
// block); MaxK the largest order FactorBatch accepts.
const (
	maxSmallK = 8
	MaxK      = 64
)

// kernels lists every kernel of the embedded PTX with its parameters, as the
// .cu files declare them. A test checks it against the PTX's .entry lines.
var kernels = func() map[string]kernelSpec {
	p, i64, i32, f64 := argPtr, argI64, argI32, argF64
	m := map[string]kernelSpec{}
	add := func(src, name string, params ...argKind) { m[name] = kernelSpec{src, params} }
	for _, op := range unaryOps {
		add("elementwise", "ew_"+op+"_fwd", i64, f64, p, p)
		add("elementwise", "ew_"+op+"_jvp", i64, f64, p, p, p, p)
		add("elementwise", "ew_"+op+"_vjp", i64, f64, p, p, p, p)
		add("elementwise", "ew_"+op+"_df", i64, f64, p, p, p)
	}
	for _, op := range binaryOps {
		add("elementwise", "bin_"+op+"_fwd", i64, p, p, i64, p, i64)
		add("elementwise", "bin_"+op+"_jvp", i64, p, p, i64, p, i64, p, p, p)
		for _, k := range []string{"0", "1"} {
			add("elementwise", "bin_"+op+"_vjp"+k, i64, p, p, i64, p, i64, p, p)
			add("elementwise", "bin_"+op+"_vjpsum"+k, i64, p, p, i64, p, i64, p, p)
			add("elementwise", "bin_"+op+"_df"+k, i64, p, p, i64, p, i64, p)
		}
	}
	add("elementwise", "sum_add_partials", i32, p, p)
	for k := 1; k <= maxSmallK; k++ {
		add("batchlu", fmt.Sprintf("lu_factor_%d", k), i64, p, p, p, p, p, p, p)
		add("batchlu", fmt.Sprintf("lu_solve_%d", k), i64, p, p, p, p)
		add("batchlu", fmt.Sprintf("lu_solveT_%d", k), i64, p, p, p, p)
	}
	add("linalg", "gemm", i32, i32, i64, i64, i64, f64, p, i64, p, i64, f64, p, i64)
	add("linalg", "gemm_batched", i32, i32, i64, i64, i64, f64, p, i64, i64, p, i64, i64, f64, p, i64, i64)
	add("linalg", "sum_part", i64, p, p)
	add("linalg", "sum_finish", i32, p, p)
	add("linalg", "bcast_add", i64, p, p)
	add("linalg", "diag_check", i64, p, p, p)
	add("linalg", "scan_chunks", i64, i64, i64, i32, p, p, p)
	add("linalg", "scan_carry", i64, i64, i32, p)
	add("linalg", "scan_add", i64, i64, i64, p, p)
	add("linalg", "scan_diff", i64, i64, i32, p, p)
	add("batchlu", "lu_factor_warp", i32, i64, p, p, p, p, p, p, p)
	add("batchlu", "lu_solve_gen", i32, i64, p, p, p, p)
	add("batchlu", "lu_solveT_gen", i32, i64, p, p, p, p)
	add("gather", "strided_copy", i64, i32, f64, p, p, p)
	add("gather", "strided_sum", i64, i32, f64, p, p, p)
	return m
}()

// launch is one kernel launch, built by the functions below and run by
// Backend.launch. Building it is pure, so tests check it without a GPU.
type launch struct {
	name        string
	grid, block uint32
	shared      uint32
	args        []any
}

// checkArgs panics unless l's arguments have the kernel's parameter types.
func (l launch) checkArgs() kernelSpec {
	spec, ok := kernels[l.name]
	if !ok {
		panic(fmt.Sprintf("cuda: no kernel %q", l.name))
	}
	if len(l.args) != len(spec.params) {
		panic(fmt.Sprintf("cuda: kernel %s takes %d arguments, given %d", l.name, len(spec.params), len(l.args)))
	}
	for i, a := range l.args {
		var ok bool
		switch spec.params[i] {
		case argPtr:
			_, ok = a.(cudadrv.DevicePtr)
		case argI64:
			_, ok = a.(int64)
		case argI32:
			_, ok = a.(int32)
		case argF64:
			_, ok = a.(float64)
		}
		if !ok {
			panic(fmt.Sprintf("cuda: kernel %s argument %d is %T, want %v", l.name, i, a, spec.params[i]))
		}
	}
	return spec
}

// Launch geometry of the elementwise kernels: 256 threads a block (the
// reductions assume it) and at most ewMaxGrid blocks, each thread looping
// over the grid's stride.
const (
	ewBlock   = 256
	ewMaxGrid = 4096
)

func ewGrid(n int) uint32 {
	return uint32(max(1, min(ewMaxGrid, (n+ewBlock-1)/ewBlock)))
}
