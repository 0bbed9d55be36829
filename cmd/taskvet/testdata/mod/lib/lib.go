// Package lib is a library that the tasks of package app call.
package lib

import (
	"net/http"
	"time"
)

// Pause blocks its goroutine.
func Pause(d time.Duration) {
	time.Sleep(d)
}

// Fetch blocks through a helper.
func Fetch(url string) error {
	return get(url)
}

func get(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Sum does not block.
func Sum(xs ...int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}
