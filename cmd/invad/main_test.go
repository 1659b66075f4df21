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
		err := runExplain([]string{"-program", name, "-n", "48"}, &out)
		if p.Singular {
			// Refused: an error (exit status 1), naming why.
			if err == nil || !strings.Contains(err.Error(), "structurally singular") {
				t.Errorf("explain %s: error %v, want one saying structurally singular", name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("explain %s: %v", name, err)
		}
		s := out.String()
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

// TestCommandLine: the exit statuses and streams of a conventional CLI.
func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args           []string
		status         int
		stdout, stderr string // substrings; "" for an empty stream
	}{
		{nil, 2, "", "usage: invad <command>"},
		{[]string{"help"}, 0, "usage: invad <command>", ""},
		{[]string{"--version"}, 0, "invad ", ""},
		{[]string{"version"}, 0, "invad ", ""},
		{[]string{"nope"}, 2, "", `unknown command "nope"`},
		{[]string{"explain", "-bogus"}, 2, "", "flag provided but not defined: -bogus"},
		{[]string{"explain", "stray"}, 2, "", `unexpected argument "stray"`},
		{[]string{"explain", "--help"}, 0, "usage: invad explain", ""},
		{[]string{"explain", "-program", "singular", "-n", "8"}, 1, "program singular", "structurally singular"},
	} {
		var out, errOut bytes.Buffer
		status := run(tc.args, &out, &errOut)
		check := func(name, got, want string) {
			if (want == "" && got != "") || !strings.Contains(got, want) {
				t.Errorf("invad %q: %s %q, want it to contain %q", tc.args, name, got, want)
			}
		}
		if status != tc.status {
			t.Errorf("invad %q: exit status %d, want %d", tc.args, status, tc.status)
		}
		check("stdout", out.String(), tc.stdout)
		check("stderr", errOut.String(), tc.stderr)
		if n := strings.Count(errOut.String(), "flag provided but not defined"); n > 1 {
			t.Errorf("invad %q: the flag error printed %d times", tc.args, n)
		}
	}
}
