package cudadrv

import (
	"fmt"
	"strings"
)

// Report is what Probe found.
type Report struct {
	Library       string // the library opened, "" if none
	DriverVersion int    // 1000·major + 10·minor, 0 if unknown
	Devices       []DeviceInfo
}

// DeviceInfo describes one device.
type DeviceInfo struct {
	Ordinal      int
	Name         string
	Major, Minor int    // compute capability
	SMs          int    // multiprocessors
	TotalMem     uint64 // bytes
}

// Probe loads and initializes the driver and lists the devices. It returns
// what it found along with nil, or along with an error matching ErrNoDriver
// (no library), ErrNoDevice (no device), or another driver failure; the
// Report then holds what was learnt before the failure.
func Probe() (Report, error) {
	var r Report
	if err := Load(); err != nil {
		return r, err
	}
	r.Library = LibraryPath()
	if v, err := DriverVersion(); err == nil {
		r.DriverVersion = v
	}
	if err := Init(); err != nil {
		return r, err
	}
	n, err := DeviceCount()
	if err != nil {
		return r, err
	}
	if n == 0 {
		return r, fmt.Errorf("%w: cuDeviceGetCount reports 0 devices", ErrNoDevice)
	}
	for i := range n {
		d, err := DeviceGet(i)
		if err != nil {
			return r, err
		}
		info := DeviceInfo{Ordinal: i}
		if info.Name, err = d.Name(); err != nil {
			return r, err
		}
		if info.Major, info.Minor, err = d.ComputeCapability(); err != nil {
			return r, err
		}
		if info.SMs, err = d.Attribute(AttrMultiprocessorCount); err != nil {
			return r, err
		}
		if info.TotalMem, err = d.TotalMem(); err != nil {
			return r, err
		}
		r.Devices = append(r.Devices, info)
	}
	return r, nil
}

// String prints the report on a few lines.
func (r Report) String() string {
	if r.Library == "" {
		return "CUDA driver: not found"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CUDA driver: %s", r.Library)
	if r.DriverVersion > 0 {
		fmt.Fprintf(&b, ", CUDA %d.%d", r.DriverVersion/1000, r.DriverVersion%1000/10)
	}
	if len(r.Devices) == 0 {
		b.WriteString(", no device")
	}
	for _, d := range r.Devices {
		fmt.Fprintf(&b, "\ndevice %d: %s, sm_%d%d, %d SMs, %.1f GiB", d.Ordinal, d.Name, d.Major, d.Minor, d.SMs, float64(d.TotalMem)/(1<<30))
	}
	return b.String()
}
