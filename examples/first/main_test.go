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
	// 1 + cos(0.1) = 1.995004165...
	if got := strings.TrimSpace(buf.String()); got != "[1.995004 0.000000 0.000000]" {
		t.Fatalf("output %q", got)
	}
}
