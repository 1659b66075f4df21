package ops

import (
	"fmt"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"

	"github.com/invad/invad/cpu"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// MatMulOp is the matrix product: [m,k]×[k,c] → [m,c] and [m,k]×[k] → [m].
var MatMulOp = matMul{}

type matMul struct{}

// MatMul returns the matrix product a·b for a 2-D a and a 2-D or 1-D b.
// Either side may be the variable: W·x and X·W are both covered, and the
// inverse rule with respect to a square constant factor factorizes it once
// for every call and every batch row.
func MatMul(a, b *tape.Var) *tape.Var { return tape.Apply(MatMulOp, a, b) }

func (matMul) Name() string { return "matmul" }

func (matMul) Shape(in [][]int) []int {
	arity("matmul", in, 2)
	a, b := in[0], in[1]
	if len(a) != 2 || (len(b) != 1 && len(b) != 2) {
		panic(fmt.Sprintf("ops: matmul: shapes %v and %v: need a 2-D left and a 1-D or 2-D right operand", a, b))
	}
	if a[1] != b[0] {
		panic(fmt.Sprintf("ops: matmul: inner dimensions of %v and %v differ", a, b))
	}
	if len(b) == 1 {
		return []int{a[0]}
	}
	return []int{a[0], b[1]}
}

// dims returns m, k, c (c = 1 for a vector right operand).
func mmDims(a, b []int) (m, k, c int) {
	m, k, c = a[0], a[1], 1
	if len(b) == 2 {
		c = b[1]
	}
	return
}

// matrix is a row-major Rows×Cols matrix of either dtype, as gemm takes it.
type matrix[T tensor.Float] struct {
	Rows, Cols int
	Data       []T
	Stride     int // between rows; 0 for Cols
}

// stride returns m's row stride.
func (m matrix[T]) stride() int {
	if m.Stride > 0 {
		return m.Stride
	}
	return max(m.Cols, 1)
}

// cols returns columns [lo, hi) of m, a view.
func (m matrix[T]) cols(lo, hi int) matrix[T] {
	return matrix[T]{Rows: m.Rows, Cols: hi - lo, Data: m.Data[lo:], Stride: m.stride()}
}

func general[T tensor.Float](d []T, r, c int) matrix[T] {
	return matrix[T]{Rows: r, Cols: c, Data: d}
}

// gemm computes dst = alpha·op(a)·op(b) + beta·dst on row-major matrices,
// through gonum's blas64 for float64 and blas32 for float32 (it panics for
// another element type). A one-column product (W·x, Wᵀ·c) goes through
// Gemv, which is several times faster than a general product with one
// column.
func gemm[T tensor.Float](ta, tb blas.Transpose, alpha T, a, b matrix[T], beta T, dst matrix[T]) {
	if dst.Rows == 0 || dst.Cols == 0 {
		return
	}
	inner := a.Cols
	if ta == blas.Trans {
		inner = a.Rows
	}
	if inner == 0 {
		if beta == 0 {
			clear(dst.Data[:dst.Rows*dst.Cols])
		}
		return
	}
	vec := dst.Cols == 1 && tb == blas.NoTrans && b.Cols == 1
	if ta == blas.NoTrans && tb == blas.Trans && dst.Stride == 0 {
		if parts := innerSplit(dst.Rows, dst.Cols, inner); parts > 1 {
			// a·bᵀ summed over a long inner dimension into a small
			// result (a weight's gradient, g·xᵀ over a batch): gonum
			// splits the result, one block here, so the sum is split
			// across the cores instead, each part into its own copy.
			gemmSplit(alpha, a, b, beta, dst, inner, parts)
			return
		}
	}
	if ta == blas.Trans && tb == blas.NoTrans && !vec && transposeFirst(a.Rows, a.Cols, dst.Cols) {
		// aᵀ·b with a small and b wide (a weight's transpose times a batch,
		// the VJP of W·X): gonum's Trans-NoTrans kernel runs 2-4× slower
		// than NoTrans-NoTrans on these shapes (BenchmarkGemmTransposed),
		// so a is transposed into scratch first.
		at := getScratch[T](a.Rows * a.Cols)
		cpu.Transpose(*at, a.Data[:a.Rows*a.Cols], a.Rows, a.Cols)
		gemm(blas.NoTrans, blas.NoTrans, alpha, matrix[T]{Rows: a.Cols, Cols: a.Rows, Data: *at}, b, beta, dst)
		putScratch(at)
		return
	}
	switch d := any(dst.Data).(type) {
	case []float64:
		ge := func(m matrix[T]) blas64.General {
			return blas64.General{Rows: m.Rows, Cols: m.Cols, Stride: m.stride(), Data: any(m.Data).([]float64)}
		}
		if vec {
			blas64.Gemv(ta, float64(alpha), ge(a), blas64.Vector{N: inner, Inc: 1, Data: any(b.Data).([]float64)},
				float64(beta), blas64.Vector{N: dst.Rows, Inc: 1, Data: d})
			return
		}
		blas64.Gemm(ta, tb, float64(alpha), ge(a), ge(b), float64(beta), ge(dst))
	case []float32:
		ge := func(m matrix[T]) blas32.General {
			return blas32.General{Rows: m.Rows, Cols: m.Cols, Stride: m.stride(), Data: any(m.Data).([]float32)}
		}
		if vec {
			blas32.Gemv(ta, float32(alpha), ge(a), blas32.Vector{N: inner, Inc: 1, Data: any(b.Data).([]float32)},
				float32(beta), blas32.Vector{N: dst.Rows, Inc: 1, Data: d})
			return
		}
		blas32.Gemm(ta, tb, float32(alpha), ge(a), ge(b), float32(beta), ge(dst))
	default:
		panic(fmt.Sprintf("ops: gemm: element type %T", dst.Data))
	}
}

// innerSplit returns how many parts gemm splits the inner dimension of an
// r×c result into: one per core when the result has at most 2¹² elements
// (one of gonum's blocks, or about) and every part at least 2²⁰
// multiply-adds; else 1.
func innerSplit(r, c, inner int) int {
	if r*c > 1<<12 {
		return 1
	}
	return max(1, min(runtime.GOMAXPROCS(0), r*c*inner/(1<<20)))
}

// gemmSplit is gemm's a·bᵀ with the inner dimension cut in parts: part 0
// into dst (with beta), the others into scratch copies added at the end.
func gemmSplit[T tensor.Float](alpha T, a, b matrix[T], beta T, dst matrix[T], inner, parts int) {
	n := dst.Rows * dst.Cols
	step := (inner + parts - 1) / parts
	bufs := make([]*[]T, parts)
	var wg sync.WaitGroup
	for p := 1; p < parts; p++ {
		lo, hi := p*step, min((p+1)*step, inner)
		bufs[p] = getScratch[T](n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Stride set: the parts are not split again.
			gemm(blas.NoTrans, blas.Trans, alpha, a.cols(lo, hi), b.cols(lo, hi), 0, matrix[T]{Rows: dst.Rows, Cols: dst.Cols, Data: *bufs[p], Stride: dst.stride()})
		}()
	}
	d0 := dst
	d0.Stride = dst.stride()
	gemm(blas.NoTrans, blas.Trans, alpha, a.cols(0, step), b.cols(0, step), beta, d0)
	wg.Wait()
	for p := 1; p < parts; p++ {
		addScaled(dst.Data[:n], 1, *bufs[p])
		putScratch(bufs[p])
	}
}

// transposeFirst reports whether gemm transposes the k×m matrix a before
// computing aᵀ·b with c columns: a of at least 64 and at most 2¹⁶
// elements (a scratch copy, no more), b at least 64 columns wide, so
// that the copy costs under 1/64 of the product.
func transposeFirst(k, m, c int) bool {
	n := k * m
	return n >= 64 && n <= 1<<16 && c >= 64 && k >= 4 && m >= 4
}

// scratch32 and scratch64 hold gemm's transposed copies between calls.
var scratch32, scratch64 sync.Pool

// getScratch returns a buffer of n elements from the pool of T.
func getScratch[T tensor.Float](n int) *[]T {
	pool := &scratch64
	if _, ok := any(T(0)).(float32); ok {
		pool = &scratch32
	}
	if p, ok := pool.Get().(*[]T); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]T, n)
	return &s
}

// putScratch hands a buffer of getScratch back.
func putScratch[T tensor.Float](p *[]T) {
	if _, ok := any(T(0)).(float32); ok {
		scratch32.Put(p)
	} else {
		scratch64.Put(p)
	}
}

// addScaled adds alpha·s into dst (floats.AddScaled, blas32.Axpy).
func addScaled[T tensor.Float](dst []T, alpha T, s []T) {
	switch d := any(dst).(type) {
	case []float64:
		floats.AddScaled(d, float64(alpha), any(s).([]float64))
	case []float32:
		blas32.Axpy(float32(alpha), blas32.Vector{N: len(s), Inc: 1, Data: any(s).([]float32)}, blas32.Vector{N: len(d), Inc: 1, Data: d})
	default:
		for i, v := range s {
			dst[i] += alpha * v
		}
	}
}

func (matMul) Forward(dst *tensor.Tensor, in []*tensor.Tensor) {
	m, k, c := mmDims(in[0].Shape(), in[1].Shape())
	gemm(blas.NoTrans, blas.NoTrans, 1, general(in[0].Data(), m, k), general(in[1].Data(), k, c), 0, general(dst.Data(), m, c))
}

func (matMul) JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
	matMulJVP(dst, in, t)
}

// JVP32 is JVP in float32 (blas32).
func (matMul) JVP32(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) {
	matMulJVP(dst, in, t)
}

// matMulJVP writes t_a·b + a·t_b into dst.
func matMulJVP[T tensor.Float](dst *tensor.Dense[T], in, t []*tensor.Dense[T]) {
	m, k, c := mmDims(in[0].Shape(), in[1].Shape())
	d := general(dst.Data(), m, c)
	var beta T
	if t[0] != nil {
		gemm(blas.NoTrans, blas.NoTrans, 1, general(t[0].Data(), m, k), general(in[1].Data(), k, c), 0, d)
		beta = 1
	}
	if t[1] != nil {
		if rows, ok := fewRows(t[1].Data(), k, c); ok {
			// A tangent of b with few nonzero rows (a seed of one feature
			// for every sample, as a batch lump's extraction and the
			// log-det gradient pass): a's columns at those rows alone.
			if beta == 0 {
				clear(dst.Data())
			}
			a, tb, dd := in[0].Data(), t[1].Data(), dst.Data()
			for i := range m {
				for _, r := range rows {
					if v := a[i*k+r]; v != 0 {
						addScaled(dd[i*c:(i+1)*c], v, tb[r*c:(r+1)*c])
					}
				}
			}
			return
		}
		gemm(blas.NoTrans, blas.NoTrans, 1, general(in[0].Data(), m, k), general(t[1].Data(), k, c), beta, d)
	}
}

// fewRows returns the nonzero rows of the k×c matrix t when there are at
// most a quarter of them (and t has more than one column), scanning no
// further than needed to find that there are more.
func fewRows[T tensor.Float](t []T, k, c int) ([]int, bool) {
	if c < 2 || k < 4 {
		return nil, false
	}
	limit := k / 4
	var rows []int
	for r := range k {
		for _, v := range t[r*c : (r+1)*c] {
			if v != 0 {
				if len(rows) == limit {
					return nil, false
				}
				rows = append(rows, r)
				break
			}
		}
	}
	return rows, true
}

func (matMul) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, cot *tensor.Tensor) {
	matMulVJP(dst, in, cot)
}

// VJP32 is VJP in float32 (blas32).
func (matMul) VJP32(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, cot *tensor.Tensor32) {
	matMulVJP(dst, in, cot)
}

// matMulVJP adds cot·bᵀ into dst[0] and aᵀ·cot into dst[1].
func matMulVJP[T tensor.Float](dst, in []*tensor.Dense[T], cot *tensor.Dense[T]) {
	m, k, c := mmDims(in[0].Shape(), in[1].Shape())
	g := general(cot.Data(), m, c)
	if dst[0] != nil { // ga += g bᵀ
		gemm(blas.NoTrans, blas.Trans, 1, g, general(in[1].Data(), k, c), 1, general(dst[0].Data(), m, k))
	}
	if dst[1] != nil { // gb += aᵀ g
		gemm(blas.Trans, blas.NoTrans, 1, general(in[0].Data(), m, k), g, 1, general(dst[1].Data(), k, c))
	}
}

// SecondVJP: the JVP t_a·b + a·t_b is bilinear, so the derivative of
// ⟨c, t_a·b + a·t_b⟩ adds c·t_bᵀ into dst[0] and t_aᵀ·c into dst[1] (VJP
// with each operand replaced by the other's tangent; a vector b's tangent
// is a k×1 matrix, c an m×1 one).
func (matMul) SecondVJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor, cot *tensor.Tensor) {
	m, k, c := mmDims(in[0].Shape(), in[1].Shape())
	g := general(cot.Data(), m, c)
	if dst[0] != nil && t[1] != nil { // ga += g t_bᵀ
		if rows, ok := fewRows(t[1].Data(), k, c); ok { // only those columns of ga
			gd, tb, da := cot.Data(), t[1].Data(), dst[0].Data()
			for i := range m {
				for _, r := range rows {
					da[i*k+r] += floats.Dot(gd[i*c:(i+1)*c], tb[r*c:(r+1)*c])
				}
			}
		} else {
			gemm(blas.NoTrans, blas.Trans, 1, g, general(t[1].Data(), k, c), 1, general(dst[0].Data(), m, k))
		}
	}
	if dst[1] != nil && t[0] != nil { // gb += t_aᵀ g
		gemm(blas.Trans, blas.NoTrans, 1, general(t[0].Data(), m, k), g, 1, general(dst[1].Data(), k, c))
	}
}

// Structure: with respect to a, out's row i reads a's row i alone, so the
// block is block-diagonal over the m rows, every block bᵀ (shared). With
// respect to b it is a ⊗ I_c (Kron): each of the c columns of out reads
// the same column of b alone, dense for one column.
func (matMul) Structure(i int, in [][]int, varying []bool) tape.Structure {
	m, _, c := mmDims(in[0], in[1])
	s := tape.Structure{Rows: m * c, Cols: tensor.SizeOf(in[i]), Constant: !varying[1-i]}
	switch {
	case !varying[i]:
		s.Kind, s.Constant = tape.Zero, false
	case i == 0 && m > 1:
		s.Kind, s.Blocks, s.Shared = tape.BlockDiagonal, m, true
	case i == 1 && c > 1:
		s.Kind, s.Inner = tape.Kron, c
	default:
		s.Kind = tape.Dense
	}
	return s
}

// FactorBytes: the LU of the other operand W (k×k), and its copy.
func (matMul) FactorBytes(p int, in [][]int) int64 {
	k := int64(in[1-p][0])
	return 2 * 8 * k * k
}

// Inverse with respect to a (needs k = c): every row x of a solves
// x·b = v with one LU of b. With respect to b (needs m = k): a·X = V with one
// LU of a for all c columns.
func (matMul) Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
	m, k, c := mmDims(in[0].Shape(), in[1].Shape())
	if (p == 0 && k != c) || (p == 1 && m != k) {
		return nil, notSquare("matmul", p, [][]int{in[0].Shape(), in[1].Shape()}, out.Shape())
	}
	lu, err := MatMulLU(p, in[1-p])
	if err != nil {
		return nil, err
	}
	if p == 0 {
		return &kronLeftFactor{lu: lu, rows: m}, nil
	}
	return &kronRightFactor{lu: lu, times: c}, nil
}

// MatMulLU factorizes w, the square operand of a matrix product whose
// Jacobian block is taken against the other input p, as MatMul's inverse
// rule does: w's LU, or a *tape.SingularError naming matmul and input p.
// The block's log|det| is (elements of input p / w's order)·log|det w|.
// Backends that solve with w elsewhere (the CUDA backend) use it for the
// same LU and errors.
func MatMulLU(p int, w *tensor.Tensor) (*cpu.LU, error) {
	lu, sing := cpu.FactorLU(w.Data(), w.Shape()[0])
	if sing != nil {
		return nil, luSingular("matmul", p, sing)
	}
	return lu, nil
}
