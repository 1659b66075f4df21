//go:build !linux

package dynlib

import "fmt"

// Open reports that run-time binding is only built for Linux.
func Open(names []string, bind func(name string) []Symbol) (string, error) {
	return "", fmt.Errorf("run-time library binding is only built for Linux")
}
