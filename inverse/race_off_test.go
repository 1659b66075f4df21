//go:build !race

package inverse_test

const raceEnabled = false
