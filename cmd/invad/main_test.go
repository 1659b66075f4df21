package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/invad/invad/catalog"
)

func TestDemoConverges(t *testing.T) {
	var out bytes.Buffer
	if err := runDemo([]string{"-rows", "500", "-check", "16", "-backend", "cpu"}, &out); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	m := regexp.MustCompile(`converged: ‖F\(x\)‖∞ = (\S+) after`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no convergence line in\n%s", out.String())
	}
	if r, err := strconv.ParseFloat(m[1], 64); err != nil || r > 1e-10 {
		t.Errorf("final residual %s, want ≤ 1e-10", m[1])
	}
	m = regexp.MustCompile(`steps agree to (\S+) \(relative\)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no dense comparison in\n%s", out.String())
	}
	// The dense and inverse-mode steps solve the same well-conditioned system.
	if r, err := strconv.ParseFloat(m[1], 64); err != nil || r > 1e-10 {
		t.Errorf("dense and invad steps differ by %s", m[1])
	}
}

func TestExplainEveryExample(t *testing.T) {
	for _, p := range catalog.In(catalog.Explain) {
		name := p.Name
		var out bytes.Buffer
		if err := runExplain([]string{"-program", name, "-n", "48"}, &out); err != nil {
			t.Fatalf("explain %s: %v", name, err)
		}
		s := out.String()
		if p.Singular {
			if !strings.Contains(s, "structurally singular") {
				t.Errorf("explain %s: %s", name, s)
			}
			continue
		}
		if !strings.Contains(s, "log|det J| =") {
			t.Errorf("explain %s printed no lump report:\n%s", name, s)
		}
	}
	if err := runExplain([]string{"-program", "nope"}, &bytes.Buffer{}); err == nil {
		t.Errorf("unknown program: no error")
	}
}

func TestBackendFlag(t *testing.T) {
	var out bytes.Buffer
	if err := runDemo([]string{"-backend", "cuda"}, &out); err == nil || !strings.Contains(err.Error(), "--backend cuda: ") {
		t.Errorf("--backend cuda: got %v", err)
	}
	if err := runDemo([]string{"-backend", "tpu"}, &out); err == nil {
		t.Errorf("--backend tpu: no error")
	}
}
