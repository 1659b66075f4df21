package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// BenchmarkLogDetGrad times the exact gradient of log|det ∂f/∂x| with
// respect to x and every weight (inverse.LogAbsDetGrad) on two programs
// stored feature-major (x [d, B], the samples innermost: one d×d block per
// sample), against three references measured in the same run:
//
//   - linearize+factorize: LinearizeArg (as recorded) + LogAbsDet of the
//     same program, the log-det alone (metric grad/lin+fact);
//
//   - PyTorch's exact per-sample route, when /usr/bin/python3 has torch
//     (testdata/torch_logdetgrad.py on the same inputs and weights, passed
//     as files): vmap(jacrev) of the per-sample map, torch.linalg.slogdet,
//     the sum, .backward(), float64 on the CPU with 2 threads (metrics
//     torch-ms, invad/torch; torch-fwd-ms: the Jacobians and slogdet
//     alone); the log-dets and every gradient must agree
//     (log10-logdet-rel-diff, log10-grad-rel-diff: the largest difference
//     relative to the largest entry of each gradient, floored at 1e-17);
//
//   - LogAbsDetAlongGrad along the samples with every weight 1/B, the
//     form lossGrad calls (metrics along-ms, along/grad);
//
//   - the primal (f on a stream tape, tape.NewStreamTape; primal-ms), and
//     for the flow a training step against it: the example's lossGrad
//     (mean NLL, ad.Grad for ½Σ|f(x)|² and LogAbsDetGrad for the log-det,
//     the gradient of everything) and one Adam update (metric
//     step/primal).
//
// The programs: "residual" is X + W₂·tanh(W₁X + b₁) (d = 16, hidden 64);
// "realnvp" is realNVP32, four affine couplings with diagonal scales
// exp(s), d = 32, hidden 64. Each invad timing is the fastest of rounds
// that alternate the pieces (a shared machine makes single runs vary);
// PyTorch runs once in the middle, taking the fastest of its own
// repetitions.
//
//	go test -run '^$' -bench LogDetGrad -benchtime 1x -timeout 60m ./examples/train-flow/
func BenchmarkLogDetGrad(b *testing.B) {
	cases := []struct {
		family string
		B      int
		torch  int // PyTorch's repetitions, 0 for none
	}{
		{"residual", 10_000, 3},
		{"residual", 100_000, 0},
		{"realnvp", 10_000, 2},
		{"realnvp", 100_000, 0},
	}
	for _, c := range cases {
		b.Run(fmt.Sprintf("%s/B=%d", c.family, c.B), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(17, uint64(c.B)))
			var fl flow
			var d int
			switch c.family {
			case "residual":
				d, fl = 16, residualBlock(rng, 16, 64)
			case "realnvp":
				d, fl = 32, realNVP32(rng, 32, 64, 4)
			}
			x := randn(rng, 1, d, c.B)
			xs := append([]*tensor.Tensor{x}, fl.params...)

			lf := func() {
				l, err := inverse.LinearizeArg(fl.f, xs, 0, inverse.AsRecorded())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := l.LogAbsDet(); err != nil {
					b.Fatal(err)
				}
			}
			var ld float64
			var grads []*tensor.Tensor
			gr := func() {
				var err error
				if ld, grads, err = inverse.LogAbsDetGrad(fl.f, xs, 0); err != nil {
					b.Fatal(err)
				}
			}
			// The per-sample form with every sample weighted 1/B, as
			// lossGrad calls it.
			w := tensor.Zeros(c.B)
			for s := range w.Data() {
				w.Data()[s] = 1 / float64(c.B)
			}
			along := func() {
				if _, _, err := inverse.LogAbsDetAlongGrad(fl.f, xs, 0, 1, w); err != nil {
					b.Fatal(err)
				}
			}
			primal := func() {
				tp := tape.NewStreamTape(nil)
				in := []*tape.Var{tp.Input(x)}
				for _, p := range fl.params {
					in = append(in, tp.Const(p))
				}
				fl.f(in...)
			}
			// The training step on copies of the weights, which Adam moves.
			theta := make([]*tensor.Tensor, len(fl.params))
			for j, p := range fl.params {
				theta[j] = p.Clone()
			}
			opt := newAdam(theta, 1e-3)
			step := func() {
				_, g, err := lossGrad(fl, x, theta)
				if err != nil {
					b.Fatal(err)
				}
				opt.step(theta, g)
			}

			inf := time.Duration(math.MaxInt64)
			tl, tg, ta, tp, ts := inf, inf, inf, inf, inf
			round := func() {
				tl = min(tl, timeOnce(lf))
				tg = min(tg, timeOnce(gr))
				ta = min(ta, timeOnce(along))
				tp = min(tp, timeOnce(primal))
				if c.family == "realnvp" {
					ts = min(ts, timeOnce(step))
				}
			}
			const rounds = 6
			for range rounds / 2 {
				round()
			}
			var tr *torchResult
			var ldRel, gradRel float64
			if c.torch > 0 {
				var err error
				if tr, err = runTorch(b.Context(), c.family, xs, c.torch); err != nil {
					b.Logf("PyTorch side skipped: %v", err)
				} else {
					if ldRel = math.Abs(ld-tr.LogDet) / math.Max(1, math.Abs(tr.LogDet)); ldRel > 1e-9 {
						b.Fatalf("log|det|: invad %.12g, PyTorch %.12g (relative difference %.2g)", ld, tr.LogDet, ldRel)
					}
					for j := range xs {
						e := relErr(grads[j].Data(), tr.grads[j])
						if e > 1e-8 {
							b.Fatalf("gradient in input %d: invad and PyTorch differ by %.2g (relative to the largest entry)", j, e)
						}
						gradRel = max(gradRel, e)
					}
				}
			}
			for range rounds - rounds/2 {
				round()
			}
			for b.Loop() {
			}
			ms := func(t time.Duration) float64 { return t.Seconds() * 1e3 }
			b.ReportMetric(ms(tg), "invad-ms")
			b.ReportMetric(ms(tl), "lin+fact-ms")
			b.ReportMetric(ms(tp), "primal-ms")
			b.ReportMetric(tg.Seconds()/tl.Seconds(), "grad/lin+fact")
			b.ReportMetric(ms(ta), "along-ms")
			b.ReportMetric(ta.Seconds()/tg.Seconds(), "along/grad")
			if tr != nil {
				b.ReportMetric(tr.Route*1e3, "torch-ms")
				b.ReportMetric(tr.Forward*1e3, "torch-fwd-ms")
				b.ReportMetric(tg.Seconds()/tr.Route, "invad/torch")
				b.ReportMetric(math.Log10(max(ldRel, 1e-17)), "log10-logdet-rel-diff")
				b.ReportMetric(math.Log10(max(gradRel, 1e-17)), "log10-grad-rel-diff")
			}
			if c.family == "realnvp" {
				b.ReportMetric(ms(ts), "step-ms")
				b.ReportMetric(ts.Seconds()/tp.Seconds(), "step/primal")
			}
		})
	}
}

// residualBlock is X + W₂·tanh(W₁X + b₁) on X [d, B], W₁ [h, d], b₁
// [h, 1], W₂ [d, h]; W₂ small, so that every per-sample Jacobian
// I + W₂·diag(tanh')·W₁ stays well away from singular.
func residualBlock(rng *rand.Rand, d, h int) flow {
	params := []*tensor.Tensor{
		randn(rng, 1/math.Sqrt(float64(d)), h, d), randn(rng, 0.5, h, 1), randn(rng, 0.3/math.Sqrt(float64(h)), d, h),
	}
	f := func(in ...*tape.Var) *tape.Var {
		x := in[0]
		return ops.Add(x, ops.MatMul(in[3], ops.Tanh(ops.Add(ops.MatMul(in[1], x), in[2]))))
	}
	return flow{name: "residual", f: f, params: params}
}

// realNVP32 is main.go's couplings program on x [d, B] (halves of d/2,
// hidden width h) with its own weights, drawn away from zero so that every
// term of the gradient counts.
func realNVP32(rng *rand.Rand, d, h, layers int) flow {
	k := d / 2
	var params []*tensor.Tensor
	for range layers {
		params = append(params,
			randn(rng, 1/math.Sqrt(float64(k)), h, k), randn(rng, 0.1, h, 1), // W₁, b₁
			randn(rng, 0.3/math.Sqrt(float64(h)), k, h), randn(rng, 0.1, k, 1), // W_s, b_s
			randn(rng, 0.3/math.Sqrt(float64(h)), k, h), randn(rng, 0.1, k, 1)) // W_t, b_t
	}
	return flow{name: "realnvp32", f: couplings(d, layers), params: params}
}

func timeOnce(f func()) time.Duration {
	t0 := time.Now()
	f()
	return time.Since(t0)
}

// relErr is max|a − b| over max(1, max|b|).
func relErr(a, b []float64) float64 {
	num, den := 0.0, 1.0
	for i := range a {
		num = math.Max(num, math.Abs(a[i]-b[i]))
		den = math.Max(den, math.Abs(b[i]))
	}
	return num / den
}

// torchResult is testdata/torch_logdetgrad.py's JSON line and the
// gradients it wrote, in xs's order and layouts.
type torchResult struct {
	Route, Forward, LogDet float64
	Torch                  string
	Threads                int
	grads                  [][]float64
}

// runTorch writes xs (x first, then the weights) with a spec to a
// temporary directory, runs testdata/torch_logdetgrad.py on it with
// /usr/bin/python3 (the fastest of reps runs, 2 threads) and reads its
// timings and gradients back.
func runTorch(ctx context.Context, family string, xs []*tensor.Tensor, reps int) (*torchResult, error) {
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "torch-logdetgrad")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	type array struct {
		Name  string `json:"name"`
		Shape []int  `json:"shape"`
	}
	spec := struct {
		Family  string  `json:"family"`
		Threads int     `json:"threads"`
		Reps    int     `json:"reps"`
		Arrays  []array `json:"arrays"`
	}{Family: family, Threads: 2, Reps: reps}
	for j, t := range xs {
		name := "x"
		if j > 0 {
			name = fmt.Sprintf("p%02d", j)
		}
		spec.Arrays = append(spec.Arrays, array{name, t.Shape()})
		if err := writeF64(filepath.Join(dir, name+".f64"), t.Data()); err != nil {
			return nil, err
		}
	}
	js, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "spec.json"), js, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, py, "testdata/torch_logdetgrad.py", dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var r torchResult
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("%w: %q", err, out)
	}
	for j, a := range spec.Arrays {
		g, err := readF64(filepath.Join(dir, "grad_"+a.Name+".f64"), xs[j].Len())
		if err != nil {
			return nil, err
		}
		r.grads = append(r.grads, g)
	}
	return &r, nil
}

func writeF64(path string, v []float64) error {
	buf := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(buf[8*i:], math.Float64bits(x))
	}
	return os.WriteFile(path, buf, 0o644)
}

func readF64(path string, n int) ([]float64, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(buf) != 8*n {
		return nil, fmt.Errorf("%s: %d bytes, want %d", path, len(buf), 8*n)
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(buf[8*i:]))
	}
	return v, nil
}
