package cudadrv

import (
	"errors"
	"strings"
	"testing"
)

func TestOpenMissingLibrary(t *testing.T) {
	const name = "libcuda-invad-test-absent.so.1" // a name no system has
	l, err := open([]string{name})
	if l != nil || !errors.Is(err, ErrNoDriver) {
		t.Fatalf("open(%q) = %v, %v; want nil and an error matching ErrNoDriver", name, l, err)
	}
	if errors.Is(err, ErrNoDevice) {
		t.Errorf("missing library also matches ErrNoDevice: %v", err)
	}
	if !strings.Contains(err.Error(), name) {
		t.Errorf("error %q does not name the library %s (dlopen's message)", err, name)
	}
}

func TestErrorMatching(t *testing.T) {
	tests := []struct {
		name     string
		reason   string
		code     Result
		noDevice bool
		want     string
	}{
		{"no-device", "CUDA_ERROR_NO_DEVICE is the 'no GPU here' code", 100, true, "cudadrv: cuInit: CUDA_ERROR_NO_DEVICE (100)"},
		{"oom", "any other code is a plain driver error", 2, false, "cudadrv: cuInit: CUDA_ERROR_OUT_OF_MEMORY (2)"},
		{"unknown", "a code neither the driver nor the table names", 123456, false, "cudadrv: cuInit: CUresult(123456) (123456)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := check("cuInit", uint32(tc.code))
			var de *Error
			if !errors.As(err, &de) || de.Code != tc.code || de.Call != "cuInit" {
				t.Fatalf("check(cuInit, %d) = %v, want an *Error with that call and code (%s)", tc.code, err, tc.reason)
			}
			if got := errors.Is(err, ErrNoDevice); got != tc.noDevice {
				t.Errorf("errors.Is(%v, ErrNoDevice) = %v, want %v (%s)", err, got, tc.noDevice, tc.reason)
			}
			if errors.Is(err, ErrNoDriver) {
				t.Errorf("a driver's error code matches ErrNoDriver: %v", err)
			}
			if err.Error() != tc.want {
				t.Errorf("message %q, want %q", err, tc.want)
			}
		})
	}
	if err := check("cuInit", 0); err != nil {
		t.Errorf("check of CUDA_SUCCESS = %v, want nil", err)
	}
}

// TestProbe checks that Probe's report agrees with its error on whatever
// this machine has: no library, a library without a device, or a GPU.
func TestProbe(t *testing.T) {
	r, err := Probe()
	t.Logf("Probe: %v (err %v)", r, err)
	switch {
	case errors.Is(err, ErrNoDriver):
		if r.Library != "" || len(r.Devices) != 0 {
			t.Errorf("no driver, yet the report names library %q and %d devices", r.Library, len(r.Devices))
		}
		if r.String() != "CUDA driver: not found" {
			t.Errorf("report %q", r)
		}
		// Every call needing the driver says the same.
		if _, err := MemAlloc(8); !errors.Is(err, ErrNoDriver) {
			t.Errorf("MemAlloc without a driver: %v, want ErrNoDriver", err)
		}
		if err := LaunchKernel(0, Dim3{1, 1, 1}, Dim3{1, 1, 1}, 0, 0, DevicePtr(0), int64(3)); !errors.Is(err, ErrNoDriver) {
			t.Errorf("LaunchKernel without a driver: %v, want ErrNoDriver", err)
		}
	case err != nil:
		if r.Library == "" {
			t.Errorf("Probe failed past loading (%v) but names no library", err)
		}
		if len(r.Devices) != 0 {
			t.Errorf("Probe failed (%v) yet lists %d devices", err, len(r.Devices))
		}
		if _, err2 := DeviceCount(); err2 == nil {
			t.Errorf("DeviceCount succeeds although Probe failed with %v", err)
		}
		if !errors.Is(err, ErrNoDevice) {
			t.Logf("the driver loads but fails otherwise than 'no device': %v", err)
		}
	default:
		if r.Library == "" || len(r.Devices) == 0 {
			t.Fatalf("Probe succeeded with library %q and %d devices", r.Library, len(r.Devices))
		}
		for _, d := range r.Devices {
			if d.Name == "" || d.Major < 3 || d.SMs < 1 || d.TotalMem == 0 {
				t.Errorf("implausible device %+v", d)
			}
		}
	}
}

func TestErrorName(t *testing.T) {
	// Named by the driver when it is loaded, else by the table: the same.
	if got := ErrorName(ErrorNoDevice); got != "CUDA_ERROR_NO_DEVICE" {
		t.Errorf("ErrorName(100) = %q", got)
	}
	if got := ErrorName(987654); got != "CUresult(987654)" {
		t.Errorf("ErrorName(987654) = %q, want CUresult(987654)", got)
	}
}

func TestLaunchKernelBadArgumentPanics(t *testing.T) {
	defer func() {
		r := recover()
		if s, _ := r.(string); !strings.HasPrefix(s, "cudadrv: LaunchKernel argument 1 has unsupported type int") {
			t.Errorf("recovered %v, want the unsupported-type panic", r)
		}
	}()
	_ = LaunchKernel(0, Dim3{1, 1, 1}, Dim3{1, 1, 1}, 0, 0, DevicePtr(0), 3) // untyped 3 is an int: the kernel's width is unknown
}
