//go:build linux

package main

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"github.com/invad/invad/internal/dynlib"
)

// errNoNVRTC reports that no NVRTC library could be opened.
var errNoNVRTC = errors.New("no NVRTC library")

// nvrtc holds the NVRTC functions, resolved through purego by
// internal/dynlib. nvrtcResult is an int32, nvrtcProgram a pointer, size_t
// a uint64.
type nvrtc struct {
	path                     string
	nvrtcVersion             func(major, minor *int32) int32
	nvrtcGetNumSupportedArch func(n *int32) int32
	nvrtcGetSupportedArchs   func(archs *int32) int32
	nvrtcCreateProgram       func(prog *uintptr, src *byte, name *byte, numHeaders int32, headers **byte, includeNames **byte) int32
	nvrtcCompileProgram      func(prog uintptr, numOptions int32, options **byte) int32
	nvrtcGetPTXSize          func(prog uintptr, n *uint64) int32
	nvrtcGetPTX              func(prog uintptr, ptx *byte) int32
	nvrtcGetProgramLogSize   func(prog uintptr, n *uint64) int32
	nvrtcGetProgramLog       func(prog uintptr, log *byte) int32
	nvrtcDestroyProgram      func(prog *uintptr) int32
	nvrtcGetErrorString      func(r int32) string
}

// openNVRTC opens the first of names that loads and has every NVRTC
// function, through internal/dynlib.
func openNVRTC(names []string) (*nvrtc, error) {
	var n *nvrtc
	path, err := dynlib.Open(names, func(name string) []dynlib.Symbol {
		n = &nvrtc{path: name}
		return []dynlib.Symbol{
			{Name: "nvrtcVersion", Fptr: &n.nvrtcVersion},
			{Name: "nvrtcGetNumSupportedArchs", Fptr: &n.nvrtcGetNumSupportedArch},
			{Name: "nvrtcGetSupportedArchs", Fptr: &n.nvrtcGetSupportedArchs},
			{Name: "nvrtcCreateProgram", Fptr: &n.nvrtcCreateProgram},
			{Name: "nvrtcCompileProgram", Fptr: &n.nvrtcCompileProgram},
			{Name: "nvrtcGetPTXSize", Fptr: &n.nvrtcGetPTXSize},
			{Name: "nvrtcGetPTX", Fptr: &n.nvrtcGetPTX},
			{Name: "nvrtcGetProgramLogSize", Fptr: &n.nvrtcGetProgramLogSize},
			{Name: "nvrtcGetProgramLog", Fptr: &n.nvrtcGetProgramLog},
			{Name: "nvrtcDestroyProgram", Fptr: &n.nvrtcDestroyProgram},
			{Name: "nvrtcGetErrorString", Fptr: &n.nvrtcGetErrorString},
		}
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoNVRTC, err)
	}
	n.path = path
	return n, nil
}

func (n *nvrtc) check(call string, r int32) error {
	if r == 0 {
		return nil
	}
	return fmt.Errorf("%s: %s (%d)", call, n.nvrtcGetErrorString(r), r)
}

// version returns NVRTC's version, e.g. "11.8".
func (n *nvrtc) version() (string, error) {
	var major, minor int32
	if err := n.check("nvrtcVersion", n.nvrtcVersion(&major, &minor)); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d.%d", major, minor), nil
}

// archs returns the virtual architectures NVRTC can target, as numbers
// (70 for compute_70).
func (n *nvrtc) archs() ([]int, error) {
	var cnt int32
	if err := n.check("nvrtcGetNumSupportedArchs", n.nvrtcGetNumSupportedArch(&cnt)); err != nil {
		return nil, err
	}
	if cnt == 0 {
		return nil, nil
	}
	a := make([]int32, cnt)
	if err := n.check("nvrtcGetSupportedArchs", n.nvrtcGetSupportedArchs(&a[0])); err != nil {
		return nil, err
	}
	out := make([]int, cnt)
	for i, x := range a {
		out[i] = int(x)
	}
	return out, nil
}

// cstrings holds NUL-terminated copies of Go strings and the array of
// pointers to them that NVRTC reads, pinned until unpin.
type cstrings struct {
	bufs [][]byte
	ptrs []*byte
	pin  runtime.Pinner
}

func newCStrings(ss []string) *cstrings {
	c := &cstrings{ptrs: make([]*byte, len(ss)+1)}
	for i, s := range ss {
		b := append([]byte(s), 0)
		c.bufs = append(c.bufs, b)
		c.pin.Pin(&b[0])
		c.ptrs[i] = &b[0]
	}
	c.pin.Pin(&c.ptrs[0])
	return c
}

func (c *cstrings) array() **byte {
	if len(c.bufs) == 0 {
		return nil
	}
	return &c.ptrs[0]
}

func (c *cstrings) unpin() { c.pin.Unpin() }

// compile compiles the CUDA C source src (named name in messages) with the
// given headers (include name → text) and options, and returns the PTX
// without its terminating NUL. A compile error carries NVRTC's log.
func (n *nvrtc) compile(name, src string, headers map[string]string, opts []string) ([]byte, error) {
	var hnames, htexts []string
	for _, h := range sortedKeys(headers) {
		hnames = append(hnames, h)
		htexts = append(htexts, headers[h])
	}
	srcC := newCStrings([]string{src, name})
	defer srcC.unpin()
	hn, ht, oc := newCStrings(hnames), newCStrings(htexts), newCStrings(opts)
	defer hn.unpin()
	defer ht.unpin()
	defer oc.unpin()

	var prog uintptr
	if err := n.check("nvrtcCreateProgram", n.nvrtcCreateProgram(&prog, srcC.ptrs[0], srcC.ptrs[1], int32(len(hnames)), ht.array(), hn.array())); err != nil {
		return nil, err
	}
	defer n.nvrtcDestroyProgram(&prog)
	cerr := n.check("nvrtcCompileProgram", n.nvrtcCompileProgram(prog, int32(len(opts)), oc.array()))
	var logSize uint64
	log := ""
	if n.nvrtcGetProgramLogSize(prog, &logSize) == 0 && logSize > 1 {
		buf := make([]byte, logSize)
		if n.nvrtcGetProgramLog(prog, &buf[0]) == 0 {
			log = strings.TrimRight(string(buf), "\x00\n")
		}
	}
	if cerr != nil {
		return nil, fmt.Errorf("%s: %w\n%s", name, cerr, log)
	}
	if log != "" {
		fmt.Fprintf(stderr, "ptxgen: %s: NVRTC says:\n%s\n", name, log)
	}
	var size uint64
	if err := n.check("nvrtcGetPTXSize", n.nvrtcGetPTXSize(prog, &size)); err != nil {
		return nil, err
	}
	if size == 0 {
		return nil, fmt.Errorf("%s: NVRTC returned no PTX", name)
	}
	ptx := make([]byte, size)
	if err := n.check("nvrtcGetPTX", n.nvrtcGetPTX(prog, (*byte)(unsafe.Pointer(&ptx[0])))); err != nil {
		return nil, err
	}
	for len(ptx) > 0 && ptx[len(ptx)-1] == 0 {
		ptx = ptx[:len(ptx)-1]
	}
	return ptx, nil
}
