package ops

import (
	"fmt"

	"github.com/invad/invad/cpu"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Binary is an elementwise binary op declared by f, its two partial
// derivatives and its three second partials. Operands broadcast as in NumPy (see the package
// documentation's Broadcasting section): same shapes, a rank-0 operand, or
// shapes aligned on their last axes whose sizes are equal or 1 along each
// axis.
type Binary struct {
	name string
	f    func(a, b float64) float64
	// d[0] = ∂f/∂a, d[1] = ∂f/∂b, given a, b and y = f(a, b).
	d [2]func(a, b, y float64) float64
	// d2 = ∂²f/∂a², ∂²f/∂a∂b, ∂²f/∂b², given a, b and y; nil is
	// identically zero. The second-order rule of operand k reads d2[k]
	// (against a's tangent) and d2[k+1] (against b's).
	d2 [3]func(a, b, y float64) float64
	// deps[i] says which operands ∂f/∂(input i) reads: bit 0 a, bit 1 b.
	// A partial that reads no varying operand is a constant block.
	deps [2]uint8
	// kind selects hand-written loops for same-shape operands (the rules
	// above stay the definition; the loops compute the same thing without
	// a function call per element).
	kind binKind
}

type binKind uint8

const (
	binGeneric binKind = iota
	binAdd
	binSub
	binMul
)

// Name returns the op's name.
func (o *Binary) Name() string { return o.name }

// Shape returns the shape the operands broadcast to. It panics with
// "ops: add: shapes [2 3] and [4] do not broadcast" (the op's name and the
// shapes) for shapes that do not broadcast, and for other than two inputs.
func (o *Binary) Shape(in [][]int) []int {
	arity(o.name, in, 2)
	a, b := in[0], in[1]
	if tensor.SameShape(a, b) {
		return append([]int(nil), a...)
	}
	out, ok := broadcastShape(a, b)
	if !ok {
		panic(fmt.Sprintf("ops: %s: shapes %v and %v do not broadcast", o.name, a, b))
	}
	return out
}

// simple reports whether operands of na and nb elements read as the loops
// with at do for n outputs: each full (n elements, read at the output's
// index) or of one element. Any other operand is broadcast along some axes
// and read through a stridePlan.
func simple(n, na, nb int) bool {
	return (na == n || na == 1) && (nb == n || nb == 1)
}

// at returns element i of s, broadcasting a one-element operand.
func at[T tensor.Float](s []T, i int) T {
	if len(s) == 1 {
		return s[0]
	}
	return s[i]
}

// Forward computes f(a, b).
func (o *Binary) Forward(dst *tensor.Tensor, in []*tensor.Tensor) {
	d, a, b := dst.Data(), in[0].Data(), in[1].Data()
	f := o.f
	if !simple(len(d), len(a), len(b)) {
		p := newBcastPlan(dst.Shape(), in[0].Shape(), in[1].Shape())
		sa, sb := p.inner()
		cpu.For(len(d), func(lo, hi int) {
			p.runs(lo, hi, func(i, ia, ib, m int) { o.run(d[i:i+m], a[ia:], sa, b[ib:], sb) })
		})
		return
	}
	cpu.For(len(d), func(lo, hi int) {
		switch {
		case o.kind != binGeneric && len(a) == len(d) && len(b) == len(d):
			a, b, d := a[lo:hi], b[lo:hi], d[lo:hi]
			switch o.kind {
			case binAdd:
				for i := range d {
					d[i] = a[i] + b[i]
				}
			case binSub:
				for i := range d {
					d[i] = a[i] - b[i]
				}
			case binMul:
				for i := range d {
					d[i] = a[i] * b[i]
				}
			}
		case len(a) == len(d) && len(b) == len(d):
			for i := lo; i < hi; i++ {
				d[i] = f(a[i], b[i])
			}
		default:
			for i := lo; i < hi; i++ {
				d[i] = f(at(a, i), at(b, i))
			}
		}
	})
}

// run writes f(a[j·sa], b[j·sb]) into d[j] for every j.
func (o *Binary) run(d, a []float64, sa int, b []float64, sb int) {
	switch o.kind {
	case binAdd:
		for j := range d {
			d[j] = a[j*sa] + b[j*sb]
		}
	case binSub:
		for j := range d {
			d[j] = a[j*sa] - b[j*sb]
		}
	case binMul:
		for j := range d {
			d[j] = a[j*sa] * b[j*sb]
		}
	default:
		for j := range d {
			d[j] = o.f(a[j*sa], b[j*sb])
		}
	}
}

// JVP computes ∂f/∂a ta + ∂f/∂b tb; a tangent is read as its operand is.
func (o *Binary) JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
	binaryJVP(o, dst, in, out, t)
}

// VJP adds ∂f/∂a c into dst[0] and ∂f/∂b c into dst[1]; a broadcast
// operand receives the sum over the axes it is broadcast along.
func (o *Binary) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
	binaryVJP(o, dst, in, out, c)
}

// JVP32 is JVP in float32: the partials are evaluated in float64 at the
// float32 values and rounded.
func (o *Binary) JVP32(dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) {
	binaryJVP(o, dst, in, out, t)
}

// VJP32 is VJP in float32; a broadcast operand's sums accumulate in
// float32.
func (o *Binary) VJP32(dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
	binaryVJP(o, dst, in, out, c)
}

// binaryJVP is Binary.JVP for either dtype.
func binaryJVP[T tensor.Float](o *Binary, dst *tensor.Dense[T], in []*tensor.Dense[T], out *tensor.Dense[T], t []*tensor.Dense[T]) {
	d, a, b, y := dst.Data(), in[0].Data(), in[1].Data(), out.Data()
	var ta, tb []T
	if t[0] != nil {
		ta = t[0].Data()
	}
	if t[1] != nil {
		tb = t[1].Data()
	}
	if !simple(len(d), len(a), len(b)) {
		jvpPlan(o, d, a, b, y, ta, tb, newBcastPlan(dst.Shape(), in[0].Shape(), in[1].Shape()))
		return
	}
	if o.kind != binGeneric && len(a) == len(d) && len(b) == len(d) && (ta == nil || len(ta) == len(d)) && (tb == nil || len(tb) == len(d)) {
		jvpSame(o, d, a, b, ta, tb)
		return
	}
	da, db := o.d[0], o.d[1]
	cpu.For(len(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ai, bi, yi := float64(at(a, i)), float64(at(b, i)), float64(y[i])
			var s T
			if ta != nil {
				s = T(da(ai, bi, yi)) * at(ta, i)
			}
			if tb != nil {
				s += T(db(ai, bi, yi)) * at(tb, i)
			}
			d[i] = s
		}
	})
}

// jvpPlan is JVP for operands broadcast along some axes.
func jvpPlan[T tensor.Float](o *Binary, d, a, b, y, ta, tb []T, p *stridePlan) {
	if o.kind != binGeneric {
		jvpPlanLinear(o.kind, d, a, b, ta, tb, p)
		return
	}
	da, db := o.d[0], o.d[1]
	sa, sb := p.inner()
	cpu.For(len(d), func(lo, hi int) {
		p.runs(lo, hi, func(i, ia, ib, m int) {
			for j := 0; j < m; j++ {
				ja, jb := ia+j*sa, ib+j*sb
				aj, bj, yj := float64(a[ja]), float64(b[jb]), float64(y[i+j])
				var s T
				if ta != nil {
					s = T(da(aj, bj, yj)) * ta[ja]
				}
				if tb != nil {
					s += T(db(aj, bj, yj)) * tb[jb]
				}
				d[i+j] = s
			}
		})
	})
}

// jvpPlanLinear is jvpPlan for Add, Sub and Mul, whose partials need no
// call per element: each run of the plan is a copy, a sum or a product
// (the JVP of a broadcast bias, X + b with b constant, is a copy of the
// tangent).
func jvpPlanLinear[T tensor.Float](k binKind, d, a, b, ta, tb []T, p *stridePlan) {
	sa, sb := p.inner()
	cpu.For(len(d), func(lo, hi int) {
		p.runs(lo, hi, func(i, ia, ib, m int) {
			dd := d[i : i+m]
			switch {
			case ta == nil:
				clear(dd)
			case k == binMul:
				for j := range dd {
					dd[j] = ta[ia+j*sa] * b[ib+j*sb]
				}
			case sa == 1:
				copy(dd, ta[ia:ia+m])
			default:
				for j := range dd {
					dd[j] = ta[ia+j*sa]
				}
			}
			if tb == nil {
				return
			}
			switch k {
			case binAdd:
				for j := range dd {
					dd[j] += tb[ib+j*sb]
				}
			case binSub:
				for j := range dd {
					dd[j] -= tb[ib+j*sb]
				}
			case binMul:
				for j := range dd {
					dd[j] += a[ia+j*sa] * tb[ib+j*sb]
				}
			}
		})
	})
}

// jvpSame is JVP for same-shape Add, Sub and Mul.
func jvpSame[T tensor.Float](o *Binary, d, a, b, ta, tb []T) {
	cpu.For(len(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			var s T
			switch o.kind {
			case binAdd:
				if ta != nil {
					s = ta[i]
				}
				if tb != nil {
					s += tb[i]
				}
			case binSub:
				if ta != nil {
					s = ta[i]
				}
				if tb != nil {
					s -= tb[i]
				}
			case binMul:
				if ta != nil {
					s = ta[i] * b[i]
				}
				if tb != nil {
					s += a[i] * tb[i]
				}
			}
			d[i] = s
		}
	})
}

// binaryVJP is Binary.VJP for either dtype.
func binaryVJP[T tensor.Float](o *Binary, dst []*tensor.Dense[T], in []*tensor.Dense[T], out *tensor.Dense[T], c *tensor.Dense[T]) {
	a, b, y, cs := in[0].Data(), in[1].Data(), out.Data(), c.Data()
	if !simple(len(cs), len(a), len(b)) {
		p := newBcastPlan(out.Shape(), in[0].Shape(), in[1].Shape())
		for k := 0; k < 2; k++ {
			if dst[k] != nil {
				vjpPlan(o, k, dst[k].Data(), a, b, y, cs, p)
			}
		}
		return
	}
	for k := 0; k < 2; k++ {
		if dst[k] == nil {
			continue
		}
		g, dk := dst[k].Data(), o.d[k]
		if o.kind != binGeneric && len(g) == len(cs) && len(a) == len(cs) && len(b) == len(cs) {
			other := b // ∂(a·b)/∂a = b
			if k == 1 {
				other = a
			}
			neg := o.kind == binSub && k == 1
			kind := o.kind
			cpu.For(len(cs), func(lo, hi int) {
				g, cs, other := g[lo:hi], cs[lo:hi], other[lo:hi]
				switch {
				case kind == binMul:
					for i, c := range cs {
						g[i] += c * other[i]
					}
				case neg:
					for i, c := range cs {
						g[i] -= c
					}
				default:
					for i, c := range cs {
						g[i] += c
					}
				}
			})
			continue
		}
		if len(g) == len(cs) {
			cpu.For(len(cs), func(lo, hi int) {
				for i := lo; i < hi; i++ {
					g[i] += T(dk(float64(at(a, i)), float64(at(b, i)), float64(y[i]))) * cs[i]
				}
			})
			continue
		}
		var s T
		for i := range cs {
			s += T(dk(float64(at(a, i)), float64(at(b, i)), float64(y[i]))) * cs[i]
		}
		g[0] += s
	}
}

// vjpPlan adds ∂f/∂(input k)ᵀ c into g for operands broadcast along some
// axes. A full g is written in parallel; a broadcast one collects its sums
// in a scratch vector, in output order, then adds them to g.
func vjpPlan[T tensor.Float](o *Binary, k int, g, a, b, y, cs []T, p *stridePlan) {
	if o.kind != binGeneric {
		vjpPlanLinear(o.kind, k, g, a, b, cs, p)
		return
	}
	dk := o.d[k]
	sa, sb := p.inner()
	if len(g) == len(cs) {
		cpu.For(len(cs), func(lo, hi int) {
			p.runs(lo, hi, func(i, ia, ib, m int) {
				for j := 0; j < m; j++ {
					g[i+j] += T(dk(float64(a[ia+j*sa]), float64(b[ib+j*sb]), float64(y[i+j]))) * cs[i+j]
				}
			})
		})
		return
	}
	acc := make([]T, len(g))
	p.runs(0, len(cs), func(i, ia, ib, m int) {
		at, st := ia, sa
		if k == 1 {
			at, st = ib, sb
		}
		for j := 0; j < m; j++ {
			acc[at+j*st] += T(dk(float64(a[ia+j*sa]), float64(b[ib+j*sb]), float64(y[i+j]))) * cs[i+j]
		}
	})
	addTo(g, acc)
}

// vjpPlanLinear is vjpPlan for Add, Sub and Mul: the partial with respect
// to operand k is ±1 or the other operand, read without a call per
// element (the VJP of a broadcast bias sums the cotangent's rows).
func vjpPlanLinear[T tensor.Float](kind binKind, k int, g, a, b, cs []T, p *stridePlan) {
	sa, sb := p.inner()
	// The other operand, whose elements are Mul's partial.
	oth, othS := b, sb
	if k == 1 {
		oth, othS = a, sa
	}
	sign := T(1)
	if kind == binSub && k == 1 {
		sign = -1
	}
	run := func(dst []T, at, st int, c []T, ot int) {
		switch {
		case kind == binMul:
			for j, v := range c {
				dst[at+j*st] += oth[ot+j*othS] * v
			}
		case sign < 0:
			for j, v := range c {
				dst[at+j*st] -= v
			}
		default:
			for j, v := range c {
				dst[at+j*st] += v
			}
		}
	}
	split := func(ia, ib int) (at, st, ot int) {
		if k == 1 {
			return ib, sb, ia
		}
		return ia, sa, ib
	}
	if len(g) == len(cs) {
		cpu.For(len(cs), func(lo, hi int) {
			p.runs(lo, hi, func(i, ia, ib, m int) {
				_, _, ot := split(ia, ib)
				run(g, i, 1, cs[i:i+m], ot)
			})
		})
		return
	}
	acc := make([]T, len(g))
	p.runs(0, len(cs), func(i, ia, ib, m int) {
		at, st, ot := split(ia, ib)
		run(acc, at, st, cs[i:i+m], ot)
	})
	addTo(g, acc)
}

// Linear reports whether the op has no second derivative (Add, Sub:
// tape.Linear).
func (o *Binary) Linear() bool { return o.d2[0] == nil && o.d2[1] == nil && o.d2[2] == nil }

// SecondVJP adds into dst[k], for each operand k (a, b), the derivative
// of ⟨c, ∂f/∂a t_a + ∂f/∂b t_b⟩ with respect to it:
// c ⊙ (∂²f/∂k∂a t_a + ∂²f/∂k∂b t_b), summed over the axes the operand is
// broadcast along as VJP sums. Mul adds c ⊙ t_b to a and c ⊙ t_a to b; Div
// adds -c ⊙ t_b/b² to a and -c ⊙ t_a/b² + 2c ⊙ a ⊙ t_b/b³ to b; Add and Sub,
// linear, add nothing.
func (o *Binary) SecondVJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor, c *tensor.Tensor) {
	if o.Linear() {
		return // the JVP reads no operand
	}
	a, b, y, cs := in[0].Data(), in[1].Data(), out.Data(), c.Data()
	var ta, tb []float64
	if t[0] != nil {
		ta = t[0].Data()
	}
	if t[1] != nil {
		tb = t[1].Data()
	}
	if !simple(len(cs), len(a), len(b)) {
		p := newBcastPlan(out.Shape(), in[0].Shape(), in[1].Shape())
		for k := 0; k < 2; k++ {
			if dst[k] != nil {
				o.secondPlan(k, dst[k].Data(), a, b, y, ta, tb, cs, p)
			}
		}
		return
	}
	for k := 0; k < 2; k++ {
		if dst[k] == nil {
			continue
		}
		g := dst[k].Data()
		if o.kind == binMul && len(g) == len(cs) && len(a) == len(cs) && len(b) == len(cs) {
			other := tb // ∂²(a·b)/∂a∂b = 1: a receives c ⊙ t_b
			if k == 1 {
				other = ta
			}
			if other == nil {
				continue
			}
			cpu.For(len(cs), func(lo, hi int) {
				g, cs, other := g[lo:hi], cs[lo:hi], other[lo:hi]
				for i, c := range cs {
					g[i] += c * other[i]
				}
			})
			continue
		}
		h := o.hessRow(k, ta, tb)
		if len(g) == len(cs) {
			cpu.For(len(cs), func(lo, hi int) {
				for i := lo; i < hi; i++ {
					g[i] += h(at(a, i), at(b, i), y[i], i, i) * cs[i]
				}
			})
			continue
		}
		s := 0.0
		for i := range cs {
			s += h(at(a, i), at(b, i), y[i], i, i) * cs[i]
		}
		g[0] += s
	}
}

// hessRow returns the function giving, at one output element, row k of
// the Hessian of f applied to the tangents: ∂²f/∂k∂a t_a[ja] +
// ∂²f/∂k∂b t_b[jb] (a nil tangent or a nil second partial is zero). ja and
// jb are the operands' indices; a one-element tangent is read at 0.
func (o *Binary) hessRow(k int, ta, tb []float64) func(a, b, y float64, ja, jb int) float64 {
	ha, hb := o.d2[k], o.d2[k+1]
	if ta == nil {
		ha = nil
	}
	if tb == nil {
		hb = nil
	}
	return func(a, b, y float64, ja, jb int) float64 {
		s := 0.0
		if ha != nil {
			s = ha(a, b, y) * at(ta, ja)
		}
		if hb != nil {
			s += hb(a, b, y) * at(tb, jb)
		}
		return s
	}
}

// secondPlan adds row k of SecondVJP into g for operands broadcast along
// some axes, as vjpPlan adds the first-order one.
func (o *Binary) secondPlan(k int, g, a, b, y, ta, tb, cs []float64, p *stridePlan) {
	h := o.hessRow(k, ta, tb)
	sa, sb := p.inner()
	if len(g) == len(cs) {
		cpu.For(len(cs), func(lo, hi int) {
			p.runs(lo, hi, func(i, ia, ib, m int) {
				for j := 0; j < m; j++ {
					ja, jb := ia+j*sa, ib+j*sb
					g[i+j] += h(a[ja], b[jb], y[i+j], ja, jb) * cs[i+j]
				}
			})
		})
		return
	}
	acc := make([]float64, len(g))
	p.runs(0, len(cs), func(i, ia, ib, m int) {
		at, st := ia, sa
		if k == 1 {
			at, st = ib, sb
		}
		for j := 0; j < m; j++ {
			ja, jb := ia+j*sa, ib+j*sb
			acc[at+j*st] += h(a[ja], b[jb], y[i+j], ja, jb) * cs[i+j]
		}
	})
	addTo(g, acc)
}

// Structure: with respect to an operand of the output's shape the block is
// diagonal (constant where the partial reads no varying operand: Add, Sub,
// Mul by a constant). With respect to a broadcast operand (fewer elements
// than the output) it is dense, Rows = output size, Cols = the operand's
// size: each of its elements feeds every output along the broadcast axes,
// so a broadcast operand that depends on the program's input couples those
// outputs (a bias b in X + b ties every row of the batch to b).
func (o *Binary) Structure(i int, in [][]int, varying []bool) tape.Structure {
	sz := sizes(in)
	rows := tensor.SizeOf(o.Shape(in))
	s := tape.Structure{Rows: rows, Cols: sz[i]}
	if !varying[i] {
		s.Kind = tape.Zero
		return s
	}
	s.Constant = true
	for j := 0; j < 2; j++ {
		if o.deps[i]&(1<<j) != 0 && varying[j] {
			s.Constant = false
		}
	}
	if sz[i] == rows {
		s.Kind = tape.Diagonal
	} else {
		s.Kind = tape.Dense
	}
	return s
}

// FactorBytes: the inverse rule keeps the n reciprocals of the partial.
func (o *Binary) FactorBytes(p int, in [][]int) int64 { return 8 * int64(tensor.SizeOf(in[p])) }

// Inverse factorizes diag(∂f/∂(input p)), the other operand broadcast as
// it may be. With respect to a broadcast operand the block is not square:
// the error matches tape.ErrNotSquare. A zero or non-finite partial is a
// *tape.SingularError.
func (o *Binary) Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
	if in[p].Len() != out.Len() {
		return nil, notSquare(o.name, p, [][]int{in[0].Shape(), in[1].Shape()}, out.Shape())
	}
	a, b, y := in[0].Data(), in[1].Data(), out.Data()
	d := make([]float64, len(y))
	dp := o.d[p]
	if simple(len(y), len(a), len(b)) {
		for i := range d {
			d[i] = dp(at(a, i), at(b, i), y[i])
		}
	} else {
		pl := newBcastPlan(out.Shape(), in[0].Shape(), in[1].Shape())
		sa, sb := pl.inner()
		pl.runs(0, len(y), func(i, ia, ib, m int) {
			for j := 0; j < m; j++ {
				d[i+j] = dp(a[ia+j*sa], b[ib+j*sb], y[i+j])
			}
		})
	}
	return newDiagFactor(o.name, p, d)
}

func one(a, b, y float64) float64    { return 1 }
func minus1(a, b, y float64) float64 { return -1 }

// The binary elementwise ops.
var (
	AddOp = &Binary{name: "add", kind: binAdd, f: func(a, b float64) float64 { return a + b }, d: [2]func(a, b, y float64) float64{one, one}}
	SubOp = &Binary{name: "sub", kind: binSub, f: func(a, b float64) float64 { return a - b }, d: [2]func(a, b, y float64) float64{one, minus1}}
	MulOp = &Binary{name: "mul", kind: binMul, f: func(a, b float64) float64 { return a * b },
		d:    [2]func(a, b, y float64) float64{func(a, b, y float64) float64 { return b }, func(a, b, y float64) float64 { return a }},
		d2:   [3]func(a, b, y float64) float64{nil, one, nil},
		deps: [2]uint8{2, 1}}
	DivOp = &Binary{name: "div", f: func(a, b float64) float64 { return a / b },
		d: [2]func(a, b, y float64) float64{func(a, b, y float64) float64 { return 1 / b }, func(a, b, y float64) float64 { return -y / b }},
		// ∂²/∂a∂b = -1/b², ∂²/∂b² = 2a/b³ = 2y/b².
		d2: [3]func(a, b, y float64) float64{nil,
			func(a, b, y float64) float64 { return -1 / (b * b) }, func(a, b, y float64) float64 { return 2 * y / (b * b) }},
		deps: [2]uint8{2, 3}}
)

// Add returns a + b elementwise, the operands broadcast as in NumPy
// (Add(X [B,h], b [h]) adds b to every row). It panics if the shapes do not
// broadcast.
func Add(a, b *tape.Var) *tape.Var { return tape.Apply(AddOp, a, b) }

// Sub returns a - b elementwise, broadcast as Add. It panics if the shapes
// do not broadcast.
func Sub(a, b *tape.Var) *tape.Var { return tape.Apply(SubOp, a, b) }

// Mul returns a * b elementwise, broadcast as Add (Mul(X [B,d], s [B,1])
// scales each row). It panics if the shapes do not broadcast.
func Mul(a, b *tape.Var) *tape.Var { return tape.Apply(MulOp, a, b) }

// Div returns a / b elementwise, broadcast as Add. It panics if the shapes
// do not broadcast.
func Div(a, b *tape.Var) *tape.Var { return tape.Apply(DivOp, a, b) }
