package bench

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// TorchScript is bench/torch_bench.py, the PyTorch side of the comparison.
//
//go:embed torch_bench.py
var TorchScript []byte

// torchInfo is the script's first line.
type torchInfo struct {
	Torch   string `json:"torch"`
	Threads int    `json:"threads"`
	Jacfwd  string `json:"jacfwd"`
	BLAS    string `json:"blas"`
}

type torchReply struct {
	Method string    `json:"method"`
	Times  []float64 `json:"times"`
	DX     string    `json:"dx"`
	Note   string    `json:"note"`
	Error  string    `json:"error"`
	// The vmap method also times PyTorch's own primal and writes the
	// per-sample log|det|.
	PrimalTimes []float64 `json:"primal_times"`
	LogDet      string    `json:"logdet"`
}

// torchResult is one answer of the script: the method's times and dx, and
// for the vmap method the primal's times and the per-sample log|det|.
type torchResult struct {
	times, primal []time.Duration
	dx, logdet    []float64
	note          string
}

// torchRunner is a running torch_bench.py.
type torchRunner struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *tailBuffer
	dir    string
	python string
	info   torchInfo
}

// tailBuffer keeps the last 4 KB written to it: the script's stderr.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

// FindTorchPython returns the first of python, python3 and /usr/bin/python3
// (python only if not empty) that imports torch, or an error saying none
// does. Debian's python3-torch installs into /usr/bin/python3's path, which
// a python3 earlier on PATH (pyenv, a venv) does not see.
func FindTorchPython(python string) (string, error) {
	cands := []string{"python3", "/usr/bin/python3"}
	if python != "" {
		cands = []string{python}
	}
	var tried []string
	for _, py := range cands {
		if _, err := exec.LookPath(py); err != nil {
			tried = append(tried, py+": not found")
			continue
		}
		if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
			tried = append(tried, py+": no torch")
			continue
		}
		return py, nil
	}
	return "", fmt.Errorf("no Python with torch (%s)", strings.Join(tried, "; "))
}

// startTorch writes the script to a temporary folder and starts it.
func startTorch(python string) (*torchRunner, error) {
	dir, err := os.MkdirTemp("", "invad-bench-torch-")
	if err != nil {
		return nil, err
	}
	script := filepath.Join(dir, "torch_bench.py")
	if err := os.WriteFile(script, TorchScript, 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	t := &torchRunner{dir: dir, python: python, stderr: &tailBuffer{}}
	t.cmd = exec.Command(python, script)
	t.cmd.Stderr = t.stderr
	if t.stdin, err = t.cmd.StdinPipe(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	out, err := t.cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	t.stdout = bufio.NewReader(out)
	if err := t.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	line, err := t.stdout.ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &t.info)
	}
	if err != nil {
		t.close()
		return nil, fmt.Errorf("torch_bench.py did not start: %v; stderr: %s", err, bytes.TrimSpace(t.stderr.b))
	}
	return t, nil
}

func (t *torchRunner) close() {
	if t == nil {
		return
	}
	t.stdin.Close()
	done := make(chan struct{})
	go func() { t.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(t.dir)
}

// describe is the report's line about the PyTorch used.
func (t *torchRunner) describe() string {
	fwd := "no jacfwd"
	if t.info.Jacfwd != "" {
		fwd = "jacfwd from " + t.info.Jacfwd
	}
	return fmt.Sprintf("PyTorch %s (%s), %d threads, BLAS: %s, %s; float64 on the CPU", t.info.Torch, t.python, t.info.Threads, t.info.BLAS, fwd)
}

// errTorchDied marks a script that is no longer there to answer.
var errTorchDied = errors.New("torch_bench.py exited")

// solve asks the script to time one method on a problem (sample is the
// family's Sample); it returns the times and dx, and for the vmap method
// the primal's times and the per-sample log|det|.
func (t *torchRunner) solve(p *Problem, n, sample int, dy []float64, method string, reps int, budget time.Duration) (*torchResult, error) {
	cdir, err := os.MkdirTemp(t.dir, "case-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(cdir)
	write := map[string][]float64{"x": p.X.Data(), "dy": dy}
	names := []string{}
	for k, v := range p.Arrays {
		write[k] = v
		names = append(names, k)
	}
	slices.Sort(names)
	for k, v := range write {
		if err := writeF64(filepath.Join(cdir, k+".f64"), v); err != nil {
			return nil, err
		}
	}
	params := p.Params
	if params == nil {
		params = map[string]float64{}
	}
	req, _ := json.Marshal(map[string]any{
		"kind": p.Kind, "n": n, "dir": cdir, "method": method, "params": params,
		"arrays": names, "reps": reps, "budget": budget.Seconds(), "sample": sample,
	})
	if _, err := t.stdin.Write(append(req, '\n')); err != nil {
		return nil, fmt.Errorf("%w: %v; stderr: %s", errTorchDied, err, bytes.TrimSpace(t.stderr.b))
	}
	line, err := t.stdout.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("%w: %v; stderr: %s", errTorchDied, err, bytes.TrimSpace(t.stderr.b))
	}
	var rep torchReply
	if err := json.Unmarshal(line, &rep); err != nil {
		return nil, fmt.Errorf("torch_bench.py answered %q: %v", line, err)
	}
	if rep.Error != "" {
		return nil, errors.New(rep.Error)
	}
	res := &torchResult{times: seconds(rep.Times), primal: seconds(rep.PrimalTimes), note: rep.Note}
	if res.dx, err = readF64(rep.DX, n); err != nil {
		return nil, err
	}
	if rep.LogDet != "" {
		if res.logdet, err = readF64(rep.LogDet, n/sample); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// seconds converts the script's times.
func seconds(s []float64) []time.Duration {
	ts := make([]time.Duration, len(s))
	for i, v := range s {
		ts[i] = time.Duration(v * float64(time.Second))
	}
	return ts
}

func writeF64(path string, v []float64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var b [8]byte
	for _, x := range v {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
		w.Write(b[:])
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readF64(path string, n int) ([]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) != 8*n {
		return nil, fmt.Errorf("%s holds %d bytes, want %d", path, len(b), 8*n)
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return v, nil
}

// torchCase runs the PyTorch methods on one family and n: the dense
// Jacobians while n ≤ DenseMax, and on a batched family the per-sample
// Jacobians by vmap (with PyTorch's own primal) at every n.
func (h *harness) torchCase(c *caseState) {
	name, n := c.fam.Name, c.n
	methods := []struct {
		m    Method
		name string
	}{{MethodTorchJac, "jacobian"}, {MethodTorchFwd, "jacfwd"}, {MethodTorchVmap, "vmap"}}
	skip := ""
	if h.cfg.Torch == "off" {
		skip = "turned off"
	}
	for _, m := range methods {
		why := skip
		switch {
		case why != "":
		case m.name == "vmap" && c.fam.Sample == 0:
			why = "x is not a batch of samples"
		case m.name != "vmap" && n > h.cfg.DenseMax:
			why = fmt.Sprintf("n² memory, n³ time (n > %d)", h.cfg.DenseMax)
		default:
			h.ensureTorch()
			if h.torch == nil {
				why = h.rep.Torch
			} else if m.name != "jacobian" && h.torch.info.Jacfwd == "" {
				why = "no torch.func or functorch in this PyTorch"
			}
		}
		// PyTorch's own primal is timed in the vmap request; its row comes
		// first.
		if why != "" {
			if m.name == "vmap" {
				h.start(name, n, MethodTorchPrimal)
				h.add(Result{Family: name, N: n, Method: MethodTorchPrimal, Skipped: why}, 0)
			}
			h.start(name, n, m.m)
			h.add(Result{Family: name, N: n, Method: m.m, Skipped: why}, 0)
			continue
		}
		res, err := h.torch.solve(c.p, n, c.fam.Sample, c.dy.Data(), m.name, h.cfg.Reps, h.cfg.RepBudget)
		if err != nil {
			if m.name == "vmap" {
				h.start(name, n, MethodTorchPrimal)
				h.add(Result{Family: name, N: n, Method: MethodTorchPrimal, Skipped: "failed: " + err.Error()}, 0)
			}
			h.start(name, n, m.m)
			h.add(Result{Family: name, N: n, Method: m.m, Skipped: "failed: " + err.Error()}, 0)
			if errors.Is(err, errTorchDied) {
				h.torch.close()
				h.torch = nil
				h.rep.Torch = "stopped: " + err.Error()
				skip = h.rep.Torch
			}
			continue
		}
		note := res.note
		if m.name == "vmap" {
			h.start(name, n, MethodTorchPrimal)
			h.add(Result{Family: name, N: n, Method: MethodTorchPrimal, Times: res.primal}, c.primal)
			c.torchPrimal = medianOf(res.primal)
			c.torchAlong = res.logdet
			if c.torchPrimal > 0 {
				note = strings.TrimPrefix(note+fmt.Sprintf("; %s torch primal", FormatRatio(float64(medianOf(res.times))/float64(c.torchPrimal))), "; ")
			}
		}
		h.start(name, n, m.m)
		h.add(Result{Family: name, N: n, Method: m.m, Times: res.times, Accuracy: solveResidual(c.lin, res.dx, c.dy.Data()), Note: note}, c.primal)
	}
}

// ensureTorch starts the script on first use.
func (h *harness) ensureTorch() {
	if h.torchTried {
		return
	}
	h.torchTried = true
	py, err := FindTorchPython(h.cfg.Python)
	if err != nil {
		h.rep.Torch = "skipped: " + err.Error() + "; on Debian, apt-get install -y python3-torch"
		h.note("PyTorch " + h.rep.Torch)
		return
	}
	fmt.Fprintf(h.cfg.Progress, "bench: starting PyTorch (%s)\n", py)
	t, err := startTorch(py)
	if err != nil {
		h.rep.Torch = "skipped: " + err.Error()
		h.note("PyTorch " + h.rep.Torch)
		return
	}
	h.torch = t
	h.rep.Torch = t.describe()
}

func (h *harness) closeTorch() {
	h.torch.close()
	h.torch = nil
}
