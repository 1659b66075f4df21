package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// jsonFloat is a float64 that JSON can carry when it is NaN or infinite
// (as the strings "NaN", "+Inf", "-Inf"): accuracies are NaN where none
// applies.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	x := float64(f)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return []byte(strconv.Quote(strconv.FormatFloat(x, 'g', -1, 64))), nil
	}
	return []byte(strconv.FormatFloat(x, 'g', -1, 64)), nil
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	s := string(b)
	if u, err := strconv.Unquote(s); err == nil {
		s = u
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("bench: %s is not a number", b)
	}
	*f = jsonFloat(x)
	return nil
}

// jsonReport is bench.json: a Report less its families' functions.
type jsonReport struct {
	Config             Config
	Families           []jsonFamily
	Results            []jsonResult
	Notes              []string
	Torch, Machine     string
	LoadStart, LoadEnd string
	LoadMin, LoadMax   jsonFloat
	Started            time.Time
	Elapsed            time.Duration
}

type jsonFamily struct {
	Name, About, Note string
	Sample            int
}

type jsonResult struct {
	Family   string
	N        int
	Method   Method
	Times    []time.Duration
	Median   time.Duration
	Accuracy jsonFloat
	Iters    int
	Skipped  string
	Note     string
}

// WriteJSON writes the report as JSON: everything but the families'
// functions (Size, Words, New), enough to redraw its plots. It returns the
// error of w.
func (r *Report) WriteJSON(w io.Writer) error {
	j := jsonReport{Config: r.Config, Notes: r.Notes, Torch: r.Torch, Machine: r.Machine,
		LoadStart: r.LoadStart, LoadEnd: r.LoadEnd, LoadMin: jsonFloat(r.LoadMin), LoadMax: jsonFloat(r.LoadMax),
		Started: r.Started, Elapsed: r.Elapsed}
	for _, f := range r.Families {
		j.Families = append(j.Families, jsonFamily{f.Name, f.About, f.Note, f.Sample})
	}
	for _, res := range r.Results {
		j.Results = append(j.Results, jsonResult{res.Family, res.N, res.Method, res.Times, res.Median,
			jsonFloat(res.Accuracy), res.Iters, res.Skipped, res.Note})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(j)
}

// family returns the family of Families named name with about, note and
// sample as recorded, or a family with no functions when the name is not
// one of Families (a report of an older or newer invad).
func family(name, about, note string, sample int) Family {
	for _, f := range Families() {
		if f.Name == name {
			f.About, f.Note, f.Sample = about, note, sample
			return f
		}
	}
	return Family{Name: name, About: about, Note: note, Sample: sample}
}

// ReadJSON reads a report written by WriteJSON. It returns an error if the
// input is not such a report.
func ReadJSON(rd io.Reader) (*Report, error) {
	var j jsonReport
	if err := json.NewDecoder(rd).Decode(&j); err != nil {
		return nil, fmt.Errorf("bench: reading a report: %w", err)
	}
	r := &Report{Config: j.Config, Notes: j.Notes, Torch: j.Torch, Machine: j.Machine,
		LoadStart: j.LoadStart, LoadEnd: j.LoadEnd, LoadMin: float64(j.LoadMin), LoadMax: float64(j.LoadMax),
		Started: j.Started, Elapsed: j.Elapsed}
	for _, f := range j.Families {
		r.Families = append(r.Families, family(f.Name, f.About, f.Note, f.Sample))
	}
	for _, res := range j.Results {
		r.Results = append(r.Results, Result{res.Family, res.N, res.Method, res.Times, res.Median,
			float64(res.Accuracy), res.Iters, res.Skipped, res.Note})
	}
	return r, nil
}

// timeTable is the first cell of a family's table of times in bench.md.
const timeTable = "| time (× primal) |"

// ParseMarkdown reads back from a bench.md written by WriteMarkdown what
// its plots need: per family (the heading above each "time (× primal)"
// table, at any level, so a report pasted under a document's own headings
// reads too) the median time of every method at every n, GMRES's
// iterations, and which runs were skipped; from the header, the command,
// the machine and the start of the run. Times are as printed, to three
// significant digits; accuracies are NaN. It returns an error if there is
// no such table, or a cell of one is not a time.
func ParseMarkdown(rd io.Reader) (*Report, error) {
	r := &Report{LoadMin: math.NaN(), LoadMax: math.NaN()}
	sc := bufio.NewScanner(rd)
	sc.Buffer(nil, 1<<20)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	heading := ""
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		switch {
		case strings.HasPrefix(line, "#"):
			heading = strings.TrimSpace(strings.TrimLeft(line, "#"))
		case line == "```sh" && r.Config.Command == "" && i+1 < len(lines):
			r.Config.Command = lines[i+1]
		case strings.HasPrefix(line, "- Machine: ") && r.Machine == "":
			parseMachine(r, strings.TrimPrefix(line, "- Machine: "))
		case strings.HasPrefix(line, timeTable):
			if heading == "" {
				return nil, fmt.Errorf("bench: line %d: a time table under no heading", i+1)
			}
			if slices.ContainsFunc(r.Families, func(f Family) bool { return f.Name == heading }) {
				return nil, fmt.Errorf("bench: line %d: a second time table for %s", i+1, heading)
			}
			var ns []int
			for _, c := range splitRow(line)[1:] {
				n, err := strconv.Atoi(strings.TrimPrefix(c, "n = "))
				if err != nil || !strings.HasPrefix(c, "n = ") {
					return nil, fmt.Errorf("bench: line %d: column %q is not \"n = N\"", i+1, c)
				}
				ns = append(ns, n)
			}
			r.Families = append(r.Families, family(heading, "", "", 0))
			for i++; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
				cells := splitRow(lines[i])
				if strings.HasPrefix(cells[0], "---") {
					continue
				}
				if len(cells) != 1+len(ns) {
					return nil, fmt.Errorf("bench: line %d: %d cells, want %d", i+1, len(cells), 1+len(ns))
				}
				m := Method(strings.ReplaceAll(cells[0], `\|`, "|"))
				for k, c := range cells[1:] {
					res, ok, err := parseCell(c)
					if err != nil {
						return nil, fmt.Errorf("bench: line %d, %s at n = %d: %w", i+1, m, ns[k], err)
					}
					if ok {
						res.Family, res.N, res.Method = heading, ns[k], m
						r.Results = append(r.Results, res)
					}
				}
			}
			i--
		}
	}
	if len(r.Families) == 0 {
		return nil, fmt.Errorf("bench: no %q table", strings.Trim(timeTable, "| "))
	}
	return r, nil
}

// parseMachine reads the header line "OS/arch, CPU, N logical CPUs,
// GOMAXPROCS P, goX. Started 2006-01-02 15:04 UTC; the run took 1m2s."
func parseMachine(r *Report, s string) {
	if m, _, ok := strings.Cut(s, ", GOMAXPROCS"); ok {
		r.Machine = m
	}
	if _, rest, ok := strings.Cut(s, "Started "); ok {
		when, took, _ := strings.Cut(rest, "; the run took ")
		if t, err := time.Parse("2006-01-02 15:04 MST", when); err == nil {
			r.Started = t
		}
		if d, err := time.ParseDuration(strings.TrimSuffix(took, ".")); err == nil {
			r.Elapsed = d
		}
	}
}

// splitRow splits a Markdown table row into its trimmed cells.
func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	// A cell's own "|" is escaped as `\|`: split on the others.
	var cells []string
	start := 0
	for i := 0; i < len(line); i++ {
		if line[i] == '|' && (i == 0 || line[i-1] != '\\') {
			cells = append(cells, strings.TrimSpace(line[start:i]))
			start = i + 1
		}
	}
	return append(cells, strings.TrimSpace(line[start:]))
}

// durationUnits are FormatDuration's units.
var durationUnits = map[string]float64{"ns": 1, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}

// parseCell reads a time cell written by cell: "243 µs ×1.1", "3.45 ms (40
// it) ×14", "skipped", or empty (no result: ok false).
func parseCell(c string) (res Result, ok bool, err error) {
	res.Accuracy = math.NaN()
	switch c {
	case "":
		return res, false, nil
	case "skipped":
		res.Skipped = "skipped"
		return res, true, nil
	case "0":
		return res, true, nil
	}
	f := strings.Fields(c)
	if len(f) < 2 {
		return res, false, fmt.Errorf("%q is not a time", c)
	}
	x, err1 := strconv.ParseFloat(f[0], 64)
	unit, ok2 := durationUnits[f[1]]
	if err1 != nil || !ok2 || x < 0 {
		return res, false, fmt.Errorf("%q is not a time", c)
	}
	res.Median = time.Duration(math.Round(x * unit))
	res.Times = []time.Duration{res.Median}
	if len(f) >= 4 && strings.HasPrefix(f[2], "(") && f[3] == "it)" {
		res.Iters, _ = strconv.Atoi(strings.TrimPrefix(f[2], "("))
	}
	return res, true, nil
}

// Replot redraws the plots of a report without running it again. path is
// a folder written by WriteFiles, read from its bench.json or, when there
// is none, from its bench.md; or a Markdown file holding a report (as
// docs/bench-batched.md does, with its own introduction). Replot writes
// bench-<family>.svg beside the Markdown for every family with times, and
// in the Markdown changes nothing but the image links from bench-<family>.png
// to the SVG. It returns the paths written, and an error if there is no
// report to read, it cannot be parsed, or a file cannot be written.
func Replot(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	dir, md := filepath.Dir(path), path
	var r *Report
	if st.IsDir() {
		dir, md = path, filepath.Join(path, "bench.md")
		b, err := os.ReadFile(filepath.Join(dir, "bench.json"))
		switch {
		case err == nil:
			if r, err = ReadJSON(bytes.NewReader(b)); err != nil {
				return nil, err
			}
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	text, err := os.ReadFile(md)
	switch {
	case err == nil:
	case r != nil && errors.Is(err, fs.ErrNotExist):
		text = nil
	default:
		return nil, err
	}
	if r == nil {
		if r, err = ParseMarkdown(bytes.NewReader(text)); err != nil {
			return nil, fmt.Errorf("%s: %w", md, err)
		}
	}
	var paths []string
	relinked := string(text)
	for _, fam := range r.Families {
		if len(r.plotSeries(fam.Name)) == 0 {
			continue
		}
		p := filepath.Join(dir, PlotName(fam.Name))
		if err := r.WritePlot(p, fam.Name); err != nil {
			return paths, err
		}
		paths = append(paths, p)
		png := "bench-" + fam.Name + ".png"
		relinked = strings.ReplaceAll(relinked, "]("+png+")", "]("+PlotName(fam.Name)+")")
	}
	if text != nil && relinked != string(text) {
		if err := os.WriteFile(md, []byte(relinked), 0o644); err != nil {
			return paths, err
		}
		paths = append(paths, md)
	}
	return paths, nil
}
