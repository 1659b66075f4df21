package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestFirstExample(t *testing.T) {
	r, w, _ := os.Pipe()
	stdout := os.Stdout
	os.Stdout = w
	main()
	w.Close()
	os.Stdout = stdout
	var buf bytes.Buffer
	buf.ReadFrom(r)
	// 1 + cos(0.1) = 1.995004165...; log|det J| = Σ log(1 + cos x) over
	// 0.1, 0.2, 0.3 = 0.690646 + 0.683130 + 0.670562 = 2.044339 (computed
	// independently with Python math).
	want := "[1.995004 0.000000 0.000000]\n[1.000000 0.000000 0.000000]\n2.044339"
	if got := strings.TrimSpace(buf.String()); got != want {
		t.Fatalf("output %q, want %q", got, want)
	}
}
