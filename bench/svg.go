package bench

// The plots are written by hand as SVG with the standard library, not with
// gonum.org/v1/plot as before. The project prefers a well-kept library, but
// package bench is imported by cmd/invad (for `invad bench`), so every
// dependency of the plots is a dependency of the command's first build:
// gonum/plot brought golang.org/x/image, the Liberation fonts, go-latex,
// go-pdf, freetype, svgo, gg and x/text, and a new user's first
// `go run ./cmd/invad demo` spent over two minutes downloading them. A
// log-log line chart with markers and a legend is a few hundred lines of
// fmt and math, and SVG needs no fonts or rasterizer of ours.

import (
	"encoding/xml"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Layout of a plot, in pixels (SVG user units): the plot area is the
// rectangle [plotLeft, plotRight] × [plotTop, plotBottom], the legend sits
// to its right.
const (
	svgWidth, svgHeight = 960, 560
	plotLeft, plotTop   = 84, 78
	plotRight           = svgWidth - 280
	plotBottom          = svgHeight - 64
	// xPad pads the n axis by about a quarter decade each side, so the
	// first and last sizes are not drawn on the frame.
	xPad = 1.8
	// yPad pads the time axis by about a sixth of a decade each side.
	yPad = 1.5
	// labelGap is the least distance between two tick labels on the n axis.
	labelGap = 64
)

// logAxis maps a value to a pixel on a log scale: 10^lo to p0, 10^hi to p1.
type logAxis struct{ lo, hi, p0, p1 float64 }

func (a logAxis) pos(v float64) float64 {
	return a.p0 + (math.Log10(v)-a.lo)/(a.hi-a.lo)*(a.p1-a.p0)
}

// tick is a tick mark on an axis: major ticks are long and labelled (when
// label is set), minor ones short; decades get a grid line.
type tick struct {
	v      float64
	label  string
	major  bool
	decade bool
}

// superscripts are the Unicode superscript digits and minus sign.
var superscripts = strings.NewReplacer(
	"0", "⁰", "1", "¹", "2", "²", "3", "³", "4", "⁴",
	"5", "⁵", "6", "⁶", "7", "⁷", "8", "⁸", "9", "⁹", "-", "⁻")

// sciLabel writes v as 10ᵏ, or m×10ᵏ with m in [1, 10) to four significant
// digits: the one label style of both axes.
func sciLabel(v float64) string {
	k := math.Floor(math.Log10(v))
	m := strconv.FormatFloat(v/math.Pow(10, k), 'g', 4, 64)
	if m == "10" {
		k, m = k+1, "1"
	}
	pow := "10" + superscripts.Replace(strconv.Itoa(int(k)))
	if m == "1" {
		return pow
	}
	return m + "×" + pow
}

// logTicks returns the ticks at m·10ᵏ (m = 1..9) in [lo, hi]: labelled
// decades and unlabelled minor ticks.
func logTicks(lo, hi float64) []tick {
	var ts []tick
	for k := math.Floor(math.Log10(lo)); k <= math.Ceil(math.Log10(hi)); k++ {
		for m := 1.0; m <= 9; m++ {
			v := m * math.Pow(10, k)
			// A relative slack of 1e-9 keeps a decade bound that Pow and
			// Log10 round a hair outside the range.
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := tick{v: v}
			if m == 1 {
				t = tick{v: v, label: sciLabel(v), major: true, decade: true}
			}
			ts = append(ts, t)
		}
	}
	return ts
}

// sizeTicks are the n axis's ticks: decades, and when fewer than two
// labelled decades show, a labelled tick at every size run too (a decade's
// label is dropped where it would crowd a size's).
func sizeTicks(ns []int, ax logAxis) []tick {
	lo, hi := math.Pow(10, ax.lo), math.Pow(10, ax.hi)
	ts := logTicks(lo, hi)
	labelled := 0
	for _, t := range ts {
		if t.label != "" {
			labelled++
		}
	}
	if labelled >= 2 {
		return ts
	}
	var sizes []tick
	for _, n := range ns {
		sizes = append(sizes, tick{v: float64(n), label: sciLabel(float64(n)), major: true})
	}
	for i, t := range ts {
		if t.label == "" {
			continue
		}
		for _, s := range sizes {
			if math.Abs(ax.pos(t.v)-ax.pos(s.v)) < labelGap {
				ts[i].label = ""
			}
		}
	}
	// A size on a decade keeps the decade's tick and grid line.
	for _, s := range sizes {
		dup := false
		for i, t := range ts {
			if math.Abs(t.v-s.v) <= 1e-9*s.v {
				ts[i].label, ts[i].major, dup = s.label, true, true
			}
		}
		if !dup {
			ts = append(ts, s)
		}
	}
	return ts
}

// series is one method's line: its index in Methods (for colour and
// marker), whether it is dashed, and its points (n, seconds).
type series struct {
	name   string
	index  int
	dashed bool
	pts    [][2]float64
}

// plotSeries returns the lines of a family's plot: every method of Methods
// with Plot set that has a time at some n, its skipped sizes left out.
func (r *Report) plotSeries(family string) []series {
	var out []series
	ns := r.Sizes(family)
	for i, m := range Methods() {
		if !m.Plot {
			continue
		}
		s := series{name: string(m.Method), index: i, dashed: m.Group != "invad"}
		for _, n := range ns {
			res, ok := r.Result(family, n, m.Method)
			if ok && res.Skipped == "" && res.Median > 0 {
				s.pts = append(s.pts, [2]float64{float64(n), res.Median.Seconds()})
			}
		}
		if len(s.pts) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// plotAxes returns the axes of a family's plot: n padded by xPad each side
// of the sizes run, and the times padded by yPad, rounded out to decades
// when fewer than two decades would show.
func plotAxes(ns []int, ss []series) (x, y logAxis) {
	x = logAxis{math.Log10(float64(ns[0]) / xPad), math.Log10(float64(ns[len(ns)-1]) * xPad), plotLeft, plotRight}
	tmin, tmax := math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for _, p := range s.pts {
			tmin, tmax = math.Min(tmin, p[1]), math.Max(tmax, p[1])
		}
	}
	lo, hi := math.Log10(tmin/yPad), math.Log10(tmax*yPad)
	if math.Floor(hi)-math.Ceil(lo) < 1 {
		lo, hi = math.Floor(lo), math.Ceil(hi)
	}
	return x, logAxis{lo, hi, plotBottom, plotTop}
}

// subtitle is the plot's second line: machine, date of the run, and how to
// read it.
func (r *Report) subtitle() string {
	parts := []string{}
	if m := r.machine(); m != "" {
		parts = append(parts, m)
	}
	if !r.Started.IsZero() {
		parts = append(parts, "run "+r.Started.UTC().Format("2006-01-02"))
	}
	parts = append(parts, "lower is better")
	return strings.Join(parts, " · ")
}

// WritePlot writes a log-log SVG of time against n for one family to path:
// one line with markers per method that ran (dashed for methods not by
// invad), a legend beside the plot area, and the machine and date of the
// run under the title. It returns an error if the family has no times to
// plot, or the file cannot be written.
func (r *Report) WritePlot(path, family string) error {
	var b strings.Builder
	if err := r.writeSVG(&b, family); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

func hexColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// writeSVG writes the plot of WritePlot to w.
func (r *Report) writeSVG(w io.Writer, family string) error {
	ns := r.Sizes(family)
	ss := r.plotSeries(family)
	if len(ns) == 0 || len(ss) == 0 {
		return fmt.Errorf("bench: no times to plot for %s", family)
	}
	ax, ay := plotAxes(ns, ss)
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p(`<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
`, svgWidth, svgHeight, svgWidth, svgHeight)
	p(`<rect width="100%%" height="100%%" fill="white"/>
`)
	p(`<text class="title" x="%d" y="32" font-size="18" font-weight="bold">%s</text>
`, plotLeft, esc("invad bench: "+family))
	p(`<text class="subtitle" x="%d" y="54" font-size="12" fill="#444">%s</text>
`, plotLeft, esc(r.subtitle()))

	// Grid, ticks and labels.
	xt, yt := sizeTicks(ns, ax), logTicks(math.Pow(10, ay.lo), math.Pow(10, ay.hi))
	p(`<g class="grid" stroke="#dddddd" stroke-width="1">
`)
	for _, t := range xt {
		if t.decade {
			x := ax.pos(t.v)
			p(`<line x1="%.2f" y1="%d" x2="%.2f" y2="%d"/>
`, x, plotTop, x, plotBottom)
		}
	}
	for _, t := range yt {
		if t.decade {
			y := ay.pos(t.v)
			p(`<line x1="%d" y1="%.2f" x2="%d" y2="%.2f"/>
`, plotLeft, y, plotRight, y)
		}
	}
	p("</g>\n")
	p(`<g class="ticks" stroke="#333" stroke-width="1">
`)
	for _, t := range xt {
		l := 3.0
		if t.major {
			l = 6
		}
		x := ax.pos(t.v)
		p(`<line x1="%.2f" y1="%d" x2="%.2f" y2="%.2f"/>
`, x, plotBottom, x, plotBottom+l)
	}
	for _, t := range yt {
		l := 3.0
		if t.major {
			l = 6
		}
		y := ay.pos(t.v)
		p(`<line x1="%d" y1="%.2f" x2="%.2f" y2="%.2f"/>
`, plotLeft, y, plotLeft-l, y)
	}
	p("</g>\n")
	p(`<g class="xlabels" font-size="13" text-anchor="middle" fill="#222">
`)
	for _, t := range xt {
		if t.label != "" {
			p(`<text class="ticklabel" x="%.2f" y="%d">%s</text>
`, ax.pos(t.v), plotBottom+22, esc(t.label))
		}
	}
	p("</g>\n")
	p(`<g class="ylabels" font-size="13" text-anchor="end" fill="#222">
`)
	for _, t := range yt {
		if t.label != "" {
			p(`<text class="ticklabel" x="%d" y="%.2f">%s</text>
`, plotLeft-10, ay.pos(t.v)+4.5, esc(t.label))
		}
	}
	p("</g>\n")
	p(`<text class="axislabel" x="%d" y="%d" font-size="14" text-anchor="middle">n</text>
`, (plotLeft+plotRight)/2, plotBottom+48)
	p(`<text class="axislabel" x="22" y="%d" font-size="14" text-anchor="middle" transform="rotate(-90 22 %d)">time (s)</text>
`, (plotTop+plotBottom)/2, (plotTop+plotBottom)/2)

	// The lines, then the frame over their ends.
	for _, s := range ss {
		c := hexColor(methodColors[s.index%len(methodColors)])
		p(`<g class="series" data-method="%s">
`, esc(s.name))
		var pts []string
		for _, pt := range s.pts {
			pts = append(pts, fmt.Sprintf("%.2f,%.2f", ax.pos(pt[0]), ay.pos(pt[1])))
		}
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="7 4"`
		}
		p(`<polyline class="line" points="%s" fill="none" stroke="%s" stroke-width="1.8" stroke-linejoin="round"%s/>
`, strings.Join(pts, " "), c, dash)
		var d strings.Builder
		for _, pt := range s.pts {
			d.WriteString(markerPath(s.index, ax.pos(pt[0]), ay.pos(pt[1]), 4.5))
		}
		p("%s\n", markerElement(s.index, d.String(), c))
		p("</g>\n")
	}
	p(`<rect class="frame" x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333" stroke-width="1"/>
`, plotLeft, plotTop, plotRight-plotLeft, plotBottom-plotTop)

	// The legend, beside the plot area.
	const lx, ly, step = plotRight + 22, plotTop + 8, 22
	p(`<g class="legend" font-size="12.5" fill="#222">
`)
	for i, s := range ss {
		c := hexColor(methodColors[s.index%len(methodColors)])
		y := float64(ly + i*step)
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="7 4"`
		}
		p(`<g class="legend-entry"><line x1="%d" y1="%.2f" x2="%d" y2="%.2f" stroke="%s" stroke-width="1.8"%s/>%s<text x="%d" y="%.2f">%s</text></g>
`, lx, y, lx+32, y, c, dash, markerElement(s.index, markerPath(s.index, lx+16, y, 4.5), c), lx+42, y+4.5, esc(s.name))
	}
	p(`<text class="legend-note" x="%d" y="%d" font-size="11" fill="#555">solid: invad; dashed: other methods</text>
`, lx, ly+len(ss)*step+6)
	p("</g>\n</svg>\n")
	return nil
}

// Marker kinds: filled with the line's colour, open (white inside), or
// strokes only.
const (
	markFilled = iota
	markOpen
	markStroke
)

// markerShapes are the fifteen marker shapes, one per method as
// methodColors: kind, number of corners (0 for a circle; negative for the
// strokes of a cross), radius scale and starting angle in degrees
// (−90: a corner at the top).
var markerShapes = []struct {
	kind, corners int
	scale, angle  float64
}{
	{markFilled, 0, 1, 0},      // circle
	{markFilled, 4, 1.1, -45},  // square
	{markFilled, 3, 1.3, -90},  // triangle up
	{markFilled, 4, 1.3, -90},  // diamond
	{markStroke, -2, 1.2, -45}, // cross ×
	{markStroke, -2, 1.3, -90}, // plus +
	{markFilled, 10, 1.5, -90}, // five-pointed star
	{markFilled, 3, 1.3, 90},   // triangle down
	{markFilled, 5, 1.2, -90},  // pentagon
	{markFilled, 6, 1.15, 0},   // hexagon
	{markFilled, 3, 1.3, 0},    // triangle right
	{markFilled, 3, 1.3, 180},  // triangle left
	{markStroke, -3, 1.3, -90}, // asterisk ✱
	{markOpen, 0, 1.05, 0},     // open circle
	{markOpen, 4, 1.15, -45},   // open square
}

// markerPath returns the SVG path data of method i's marker at (x, y).
func markerPath(i int, x, y, r float64) string {
	s := markerShapes[i%len(markerShapes)]
	r *= s.scale
	var b strings.Builder
	switch {
	case s.corners == 0:
		fmt.Fprintf(&b, "M%.2f,%.2fa%.2f,%.2f 0 1,0 %.2f,0a%.2f,%.2f 0 1,0 %.2f,0Z", x-r, y, r, r, 2*r, r, r, -2*r)
	case s.corners < 0:
		// -k strokes through the centre, 180/k degrees apart.
		k := -s.corners
		for j := range k {
			a := (s.angle + float64(j)*180/float64(k)) * math.Pi / 180
			dx, dy := r*math.Cos(a), r*math.Sin(a)
			fmt.Fprintf(&b, "M%.2f,%.2fL%.2f,%.2f", x-dx, y-dy, x+dx, y+dy)
		}
	default:
		for j := range s.corners {
			rr := r
			if s.corners == 10 && j%2 == 1 {
				rr = r * 0.45 // the star's inner corners
			}
			a := (s.angle + float64(j)*360/float64(s.corners)) * math.Pi / 180
			cmd := "L"
			if j == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&b, "%s%.2f,%.2f", cmd, x+rr*math.Cos(a), y+rr*math.Sin(a))
		}
		b.WriteString("Z")
	}
	return b.String()
}

// markerElement returns the <path> drawing method i's markers d in colour c.
func markerElement(i int, d, c string) string {
	switch markerShapes[i%len(markerShapes)].kind {
	case markOpen:
		return fmt.Sprintf(`<path class="markers" d="%s" fill="white" stroke="%s" stroke-width="1.6"/>`, d, c)
	case markStroke:
		return fmt.Sprintf(`<path class="markers" d="%s" fill="none" stroke="%s" stroke-width="1.8" stroke-linecap="round"/>`, d, c)
	default:
		return fmt.Sprintf(`<path class="markers" d="%s" fill="%s" stroke="%s" stroke-width="0.8"/>`, d, c, c)
	}
}

// methodColors are fifteen distinct colours, one per method (Tableau's
// ten and five more).
var methodColors = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
	{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255},
	{188, 189, 34, 255}, {23, 190, 207, 255}, {0, 0, 0, 255}, {0, 60, 130, 255},
	{170, 110, 0, 255}, {0, 130, 90, 255}, {150, 0, 90, 255},
}
