package tape_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// prog records exp(x)·c + (dead: log x) on tp and returns the input, the
// output and the dead value.
func prog(tp *tape.Tape) (in, out, dead *tape.Var) {
	x := tensor.New([]int{3}, []float64{1, 2, 3})
	in = tp.Input(x)
	c := ops.Exp(ops.Const(in, tensor.New([]int{3}, []float64{0, 1, 2}))) // folds: a constant
	dead = ops.Log(in)
	out = ops.Mul(ops.Exp(in), c)
	return in, out, dead
}

func TestRecordFoldAndFinish(t *testing.T) {
	tp := tape.NewTape()
	in, out, dead := prog(tp)
	if out.IsConst() || out.Node().Op.Name() != "mul" {
		t.Fatalf("output %v not recorded as a mul", out.Node())
	}
	p := tp.Finish(in, out)
	// Recorded: log (dead), exp(x), mul. The exp of the constant folded.
	if len(p.Nodes) != 2 || p.Pruned != 1 {
		t.Fatalf("kept %d ops, pruned %d; want 2 and 1", len(p.Nodes), p.Pruned)
	}
	if p.LastUse[in.ID()] != 0 || p.LastUse[dead.ID()] != -1 || p.LastUse[p.Nodes[0].Out.ID()] != 1 {
		t.Errorf("liveness %v", p.LastUse)
	}
	// x, exp(x), the constant and the output: 4 values of 3 float64.
	if p.Bytes() != 4*3*8 {
		t.Errorf("Bytes = %d, want %d", p.Bytes(), 4*3*8)
	}
}

func TestShapeAndStreamTapesNumberValuesAlike(t *testing.T) {
	full := tape.NewTape()
	_, fout, _ := prog(full)
	shape := tape.NewShapeTape()
	_, sout, _ := prog(shape)
	if sout.Value() != nil || !tensor.SameShape(sout.Shape(), fout.Shape()) || sout.ID() != fout.ID() {
		t.Errorf("shape tape: value %v, shape %v, id %d; want nil, %v, %d", sout.Value(), sout.Shape(), sout.ID(), fout.Shape(), fout.ID())
	}
	var seen []string
	stream := tape.NewStreamTape(func(op tape.Op, in []*tape.Var, out *tape.Var) {
		seen = append(seen, op.Name())
	})
	_, tout, _ := prog(stream)
	if tout.ID() != fout.ID() || tout.Value().Data()[2] != fout.Value().Data()[2] {
		t.Errorf("stream tape: id %d value %v; want %d %v", tout.ID(), tout.Value(), fout.ID(), fout.Value())
	}
	if strings.Join(seen, " ") != "log exp mul" || tout.Node() != nil {
		t.Errorf("stream hook saw %v (want log exp mul) and kept node %v", seen, tout.Node())
	}
	// A nil hook: the values alone.
	_, nout, _ := prog(tape.NewStreamTape(nil))
	if got, want := nout.Value().Data(), fout.Value().Data(); !slices.Equal(got, want) {
		t.Errorf("stream tape with a nil hook: value %v, want %v", got, want)
	}
}

func TestCallerMistakesPanic(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"two tapes", func() {
			a := tape.NewTape().Input(tensor.Zeros(2))
			b := tape.NewTape().Input(tensor.Zeros(2))
			ops.Add(a, b)
		}},
		{"nil input", func() { ops.Exp(nil) }},
		{"nil tensor", func() { tape.NewTape().Input(nil) }},
		{"finish from another tape", func() {
			a := tape.NewTape().Input(tensor.Zeros(2))
			tape.NewTape().Finish(a, a)
		}},
	} {
		func() {
			defer func() {
				r, _ := recover().(string)
				if !strings.HasPrefix(r, "tape: ") {
					t.Errorf("%s: panic %q, want a \"tape: \" message", tc.name, r)
				}
			}()
			tc.f()
		}()
	}
}

// TestSameStructure: two recordings of one program at other points (and
// other constant values) have the same structure; an op parameter, a shape,
// or a constant in place of a varying input makes them differ.
func TestSameStructure(t *testing.T) {
	record := func(x []float64, f func(*tape.Var) *tape.Var) *tape.Program {
		tp := tape.NewTape()
		in := tp.Input(tensor.New([]int{len(x)}, x))
		return tp.Finish(in, f(in))
	}
	base := func(c float64) func(*tape.Var) *tape.Var {
		return func(x *tape.Var) *tape.Var {
			k := ops.Const(x, tensor.New([]int{x.Len()}, slices.Repeat([]float64{c}, x.Len())))
			return ops.Add(ops.Mul(ops.Tanh(x), k), ops.Scale(x, 2))
		}
	}
	p := record([]float64{1, 2, 3}, base(1))
	for _, c := range []struct {
		name string
		q    *tape.Program
		want bool
	}{
		{"another point and constant", record([]float64{-1, 0, 5}, base(7)), true},
		{"another size", record([]float64{1, 2, 3, 4}, base(1)), false},
		{"another parameter", record([]float64{1, 2, 3}, func(x *tape.Var) *tape.Var {
			k := ops.Const(x, tensor.New([]int{3}, []float64{1, 1, 1}))
			return ops.Add(ops.Mul(ops.Tanh(x), k), ops.Scale(x, 3))
		}), false},
		{"another op", record([]float64{1, 2, 3}, func(x *tape.Var) *tape.Var {
			k := ops.Const(x, tensor.New([]int{3}, []float64{1, 1, 1}))
			return ops.Add(ops.Mul(ops.Sin(x), k), ops.Scale(x, 2))
		}), false},
		{"a varying input in place of a constant", record([]float64{1, 2, 3}, func(x *tape.Var) *tape.Var {
			return ops.Add(ops.Mul(ops.Tanh(x), x), ops.Scale(x, 2))
		}), false},
	} {
		if got := p.SameStructure(c.q); got != c.want {
			t.Errorf("%s: SameStructure %v, want %v", c.name, got, c.want)
		}
		if got := c.q.SameStructure(p); got != c.want {
			t.Errorf("%s (swapped): SameStructure %v, want %v", c.name, got, c.want)
		}
	}
}

// TestReplay: a program recorded again by Replay keeps the values (the
// same tensors, no op run), records a node where an input varies and a
// constant where none does, and refuses a value of the wrong shape, a nil
// value and a non-recording tape.
func TestReplay(t *testing.T) {
	x := tensor.New([]int{3}, []float64{1, 2, 3})
	c := tensor.New([]int{3}, []float64{4, 5, 6})
	tp := tape.NewTape()
	in, k := tp.Input(x), tp.Input(c)
	y := ops.Mul(ops.Exp(in), ops.Sin(k))
	p := tp.Finish(in, y)

	rp := tape.NewTape()
	rx := rp.Input(x)
	rk := rp.Const(c) // the other input held fixed
	at := map[*tape.Var]*tape.Var{in: rx, k: rk}
	for _, nd := range p.Nodes {
		args := make([]*tape.Var, len(nd.In))
		for i, v := range nd.In {
			args[i] = at[v]
		}
		at[nd.Out] = rp.Replay(nd.Op, args, nd.Out.Value())
	}
	ry := at[y]
	if ry.Value() != y.Value() {
		t.Error("Replay copied the value")
	}
	if sin := at[p.Nodes[1].Out]; !sin.IsConst() || sin.Node() != nil {
		t.Error("sin of a fixed input: want a constant")
	}
	q := rp.Finish(rx, ry)
	if len(q.Nodes) != 2 || q.Nodes[0].Op.Name() != "exp" || q.Nodes[1].Op.Name() != "mul" {
		t.Errorf("replayed nodes %v, want exp and mul", q.Nodes)
	}
	for name, f := range map[string]func(){
		"wrong shape": func() { rp.Replay(ops.ExpOp, []*tape.Var{rx}, tensor.Zeros(2)) },
		"nil value":   func() { rp.Replay(ops.ExpOp, []*tape.Var{rx}, nil) },
		"shape tape":  func() { st := tape.NewShapeTape(); st.Replay(ops.ExpOp, []*tape.Var{st.Input(x)}, x) },
		"other tape":  func() { rp.Replay(ops.ExpOp, []*tape.Var{in}, x) },
	} {
		func() {
			defer func() {
				if s, ok := recover().(string); !ok || !strings.HasPrefix(s, "tape: ") {
					t.Errorf("%s: recovered %v, want a tape: panic", name, s)
				}
			}()
			f()
		}()
	}
}

// TestReleaseValues: the input and every varying value (the dead one
// too) lose their values, constants (folded ones too) keep theirs, and the
// structure stays.
func TestReleaseValues(t *testing.T) {
	tp := tape.NewTape()
	in, out, dead := prog(tp)
	p := tp.Finish(in, out)
	c := p.Nodes[1].In[1]
	if !c.IsConst() {
		t.Fatal("the mul's second input is not the folded constant")
	}
	p.ReleaseValues()
	for name, v := range map[string]*tape.Var{"input": in, "exp(x)": p.Nodes[0].Out, "output": out, "dead": dead} {
		if v.Value() != nil {
			t.Errorf("%s keeps its value", name)
		}
	}
	if c.Value() == nil || c.Value().Len() != 3 {
		t.Error("the constant lost its value")
	}
	if !slices.Equal(out.Shape(), []int{3}) || len(p.Nodes) != 2 {
		t.Error("the structure changed")
	}
}
