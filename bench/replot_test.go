package bench

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// quickReport runs the harness on two families at two tiny sizes, PyTorch
// off: a report with times, skipped runs and GMRES iterations.
func quickReport(t *testing.T) *Report {
	t.Helper()
	rep, err := Run(Config{Quick: true, Families: []string{"elementwise", "kinetics"}, Sizes: []int{30, 90}, Reps: 1, Torch: "off", Command: "invad bench --test"})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// checkParsed compares a report read back from bench.md with the report
// that wrote it: the same families, every result there, times within the
// three significant digits printed.
func checkParsed(t *testing.T, got, want *Report) {
	t.Helper()
	names := func(r *Report) []string {
		var s []string
		for _, f := range r.Families {
			s = append(s, f.Name)
		}
		return s
	}
	if diff := cmp.Diff(names(want), names(got)); diff != "" {
		t.Errorf("families (-want +got):\n%s", diff)
	}
	if got.Machine != want.Machine || !got.Started.Equal(want.Started.UTC().Truncate(time.Minute)) || got.Config.Command != want.Config.Command {
		t.Errorf("header read as %q, %v, %q; want %q, %v, %q", got.Machine, got.Started, got.Config.Command,
			want.Machine, want.Started.UTC().Truncate(time.Minute), want.Config.Command)
	}
	for _, w := range want.Results {
		g, ok := got.Result(w.Family, w.N, w.Method)
		if !ok {
			t.Errorf("%s n=%d %s: not read back", w.Family, w.N, w.Method)
			continue
		}
		if (g.Skipped != "") != (w.Skipped != "") {
			t.Errorf("%s n=%d %s: skipped %q, want %q", w.Family, w.N, w.Method, g.Skipped, w.Skipped)
			continue
		}
		// %.3g rounds to half a unit in the third digit: a relative error
		// of at most 0.5%, and durations are whole nanoseconds.
		if d := math.Abs(float64(g.Median - w.Median)); d > 0.005*float64(w.Median)+1 {
			t.Errorf("%s n=%d %s: median %v, want %v to 3 digits", w.Family, w.N, w.Method, g.Median, w.Median)
		}
		if g.Iters != w.Iters {
			t.Errorf("%s n=%d %s: %d iterations, want %d", w.Family, w.N, w.Method, g.Iters, w.Iters)
		}
	}
	if len(got.Results) != len(want.Results) {
		t.Errorf("read %d results, want %d", len(got.Results), len(want.Results))
	}
}

// TestParseMarkdown reads a bench.md written by the harness back, as it is
// and pasted under a document's own introduction one heading level down
// (as docs/bench-batched.md holds its report).
func TestParseMarkdown(t *testing.T) {
	rep := quickReport(t)
	var md bytes.Buffer
	rep.WriteMarkdown(&md)
	got, err := ParseMarkdown(bytes.NewReader(md.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	checkParsed(t, got, rep)

	nested := "# Batched networks\n\nAn introduction with a table of its own:\n\n| n | ratio |\n|---:|---:|\n| 1000 | ×2 |\n\n" +
		strings.ReplaceAll(md.String(), "\n#", "\n##")
	got, err = ParseMarkdown(strings.NewReader(nested))
	if err != nil {
		t.Fatal(err)
	}
	checkParsed(t, got, rep)

	for _, tc := range []struct{ name, reason, md string }{
		{"none", "a file without a time table is not a report", "# notes\n\nnothing here\n"},
		{"cell", "a cell that is not a time is an error, not a silent zero", "## toy\n\n| time (× primal) | n = 10 |\n|---|---:|\n| primal | fast |\n"},
		{"width", "a row with a missing cell is an error", "## toy\n\n| time (× primal) | n = 10 | n = 20 |\n|---|---:|---:|\n| primal | 1 ms |\n"},
	} {
		if _, err := ParseMarkdown(strings.NewReader(tc.md)); err == nil {
			t.Errorf("%s: no error; %s", tc.name, tc.reason)
		}
	}
}

// TestJSONRoundTrip: bench.json holds the whole report but the families'
// functions, NaN accuracies included.
func TestJSONRoundTrip(t *testing.T) {
	rep := plotReport()
	rep.Config = Config{Families: []string{"toy"}, Reps: 3, RepBudget: 2 * time.Second, Command: "invad bench"}
	rep.LoadMin, rep.LoadMax = math.NaN(), math.Inf(1)
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	opts := cmp.Options{cmpopts.EquateNaNs(), cmpopts.IgnoreFields(Family{}, "Size", "Words", "New")}
	if diff := cmp.Diff(rep, got, opts); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
}

// TestReplot redraws the plots of a folder from its bench.json, and from
// its bench.md alone with the old PNG links, which become SVG links and
// nothing else changes.
func TestReplot(t *testing.T) {
	rep := plotReport()
	dir := t.TempDir()
	if _, err := rep.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	svg := filepath.Join(dir, PlotName("toy"))
	want, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(svg); err != nil {
		t.Fatal(err)
	}
	paths, err := Replot(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(svg); err != nil || !bytes.Equal(got, want) {
		t.Errorf("replot from bench.json wrote %v (err %v), want the plot WriteFiles wrote", paths, err)
	}

	// From bench.md alone, as an older run left it.
	md := filepath.Join(dir, "bench.md")
	text, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	old := bytes.ReplaceAll(text, []byte("](bench-toy.svg)"), []byte("](bench-toy.png)"))
	if bytes.Equal(old, text) {
		t.Fatal("bench.md has no link to the plot")
	}
	for _, p := range []string{filepath.Join(dir, "bench.json"), svg} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(md, old, 0o644); err != nil {
		t.Fatal(err)
	}
	paths, err = Replot(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(paths, []string{svg, md}) {
		t.Errorf("wrote %v, want %v", paths, []string{svg, md})
	}
	if got, _ := os.ReadFile(md); !bytes.Equal(got, text) {
		t.Errorf("bench.md after replot differs from the original in more than its links:\n%s", cmp.Diff(string(text), string(got)))
	}
	got, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	parseSVG(t, string(got))
	if !strings.Contains(string(got), `data-method="IJVP"`) {
		t.Error("the replotted SVG has no IJVP line")
	}
}
