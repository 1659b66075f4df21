package opstest

// The conformance rows of BatchMatMul, with its plain-loop reference.

import (
	"slices"

	"github.com/invad/invad/ops"
)

// bmmRef multiplies each of B samples [n,m] by [m,k], the right operand the
// same for every sample when shared.
func bmmRef(B, n, m, k int, shared bool) func([][]float64) []float64 {
	return func(in [][]float64) []float64 {
		a, b := in[0], in[1]
		res := make([]float64, B*n*k)
		for s := 0; s < B; s++ {
			bs := s * m * k
			if shared {
				bs = 0
			}
			for i := 0; i < n; i++ {
				for j := 0; j < k; j++ {
					for l := 0; l < m; l++ {
						res[(s*n+i)*k+j] += a[(s*n+i)*m+l] * b[bs+l*k+j]
					}
				}
			}
		}
		return res
	}
}

// Well-conditioned companions of w2 and w3 (condition numbers below 3), for
// the second sample of a per-sample operand.
var (
	w2b = []float64{1.5, -0.4, 0.3, 2}
	w3b = []float64{3, 0.4, -0.1, 0.5, 2.5, 0.6, -0.2, 0.3, 2}
)

// bmmBad are shape lists BatchMatMul must reject.
var bmmBad = [][][]int{
	{{2, 3}, {3, 2}},       // 2-D left
	{{2, 3, 4}, {3, 2}},    // inner dimensions differ
	{{2, 3, 4}, {3, 4, 2}}, // 2 samples against 3
	{{2, 3, 4}, {4}},       // 1-D right
	{{2, 3, 4}},            // one operand
}

func batchMatMulRows() []Row {
	bmm := func(name, reason string, a, b Input, sing ...Singular) Row {
		B, n, m := a.Shape[0], a.Shape[1], a.Shape[2]
		k := b.Shape[len(b.Shape)-1]
		return Row{Fn: "BatchMatMul", Apply: apply2(ops.BatchMatMul), Case: Case{
			Name: "BatchMatMul/" + name, Reason: reason, Op: ops.BatchMatMulOp, Inputs: []Input{a, b}, Out: []int{B, n, k},
			Ref: bmmRef(B, n, m, k, len(b.Shape) == 2), BadShapes: bmmBad, SingularAt: sing,
		}}
	}
	v := func(shape ...int) Input { return Input{Shape: shape} }
	k := func(value []float64, shape ...int) Input {
		return Input{Shape: shape, Const: true, Value: value}
	}
	cat := func(s ...[]float64) []float64 { return slices.Concat(s...) }
	x322 := filled(12, 0.5) // any left operand: the singular right one decides
	return []Row{
		bmm("shared-right", "[2,3,4]×[4,2]: both blocks not square; w.r.t. a, 6 blocks of bᵀ (shared); w.r.t. b dense",
			v(2, 3, 4), v(4, 2)),
		bmm("per-sample-right", "[2,3,4]×[2,4,2]: w.r.t. b, 2 blocks a[s] ⊗ I, not square",
			v(2, 3, 4), v(2, 4, 2)),
		bmm("var-left-square-const-right", "X·W with a 2-D constant W: shared constant blocks, one LU of W for every row of every sample",
			v(2, 3, 2), k(w2, 2, 2),
			Singular{Input: 0, Values: [][]float64{x322, {1, 2, 2, 4}}}),
		bmm("var-left-per-sample-const-right", "X[s]·W[s] with a constant 3-D W: one LU per sample; the singular point's second sample is singular",
			v(2, 3, 2), k(cat(w2, w2b), 2, 2, 2),
			Singular{Input: 0, Values: [][]float64{x322, cat(w2, []float64{1, 2, 2, 4})}}),
		bmm("const-left-per-sample-var-right", "A[s]·X[s] with a constant 3-D A (n = m): one LU of each A[s], every column",
			k(cat(w3, w3b), 2, 3, 3), v(2, 3, 2),
			Singular{Input: 1, Values: [][]float64{cat(w3, w3sing), filled(12, 1)}}),
		bmm("const-left-stacked-var-shared-right", "A [2,1,2] with a 2-D X: A's rows stacked are a square [2,2], dense block A ⊗ I, one LU",
			k(w2, 2, 1, 2), v(2, 3),
			Singular{Input: 1, Values: [][]float64{{1, 2, 2, 4}, filled(6, 1)}}),
		bmm("both-varying-square", "every block square and point-dependent; the alias check runs BatchMatMul(x, x)",
			v(2, 2, 2), v(2, 2, 2)),
		bmm("one-row", "a single row against a 2-D W: one block, declared dense, still invertible",
			v(1, 1, 3), k(w3, 3, 3)),
	}
}
