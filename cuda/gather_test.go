package cuda

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/invad/invad/tensor"
)

// checkStrided compares stridedCopy and stridedSum with host loops over the
// same index spaces, larger than one block of threads (so the grid-stride
// loops run), with offsets on both sides and a broadcast (stride 0) source.
func checkStrided(t *testing.T, b *Backend) {
	rng := rand.New(rand.NewPCG(13, 13))
	// offset returns Σ idx·st for flat index e of the space dims.
	offset := func(e int, dims, st []int) int {
		o := 0
		for d := len(dims) - 1; d >= 0; d-- {
			o += (e % dims[d]) * st[d]
			e /= dims[d]
		}
		return o
	}
	// A permutation of [37, 5, 11] (2035 elements) into the middle of a
	// larger buffer, written and then added with alpha.
	dims := []int{11, 37, 5}
	src := randSlice(rng, 3+37*5*11)
	s := strided{dims: dims, dst: []int{1, 11 * 5, 11}, src: []int{1, 5 * 11, 5}, dstOff: 4, srcOff: 3}
	dst := randSlice(rng, 4+37*5*11+2)
	for _, add := range []bool{false, true} {
		want := slices.Clone(dst)
		for e := 0; e < tensor.SizeOf(dims); e++ {
			v := 0.5 * src[s.srcOff+offset(e, dims, s.src)]
			if add {
				want[s.dstOff+offset(e, dims, s.dst)] += v
			} else {
				want[s.dstOff+offset(e, dims, s.dst)] = v
			}
		}
		dd := upload(t, b, dst)
		if err := b.stridedCopy(dd, upload(t, b, src), s, 0.5, add); err != nil {
			t.Fatal(err)
		}
		if got := download(t, dd); !slices.Equal(got, want) {
			t.Errorf("stridedCopy add=%v: differs from the host loop", add)
		}
	}
	// A sum over axes 0 and 2 of [3, 300, 4] (two reduced axes, one kept),
	// then a broadcast copy back (stride 0 along the reduced axes).
	x := randSlice(rng, 3*300*4)
	keep := strided{dims: []int{300}, src: []int{4}}
	rdims, rsrc := []int{3, 4}, []int{1200, 1}
	want := make([]float64, 300)
	for j := range want {
		for i := 0; i < 3; i++ {
			for l := 0; l < 4; l++ {
				want[j] += x[i*1200+j*4+l]
			}
		}
		want[j] *= 2
	}
	dy := upload(t, b, nans(300))
	if err := b.stridedSum(dy, upload(t, b, x), keep, rdims, rsrc, 2, false); err != nil {
		t.Fatal(err)
	}
	got := download(t, dy)
	for j := range want {
		// Twelve terms below 1 in magnitude, in another order than the
		// host's: rounding below 12·2.2e-16.
		if !closeTo(got[j], want[j], 0, 1e-14) {
			t.Fatalf("stridedSum element %d = %v, host %v", j, got[j], want[j])
		}
	}
	// Caller mistakes panic with a "cuda: " message.
	d := upload(t, b, make([]float64, 6))
	for name, f := range map[string]func(){
		"src past the end": func() {
			b.stridedCopy(d, d, strided{dims: []int{2, 3}, dst: []int{3, 1}, src: []int{3, 1}, srcOff: 1}, 1, false)
		},
		"negative stride": func() {
			b.stridedCopy(d, d, strided{dims: []int{2}, dst: []int{1}, src: []int{-1}, srcOff: 2}, 1, false)
		},
		"dst too short": func() { b.stridedSum(d, d, strided{dims: []int{7}, src: []int{0}}, nil, nil, 1, false) },
	} {
		func() {
			defer func() {
				if r, _ := recover().(string); !strings.HasPrefix(r, "cuda: ") {
					t.Errorf("%s: panic %q, want a \"cuda: \" message", name, r)
				}
			}()
			f()
		}()
	}
}
