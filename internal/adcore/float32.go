package adcore

import (
	"github.com/invad/invad/cpu"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Sweeps32 runs the JVP and VJP of a Sweeps in float32: the same buffer
// plans and sweeps, on float32 copies of the program's values, each op
// through its float32 rules (Rules32). Its methods may run concurrently.
type Sweeps32 struct {
	s    *Sweeps
	r    rules[float32]
	idle Idle[*workspace[float32]]
}

// Float32 returns s's sweeps in float32, on the values val gives for every
// input, op output and constant of the program.
func (s *Sweeps) Float32(val func(*tape.Var) *tensor.Tensor32) *Sweeps32 {
	return &Sweeps32{s: s, r: rules[float32]{val: val, jvp: JVP32, vjp: VJP32}}
}

// JVPInto is Sweeps.JVPInto in float32.
func (s *Sweeps32) JVPInto(res *tensor.Tensor32, dxs ...*tensor.Tensor32) {
	jvpInto(s.s, &s.idle, s.r, res, dxs)
}

// VJPInto is Sweeps.VJPInto in float32.
func (s *Sweeps32) VJPInto(res []*tensor.Tensor32, cy *tensor.Tensor32) {
	reverse(s.s, &s.idle, s.r, res, cy, false, nil)
}

// Dense is Sweeps.Dense in float32.
func (s *Sweeps32) Dense(i int, fwd bool) *tensor.Tensor32 {
	return dense(s.s, i, fwd, s.JVPInto, s.VJPInto)
}

// Values32 rounds every value of p (inputs, constants, op outputs) to
// float32, once, per var id; a view (tape.Viewer: a reshape) stays a view
// of its input's float32 copy. An op output that overflows float32 is a
// *tape.NonFiniteError naming the op (pkg the package reporting it).
func Values32(p *tape.Program, pkg string) ([]*tensor.Tensor32, error) {
	val := make([]*tensor.Tensor32, p.NumVars)
	of := func(v *tape.Var) {
		if val[v.ID()] == nil {
			src := v.Value().Data()
			dst := make([]float32, len(src))
			cpu.For(len(src), func(lo, hi int) {
				for i := lo; i < hi; i++ {
					dst[i] = float32(src[i])
				}
			})
			val[v.ID()] = tensor.NewOf(v.Shape(), dst)
		}
	}
	of(p.Input)
	for _, nd := range p.Nodes {
		for _, v := range nd.In {
			of(v)
		}
		out := nd.Out.Value()
		if _, ok := nd.Op.(tape.Viewer); ok && len(nd.In) == 1 && out.Len() > 0 {
			in := nd.In[0].Value()
			if in.Len() == out.Len() && &in.Data()[0] == &out.Data()[0] {
				val[nd.Out.ID()] = tensor.NewOf(out.Shape(), val[nd.In[0].ID()].Data())
				continue
			}
		}
		of(nd.Out)
		if bad, i := val[nd.Out.ID()].HasNonFinite(); bad {
			return nil, &tape.NonFiniteError{Where: "value of an op rounded to float32", Op: nd.Op.Name(), Pos: nd.Pos, Index: i, Value: float64(val[nd.Out.ID()].Data()[i]), Pkg: pkg}
		}
	}
	return val, nil
}

// JVP32 runs node nd's JVP in float32: its op's tape.Op32 rule, or, for an
// op without one (defined outside package ops), its float64 rule on
// widened copies, the result rounded to float32.
func JVP32(nd *tape.Node, dst *tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, t []*tensor.Tensor32) {
	if o, ok := nd.Op.(tape.Op32); ok {
		o.JVP32(dst, in, out, t)
		return
	}
	d := tensor.Zeros(dst.Shape()...)
	nd.Op.JVP(d, widen(in), tensor.To64(out), widen(t))
	narrowTo(dst, d)
}

// VJP32 runs node nd's VJP in float32 as JVP32 does: its tape.Op32 rule,
// or its float64 rule on widened copies, added into dst.
func VJP32(nd *tape.Node, dst []*tensor.Tensor32, in []*tensor.Tensor32, out *tensor.Tensor32, c *tensor.Tensor32) {
	if o, ok := nd.Op.(tape.Op32); ok {
		o.VJP32(dst, in, out, c)
		return
	}
	d := make([]*tensor.Tensor, len(dst))
	for i, x := range dst {
		if x == nil {
			continue
		}
		for j, y := range dst[:i] { // an input read twice: one accumulator
			if y == x {
				d[i] = d[j]
				break
			}
		}
		if d[i] == nil {
			d[i] = tensor.Zeros(x.Shape()...)
		}
	}
	nd.Op.VJP(d, widen(in), tensor.To64(out), tensor.To64(c))
	for i, x := range dst {
		if x == nil || (i > 0 && firstOf(dst, i) != i) {
			continue
		}
		xd, dd := x.Data(), d[i].Data()
		for k, v := range dd {
			xd[k] += float32(v)
		}
	}
}

// firstOf returns the index of dst[i]'s first occurrence in dst.
func firstOf(dst []*tensor.Tensor32, i int) int {
	for j := range i {
		if dst[j] == dst[i] {
			return j
		}
	}
	return i
}

func widen(ts []*tensor.Tensor32) []*tensor.Tensor {
	out := make([]*tensor.Tensor, len(ts))
	for i, t := range ts {
		if t != nil {
			out[i] = tensor.To64(t)
		}
	}
	return out
}

func narrowTo(dst *tensor.Tensor32, src *tensor.Tensor) {
	dd := dst.Data()
	for i, v := range src.Data() {
		dd[i] = float32(v)
	}
}
