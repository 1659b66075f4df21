package cuda

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/invad/invad/internal/cudadrv"
)

// The host emulation runs the kernels' CUDA C on the CPU (kernels/hostemu.h,
// testdata/hostemu/main.cpp), built with the machine's g++ and
// AddressSanitizer, as a child process that plays the device for a Backend.
// So the Backend's code and the kernels run together without a GPU: the
// launches' arguments and geometry, the kernels' arithmetic and indexing,
// the status words of the batched LU. What it cannot check is the GPU
// itself: NVRTC's code, the JIT, the memory model, warp scheduling.

var emuFlags = []string{"-std=c++20", "-O1", "-g", "-fsanitize=address", "-fno-omit-frame-pointer",
	"-Wall", "-Wno-unknown-pragmas", "-DINVAD_HOSTEMU", "-Ikernels", "-include", "kernels/hostemu.h", "-pthread"}

var (
	emuOnce sync.Once
	emuPath string
	emuErr  error
)

// emuBinary builds the emulator once per source version, into the user's
// cache folder, and returns its path.
func emuBinary() (string, error) {
	emuOnce.Do(func() {
		cxx, err := exec.LookPath("g++")
		if err != nil {
			emuErr = fmt.Errorf("no g++: %w", err)
			return
		}
		if _, err := os.Stat("testdata/hostemu/main.cpp"); err != nil {
			emuErr = fmt.Errorf("the emulator's sources are not here (run the tests from cuda/): %w", err)
			return
		}
		srcs, _ := filepath.Glob("kernels/*.cu*")
		srcs = append(srcs, "kernels/hostemu.h", "testdata/hostemu/main.cpp")
		slices.Sort(srcs)
		h := sha256.New()
		fmt.Fprintln(h, emuFlags)
		for _, s := range srcs {
			b, err := os.ReadFile(s)
			if err != nil {
				emuErr = err
				return
			}
			fmt.Fprintf(h, "%s %d\n", s, len(b))
			h.Write(b)
		}
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		dir = filepath.Join(dir, "invad-hostemu")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			emuErr = err
			return
		}
		emuPath = filepath.Join(dir, fmt.Sprintf("hostemu-%x", h.Sum(nil)[:8]))
		if _, err := os.Stat(emuPath); err == nil {
			return
		}
		tmp := emuPath + fmt.Sprintf(".tmp%d", os.Getpid())
		args := append(slices.Clone(emuFlags), "testdata/hostemu/main.cpp", "-o", tmp)
		if out, err := exec.Command(cxx, args...).CombinedOutput(); err != nil {
			emuErr = fmt.Errorf("building the host emulator: %v\n%s", err, out)
			return
		}
		emuErr = os.Rename(tmp, emuPath)
	})
	return emuPath, emuErr
}

// emuDevice is a device played by the emulator process.
type emuDevice struct {
	cmd *exec.Cmd
	w   *bufio.Writer
	r   *bufio.Reader
	in  io.Closer
	// stderr holds the emulator's reports, shown when it fails.
	stderr *lockedBuffer
}

func startEmu(t *testing.T) *emuDevice {
	t.Helper()
	path, err := emuBinary()
	if err != nil {
		t.Skipf("host emulation of the kernels skipped: %v", err)
	}
	cmd := exec.Command(path)
	// Leaks are not checked: a test that fails half-way leaves buffers.
	cmd.Env = append(os.Environ(), "ASAN_OPTIONS=detect_leaks=0")
	stderr := new(lockedBuffer)
	cmd.Stderr = stderr // AddressSanitizer's and the emulator's reports
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return &emuDevice{cmd: cmd, w: bufio.NewWriter(in), r: bufio.NewReader(out), in: in, stderr: stderr}
}

// lockedBuffer collects the emulator's stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// report returns what the emulator wrote to stderr, less AddressSanitizer's
// warning about swapcontext (the fibers are annotated for it).
func (l *lockedBuffer) report() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var keep []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		if line != "" && !strings.Contains(line, "doesn't fully support makecontext/swapcontext") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// emuBackend returns a Backend on a fresh emulator process.
func emuBackend(t *testing.T) *Backend {
	t.Helper()
	d := startEmu(t)
	b := newBackend(&Backend{name: "host emulation", arch: "hostemu"}, d)
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("closing the emulator: %v", err)
		}
	})
	return b
}

func (e *emuDevice) put(vs ...any) {
	for _, v := range vs {
		binary.Write(e.w, binary.LittleEndian, v)
	}
}

// reply flushes the request and reads the status of the reply.
func (e *emuDevice) reply() error {
	if err := e.w.Flush(); err != nil {
		return e.died(err)
	}
	s, err := e.r.ReadByte()
	if err != nil {
		return e.died(err)
	}
	if s == 0 {
		return nil
	}
	var n uint32
	binary.Read(e.r, binary.LittleEndian, &n)
	msg := make([]byte, n)
	io.ReadFull(e.r, msg)
	return errors.New("hostemu: " + string(msg))
}

// died reports the emulator's end, with its report (AddressSanitizer's
// for a kernel's stray access).
func (e *emuDevice) died(err error) error {
	e.cmd.Wait()
	return fmt.Errorf("hostemu: the emulator stopped (%v):\n%s", err, e.stderr.report())
}

func (e *emuDevice) enter() (func(), error) { return func() {}, nil }

func (e *emuDevice) memAlloc(bytes int) (cudadrv.DevicePtr, error) {
	e.put(byte('A'), uint64(bytes))
	if err := e.reply(); err != nil {
		return 0, err
	}
	var p uint64
	err := binary.Read(e.r, binary.LittleEndian, &p)
	return cudadrv.DevicePtr(p), err
}

func (e *emuDevice) memFree(p cudadrv.DevicePtr) error {
	e.put(byte('F'), uint64(p))
	return e.reply()
}

func (e *emuDevice) htod(dst cudadrv.DevicePtr, src unsafe.Pointer, bytes int) error {
	e.put(byte('W'), uint64(dst), uint64(bytes))
	e.w.Write(unsafe.Slice((*byte)(src), bytes))
	return e.reply()
}

func (e *emuDevice) dtoh(dst unsafe.Pointer, src cudadrv.DevicePtr, bytes int) error {
	e.put(byte('R'), uint64(src), uint64(bytes))
	if err := e.reply(); err != nil {
		return err
	}
	_, err := io.ReadFull(e.r, unsafe.Slice((*byte)(dst), bytes))
	return err
}

func (e *emuDevice) memsetD32(dst cudadrv.DevicePtr, v uint32, n int) error {
	e.put(byte('M'), uint64(dst), v, uint64(n))
	return e.reply()
}

// launch sends the arguments as the driver would read them: 8-byte slots,
// 4-byte values in the low half.
func (e *emuDevice) launch(l launch) error {
	e.put(byte('L'), uint16(len(l.name)))
	e.w.WriteString(l.name)
	e.put(l.grid, l.block, l.shared, uint32(len(l.args)))
	for _, a := range l.args {
		var v uint64
		switch a := a.(type) {
		case cudadrv.DevicePtr:
			v = uint64(a)
		case int64:
			v = uint64(a)
		case int32:
			v = uint64(uint32(a))
		case float64:
			v = *(*uint64)(unsafe.Pointer(&a))
		default:
			return fmt.Errorf("hostemu: argument of type %T", a)
		}
		e.put(v)
	}
	return e.reply()
}

func (e *emuDevice) names() ([]string, error) {
	e.put(byte('N'))
	if err := e.reply(); err != nil {
		return nil, err
	}
	var n uint32
	binary.Read(e.r, binary.LittleEndian, &n)
	out := make([]string, n)
	for i := range out {
		var l uint16
		binary.Read(e.r, binary.LittleEndian, &l)
		b := make([]byte, l)
		io.ReadFull(e.r, b)
		out[i] = string(b)
	}
	return out, nil
}

func (e *emuDevice) sync() error { return nil }

func (e *emuDevice) close() error {
	e.in.Close()
	if err := e.cmd.Wait(); err != nil {
		return fmt.Errorf("hostemu: %v:\n%s", err, e.stderr.report())
	}
	return nil
}

// TestHostEmulatorKernels checks that the emulator registers exactly the
// kernels of the launch table, so that the emulated tests cover them all.
func TestHostEmulatorKernels(t *testing.T) {
	d := startEmu(t)
	defer d.close()
	names, err := d.names()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for name := range kernels {
		want = append(want, name)
	}
	slices.Sort(want)
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Errorf("the emulator registers %d kernels, the table has %d:\nemulator %v\ntable %v", len(names), len(want), names, want)
	}
}
