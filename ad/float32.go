package ad

import (
	"fmt"

	"github.com/invad/invad/internal/adcore"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Linearization32 is a Linearization whose products run in float32: the
// tangents, cotangents and every op's rules (tape.Op32), at half the
// memory of float64. f is recorded in float64 and its values rounded to
// float32 once; the float64 values are then dropped. Build it with
// Linearize32. Its methods may be called from several goroutines at once.
// Second order (GradJVP, HVP) is float64's alone.
type Linearization32 struct {
	c core[float32]
}

// Linearize32 records f at the float32 inputs xs (widened to float64 for
// the recording) and returns its float32 products. It panics as Linearize
// does and returns its errors, and a *tape.NonFiniteError naming the op
// whose value overflows float32.
func Linearize32(f func(xs ...*tape.Var) *tape.Var, xs ...*tensor.Tensor32) (*Linearization32, error) {
	x64 := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		if x == nil {
			panic(fmt.Sprintf("ad: input %d is nil", i))
		}
		x64[i] = tensor.To64(x)
	}
	p, ins, err := record(f, x64)
	if err != nil {
		return nil, err
	}
	val, err := adcore.Values32(p, "ad")
	if err != nil {
		return nil, err
	}
	consts := constants(p)
	p.ReleaseValues()
	s := adcore.New(p, ins).Float32(func(v *tape.Var) *tensor.Tensor32 { return val[v.ID()] })
	return &Linearization32{c: core[float32]{p: p, xs: xs, out: val[p.Output.ID()], consts: consts,
		jvp: s.JVPInto, vjp: s.VJPInto, dense: s.Dense}}, nil
}

// Output returns f(xs) rounded to float32: do not modify it.
func (l *Linearization32) Output() *tensor.Tensor32 { return l.c.out }

// NumInputs returns the number of inputs f takes.
func (l *Linearization32) NumInputs() int { return len(l.c.xs) }

// Input returns input i, as given to Linearize32.
func (l *Linearization32) Input(i int) *tensor.Tensor32 { return l.c.xs[i] }

// JVP is Linearization.JVP in float32.
func (l *Linearization32) JVP(dxs ...*tensor.Tensor32) (*tensor.Tensor32, error) {
	return l.c.jvpNew(dxs)
}

// JVPTo is Linearization.JVPTo in float32.
func (l *Linearization32) JVPTo(dst *tensor.Tensor32, dxs ...*tensor.Tensor32) error {
	return l.c.jvpTo(dst, dxs...)
}

// VJP is Linearization.VJP in float32.
func (l *Linearization32) VJP(cy *tensor.Tensor32) ([]*tensor.Tensor32, error) {
	return l.c.vjpNew(cy)
}

// VJPTo is Linearization.VJPTo in float32.
func (l *Linearization32) VJPTo(dst []*tensor.Tensor32, cy *tensor.Tensor32) error {
	return l.c.vjpTo(dst, cy)
}

// Jacobian is Linearization.Jacobian in float32.
func (l *Linearization32) Jacobian(i int) (*tensor.Tensor32, error) { return l.c.jacobian(i) }

// Grad32 is Grad in float32: f's value (rounded to float32) and its
// gradient with respect to every input, by one float32 reverse sweep.
// Panics and errors as Grad and Linearize32.
func Grad32(f func(xs ...*tape.Var) *tape.Var, xs ...*tensor.Tensor32) (float32, []*tensor.Tensor32, error) {
	l, err := Linearize32(f, xs...)
	if err != nil {
		return 0, nil, err
	}
	out := l.Output()
	if out.Len() != 1 {
		panic(fmt.Sprintf("ad: Grad32 needs a scalar f; f returned shape %v (take VJP for a vector result)", out.Shape()))
	}
	one := tensor.ZerosOf[float32](out.Shape()...)
	one.Data()[0] = 1
	g, err := l.VJP(one)
	if err != nil {
		return 0, nil, err
	}
	return out.Data()[0], g, nil
}
