package cuda

import (
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"

	gmat "gonum.org/v1/gonum/mat"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/inverse/inversetest"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

var bigSolve = inversetest.BigSolve

var fwdErr = inversetest.ForwardError

func hilbert(n int) *tensor.Tensor {
	h := tensor.Zeros(n, n)
	for i := range n {
		for j := range n {
			h.Data()[i*n+j] = 1 / float64(i+j+1)
		}
	}
	return h
}

// refinePrograms are ill-conditioned programs (package inverse's
// TestRefineAccuracy's, the second with a smaller diagonal) over the
// device's lump kinds: steps with products by W⁻¹ and dense lumps. The
// device multiplies by the block's inverse, computed once, where the CPU
// solves with its LU: on a right-hand side J·v the explicit inverse is the
// less accurate (on Hilbert(8)·x + 1e-6·tanh x, 2e-11 against LU's
// 1.4e-11), and refinement brings it to LU's level.
var refinePrograms = []struct {
	name string
	f    func(*tape.Var) *tape.Var
	x    *tensor.Tensor
}{
	{"three steps W·(W·(W·x)), κ ≈ 1e12", func(x *tape.Var) *tape.Var {
		c := ops.Const(x, tensor.New([]int{2, 2}, []float64{1, 1, 0, 1e-4}))
		return ops.MatMul(c, ops.MatMul(c, ops.MatMul(c, x)))
	}, tensor.New([]int{2, 3}, []float64{1, -2, 3, 0.5, 0.25, -1})},
	{"Hilbert(8)·x + 1e-6·tanh x (a dense lump), κ ≈ 5e6", func(x *tape.Var) *tape.Var {
		return ops.Add(ops.MatMul(ops.Const(x, hilbert(8)), x), ops.Scale(ops.Tanh(x), 1e-6))
	}, tensor.New([]int{8}, []float64{0.3, -0.1, 0.7, 0.2, -0.5, 0.9, -0.8, 0.4})},
	{"exp(x)·Hilbert(7)·x (a dense lump), κ ≈ 1e2", func(x *tape.Var) *tape.Var {
		return ops.Mul(ops.Exp(x), ops.MatMul(ops.Const(x, hilbert(7)), x))
	}, tensor.New([]int{7}, []float64{0.3, -0.1, 0.7, 0.2, -0.5, 0.9, -0.8})},
}

// TestRefine runs checkRefine on the host emulation of the kernels and on
// the GPU (skipped without one), and checks Refine's argument.
func TestRefine(t *testing.T) {
	t.Parallel() // its own emulator process
	for _, c := range []struct {
		name string
		be   func(testing.TB) *Backend
	}{{"hostemu", func(t testing.TB) *Backend { return emuBackend(t.(*testing.T)) }}, {"GPU", gpuBackend}} {
		t.Run(c.name, func(t *testing.T) {
			b := c.be(t)
			t.Run("accuracy", func(t *testing.T) {
				if quick(b) {
					t.Skip("the emulation is slow: INVAD_HOSTEMU=full runs it (CI does)")
				}
				checkRefine(t, b)
			})
			t.Run("convergence", func(t *testing.T) { checkRefineConverges(t, b) })
		})
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "cuda: Refine(-1): ") {
				t.Errorf("Refine(-1): recovered %v, want a panic \"cuda: Refine(-1): ...\"", r)
			}
		}()
		Refine(-1)
	}()
}

// checkRefine compares, on refinePrograms, the forward errors of the
// device's IJVP and VIJP without refinement, with Refine(2), and of
// gonum's pivoted LU on the dense J, against a 256-bit solve of the same J
// (the CPU's Jacobian) and right-hand side, and logs them. The right-hand
// sides are J·v (Jᵀ·v for VIJP), and in the full emulated run and on the
// GPU a plain vector too. It checks that refinement is no worse than none
// and within a few times LU's error; that the refined products are the
// CPU's refined ones
// (inverse.Refine(2)) to about their accuracy; that Refine(0) gives the
// very bits of no option; and that the scratch is allocated once and freed
// by Close.
func checkRefine(t *testing.T, b *Backend) {
	// The Backend's partial-sum scratch is allocated once and kept: take it
	// before counting the memory in use.
	if err := b.do(func() error { _, err := b.scratchPartials(); return err }); err != nil {
		t.Fatal(err)
	}
	// eps is float64's machine epsilon, the floor of the bounds below.
	const eps = 0x1p-52
	progs := refinePrograms
	if quick(b) {
		progs = progs[:1] // the emulation is slow: the others in the full run (INVAD_HOSTEMU=full) and on the GPU
	}
	for pi, p := range progs {
		t.Run(p.name, func(t *testing.T) {
			before, _ := b.MemStats()
			cl, err := inverse.Linearize(p.f, p.x)
			if err != nil {
				t.Fatal(err)
			}
			cr, err := inverse.Linearize(p.f, p.x, inverse.Refine(2))
			if err != nil {
				t.Fatal(err)
			}
			opts := [][]Option{nil, {Refine(2)}, {Refine(0)}}
			if pi > 0 {
				opts = opts[:2] // Refine(0) on the first program only: the emulation is slow
			}
			dl := make([]*Linearization, len(opts)) // no option, Refine(2), Refine(0)
			for i, o := range opts {
				if dl[i], err = Linearize(b, p.f, p.x, o...); err != nil {
					t.Fatal(err)
				}
			}
			n := p.x.Len()
			J, Jt, lu := denseReference(t, cl)
			cond, err := cl.Cond()
			if err != nil {
				t.Fatal(err)
			}
			inUse := -1 // after the first product of each Linearization
			for _, pr := range []struct {
				name  string
				trans bool
				a     []float64
				shape []int                                        // the argument's
				fwd   func(*tensor.Tensor) (*tensor.Tensor, error) // the product whose inverse it is
				dev   func(*Linearization, *tensor.Tensor) (*tensor.Tensor, error)
				cpu   func(*tensor.Tensor) (*tensor.Tensor, error)
			}{
				{"IJVP", false, J.Data(), cl.Output().Shape(), cl.JVP, (*Linearization).IJVP, cr.IJVP},
				{"VIJP", true, Jt, p.x.Shape(), cl.VJP, (*Linearization).VIJP, cr.VIJP},
			} {
				v := tensor.Zeros(n)
				for i := range v.Data() {
					v.Data()[i] = math.Cos(float64(3*i + 1))
				}
				Jv, err := pr.fwd(v.Reshape(tensor.SizeOf(pr.shape)).Reshape(cl.Output().Shape()...))
				if err != nil {
					t.Fatal(err)
				}
				rhs := []struct {
					name string
					v    *tensor.Tensor
				}{{"J·v", Jv.Reshape(pr.shape...)}, {"v", v.Reshape(pr.shape...)}}
				if pr.trans {
					rhs[0].name = "Jᵀ·v"
				}
				if quick(b) {
					rhs = rhs[:1]
				}
				for _, r := range rhs {
					want := bigSolve(pr.a, r.v.Data(), n)
					res := make([]*tensor.Tensor, len(dl))
					for i, l := range dl {
						if res[i], err = pr.dev(l, r.v); err != nil {
							t.Fatalf("%s: %v", pr.name, err)
						}
					}
					if inUse < 0 { // every Linearization has its factors, the refined one its scratch
						inUse, _ = b.MemStats()
					}
					cpuRef, err := pr.cpu(r.v)
					if err != nil {
						t.Fatal(err)
					}
					var xv gmat.VecDense
					if err := lu.SolveVecTo(&xv, pr.trans, gmat.NewVecDense(n, r.v.Data())); err != nil {
						t.Logf("gonum LU: %v", err) // a warning of its condition estimate: the solution is there
					}
					ePlain, eRef, eLU := fwdErr(res[0].Data(), want), fwdErr(res[1].Data(), want), fwdErr(xv.RawVector().Data, want)
					eCPU, dCPU := fwdErr(cpuRef.Data(), want), fwdErr(res[1].Data(), cpuRef.Data())
					what := pr.name + " of " + r.name
					t.Logf("%s: Cond %.2g; forward error of the device's %s %.2g, with Refine(2) %.2g; gonum LU %.2g; the CPU's with Refine(2) %.2g, the device's from it %.2g",
						p.name, cond, what, ePlain, eRef, eLU, eCPU, dCPU)
					if len(res) > 2 {
						for i, g := range res[2].Data() {
							if math.Float64bits(g) != math.Float64bits(res[0].Data()[i]) {
								t.Errorf("%s with Refine(0): element %d is %v, without the option %v", what, i, g, res[0].Data()[i])
								break
							}
						}
					}
					// Refinement in working precision brings the error to
					// the level of a backward-stable solve's, LU's, and
					// not below it: its residuals carry rounding errors of
					// their own, so where the unrefined product is already
					// there, a refined one lands anywhere in that noise
					// (up to 4.5× the unrefined error on exp(x)·H₇·x,
					// still 25× under κ·ε). Refined: no worse than the
					// larger of the unrefined and LU's errors up to that
					// noise (5×), and within 10× of LU's, so better than
					// unrefined wherever that is over 10× LU's.
					if eRef > 5*max(ePlain, eLU, eps) {
						t.Errorf("%s: refined error %.3g, above the unrefined %.3g (LU's %.3g)", what, eRef, ePlain, eLU)
					}
					if eRef > 10*max(eLU, eps) {
						t.Errorf("%s: refined error %.3g, over 10× gonum LU's %.3g", what, eRef, eLU)
					}
					// The CPU's refined product converges to the same
					// solution: the two differ by no more than their errors.
					if dCPU > 10*max(eRef, eCPU, eps) {
						t.Errorf("%s: refined result differs from the CPU's refined one by %.3g (errors: device %.3g, CPU %.3g)", what, dCPU, eRef, eCPU)
					}
				}
			}
			// The scratch is taken once, by the first refined product: the
			// later ones take no more memory, and Close frees it.
			if now, _ := b.MemStats(); now != inUse {
				t.Errorf("%d bytes of device memory in use after the refined products, %d after the first", now, inUse)
			}
			for _, l := range dl {
				l.Close()
			}
			if after, _ := b.MemStats(); after != before {
				t.Errorf("%d bytes of device memory in use after Close, %d before Linearize", after, before)
			}
		})
	}
}

// checkRefineConverges checks the refinement steps themselves, where the
// first solve is well off: the inverse of a dense lump (exp(x)·H₇·x, κ ≈
// 1e2) is perturbed by a relative 1e-6 after the factorization, so that
// the inverse products are an approximate inverse M with ‖I − J M‖ about
// 1e-6·κ, the error of the unrefined products about as large, and each
// refinement step divides the error by about 1/(1e-6·κ) ≈ 1e4, down to
// LU's level (the classical argument: the iteration e ← (I − M J) e).
func checkRefineConverges(t *testing.T, b *Backend) {
	// eps is float64's machine epsilon, the floor of the bounds below.
	const eps = 0x1p-52
	const delta = 1e-6 // the relative perturbation of the lump's inverse
	p := refinePrograms[2]
	l, err := Linearize(b, p.f, p.x)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.LogAbsDet(); err != nil { // factorize
		t.Fatal(err)
	}
	perturbed := 0
	for _, f := range l.inv.F {
		df, ok := f.(devFac)
		if !ok {
			continue
		}
		k, ok := df.f.(*kronDev)
		if !ok {
			continue
		}
		w := download(t, k.winv)
		for i := range w {
			w[i] *= 1 + delta*math.Cos(float64(i))
		}
		if err := b.UploadTo(k.winv, w); err != nil {
			t.Fatal(err)
		}
		perturbed++
	}
	if perturbed != 1 {
		t.Fatalf("%d inverses of dense lumps perturbed, want 1 (the lumps of %s changed?)", perturbed, p.name)
	}
	cl, err := inverse.Linearize(p.f, p.x)
	if err != nil {
		t.Fatal(err)
	}
	n := p.x.Len()
	J, Jt, lu := denseReference(t, cl)
	v := tensor.Zeros(n)
	for i := range v.Data() {
		v.Data()[i] = math.Cos(float64(3*i + 1))
	}
	for _, pr := range []struct {
		name  string
		trans bool
		a     []float64
		dev   func(*tensor.Tensor) (*tensor.Tensor, error)
	}{{"IJVP", false, J.Data(), l.IJVP}, {"VIJP", true, Jt, l.VIJP}} {
		want := bigSolve(pr.a, v.Data(), n)
		var xv gmat.VecDense
		if err := lu.SolveVecTo(&xv, pr.trans, gmat.NewVecDense(n, v.Data())); err != nil {
			t.Logf("gonum LU: %v", err)
		}
		eLU := fwdErr(xv.RawVector().Data, want)
		floor := 10 * max(eLU, eps) // LU's level, as checkRefine bounds it
		var errs [3]float64
		for k := range errs {
			l.refine = k // the same perturbed factors for every k
			got, err := pr.dev(v)
			if err != nil {
				t.Fatal(err)
			}
			errs[k] = fwdErr(got.Data(), want)
		}
		l.refine = 0
		t.Logf("%s with its lump's inverse perturbed by %g: forward error %.2g, after one refinement step %.2g, two %.2g; gonum LU %.2g",
			pr.name, delta, errs[0], errs[1], errs[2], eLU)
		if errs[0] < 1e3*floor {
			t.Errorf("%s: the perturbed product's error %.3g is within 1e3× LU's level %.3g: the perturbation did not take", pr.name, errs[0], floor)
		}
		// Each step divides the error by ~1e4: by 1e2 at least, or
		// reaches LU's level.
		for k := 1; k < len(errs); k++ {
			if errs[k] > max(1e-2*errs[k-1], floor) {
				t.Errorf("%s: error %.3g after %d refinement steps, %.3g after %d", pr.name, errs[k], k, errs[k-1], k-1)
			}
		}
		if errs[2] > floor {
			t.Errorf("%s: error %.3g after two refinement steps, over 10× gonum LU's %.3g", pr.name, errs[2], eLU)
		}
	}
}

// launchCounter is a device that counts the kernels launched, by name.
type launchCounter struct {
	device
	mu sync.Mutex
	n  map[string]int
}

func (c *launchCounter) launch(l launch) error {
	c.mu.Lock()
	c.n[l.name]++
	c.mu.Unlock()
	return c.device.launch(l)
}

func (c *launchCounter) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

// TestRefineSteps counts the refinement steps of the device products on the
// host emulation, by the launches of the abs kernel (one for each residual
// tested, Σ|r|): a program whose products are exact (J = 2I: the residual
// is zero) stops after one, an ill-conditioned one takes all k, and
// Refine(0) takes none.
func TestRefineSteps(t *testing.T) {
	t.Parallel() // its own emulator process
	c := &launchCounter{device: startEmu(t), n: map[string]int{}}
	b := newBackend(&Backend{name: "host emulation", arch: "hostemu"}, c)
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("closing the emulator: %v", err)
		}
	})
	const k = 2
	for _, cs := range []struct {
		name   string
		f      func(*tape.Var) *tape.Var
		x      *tensor.Tensor
		k      int
		ijvp   int // residuals tested by IJVP
		vijp   int // by VIJP
		reason string
	}{
		{"2x", func(x *tape.Var) *tape.Var { return ops.Scale(x, 2) }, tensor.New([]int{3}, []float64{1, 2, 3}), k, 1, 1,
			"J = 2I: the products halve and double exactly, the first residual is zero"},
		{"2x, Refine(0)", func(x *tape.Var) *tape.Var { return ops.Scale(x, 2) }, tensor.New([]int{3}, []float64{1, 2, 3}), 0, 0, 0,
			"no refinement: no residual"},
		{refinePrograms[0].name, refinePrograms[0].f, refinePrograms[0].x, k, k, k,
			"κ ≈ 1e12: rounding leaves a residual at every step"},
	} {
		if cs.k == k && cs.ijvp == k && os.Getenv("INVAD_HOSTEMU") != "full" {
			continue // slow under emulation: INVAD_HOSTEMU=full runs it (CI does)
		}
		l, err := Linearize(b, cs.f, cs.x, Refine(cs.k))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.LogAbsDet(); err != nil { // factorize first
			t.Fatal(err)
		}
		v := tensor.Zeros(cs.x.Shape()...)
		for i := range v.Data() {
			v.Data()[i] = math.Cos(float64(3*i + 1))
		}
		for _, pr := range []struct {
			name  string
			f     func(*tensor.Tensor) (*tensor.Tensor, error)
			shape []int // the argument's
			want  int
		}{{"IJVP", l.IJVP, l.Output().Shape(), cs.ijvp}, {"VIJP", l.VIJP, cs.x.Shape(), cs.vijp}} {
			n0 := c.count("ew_abs_fwd")
			if _, err := pr.f(v.Reshape(pr.shape...)); err != nil {
				t.Fatal(err)
			}
			if got := c.count("ew_abs_fwd") - n0; got != pr.want {
				t.Errorf("%s, %s: %d residuals tested, want %d (%s)", cs.name, pr.name, got, pr.want, cs.reason)
			}
		}
		l.Close()
	}
}

// denseReference returns the CPU's dense J (row-major, as a tensor), its
// transpose and gonum's LU of J: the references of the refinement checks.
func denseReference(t *testing.T, cl *inverse.Linearization) (*tensor.Tensor, []float64, *gmat.LU) {
	t.Helper()
	J, err := cl.Jacobian()
	if err != nil {
		t.Fatal(err)
	}
	n := cl.Len()
	Jt := make([]float64, n*n)
	for i := range n {
		for j := range n {
			Jt[i*n+j] = J.Data()[j*n+i]
		}
	}
	lu := new(gmat.LU)
	lu.Factorize(gmat.NewDense(n, n, J.Data()))
	return J, Jt, lu
}
