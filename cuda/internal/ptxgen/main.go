// Command ptxgen compiles the CUDA C kernels of package cuda to PTX with
// NVRTC, which it opens at run time through purego (no cgo, no CUDA SDK).
//
// Usage:
//
//	go run ./internal/ptxgen [-src kernels] [-out kernels] [-arch compute_70,compute_90]
//
// Every NAME.cu in -src is compiled once per virtual architecture into
// -out/NAME.ARCH.ptx, with every *.cuh in -src available to #include.
// Stale NAME.ARCH.ptx files in -out are removed. Package cuda runs it
// through go generate; .ci/ptx-check regenerates into a temporary folder
// and compares.
//
// NVRTC 11.8 is Debian's libnvrtc11.2 (non-free), with
// libnvrtc-builtins11.8; cuda/README.md says how to install both.
// The committed PTX is NVRTC 11.8's: another NVRTC version writes different
// (equally valid) PTX, which the CI check reports as stale.
//
// Exit status: 0 on success, 1 on a compile error or an unsupported
// architecture, 3 when no NVRTC library can be opened.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

var stderr io.Writer = os.Stderr

// defaultLibs are the NVRTC libraries tried in order: Debian's 11.8 first,
// whose output is the committed one.
var defaultLibs = "libnvrtc.so.11.2,libnvrtc.so"

// options are the NVRTC options besides the architecture; fixed, so that
// the output is reproducible.
var options = []string{"--std=c++17", "--fmad=true"}

func main() {
	src := flag.String("src", "kernels", "folder of the *.cu sources and *.cuh headers")
	out := flag.String("out", "", "folder for the PTX (default: -src)")
	arch := flag.String("arch", "compute_70,compute_90", "virtual architectures, comma-separated")
	libs := flag.String("lib", defaultLibs, "NVRTC libraries to try, comma-separated")
	flag.Parse()
	if *out == "" {
		*out = *src
	}
	err := run(*src, *out, strings.Split(*arch, ","), strings.Split(*libs, ","))
	switch {
	case errors.Is(err, errNoNVRTC):
		fmt.Fprintln(stderr, "ptxgen:", err)
		os.Exit(3)
	case err != nil:
		fmt.Fprintln(stderr, "ptxgen:", err)
		os.Exit(1)
	}
}

func run(srcDir, outDir string, archs, libs []string) error {
	nv, err := openNVRTC(libs)
	if err != nil {
		return err
	}
	ver, err := nv.version()
	if err != nil {
		return err
	}
	supported, err := nv.archs()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "ptxgen: NVRTC %s (%s), architectures %v\n", ver, nv.path, supported)
	for _, a := range archs {
		num, ok := strings.CutPrefix(a, "compute_")
		n, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("architecture %q is not of the form compute_NN", a)
		}
		if !slices.Contains(supported, n) {
			return fmt.Errorf("NVRTC %s cannot target %s (it supports %v)", ver, a, supported)
		}
	}
	sources, headers, err := readSources(srcDir)
	if err != nil {
		return err
	}
	if len(sources) == 0 {
		return fmt.Errorf("no *.cu file in %s", srcDir)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, name := range sortedKeys(sources) {
		base := strings.TrimSuffix(name, ".cu")
		for _, a := range archs {
			opts := append([]string{"--gpu-architecture=" + a}, options...)
			ptx, err := nv.compile(name, sources[name], headers, opts)
			if err != nil {
				return err
			}
			file := base + "." + a + ".ptx"
			want[file] = true
			if err := os.WriteFile(filepath.Join(outDir, file), ptx, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "ptxgen: %s: %d bytes\n", filepath.Join(outDir, file), len(ptx))
		}
	}
	// Remove PTX of sources that no longer exist.
	old, _ := filepath.Glob(filepath.Join(outDir, "*.compute_*.ptx"))
	for _, f := range old {
		if !want[filepath.Base(f)] {
			if err := os.Remove(f); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "ptxgen: removed stale %s\n", f)
		}
	}
	return nil
}

// readSources returns the *.cu and *.cuh files of dir, by base name.
func readSources(dir string) (sources, headers map[string]string, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	sources, headers = map[string]string{}, map[string]string{}
	for _, e := range ents {
		name := e.Name()
		var m map[string]string
		switch {
		case e.IsDir():
			continue
		case strings.HasSuffix(name, ".cu"):
			m = sources
		case strings.HasSuffix(name, ".cuh"):
			m = headers
		default:
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, nil, err
		}
		m[name] = string(b)
	}
	return sources, headers, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
