// Command cpuprofile shows how a standard CPU profile splits per task: while
// a profile is being taken, the loop labels each task's goroutine with
// task.id, task.name and loop, so `go tool pprof -tagfocus` keeps one task's
// samples.
//
//	go run ./examples/cpuprofile -o cpu.pprof
//	go tool pprof -tags cpu.pprof                               # samples per task.name
//	go tool pprof -top -tagfocus task.name=hasher cpu.pprof     # only the hasher task
package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"

	"github.com/taskdump/taskdump/runtime"
)

// hash is CPU-bound work that yields to the loop between rounds.
func hash(ctx context.Context) (int, error) {
	sum := sha256.Sum256([]byte("taskdump"))
	for i := range 20_000 {
		for range 50 {
			sum = sha256.Sum256(sum[:])
		}
		if i%100 == 0 {
			if err := runtime.Yield(ctx); err != nil {
				return 0, err
			}
		}
	}
	return int(sum[0]), nil
}

// sortRounds is other CPU-bound work: sorting random slices.
func sortRounds(ctx context.Context) (int, error) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 0
	for i := range 400 {
		xs := make([]int, 10_000)
		for j := range xs {
			xs[j] = r.Int()
		}
		slices.Sort(xs)
		n += xs[0] & 1
		if i%4 == 0 {
			if err := runtime.Yield(ctx); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func main() {
	out := flag.String("o", "cpu.pprof", "where to write the CPU profile")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	_, err = runtime.Run(context.Background(), func(ctx context.Context) ([]int, error) {
		h := runtime.Spawn(ctx, hash, runtime.Named("hasher"))
		s := runtime.Spawn(ctx, sortRounds, runtime.Named("sorter"))
		return runtime.Gather(ctx, h, s)
	}, runtime.WithName("cpu-demo"))
	pprof.StopCPUProfile()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %s; try: go tool pprof -top -tagfocus task.name=hasher %s\n", *out, *out)
}
