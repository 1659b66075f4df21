package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/invad/invad/cuda"
)

// TestGPUExample runs the example small. Without a GPU it must say so and
// fall back to the CPU; with one it must report the GPU and agree with the
// CPU. Either way the round trip IJVP(JVP(v)) = v must hold.
func TestGPUExample(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, 1024); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if cuda.Available() != nil {
		if !strings.HasPrefix(s, "backend auto: ") || !strings.Contains(s, "using the CPU\nrunning on: CPU\n") {
			t.Errorf("no fallback notice:\n%s", s)
		}
	} else if !strings.HasPrefix(s, "running on: CUDA") || !strings.Contains(s, "GPU vs CPU") {
		t.Errorf("no GPU report:\n%s", s)
	}
	m := regexp.MustCompile(`round trip \|IJVP\(JVP\(v\)\) − v\|∞ = (\S+)`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no round trip line:\n%s", s)
	}
	if e, err := strconv.ParseFloat(m[1], 64); err != nil || e > 1e-10 {
		t.Errorf("round trip error %s", m[1])
	}
	if err := run(&out, 1000); err == nil {
		t.Errorf("n = 1000 (not a multiple of 16): no error")
	}
}
