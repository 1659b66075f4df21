package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// nvrtcOrSkip opens Debian's NVRTC 11.8 or skips the test.
func nvrtcOrSkip(t *testing.T) *nvrtc {
	t.Helper()
	nv, err := openNVRTC(strings.Split(defaultLibs, ","))
	if err != nil {
		t.Skipf("no NVRTC here (on Debian: libnvrtc11.2 and libnvrtc-builtins11.8 from the non-free section; see cuda/README.md): %v", err)
	}
	return nv
}

func quiet(t *testing.T) {
	old := stderr
	stderr = io.Discard
	t.Cleanup(func() { stderr = old })
}

func TestMissingLibrary(t *testing.T) {
	_, err := openNVRTC([]string{"libnvrtc-invad-test-absent.so"})
	if !errors.Is(err, errNoNVRTC) {
		t.Errorf("openNVRTC of an absent library: %v, want errNoNVRTC", err)
	}
}

func TestCompile(t *testing.T) {
	nv := nvrtcOrSkip(t)
	quiet(t)
	src := `#include "twice.cuh"
extern "C" __global__ void twice(long long n, double* x) { long long i = threadIdx.x; if (i < n) x[i] = TWICE(x[i]); }`
	ptx, err := nv.compile("t.cu", src, map[string]string{"twice.cuh": "#define TWICE(v) (2*(v))\n"}, []string{"--gpu-architecture=compute_70"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\n.target sm_70\n", "\n.address_size 64\n", ".visible .entry twice(", ".param .u64 twice_param_0"} {
		if !bytes.Contains(ptx, []byte(want)) {
			t.Errorf("PTX lacks %q", want)
		}
	}
	if bytes.IndexByte(ptx, 0) >= 0 {
		t.Errorf("PTX keeps a NUL byte")
	}
}

func TestCompileErrorHasLog(t *testing.T) {
	nv := nvrtcOrSkip(t)
	_, err := nv.compile("bad.cu", "extern \"C\" __global__ void f() { undeclared_thing = 1; }", nil, []string{"--gpu-architecture=compute_70"})
	if err == nil || !strings.Contains(err.Error(), "undeclared_thing") || !strings.Contains(err.Error(), "bad.cu") {
		t.Errorf("compile error %v, want NVRTC's log naming the file and the identifier", err)
	}
}

func TestRun(t *testing.T) {
	nvrtcOrSkip(t)
	quiet(t)
	src, out := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(src, "k.cu"), []byte(`#include "h.cuh"
extern "C" __global__ void k(double* x) { x[0] = ONE; }`), 0o644)
	os.WriteFile(filepath.Join(src, "h.cuh"), []byte("#define ONE 1.0\n"), 0o644)
	os.WriteFile(filepath.Join(out, "gone.compute_70.ptx"), []byte("stale"), 0o644)
	os.WriteFile(filepath.Join(out, "notes.txt"), []byte("kept"), 0o644)
	if err := run(src, out, []string{"compute_70", "compute_90"}, strings.Split(defaultLibs, ",")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"k.compute_70.ptx", "k.compute_90.ptx", "notes.txt"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "gone.compute_70.ptx")); !os.IsNotExist(err) {
		t.Errorf("the PTX of a removed source stays: %v", err)
	}
	if err := run(src, out, []string{"compute_11"}, strings.Split(defaultLibs, ",")); err == nil || !strings.Contains(err.Error(), "cannot target compute_11") {
		t.Errorf("an unsupported architecture gives %v", err)
	}
}

// TestCommittedPTXFresh regenerates the PTX of package cuda and compares it
// with the committed files, as .ci/ptx-check does. It needs NVRTC 11.8,
// whose output is the committed one.
func TestCommittedPTXFresh(t *testing.T) {
	nv := nvrtcOrSkip(t)
	if v, err := nv.version(); err != nil || v != "11.8" {
		t.Skipf("NVRTC %s (%v): the committed PTX is NVRTC 11.8's", v, err)
	}
	quiet(t)
	src, out := filepath.Join("..", "..", "kernels"), t.TempDir()
	if err := run(src, out, []string{"compute_70", "compute_90"}, strings.Split(defaultLibs, ",")); err != nil {
		t.Fatal(err)
	}
	fresh, _ := filepath.Glob(filepath.Join(out, "*.ptx"))
	committed, _ := filepath.Glob(filepath.Join(src, "*.ptx"))
	if len(fresh) != len(committed) {
		t.Errorf("%d PTX files generated, %d committed", len(fresh), len(committed))
	}
	for _, f := range fresh {
		want, _ := os.ReadFile(f)
		got, err := os.ReadFile(filepath.Join(src, filepath.Base(f)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("cuda/kernels/%s is stale: run go generate in cuda/ (%v)", filepath.Base(f), err)
		}
	}
}
