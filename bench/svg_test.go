package bench

import (
	"encoding/xml"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// svgElem is an element of a plot read back by parseSVG.
type svgElem struct {
	name  string
	attrs map[string]string
	text  string
	// group is the class of the innermost enclosing <g> with a class.
	group string
}

// parseSVG decodes a whole SVG document, failing the test on any XML
// error, and returns its elements in document order.
func parseSVG(t *testing.T, doc string) []svgElem {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(doc))
	var out []svgElem
	var groups []string
	var open []int // indices in out of open elements
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v", err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			e := svgElem{name: tk.Name.Local, attrs: map[string]string{}}
			for _, a := range tk.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			if len(groups) > 0 {
				e.group = groups[len(groups)-1]
			}
			if e.name == "g" {
				g := e.attrs["class"]
				if g == "" && len(groups) > 0 {
					g = groups[len(groups)-1]
				}
				groups = append(groups, g)
			}
			out = append(out, e)
			open = append(open, len(out)-1)
		case xml.EndElement:
			if tk.Name.Local == "g" {
				groups = groups[:len(groups)-1]
			}
			open = open[:len(open)-1]
		case xml.CharData:
			if len(open) > 0 {
				out[open[len(open)-1]].text += string(tk)
			}
		}
	}
	return out
}

// plotReport is a report of one family with known times: the primal at
// 1 ms·(n/10³), IJVP at half that, GMRES (dashed) at 100 µs·(n/10³)
// except skipped at the largest n, and LogAbsDet, which is never plotted.
func plotReport() *Report {
	r := &Report{Families: []Family{{Name: "toy"}}, Machine: "plan9/arm, a toy CPU, 3 logical CPUs",
		Started: time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)}
	add := func(n int, m Method, d time.Duration, skipped string) {
		r.Results = append(r.Results, Result{Family: "toy", N: n, Method: m, Median: d, Accuracy: math.NaN(), Skipped: skipped})
	}
	for _, n := range []int{1000, 10_000, 100_000} {
		k := time.Duration(n / 1000)
		add(n, MethodPrimal, k*time.Millisecond, "")
		add(n, MethodIJVP, k*time.Millisecond/2, "")
		add(n, MethodLogAbsDet, 8, "")
		if n < 100_000 {
			add(n, MethodGMRES, k*100*time.Microsecond, "")
		} else {
			add(n, MethodGMRES, 0, "too slow")
		}
		add(n, MethodDense, 0, "n > DenseMax")
	}
	return r
}

// oneStyle is the one label style of both axes: 10ᵏ or m×10ᵏ.
var oneStyle = regexp.MustCompile(`^([1-9](\.[0-9]+)?×)?10⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+$`)

func TestPlotSVG(t *testing.T) {
	r := plotReport()
	var b strings.Builder
	if err := r.writeSVG(&b, "toy"); err != nil {
		t.Fatal(err)
	}
	els := parseSVG(t, b.String())

	// One line per plotted method that ran, in Methods order: the dense
	// method was skipped at every n and LogAbsDet is not plotted.
	want := []string{string(MethodPrimal), string(MethodIJVP), string(MethodGMRES)}
	wantPts := []int{3, 3, 2}
	var lines []svgElem
	var methods, legend []string
	for _, e := range els {
		switch {
		case e.name == "g" && e.attrs["class"] == "series":
			methods = append(methods, e.attrs["data-method"])
		case e.name == "polyline" && e.group == "series":
			lines = append(lines, e)
		case e.name == "text" && e.group == "legend-entry":
			legend = append(legend, e.text)
		}
	}
	if !slices.Equal(methods, want) || !slices.Equal(legend, want) || len(lines) != len(want) {
		t.Fatalf("series %q, legend %q, %d polylines: want %q in both and one line each", methods, legend, len(lines), want)
	}
	for i, l := range lines {
		pts := strings.Fields(l.attrs["points"])
		if len(pts) != wantPts[i] {
			t.Errorf("%s: %d points, want %d (skipped sizes left out)", want[i], len(pts), wantPts[i])
		}
		dashed := l.attrs["stroke-dasharray"] != ""
		if dashed != (want[i] == string(MethodGMRES)) {
			t.Errorf("%s: dashed %v, want dashed only for methods not by invad", want[i], dashed)
		}
	}

	// A known point: the primal at n = 10³ took 10⁻³ s. The n axis runs
	// from 10³/xPad to 10⁵·xPad, the time axis from 10⁻⁴/yPad s (GMRES at
	// n = 10³) to 10⁻¹·yPad s (the primal at 10⁵).
	xlo, xhi := math.Log10(1e3/xPad), math.Log10(1e5*xPad)
	ylo, yhi := math.Log10(1e-4/yPad), math.Log10(1e-1*yPad)
	wantX := plotLeft + (3-xlo)/(xhi-xlo)*(plotRight-plotLeft)
	wantY := plotBottom + (-3-ylo)/(yhi-ylo)*(plotTop-plotBottom)
	first := strings.Fields(lines[0].attrs["points"])[0]
	xs, ys, _ := strings.Cut(first, ",")
	x, _ := strconv.ParseFloat(xs, 64)
	y, _ := strconv.ParseFloat(ys, 64)
	// The SVG prints coordinates to 0.01 px.
	if math.Abs(x-wantX) > 0.01 || math.Abs(y-wantY) > 0.01 {
		t.Errorf("(10³, 10⁻³ s) drawn at (%v, %v), want (%.2f, %.2f)", x, y, wantX, wantY)
	}

	// Tick labels: one style on both axes, a label at every decade.
	var xl, yl []string
	for _, e := range els {
		if e.attrs["class"] != "ticklabel" {
			continue
		}
		if !oneStyle.MatchString(e.text) {
			t.Errorf("tick label %q is not in the style 10ᵏ or m×10ᵏ", e.text)
		}
		if e.group == "xlabels" {
			xl = append(xl, e.text)
		} else {
			yl = append(yl, e.text)
		}
	}
	if w := []string{"10³", "10⁴", "10⁵"}; !slices.Equal(xl, w) {
		t.Errorf("n labels %q, want %q", xl, w)
	}
	if w := []string{"10⁻⁴", "10⁻³", "10⁻²", "10⁻¹"}; !slices.Equal(yl, w) {
		t.Errorf("time labels %q, want %q", yl, w)
	}

	// The title, and the machine, date and reading under it.
	var title, sub string
	for _, e := range els {
		switch e.attrs["class"] {
		case "title":
			title = e.text
		case "subtitle":
			sub = e.text
		}
	}
	if title != "invad bench: toy" {
		t.Errorf("title %q", title)
	}
	for _, w := range []string{r.Machine, "2026-12-06", "lower is better"} {
		if !strings.Contains(sub, w) {
			t.Errorf("subtitle %q lacks %q", sub, w)
		}
	}
}

// TestSizeTicks: with less than two decades on the n axis every size run
// is labelled, in the axes' one style, and a decade label that would
// crowd a size's is dropped.
func TestSizeTicks(t *testing.T) {
	ns := []int{30, 90}
	ax := logAxis{math.Log10(30 / xPad), math.Log10(90 * xPad), plotLeft, plotRight}
	var labels []string
	for _, tk := range sizeTicks(ns, ax) {
		if tk.label != "" {
			labels = append(labels, tk.label)
		}
	}
	slices.Sort(labels)
	// 10² is 0.05 decade from 90, about 30 px: its label goes.
	if w := []string{"3×10¹", "9×10¹"}; !slices.Equal(labels, w) {
		t.Errorf("labels %q, want %q", labels, w)
	}
	for _, l := range labels {
		if !oneStyle.MatchString(l) {
			t.Errorf("label %q is not in the axes' style", l)
		}
	}
	if got := sciLabel(29929); got != "2.993×10⁴" {
		t.Errorf("sciLabel(29929) = %q, want 2.993×10⁴", got)
	}
}

// TestMarkersDistinct: every method has its own colour and marker shape.
func TestMarkersDistinct(t *testing.T) {
	if len(Methods()) > len(methodColors) || len(Methods()) > len(markerShapes) {
		t.Fatalf("%d methods, %d colours, %d markers", len(Methods()), len(methodColors), len(markerShapes))
	}
	seen := map[string]int{}
	for i := range markerShapes {
		k := markerElement(i, markerPath(i, 0, 0, 4.5), "#000")
		if j, dup := seen[k]; dup {
			t.Errorf("markers %d and %d are the same", j, i)
		}
		seen[k] = i
	}
	for i, c := range methodColors {
		if j := slices.Index(methodColors, c); j != i {
			t.Errorf("colours %d and %d are the same", j, i)
		}
	}
}

// TestPlotAxesDecades: a time axis that would show fewer than two decades
// is rounded out to decades, so it has two labels at least.
func TestPlotAxesDecades(t *testing.T) {
	ss := []series{{pts: [][2]float64{{1000, 1e-3}, {2000, 2e-3}}}}
	_, ay := plotAxes([]int{1000, 2000}, ss)
	if ay.lo != -4 || ay.hi != -2 {
		t.Errorf("time axis 10^%v .. 10^%v, want 10⁻⁴ .. 10⁻²", ay.lo, ay.hi)
	}
}
