package ops

import (
	"math"
	"strings"
	"testing"
)

// TestDeclMissingRule: building the table of unary ops panics for a
// declaration without f″ (or f'), so that a new op cannot leave its
// second-order rule out.
func TestDeclMissingRule(t *testing.T) {
	df := func(x, y, p float64) float64 { return y }
	for _, tc := range []struct {
		name string
		d    *UnaryDecl
	}{
		{"no D2F", &UnaryDecl{Name: "exp", F1: math.Exp, DF: df}},
		{"no DF", &UnaryDecl{Name: "exp", F1: math.Exp, D2F: df}},
		{"no f", &UnaryDecl{Name: "exp", DF: df, D2F: df}},
	} {
		msg := func() (msg string) {
			defer func() { msg, _ = recover().(string) }()
			withF([]*UnaryDecl{tc.d})
			return ""
		}()
		if !strings.HasPrefix(msg, "ops: unary op exp ") {
			t.Errorf("%s: withF panicked with %q, want a message naming the op", tc.name, msg)
		}
	}
	for _, d := range unaryDecls {
		if d.D2F == nil {
			t.Errorf("unary op %s declares no D2F", d.Name)
		}
	}
}
