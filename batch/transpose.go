package batch

import (
	"fmt"

	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// transposeOp is the transpose of a matrix, [r, c] → [c, r]: the moves of
// the samples at the ends of a batch-minor program. Its block is a
// permutation, declared dense so that the lump finder keeps the two layouts
// apart (no cut crosses it); its inverse rule is the inverse permutation.
type transposeOp struct{}

func (transposeOp) Name() string { return "transpose" }

func (transposeOp) Shape(in [][]int) []int {
	if len(in) != 1 || len(in[0]) != 2 {
		panic(fmt.Sprintf("batch: transpose of shapes %v: needs one matrix", in))
	}
	return []int{in[0][1], in[0][0]}
}

// transposeTo writes the transpose of the r×c matrix src into dst.
func transposeTo(dst, src []float64, r, c int) {
	const tile = 32 // a block of both matrices stays in cache
	for i0 := 0; i0 < r; i0 += tile {
		for j0 := 0; j0 < c; j0 += tile {
			for i := i0; i < min(i0+tile, r); i++ {
				for j := j0; j < min(j0+tile, c); j++ {
					dst[j*r+i] = src[i*c+j]
				}
			}
		}
	}
}

func (transposeOp) Forward(dst *tensor.Tensor, in []*tensor.Tensor) {
	s := in[0].Shape()
	transposeTo(dst.Data(), in[0].Data(), s[0], s[1])
}

func (o transposeOp) JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
	s := in[0].Shape()
	transposeTo(dst.Data(), t[0].Data(), s[0], s[1])
}

func (transposeOp) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
	if dst[0] == nil {
		return
	}
	s := in[0].Shape()
	r, cols := s[0], s[1]
	d, g := dst[0].Data(), c.Data()
	for i := 0; i < r; i++ {
		for j := 0; j < cols; j++ {
			d[i*cols+j] += g[j*r+i]
		}
	}
}

func (transposeOp) Structure(i int, in [][]int, varying []bool) tape.Structure {
	n := tensor.SizeOf(in[0])
	s := tape.Structure{Kind: tape.Dense, Rows: n, Cols: n, Constant: true}
	if !varying[0] {
		s.Kind, s.Constant = tape.Zero, false
	}
	return s
}

// FactorBytes: the inverse rule keeps the shape alone.
func (transposeOp) FactorBytes(p int, in [][]int) int64 { return 0 }

func (transposeOp) Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
	s := in[0].Shape()
	return permFactor{r: s[0], c: s[1]}, nil
}

// permFactor is the block of the transpose of an r×c matrix: A v is v's
// transpose, so A⁻¹ v transposes a c×r v back, and A⁻ᵀ = A.
type permFactor struct{ r, c int }

func (f permFactor) Size() int          { return f.r * f.c }
func (f permFactor) LogAbsDet() float64 { return 0 }

func (f permFactor) Solve(dst, v []float64) { f.apply(dst, v, f.c, f.r) }

// LogAbsDetParts: Minor's moves transpose x viewed as [samples, rest] and
// y' viewed as [rest, samples], keeping each sample's elements in its
// sample; every part is 0 where each row, or each column, of the input is
// in one group.
func (f permFactor) LogAbsDetParts(dst []float64, group func(int) int) bool {
	uniform := func(n, m, stride, step int) bool { // n lines of m elements
		for i := 0; i < n; i++ {
			for j := 1; j < m; j++ {
				if group(i*stride+j*step) != group(i*stride) {
					return false
				}
			}
		}
		return true
	}
	return uniform(f.r, f.c, f.c, 1) || uniform(f.c, f.r, 1, f.c)
}

func (f permFactor) SolveT(dst, v []float64) { f.apply(dst, v, f.r, f.c) }

// apply writes the transpose of the r×c matrix v into dst, through a copy
// when they are the same slice.
func (f permFactor) apply(dst, v []float64, r, c int) {
	if len(dst) > 0 && len(v) > 0 && &dst[0] == &v[0] {
		v = append([]float64(nil), v...)
	}
	transposeTo(dst, v, r, c)
}
