// Command unretrieved is a doctor scenario: uploads are spawned and
// forgotten; they fail, and nobody ever sees their error.
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/taskdump/taskdump/cmd/taskdump/testdata/doctor/scenario"
	"github.com/taskdump/taskdump/runtime"
)

func main() {
	scenario.Run(func(ctx context.Context) (struct{}, error) {
		for i := range 3 {
			runtime.Spawn(ctx, upload, runtime.Named(fmt.Sprintf("upload-%d", i+1))) // doctor:spawn
		}
		// A failure that is awaited and handled is no finding.
		checked := runtime.Spawn(ctx, upload, runtime.Named("checked-upload"))
		if _, err := checked.Await(ctx); err == nil {
			return struct{}{}, errors.New("the upload should fail")
		}
		if err := runtime.Sleep(ctx, 50*time.Millisecond); err != nil {
			return struct{}{}, err
		}
		fmt.Println("ready")
		return struct{}{}, runtime.Sleep(ctx, time.Hour)
	})
}

func upload(ctx context.Context) (struct{}, error) {
	if err := runtime.Sleep(ctx, 10*time.Millisecond); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, errors.New("upload: connection refused")
}
