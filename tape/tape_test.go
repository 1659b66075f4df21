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
