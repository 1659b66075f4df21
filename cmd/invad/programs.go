package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/invad/invad/catalog"
)

// The programs of explain and demo are the catalogue's Explain set
// (package catalog), built at the n asked for.

// exampleNames lists the explain programs, sorted.
func exampleNames() string {
	return strings.Join(slices.Sorted(slices.Values(catalog.Names(catalog.Explain))), ", ")
}

// lookup returns the explain program called name.
func lookup(name string) (catalog.Program, error) {
	p, ok := catalog.Get(name)
	if !ok || !p.In(catalog.Explain) {
		return catalog.Program{}, fmt.Errorf("unknown program %q (have %s)", name, exampleNames())
	}
	return p, nil
}
