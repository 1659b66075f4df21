package ops

import (
	"fmt"

	"github.com/invad/invad/cpu"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Binary is an elementwise binary op declared by f and its two partial
// derivatives. Operands have the same shape, or one is rank-0 and is
// broadcast.
type Binary struct {
	name string
	f    func(a, b float64) float64
	// d[0] = ∂f/∂a, d[1] = ∂f/∂b, given a, b and y = f(a, b).
	d [2]func(a, b, y float64) float64
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

// Shape returns the common shape, or the other shape when one operand is
// rank-0. It panics for any other pair.
func (o *Binary) Shape(in [][]int) []int {
	arity(o.name, in, 2)
	a, b := in[0], in[1]
	switch {
	case tensor.SameShape(a, b):
		return append([]int(nil), a...)
	case len(a) == 0:
		return append([]int(nil), b...)
	case len(b) == 0:
		return append([]int(nil), a...)
	}
	panic(fmt.Sprintf("ops: %s: shapes %v and %v do not match (only a rank-0 operand is broadcast)", o.name, a, b))
}

// at returns element i of s, broadcasting a one-element operand.
func at(s []float64, i int) float64 {
	if len(s) == 1 {
		return s[0]
	}
	return s[i]
}

// Forward computes f(a, b).
func (o *Binary) Forward(dst *tensor.Tensor, in []*tensor.Tensor) {
	d, a, b := dst.Data(), in[0].Data(), in[1].Data()
	f := o.f
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

// JVP computes ∂f/∂a ta + ∂f/∂b tb.
func (o *Binary) JVP(dst *tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, t []*tensor.Tensor) {
	d, a, b, y := dst.Data(), in[0].Data(), in[1].Data(), out.Data()
	var ta, tb []float64
	if t[0] != nil {
		ta = t[0].Data()
	}
	if t[1] != nil {
		tb = t[1].Data()
	}
	if o.kind != binGeneric && len(a) == len(d) && len(b) == len(d) && (ta == nil || len(ta) == len(d)) && (tb == nil || len(tb) == len(d)) {
		o.jvpSame(d, a, b, ta, tb)
		return
	}
	da, db := o.d[0], o.d[1]
	cpu.For(len(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ai, bi := at(a, i), at(b, i)
			s := 0.0
			if ta != nil {
				s = da(ai, bi, y[i]) * at(ta, i)
			}
			if tb != nil {
				s += db(ai, bi, y[i]) * at(tb, i)
			}
			d[i] = s
		}
	})
}

// jvpSame is JVP for same-shape Add, Sub and Mul.
func (o *Binary) jvpSame(d, a, b, ta, tb []float64) {
	cpu.For(len(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s := 0.0
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

// VJP adds ∂f/∂a c into dst[0] and ∂f/∂b c into dst[1]; a broadcast
// operand receives the sum over the broadcast.
func (o *Binary) VJP(dst []*tensor.Tensor, in []*tensor.Tensor, out *tensor.Tensor, c *tensor.Tensor) {
	a, b, y, cs := in[0].Data(), in[1].Data(), out.Data(), c.Data()
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
					g[i] += dk(at(a, i), at(b, i), y[i]) * cs[i]
				}
			})
			continue
		}
		s := 0.0
		for i := range cs {
			s += dk(at(a, i), at(b, i), y[i]) * cs[i]
		}
		g[0] += s
	}
}

// Structure is diagonal for a full operand and dense (a column) for a
// broadcast one.
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

// Inverse factorizes diag(∂f/∂(input p)). Input p must not be broadcast.
// FactorBytes: the inverse rule keeps the n reciprocals of the partial.
func (o *Binary) FactorBytes(p int, in [][]int) int64 { return 8 * int64(tensor.SizeOf(in[p])) }

func (o *Binary) Inverse(p int, in []*tensor.Tensor, out *tensor.Tensor) (tape.Factor, error) {
	if in[p].Len() != out.Len() {
		return nil, notSquare(o.name, p, [][]int{in[0].Shape(), in[1].Shape()}, out.Shape())
	}
	a, b, y := in[0].Data(), in[1].Data(), out.Data()
	d := make([]float64, len(y))
	for i := range d {
		d[i] = o.d[p](at(a, i), at(b, i), y[i])
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
		deps: [2]uint8{2, 1}}
	DivOp = &Binary{name: "div", f: func(a, b float64) float64 { return a / b },
		d:    [2]func(a, b, y float64) float64{func(a, b, y float64) float64 { return 1 / b }, func(a, b, y float64) float64 { return -y / b }},
		deps: [2]uint8{2, 3}}
)

// Add returns a + b.
func Add(a, b *tape.Var) *tape.Var { return tape.Apply(AddOp, a, b) }

// Sub returns a - b.
func Sub(a, b *tape.Var) *tape.Var { return tape.Apply(SubOp, a, b) }

// Mul returns a * b elementwise.
func Mul(a, b *tape.Var) *tape.Var { return tape.Apply(MulOp, a, b) }

// Div returns a / b elementwise.
func Div(a, b *tape.Var) *tape.Var { return tape.Apply(DivOp, a, b) }
