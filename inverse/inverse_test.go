package inverse_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/tensor"
)

// denseRef returns the dense Jacobian from JVPs as a gonum matrix with its LU.
func denseRef(t *testing.T, lin *inverse.Linearization) (*mat.Dense, *mat.LU) {
	t.Helper()
	J, err := lin.Jacobian()
	if err != nil {
		t.Fatal(err)
	}
	n := lin.Len()
	Jm := mat.NewDense(n, n, J.Data())
	var lu mat.LU
	lu.Factorize(Jm)
	return Jm, &lu
}

func TestInverseProductsAgainstDenseLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, p := range programs {
		t.Run(p.Name, func(t *testing.T) {
			x := point(p, 1)
			lin, err := inverse.Linearize(p.F, x)
			if err != nil {
				t.Fatal(err)
			}
			Jm, lu := denseRef(t, lin)
			n := lin.Len()
			// Condition numbers of the test programs stay below ~1e3, so
			// 1e-10 is rounding with room to spare.
			const tol = 1e-10
			if c := lu.Cond(); c > 1e6 {
				t.Fatalf("test point is ill-conditioned (cond %g); pick another", c)
			}
			dy := randTensor(rng, lin.Output().Shape())
			dx, err := lin.IJVP(dy)
			if err != nil {
				t.Fatalf("IJVP: %v", err)
			}
			var want mat.VecDense
			if err := lu.SolveVecTo(&want, false, mat.NewVecDense(n, append([]float64(nil), dy.Data()...))); err != nil {
				t.Fatal(err)
			}
			if e := relErr(dx.Data(), want.RawVector().Data); e > tol {
				t.Errorf("IJVP vs LU solve of J: relative error %g (%s)", e, p.Reason)
			}
			cx := randTensor(rng, x.Shape())
			cy, err := lin.VIJP(cx)
			if err != nil {
				t.Fatalf("VIJP: %v", err)
			}
			if err := lu.SolveVecTo(&want, true, mat.NewVecDense(n, append([]float64(nil), cx.Data()...))); err != nil {
				t.Fatal(err)
			}
			if e := relErr(cy.Data(), want.RawVector().Data); e > tol {
				t.Errorf("VIJP vs LU solve of Jᵀ: relative error %g", e)
			}
			ld, err := lin.LogAbsDet()
			if err != nil {
				t.Fatal(err)
			}
			wantLD, _ := lu.LogDet()
			if math.Abs(ld-wantLD) > 1e-10*math.Max(1, math.Abs(wantLD)) {
				t.Errorf("LogAbsDet = %.15g, log|det J| from LU = %.15g", ld, wantLD)
			}
			// Round trips.
			tv := randTensor(rng, x.Shape())
			jt, _ := lin.JVP(tv)
			back, err := lin.IJVP(jt)
			if err != nil {
				t.Fatal(err)
			}
			if e := relErr(back.Data(), tv.Data()); e > tol {
				t.Errorf("IJVP(JVP(t)) != t: %g", e)
			}
			cv := randTensor(rng, lin.Output().Shape())
			vj, _ := lin.VJP(cv)
			backc, err := lin.VIJP(vj)
			if err != nil {
				t.Fatal(err)
			}
			if e := relErr(backc.Data(), cv.Data()); e > tol {
				t.Errorf("VIJP(VJP(c)) != c: %g", e)
			}
			K, err := lin.InverseJacobian()
			if err != nil {
				t.Fatal(err)
			}
			var prod mat.Dense
			prod.Mul(Jm, mat.NewDense(n, n, K.Data()))
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					want := 0.0
					if i == j {
						want = 1
					}
					if math.Abs(prod.At(i, j)-want) > tol {
						t.Fatalf("J·InverseJacobian()[%d,%d] = %g", i, j, prod.At(i, j))
					}
				}
			}
		})
	}
}

func TestLumpReport(t *testing.T) {
	for _, p := range programs {
		t.Run(p.Name, func(t *testing.T) {
			lin, err := inverse.Linearize(p.F, point(p, 1))
			if err != nil {
				t.Fatal(err)
			}
			lumps, err := lin.Lumps()
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			total := 0.0
			for _, l := range lumps {
				count[l.Kind.String()]++
				total += l.LogAbsDet
			}
			var kinds []string
			for k := range count {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			var got []string
			for _, k := range kinds {
				got = append(got, fmt.Sprintf("%s:%d", k, count[k]))
			}
			if g := strings.Join(got, " "); g != p.Lumps {
				t.Errorf("lumps %q, want %q (%s)", g, p.Lumps, p.Reason)
			}
			ld, _ := lin.LogAbsDet()
			if math.Abs(total-ld) > 1e-12*math.Max(1, math.Abs(ld)) {
				t.Errorf("report's log|det A| add up to %g, LogAbsDet %g", total, ld)
			}
		})
	}
}

func TestConcurrentInverseProducts(t *testing.T) {
	p := programs[5] // coupling: steps, expansions and copies
	x := point(p, 4)
	lin, err := inverse.Linearize(p.F, x)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(8, 8))
	const calls = 32 // goroutines racing on the first factorization and the workspaces
	vs := make([]*tensor.Tensor, calls)
	for i := range vs {
		vs[i] = randTensor(rng, x.Shape())
	}
	got := make([][2]*tensor.Tensor, calls)
	var wg sync.WaitGroup
	for i := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err1 := lin.IJVP(vs[i])
			b, err2 := lin.VIJP(vs[i])
			if err1 != nil || err2 != nil {
				t.Errorf("concurrent products: %v, %v", err1, err2)
				return
			}
			got[i] = [2]*tensor.Tensor{a, b}
		}()
	}
	wg.Wait()
	for i, v := range vs {
		a, _ := lin.IJVP(v)
		b, _ := lin.VIJP(v)
		if got[i][0] == nil || relErr(got[i][0].Data(), a.Data()) != 0 || relErr(got[i][1].Data(), b.Data()) != 0 {
			t.Fatalf("call %d differs from a sequential one", i)
		}
	}
}
