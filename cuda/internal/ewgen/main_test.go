package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/invad/invad/ops"
)

// TestHeaderFresh checks that the committed kernels/unary_ops.cuh is what
// the declarations of package ops generate: an op declared or changed
// without `go generate ./cuda/` fails here.
func TestHeaderFresh(t *testing.T) {
	got, err := os.ReadFile("../../kernels/unary_ops.cuh")
	if err != nil {
		t.Fatal(err)
	}
	if want := header(ops.UnaryDecls()); !bytes.Equal(got, want) {
		t.Errorf("cuda/kernels/unary_ops.cuh is stale: run go generate ./cuda/ (and commit the PTX)")
	}
}

// TestHeaderLists checks the header has one struct and one X entry per op.
func TestHeaderLists(t *testing.T) {
	h := string(header(ops.UnaryDecls()))
	for _, d := range ops.UnaryDecls() {
		for _, want := range []string{"struct U_" + d.Name + " {", "X(" + d.Name + ", U_" + d.Name + ")", "return " + d.DevF + ";"} {
			if !bytes.Contains([]byte(h), []byte(want)) {
				t.Errorf("header lacks %q", want)
			}
		}
	}
}
