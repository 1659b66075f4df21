package backend_test

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/invad/invad/backend"
	"github.com/invad/invad/cuda"
	"github.com/invad/invad/newton"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// TestOpen: cpu always opens; auto falls back to the CPU with one line
// where there is no GPU (and takes the GPU where there is one); cuda without
// a GPU is an error naming what is missing; other names are errors.
func TestOpen(t *testing.T) {
	be, err := backend.Open("cpu", nil)
	if err != nil || be.GPU() != nil || be.String() != "CPU" {
		t.Fatalf("cpu: %v, %v", be, err)
	}
	var notice bytes.Buffer
	be, err = backend.Open("auto", &notice)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	gpu := cuda.Available() == nil
	if gpu {
		if be.GPU() == nil || notice.Len() != 0 {
			t.Errorf("auto with a GPU: %v, notice %q", be, notice.String())
		}
	} else if be.GPU() != nil || !strings.HasPrefix(notice.String(), "backend auto: ") || strings.Count(notice.String(), "\n") != 1 {
		t.Errorf("auto without a GPU: %v, notice %q", be, notice.String())
	}
	if _, err := backend.Open("cuda", nil); !gpu && (err == nil || !strings.HasPrefix(err.Error(), "backend cuda: ")) {
		t.Errorf("cuda without a GPU: %v", err)
	}
	if _, err := backend.Open("tpu", nil); err == nil || !strings.Contains(err.Error(), "want auto, cpu or cuda") {
		t.Errorf("tpu: %v", err)
	}
}

// TestSameCodeBothWays: the products through the backend-neutral interface,
// and a Newton solve with the backend's options, on the backend auto picks.
func TestSameCodeBothWays(t *testing.T) {
	be, err := backend.Open("auto", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	g := func(x *tape.Var) *tape.Var { return ops.Add(ops.Cumsum(x), ops.Scale(ops.Tanh(x), 0.5)) }
	xs := tensor.New([]int{5}, []float64{0.3, -0.2, 0.5, 0.1, -0.4})
	lin, err := be.Linearize(g, xs)
	if err != nil {
		t.Fatal(err)
	}
	defer lin.Close()
	v := tensor.New([]int{5}, []float64{1, 2, 3, 4, 5})
	jv, err := lin.JVP(v)
	if err != nil {
		t.Fatal(err)
	}
	back, err := lin.IJVP(jv)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range v.Data() {
		if math.Abs(back.Data()[i]-w) > 1e-12 {
			t.Fatalf("IJVP(JVP(v)) = %v", back.Data())
		}
	}
	y := g(tape.NewTape().Input(xs)).Value().Clone()
	F := func(x *tape.Var) *tape.Var { return ops.Sub(g(x), ops.Const(x, y)) }
	res, err := newton.Solve(F, tensor.Zeros(5), be.Newton(newton.Tol(1e-12))...)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range xs.Data() {
		if math.Abs(res.X.Data()[i]-w) > 1e-10 {
			t.Fatalf("Newton on %v: x = %v, want %v", be, res.X.Data(), xs.Data())
		}
	}
	fx, err := be.Eval(F, xs)
	if err != nil || fx.Len() != 5 {
		t.Fatalf("Eval: %v, %v", fx, err)
	}
}
