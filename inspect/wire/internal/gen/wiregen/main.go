// Command wiregen writes task_gen.go, the wire package's fast JSON code,
// from the struct declarations of wire.go. Run it through go generate in
// inspect/wire:
//
//	go generate ./inspect/wire
package main

import (
	"fmt"
	"os"

	"github.com/taskdump/taskdump/inspect/wire/internal/gen"
)

func main() {
	if err := run("wire.go", "task_gen.go"); err != nil {
		fmt.Fprintln(os.Stderr, "wiregen:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	src, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	code, err := gen.Generate(src)
	if err != nil {
		return err
	}
	return os.WriteFile(out, code, 0o644)
}
