//go:build !linux

package main

import (
	"errors"
	"fmt"
)

var errNoNVRTC = errors.New("no NVRTC library")

type nvrtc struct{ path string }

func openNVRTC(names []string) (*nvrtc, error) {
	return nil, fmt.Errorf("%w: ptxgen reaches NVRTC on Linux only", errNoNVRTC)
}

func (n *nvrtc) version() (string, error) { return "", errNoNVRTC }
func (n *nvrtc) archs() ([]int, error)    { return nil, errNoNVRTC }
func (n *nvrtc) compile(name, src string, headers map[string]string, opts []string) ([]byte, error) {
	return nil, errNoNVRTC
}
