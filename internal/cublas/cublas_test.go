package cublas

import (
	"errors"
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"
)

// fakeLib builds testdata/fakecublas.c with gcc and opens it.
func fakeLib(t *testing.T) *Lib {
	t.Helper()
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skipf("no gcc to build the fake libcublas: %v", err)
	}
	so := filepath.Join(t.TempDir(), "libfakecublas.so")
	if out, err := exec.Command(cc, "-shared", "-fPIC", "-O1", "-o", so, "testdata/fakecublas.c", "-lm").CombinedOutput(); err != nil {
		t.Fatalf("building the fake libcublas: %v\n%s", err, out)
	}
	l, err := Open(so)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func addr(s []float64) uint64 { return uint64(uintptr(unsafe.Pointer(&s[0]))) }

func TestOpenMissing(t *testing.T) {
	_, err := Open("libnot-a-cublas.so.99")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "libnot-a-cublas.so.99") || !strings.Contains(err.Error(), "INVAD_CUBLAS") {
		t.Errorf("got %v", err)
	}
	// A library without the symbols is refused too.
	if _, err := Open("libm.so.6"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no symbol cublasCreate_v2") {
		t.Errorf("libm: got %v", err)
	}
}

// TestFakeDgemm: the arguments reach the library as cublas_api.h declares
// them (alpha and beta by address, the transposes, the leading
// dimensions): the fake computes with them, checked against plain loops.
func TestFakeDgemm(t *testing.T) {
	l := fakeLib(t)
	h, err := l.Create()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SetStream(0xabc); err != nil {
		t.Fatal(err)
	}
	if v, err := h.Version(); err != nil || v != 120304 {
		t.Errorf("version %d, %v", v, err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	rnd := func(n int) []float64 {
		s := make([]float64, n)
		for i := range s {
			s[i] = rng.NormFloat64()
		}
		return s
	}
	for _, ta := range []Op{N, T} {
		for _, tb := range []Op{N, T} {
			m, n, k, lda, ldb, ldc := 5, 4, 3, 7, 6, 8
			a, b, c := rnd(lda*max(k, m)), rnd(ldb*max(k, n)), rnd(ldc*n)
			want := append([]float64(nil), c...)
			for j := 0; j < n; j++ {
				for i := 0; i < m; i++ {
					s := 0.0
					for p := 0; p < k; p++ {
						av, bv := a[i+p*lda], b[p+j*ldb]
						if ta == T {
							av = a[p+i*lda]
						}
						if tb == T {
							bv = b[j+p*ldb]
						}
						s += av * bv
					}
					want[i+j*ldc] = 2*s + 0.5*want[i+j*ldc]
				}
			}
			if err := h.Dgemm(ta, tb, m, n, k, 2, addr(a), lda, addr(b), ldb, 0.5, addr(c), ldc); err != nil {
				t.Fatal(err)
			}
			for i := range c {
				if math.Abs(c[i]-want[i]) > 1e-12 {
					t.Fatalf("ta=%d tb=%d: C[%d] = %v, want %v", ta, tb, i, c[i], want[i])
				}
			}
		}
	}
	// A bad leading dimension is CUBLAS_STATUS_INVALID_VALUE, named.
	x := rnd(16)
	err = h.Dgemm(N, N, 4, 4, 4, 1, addr(x), 2, addr(x), 4, 0, addr(x), 4)
	var e *Error
	if !errors.As(err, &e) || e.Status != 7 || !strings.Contains(err.Error(), "cublasDgemm_v2: CUBLAS_STATUS_INVALID_VALUE") {
		t.Errorf("bad lda: got %v", err)
	}
	if err := h.Destroy(); err != nil {
		t.Fatal(err)
	}
}

// TestFakeDgetrfBatched: the pointer array, pivots and infos arrive where
// the declaration puts them.
func TestFakeDgetrfBatched(t *testing.T) {
	l := fakeLib(t)
	h, err := l.Create()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Destroy()
	a0 := []float64{1, 3, 2, 4} // column-major [[1 2] [3 4]]: pivots row 2 first
	a1 := []float64{0, 0, 0, 1} // singular: zero first column
	ptrs := []uint64{addr(a0), addr(a1)}
	piv := make([]int32, 4)
	info := make([]int32, 2)
	err = h.DgetrfBatched(2, uint64(uintptr(unsafe.Pointer(&ptrs[0]))), 2, uint64(uintptr(unsafe.Pointer(&piv[0]))), uint64(uintptr(unsafe.Pointer(&info[0]))), 2)
	if err != nil {
		t.Fatal(err)
	}
	if piv[0] != 2 || info[0] != 0 || info[1] != 1 {
		t.Errorf("pivots %v, infos %v", piv, info)
	}
	// P A = L U with L = [[1 0] [1/3 1]], U = [[3 4] [0 2/3]].
	if a0[0] != 3 || math.Abs(a0[1]-1.0/3) > 1e-15 || a0[2] != 4 || math.Abs(a0[3]-2.0/3) > 1e-15 {
		t.Errorf("factors %v", a0)
	}
}
