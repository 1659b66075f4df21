package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchCmdFlags(t *testing.T) {
	benchProgress = io.Discard
	defer func() { benchProgress = os.Stderr }()
	for _, tc := range []struct {
		name, reason string
		args         []string
		want         string
	}{
		{"cuda", "the harness times the CPU backend only: the error points to the GPU benchmarks", []string{"--backend", "cuda"}, "--backend cuda: "},
		{"bad backend", "only auto, cpu, cuda", []string{"--backend", "tpu"}, "want auto, cpu or cuda"},
		{"family", "unknown family names are refused", []string{"--families", "nope", "--sizes", "16"}, `unknown family "nope"`},
		{"sizes", "sizes must be positive integers", []string{"--sizes", "10,x"}, "--sizes"},
		{"max-n", "max-n takes N or family=N", []string{"--max-n", "wx=big"}, "--max-n"},
		{"sizes per family", "sizes take N or family=N", []string{"--sizes", "flow=-8"}, "--sizes"},
		{"sizes of an unknown family", "a family=N size names a family", []string{"--sizes", "nope=80"}, `SizesFor names unknown family "nope"`},
		{"gmres-max-n", "negative limits are refused", []string{"--gmres-max-n", "-1"}, "must not be negative"},
		{"reps", "negative counts are refused", []string{"--reps", "-1"}, "must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runBench(tc.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: got %v, want an error containing %q", tc.reason, err, tc.want)
			}
		})
	}
}

// TestBenchRun runs invad bench on two tiny sizes of two families and
// checks the files it writes.
func TestBenchCmdRun(t *testing.T) {
	benchProgress = io.Discard
	defer func() { benchProgress = os.Stderr }()
	dir := t.TempDir()
	var out strings.Builder
	err := runBench([]string{"--families", "elementwise,kinetics", "--sizes", "30,90", "--reps", "1", "--torch", "off", "--backend", "cpu", "--out", dir}, &out)
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "bench.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## elementwise", "## kinetics", "invad bench --families elementwise,kinetics", "| n = 90 |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("bench.md lacks %q", want)
		}
	}
	if strings.Contains(string(md), "## coupling") {
		t.Error("bench.md has a family that was not asked for")
	}
	plots := []string{"bench-elementwise.svg", "bench-kinetics.svg"}
	for _, f := range append([]string{"bench.json"}, plots...) {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if !strings.Contains(out.String(), "bench.md") {
		t.Errorf("output %q does not name bench.md", out.String())
	}

	// --replot redraws the plots from bench.json without running again.
	for _, f := range plots {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	out.Reset()
	if err := runBench([]string{"--replot", dir}, &out); err != nil {
		t.Fatal(err)
	}
	for _, f := range plots {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("--replot: %s: %v", f, err)
		}
	}
	if err := runBench([]string{"--replot", filepath.Join(dir, "nothing-here")}, io.Discard); err == nil {
		t.Error("--replot of a missing folder: no error")
	}
}

func TestShellCommand(t *testing.T) {
	got := shellCommand([]string{"invad", "bench", "--note", "it's shared", "--max-n", "1000,wx=30"})
	want := `invad bench --note 'it'\''s shared' --max-n 1000,wx=30`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
