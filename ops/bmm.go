package ops

import (
	"fmt"

	"gonum.org/v1/gonum/blas"

	"github.com/invad/invad/cpu"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// BatchMatMulOp is the batched matrix product: [B,n,m]×[m,k] → [B,n,k]
// (one right factor for every sample) and [B,n,m]×[B,m,k] → [B,n,k] (a
// right factor per sample).
var BatchMatMulOp = batchMatMul{}

type batchMatMul struct{}

// BatchMatMul returns the product of each sample a[s] ([n,m]) of a 3-D a
// with a 2-D b ([m,k], the same for every sample) or with the sample b[s]
// of a 3-D b ([B,m,k]); the result is [B,n,k]. It panics for other ranks,
// inner dimensions that differ, or 3-D operands with different numbers of
// samples.
func BatchMatMul(a, b *tape.Var) *tape.Var { return tape.Apply(BatchMatMulOp, a, b) }

func (batchMatMul) Name() string { return "batch_matmul" }

func (batchMatMul) Shape(in [][]int) []int {
	arity("batch_matmul", in, 2)
	a, b := in[0], in[1]
	if len(a) != 3 || (len(b) != 2 && len(b) != 3) {
		panic(fmt.Sprintf("ops: batch_matmul: shapes %v and %v: need a 3-D left and a 2-D or 3-D right operand", a, b))
	}
	if len(b) == 3 && b[0] != a[0] {
		panic(fmt.Sprintf("ops: batch_matmul: %d samples in %v, %d in %v", a[0], a, b[0], b))
	}
	if a[2] != b[len(b)-2] {
		panic(fmt.Sprintf("ops: batch_matmul: inner dimensions of %v and %v differ", a, b))
	}
	return []int{a[0], a[1], b[len(b)-1]}
}

// bmmDims are the dimensions of a batched product: B samples of [n,m]×[m,k];
// shared says b is 2-D, one [m,k] for every sample.
type bmmDims struct {
	B, n, m, k int
	shared     bool
}

func bmmOf(a, b []int) bmmDims {
	return bmmDims{B: a[0], n: a[1], m: a[2], k: b[len(b)-1], shared: len(b) == 2}
}

// bmmEach calls f(a, b, c) with sample s's [n,m], [m,k] and [n,k] parts of
// x (a-shaped), y (b-shaped) and z (output-shaped), for every s; with a
// shared b, once with the B samples of x and z stacked as [B·n, m] and
// [B·n, k].
func bmmEach[T tensor.Float](d bmmDims, x, y, z []T, f func(x, y, z []T, rows int)) {
	if d.shared {
		f(x, y, z, d.B*d.n)
		return
	}
	sa, sb, sc := d.n*d.m, d.m*d.k, d.n*d.k
	for s := 0; s < d.B; s++ {
		f(x[s*sa:(s+1)*sa], y[s*sb:(s+1)*sb], z[s*sc:(s+1)*sc], d.n)
	}
}

// bmmProd computes z = x·y + beta·z for every sample.
func bmmProd[T tensor.Float](d bmmDims, x, y, z []T, beta T) {
	bmmEach(d, x, y, z, func(x, y, z []T, rows int) {
		gemm(blas.NoTrans, blas.NoTrans, 1, general(x, rows, d.m), general(y, d.m, d.k), beta, general(z, rows, d.k))
	})
}

func (batchMatMul) Forward(dst *tensor.Tensor, in []*tensor.Tensor) {
	bmmProd(bmmOf(in[0].Shape(), in[1].Shape()), in[0].Data(), in[1].Data(), dst.Data(), 0)
}

func (batchMatMul) JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
	bmmJVP(dst, in, t)
}

// JVP32 is JVP in float32 (blas32).
func (batchMatMul) JVP32(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) {
	bmmJVP(dst, in, t)
}

// bmmJVP writes t_a·b + a·t_b, per sample, into dst.
func bmmJVP[T tensor.Float](dst *tensor.Dense[T], in, t []*tensor.Dense[T]) {
	d := bmmOf(in[0].Shape(), in[1].Shape())
	var beta T
	if t[0] != nil {
		bmmProd(d, t[0].Data(), in[1].Data(), dst.Data(), 0)
		beta = 1
	}
	if t[1] != nil {
		bmmProd(d, in[0].Data(), t[1].Data(), dst.Data(), beta)
	}
}

func (batchMatMul) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
	bmmVJP(dst, in, c)
}

// VJP32 is VJP in float32 (blas32).
func (batchMatMul) VJP32(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
	bmmVJP(dst, in, c)
}

// bmmVJP adds c·bᵀ into dst[0] and aᵀ·c into dst[1], per sample.
func bmmVJP[T tensor.Float](dst, in []*tensor.Dense[T], c *tensor.Dense[T]) {
	d := bmmOf(in[0].Shape(), in[1].Shape())
	if dst[0] != nil { // ga += c·bᵀ per sample
		bmmEach(d, dst[0].Data(), in[1].Data(), c.Data(), func(ga, b, c []T, rows int) {
			gemm(blas.NoTrans, blas.Trans, 1, general(c, rows, d.k), general(b, d.m, d.k), 1, general(ga, rows, d.m))
		})
	}
	if dst[1] != nil { // gb += aᵀ·c per sample; a shared b sums over every sample
		bmmEach(d, in[0].Data(), dst[1].Data(), c.Data(), func(a, gb, c []T, rows int) {
			gemm(blas.Trans, blas.NoTrans, 1, general(a, rows, d.m), general(c, rows, d.k), 1, general(gb, d.m, d.k))
		})
	}
}

// SecondVJP: the JVP t_a·b + a·t_b is bilinear, so the derivative of
// ⟨c, t_a·b + a·t_b⟩ adds c·t_b[s]ᵀ into sample s of dst[0] and
// t_a[s]ᵀ·c[s] into dst[1], per sample (VJP with each operand replaced by
// the other's tangent); a shared 2-D b receives the sum over the samples.
func (batchMatMul) SecondVJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor, c *tensor.Tensor) {
	d := bmmOf(in[0].Shape(), in[1].Shape())
	if dst[0] != nil && t[1] != nil { // ga += c·t_bᵀ per sample
		bmmEach(d, dst[0].Data(), t[1].Data(), c.Data(), func(ga, tb, c []float64, rows int) {
			gemm(blas.NoTrans, blas.Trans, 1, general(c, rows, d.k), general(tb, d.m, d.k), 1, general(ga, rows, d.m))
		})
	}
	if dst[1] != nil && t[0] != nil { // gb += t_aᵀ·c per sample; a shared b sums over every sample
		bmmEach(d, t[0].Data(), dst[1].Data(), c.Data(), func(ta, gb, c []float64, rows int) {
			gemm(blas.Trans, blas.NoTrans, 1, general(ta, rows, d.m), general(c, rows, d.k), 1, general(gb, d.m, d.k))
		})
	}
}

// Structure: with respect to a, output row (s,i) reads a's row (s,i)
// alone: block diagonal with B·n blocks, each b[s]ᵀ (k×m), all the same
// (Shared) for a 2-D b, and Constant when b is a constant. With respect to
// a 3-D b, sample s's output reads b[s] alone: block diagonal with B blocks
// a[s] ⊗ I_k. With respect to a 2-D b it is dense (a ⊗ I_k over the
// stacked rows). A single block is declared dense, as MatMul does.
func (batchMatMul) Structure(i int, in [][]int, varying []bool) tape.Structure {
	d := bmmOf(in[0], in[1])
	s := tape.Structure{Rows: d.B * d.n * d.k, Cols: tensor.SizeOf(in[i]), Constant: !varying[1-i]}
	blocks := d.B // i == 1, 3-D b
	if i == 0 {
		blocks = d.B * d.n
	}
	switch {
	case !varying[i]:
		s.Kind, s.Constant = tape.Zero, false
	case i == 1 && d.shared, blocks <= 1:
		s.Kind = tape.Dense
	default:
		s.Kind, s.Blocks, s.Shared = tape.BlockDiagonal, blocks, i == 0 && d.shared
	}
	return s
}

// bmmSquare reports whether the block with respect to input p is square,
// and the number of samples of the other operand to factorize (1: one LU
// of it, flattened to a square matrix).
func bmmSquare(p int, d bmmDims) (ok bool, samples int) {
	samples = d.B
	if d.shared {
		samples = 1
	}
	if p == 0 {
		return d.m == d.k, samples
	}
	if d.shared {
		return d.B*d.n == d.m, 1
	}
	return d.n == d.m, samples
}

// FactorBytes: the LU of the other operand's square matrices (one, or one
// per sample) and their copies.
func (batchMatMul) FactorBytes(p int, in [][]int) int64 {
	d := bmmOf(in[0], in[1])
	_, samples := bmmSquare(p, d)
	return 2 * 8 * int64(d.m) * int64(d.m) * int64(samples)
}

// Inverse with respect to a (needs m = k): each row x of a sample solves
// x·b[s] = v, with one LU of a 2-D b for every sample or one LU per sample
// of a 3-D b. With respect to a 3-D b (needs n = m): a[s]·X = V with one LU
// of each a[s]; with respect to a 2-D b (needs B·n = m): one LU of a seen as
// [B·n, m]. Other blocks are not square (tape.ErrNotSquare); a singular
// factor is a *tape.SingularError (see BatchMatMulLUs).
func (batchMatMul) Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
	d := bmmOf(in[0].Shape(), in[1].Shape())
	ok, samples := bmmSquare(p, d)
	if !ok {
		return nil, notSquare("batch_matmul", p, [][]int{in[0].Shape(), in[1].Shape()}, out.Shape())
	}
	lus, err := BatchMatMulLUs(p, in[1-p], samples)
	if err != nil {
		return nil, err
	}
	fs := make([]tape.Factor, len(lus))
	for s, lu := range lus {
		switch {
		case p == 0 && d.shared:
			fs[s] = &kronLeftFactor{lu: lu, rows: d.B * d.n}
		case p == 0:
			fs[s] = &kronLeftFactor{lu: lu, rows: d.n}
		default:
			fs[s] = &kronRightFactor{lu: lu, times: d.k}
		}
	}
	if len(fs) == 1 {
		return fs[0], nil
	}
	return &samplesFactor{fs: fs, each: fs[0].Size()}, nil
}

// BatchMatMulLUs factorizes w, the operand of a batched product whose
// Jacobian block is taken against the other input p, as BatchMatMul's
// inverse rule does: the LU of each of its samples square matrices
// (samples > 1, each of order w's last dimension), or of w seen as one
// square matrix (samples = 1). A singular matrix is a *tape.SingularError
// naming batch_matmul and input p, whose Index is the pivot's row in w
// seen as stacked rows (sample·order + row). Backends that solve with w
// elsewhere (the CUDA backend) use it for the same LU and errors. It panics
// if w's elements are not samples square matrices of that order.
func BatchMatMulLUs(p int, w *tensor.Tensor, samples int) ([]*cpu.LU, error) {
	sh := w.Shape()
	order := sh[len(sh)-1]
	sz := order * order
	if samples < 1 || w.Len() != samples*sz {
		panic(fmt.Sprintf("ops: batch_matmul: %v is not %d square matrices of order %d", sh, samples, order))
	}
	lus := make([]*cpu.LU, samples)
	data := w.Data()
	for s := range lus {
		lu, sing := cpu.FactorLU(data[s*sz:(s+1)*sz], order)
		if sing != nil {
			err := luSingular("batch_matmul", p, sing).(*tape.SingularError)
			if samples > 1 {
				if err.Index >= 0 {
					err.Index += s * order
				}
				err.Why = fmt.Sprintf("sample %d: %s", s, err.Why)
			}
			return nil, err
		}
		lus[s] = lu
	}
	return lus, nil
}

// samplesFactor is a block diagonal factor of equal-sized blocks, each
// solved by its own factor (one per sample).
type samplesFactor struct {
	fs   []tape.Factor
	each int
}

func (f *samplesFactor) Size() int { return len(f.fs) * f.each }
func (f *samplesFactor) Describe() string {
	return fmt.Sprintf("%d per-sample LUs (blocks of %d)", len(f.fs), f.each)
}

func (f *samplesFactor) LogAbsDet() float64 {
	s := 0.0
	for _, g := range f.fs {
		s += g.LogAbsDet()
	}
	return s
}

func (f *samplesFactor) Solve(dst, v []float64)  { f.solve(dst, v, false) }
func (f *samplesFactor) SolveT(dst, v []float64) { f.solve(dst, v, true) }

func (f *samplesFactor) solve(dst, v []float64, trans bool) {
	checkLen(f.Size(), dst, v)
	e := f.each
	cpu.For(len(f.fs), func(lo, hi int) {
		for s := lo; s < hi; s++ {
			if trans {
				f.fs[s].SolveT(dst[s*e:(s+1)*e], v[s*e:(s+1)*e])
			} else {
				f.fs[s].Solve(dst[s*e:(s+1)*e], v[s*e:(s+1)*e])
			}
		}
	})
}
