package inverse

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// TestLogDetGradColorGroups: the colors of a batch lump solved in groups
// smaller than all of them (logDetGradGroupBytes 0: each group within the
// lump's factorization) give the log-det gradient of one group, bit for
// bit, weighted per sample and not.
func TestLogDetGradColorGroups(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	r := func(scale float64, shape ...int) *tensor.Tensor {
		v := tensor.Zeros(shape...)
		for i := range v.Data() {
			v.Data()[i] = scale * (2*rng.Float64() - 1)
		}
		return v
	}
	const d, h, B = 6, 9, 40
	xs := []*tensor.Tensor{r(1, d, B), r(0.4, h, d), r(0.4, d, h), r(0.5, h, 1)}
	f := func(in ...*tape.Var) *tape.Var {
		return ops.Add(in[0], ops.MatMul(in[2], ops.Tanh(ops.Add(ops.MatMul(in[1], in[0]), in[3]))))
	}
	w := r(1, B)
	run := func() (float64, *tensor.Tensor, [][]float64) {
		ld, g1, err := LogAbsDetGrad(f, xs, 0)
		if err != nil {
			t.Fatal(err)
		}
		parts, g2, err := LogAbsDetAlongGrad(f, xs, 0, 1, w)
		if err != nil {
			t.Fatal(err)
		}
		var all [][]float64
		for _, g := range append(g1, g2...) {
			all = append(all, g.Data())
		}
		return ld, parts, all
	}
	ld, parts, want := run()
	defer func(b int64) { logDetGradGroupBytes = b }(logDetGradGroupBytes)
	logDetGradGroupBytes = 0
	ld2, parts2, got := run()
	if ld2 != ld || !slices.Equal(parts2.Data(), parts.Data()) {
		t.Fatalf("log-dets differ: %v against %v", ld2, ld)
	}
	for j := range want {
		if !slices.Equal(got[j], want[j]) {
			t.Fatalf("gradient %d differs with the colors in groups", j)
		}
	}
}
