package gorgonia_test

import (
	"math"
	"testing"

	gt "gorgonia.org/tensor"

	invadg "github.com/invad/invad/interop/gorgonia"
	"github.com/invad/invad/interop/gtensor"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/tensor"
)

// TestFloat32Products runs the float32 models' products in float32
// (inverse.Linearize32 on the graph's own float32 input, shared without a
// copy by gtensor.FromDense32) and compares them with the float64 products
// at the same point, checked against Gorgonia by TestModels; the results
// go back to Gorgonia as float32 tensors.
func TestFloat32Products(t *testing.T) {
	for _, m := range models() {
		if m.dt != gt.Float32 {
			continue
		}
		t.Run(m.name, func(t *testing.T) {
			b, x, y := graphOf(m)
			p, err := invadg.Import(b.g, x, y)
			if err != nil {
				t.Fatal(err)
			}
			x32, err := gtensor.FromDense32(x.Value().(*gt.Dense))
			if err != nil {
				t.Fatal(err)
			}
			l32, err := inverse.Linearize32(p.F, x32)
			if err != nil {
				t.Fatal(err)
			}
			l64, err := inverse.Linearize(p.F, tensor.To64(x32))
			if err != nil {
				t.Fatal(err)
			}
			v := tensor.ZerosOf[float32](x32.Shape()...)
			for i := range v.Data() {
				v.Data()[i] = float32(math.Sin(float64(3*i + 1)))
			}
			for _, pr := range []struct {
				name string
				f32  func(*tensor.Tensor32) (*tensor.Tensor32, error)
				f64  func(*tensor.Tensor) (*tensor.Tensor, error)
			}{
				{"JVP", l32.JVP, l64.JVP}, {"VJP", l32.VJP, l64.VJP},
				{"IJVP", l32.IJVP, l64.IJVP}, {"VIJP", l32.VIJP, l64.VIJP},
			} {
				got, err := pr.f32(v)
				if err != nil {
					t.Fatalf("%s: %v", pr.name, err)
				}
				want, err := pr.f64(tensor.To64(v))
				if err != nil {
					t.Fatalf("%s (float64): %v", pr.name, err)
				}
				// The models' Jacobians have condition numbers below 1e3
				// (TestModels): float32 rounding, about 6e-8 per op, over
				// a few dozen ops, amplified by at most that.
				if e := maxErr(tensor.To64(got).Data(), want.Data()); e > 1e-4 {
					t.Errorf("%s: float32 off float64 by %.3g", pr.name, e)
				}
				if g := gtensor.ToDense32(got); g.Dtype() != gt.Float32 || !g.Shape().Eq(x.Shape()) {
					t.Errorf("%s: handed back as %v %v", pr.name, g.Dtype(), g.Shape())
				}
			}
			d32, err := l32.LogAbsDet()
			if err != nil {
				t.Fatal(err)
			}
			d64, _ := l64.LogAbsDet()
			if math.Abs(d32-d64) > 1e-4*(1+math.Abs(d64)) {
				t.Errorf("LogAbsDet: float32 %g, float64 %g", d32, d64)
			}
		})
	}
}
