package ops

import (
	"fmt"
	"math"
	"sync"

	"github.com/invad/invad/cpu"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

var errNotSquare = tape.ErrNotSquare

// diagFactor inverts a diagonal block by reciprocals.
type diagFactor struct {
	inv    []float64
	logdet float64
}

// DiagFactor is the factor of the diagonal block diag(d) of op's input p,
// as the elementwise ops' inverse rules build it: it keeps d, overwritten
// with its reciprocals, and log|det|. A zero or non-finite entry (or one
// whose reciprocal overflows) is a *tape.SingularError naming op, input p
// and the first such index. Backends that hold d elsewhere (the CUDA
// backend downloads it) use it for the same log|det| and the same errors.
func DiagFactor(op string, p int, d []float64) (tape.Factor, error) { return newDiagFactor(op, p, d) }

// newDiagFactor builds the factor of diag(d), overwriting d with the
// reciprocals. A zero or non-finite entry is a *tape.SingularError naming op
// and input p (the first such index).
func newDiagFactor(op string, p int, d []float64) (tape.Factor, error) {
	type part struct {
		bad    int // first bad index in the chunk, -1 if none
		logdet float64
	}
	var parts []part
	var mu sync.Mutex
	cpu.For(len(d), func(lo, hi int) {
		pt := part{}
		pt.logdet, pt.bad = recipLogAbs(d[lo:hi])
		if pt.bad >= 0 {
			pt.bad += lo
		}
		mu.Lock()
		parts = append(parts, pt)
		mu.Unlock()
	})
	f := &diagFactor{inv: d}
	bad := -1
	for _, pt := range parts {
		if pt.bad >= 0 && (bad < 0 || pt.bad < bad) {
			bad = pt.bad
		}
		f.logdet += pt.logdet
	}
	if bad >= 0 {
		v := d[bad]
		why := "zero derivative"
		switch {
		case v-v != 0:
			why = "non-finite derivative"
		case v != 0:
			why = "derivative too small to invert (its reciprocal overflows)"
		}
		return nil, &tape.SingularError{Op: op, Pos: -1, Input: p, Index: bad, Pivot: v, Why: why}
	}
	return f, nil
}

// recipLogAbs overwrites d with its reciprocals and returns log|Π d|, or
// stops at the first entry that is zero, NaN, ±Inf or whose reciprocal
// overflows and returns its index (else -1). It takes no logarithm per
// entry: the product is kept as four mantissas (in [1, 2) after each
// renormalization) and a sum of binary exponents, four entries at a time
// while they are normal numbers, one at a time (with math.Frexp) otherwise.
func recipLogAbs(d []float64) (logdet float64, bad int) {
	const mant = 1<<52 - 1
	one := func(b uint64) float64 { return math.Float64frombits(b&mant | 1023<<52) } // mantissa of b in [1, 2)
	m := [4]float64{1, 1, 1, 1}
	exp, steps := 0, 0
	renorm := func() {
		for j, x := range m {
			b := math.Float64bits(x)
			exp += int(b>>52&0x7ff) - 1023
			m[j] = one(b)
		}
	}
	for i := 0; i < len(d); {
		// Products of 64 steps of four factors in [0.5, 2) stay normal.
		if steps++; steps == 64 {
			renorm()
			steps = 0
		}
		if i+4 <= len(d) {
			q := (*[4]float64)(d[i:])
			b0, b1, b2, b3 := math.Float64bits(q[0]), math.Float64bits(q[1]), math.Float64bits(q[2]), math.Float64bits(q[3])
			e0, e1, e2, e3 := int(b0>>52&0x7ff), int(b1>>52&0x7ff), int(b2>>52&0x7ff), int(b3>>52&0x7ff)
			// Normal numbers (exponent field neither 0 nor 0x7ff): their
			// reciprocals are finite and non-zero.
			if uint(e0-1) < 0x7fe && uint(e1-1) < 0x7fe && uint(e2-1) < 0x7fe && uint(e3-1) < 0x7fe {
				q[0], q[1], q[2], q[3] = 1/q[0], 1/q[1], 1/q[2], 1/q[3]
				exp += e0 + e1 + e2 + e3 - 4*1023
				m[0] *= one(b0)
				m[1] *= one(b1)
				m[2] *= one(b2)
				m[3] *= one(b3)
				i += 4
				continue
			}
		}
		v := d[i]
		r := 1 / v
		if v-v != 0 || r-r != 0 { // NaN or ±Inf, or a reciprocal that overflows (zero, subnormal)
			return 0, i
		}
		fr, e := math.Frexp(v)
		m[0] *= math.Abs(fr)
		exp += e
		d[i] = r
		i++
	}
	renorm()
	return math.Log(m[0]*m[1]) + math.Log(m[2]*m[3]) + float64(exp)*math.Ln2, -1
}

func (f *diagFactor) Size() int          { return len(f.inv) }
func (f *diagFactor) Describe() string   { return "reciprocals (diagonal)" }
func (f *diagFactor) LogAbsDet() float64 { return f.logdet }
func (f *diagFactor) Solve(dst, v []float64) {
	checkLen(len(f.inv), dst, v)
	inv := f.inv
	cpu.For(len(inv), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dst[i] = v[i] * inv[i]
		}
	})
}
func (f *diagFactor) SolveT(dst, v []float64) { f.Solve(dst, v) }

// LogAbsDetParts adds each element's log|d| to its group (inv holds 1/d):
// per group the product of its |1/d| as a mantissa and a power of two,
// renormalized before it could leave the normal range, and one log per
// group at the end rather than one per element.
func (f *diagFactor) LogAbsDetParts(dst []float64, group func(int) int) bool {
	const lo, hi = 0x1p-400, 0x1p400 // |1/d| within: a product within 2^±600 stays normal
	m := make([]float64, len(dst))
	e := make([]int, len(dst))
	for g := range m {
		m[g] = 1
	}
	for i, r := range f.inv {
		g := group(i)
		r = math.Abs(r)
		if r < lo || r > hi {
			fr, ex := math.Frexp(r)
			r, e[g] = fr, e[g]+ex
		}
		p := m[g] * r
		if p < 0x1p-600 || p > 0x1p600 {
			fr, ex := math.Frexp(p)
			p, e[g] = fr, e[g]+ex
		}
		m[g] = p
	}
	for g, p := range m {
		if p != 1 || e[g] != 0 {
			dst[g] -= math.Log(p) + float64(e[g])*math.Ln2
		}
	}
	return true
}

func checkLen[T tensor.Float](n int, dst, v []T) {
	if len(dst) != n || len(v) != n {
		panic(fmt.Sprintf("ops: solve with a block of order %d given %d and %d elements", n, len(v), len(dst)))
	}
}

// identityFactor is the factor of I.
type identityFactor int

func (f identityFactor) Size() int          { return int(f) }
func (f identityFactor) Describe() string   { return "identity" }
func (f identityFactor) LogAbsDet() float64 { return 0 }
func (f identityFactor) Solve(dst, v []float64) {
	checkLen(int(f), dst, v)
	copy(dst, v)
}
func (f identityFactor) SolveT(dst, v []float64) { f.Solve(dst, v) }

// LogAbsDetParts: every group's part is 0.
func (f identityFactor) LogAbsDetParts(dst []float64, group func(int) int) bool { return true }

// kronRightFactor is the block of X ↦ M X for a k×times input X and a k×k
// matrix M: A = M ⊗ I_times. One LU of M solves for all columns at once.
type kronRightFactor struct {
	lu    *cpu.LU
	times int
}

func (f *kronRightFactor) Size() int { return f.lu.Size() * f.times }
func (f *kronRightFactor) Describe() string {
	return fmt.Sprintf("LU of the %d×%d left factor, once for %d columns (rcond %.2g)", f.lu.Size(), f.lu.Size(), f.times, f.lu.RCond())
}
func (f *kronRightFactor) LogAbsDet() float64 { return float64(f.times) * f.lu.LogAbsDet() }

// LogAbsDetParts: column j of X is one block M; every element of it must
// be in one group.
func (f *kronRightFactor) LogAbsDetParts(dst []float64, group func(int) int) bool {
	k, c := f.lu.Size(), f.times
	for j := 0; j < c; j++ {
		for r := 1; r < k; r++ {
			if group(r*c+j) != group(j) {
				return false
			}
		}
	}
	ld := f.lu.LogAbsDet()
	for j := 0; j < c; j++ {
		dst[group(j)] += ld
	}
	return true
}

func (f *kronRightFactor) Solve(dst, v []float64) {
	checkLen(f.Size(), dst, v)
	f.lu.SolveMany(dst, v, f.times)
}
func (f *kronRightFactor) SolveT(dst, v []float64) {
	checkLen(f.Size(), dst, v)
	f.lu.SolveTMany(dst, v, f.times)
}

// kronLeftFactor is the block of X ↦ X M for an m×k input X and a k×k
// matrix M: A = I_m ⊗ Mᵀ. The same LU of M serves every row.
type kronLeftFactor struct {
	lu   *cpu.LU
	rows int
	pool sync.Pool
}

func (f *kronLeftFactor) Size() int { return f.lu.Size() * f.rows }
func (f *kronLeftFactor) Describe() string {
	return fmt.Sprintf("LU of the %d×%d right factor, once for %d rows (rcond %.2g)", f.lu.Size(), f.lu.Size(), f.rows, f.lu.RCond())
}
func (f *kronLeftFactor) LogAbsDet() float64 { return float64(f.rows) * f.lu.LogAbsDet() }

// LogAbsDetParts: row i of X is one block Mᵀ; every element of it must be
// in one group.
func (f *kronLeftFactor) LogAbsDetParts(dst []float64, group func(int) int) bool {
	k, m := f.lu.Size(), f.rows
	for i := 0; i < m; i++ {
		for t := 1; t < k; t++ {
			if group(i*k+t) != group(i*k) {
				return false
			}
		}
	}
	ld := f.lu.LogAbsDet()
	for i := 0; i < m; i++ {
		dst[group(i*k)] += ld
	}
	return true
}

// Solve: each row x of the input solves x M = v, that is Mᵀ xᵀ = vᵀ.
func (f *kronLeftFactor) Solve(dst, v []float64) { f.solve(dst, v, true) }

// SolveT: each row solves M z = c.
func (f *kronLeftFactor) SolveT(dst, v []float64) { f.solve(dst, v, false) }

func (f *kronLeftFactor) solve(dst, v []float64, trans bool) {
	checkLen(f.Size(), dst, v)
	k, m := f.lu.Size(), f.rows
	bufp, _ := f.pool.Get().(*[]float64)
	if bufp == nil || len(*bufp) < k*m {
		b := make([]float64, k*m)
		bufp = &b
	}
	buf := (*bufp)[:k*m]
	cpu.Transpose(buf, v, m, k)
	if trans {
		f.lu.SolveTMany(buf, buf, m)
	} else {
		f.lu.SolveMany(buf, buf, m)
	}
	cpu.Transpose(dst, buf, k, m)
	f.pool.Put(bufp)
}

// cumsumFactor inverts the running sum along axis 0 of a rows×inner value.
type cumsumFactor struct{ rows, inner int }

func (f cumsumFactor) Size() int          { return f.rows * f.inner }
func (f cumsumFactor) Describe() string   { return "differences (unit lower triangular, O(n))" }
func (f cumsumFactor) LogAbsDet() float64 { return 0 }

// Solve: x[i] = y[i] - y[i-1], from the last row down so dst may alias v.
func (f cumsumFactor) Solve(dst, v []float64) {
	checkLen(f.Size(), dst, v)
	cumsumDiff(dst, v, f.rows, f.inner)
}

// SolveT: x[i] = v[i] - v[i+1], from the first row up so dst may alias v.
func (f cumsumFactor) SolveT(dst, v []float64) {
	checkLen(f.Size(), dst, v)
	cumsumDiffT(dst, v, f.rows, f.inner)
}

// cumsumDiff writes the differences of consecutive rows of v (rows of c)
// into dst, the first row as it is: the inverse of a running sum along
// axis 0. dst may alias v.
func cumsumDiff[T tensor.Float](dst, v []T, rows, c int) {
	for i := rows - 1; i >= 1; i-- {
		for j := 0; j < c; j++ {
			dst[i*c+j] = v[i*c+j] - v[(i-1)*c+j]
		}
	}
	copy(dst[:min(c, len(dst))], v[:min(c, len(v))])
}

// cumsumDiffT is cumsumDiff transposed: each row minus the next, the last
// as it is. dst may alias v.
func cumsumDiffT[T tensor.Float](dst, v []T, rows, c int) {
	for i := 0; i < rows-1; i++ {
		for j := 0; j < c; j++ {
			dst[i*c+j] = v[i*c+j] - v[(i+1)*c+j]
		}
	}
	if rows > 0 {
		last := (rows - 1) * c
		copy(dst[last:], v[last:])
	}
}

// luSingular turns a cpu.Singular into a *tape.SingularError.
func luSingular(op string, p int, s *cpu.Singular) error {
	return &tape.SingularError{Op: op, Pos: -1, Input: p, Index: s.Index, Pivot: s.Pivot, Why: s.Why}
}
