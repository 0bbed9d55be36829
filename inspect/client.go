package inspect

import (
	"context"
	"time"

	"github.com/taskdump/taskdump/inspect/client"
)

// The client moved to package inspect/client, which links neither the
// runtime nor the agent. These names keep programs written against the old
// place working; each is the client package's own (errors.Is and type
// assertions hold across both names).

// Deprecated: use client.ErrNoProcess and the other client errors.
var (
	ErrNoProcess  = client.ErrNoProcess
	ErrNoAgent    = client.ErrNoAgent
	ErrPermission = client.ErrPermission
	ErrNoTask     = client.ErrNoTask
	ErrFinished   = client.ErrFinished
	ErrReadOnly   = client.ErrReadOnly
	ErrTooLarge   = client.ErrTooLarge
	ErrTimeout    = client.ErrTimeout
	ErrUntrusted  = client.ErrUntrusted
)

// Deprecated: use client.MaxListBytes, client.MaxSmallBytes,
// client.MaxCopyBytes.
const (
	MaxListBytes  = client.MaxListBytes
	MaxSmallBytes = client.MaxSmallBytes
	MaxCopyBytes  = client.MaxCopyBytes
)

// Deprecated: use client.PsTimeout.
const PsTimeout = client.PsTimeout

// Client is client.Client.
//
// Deprecated: use client.Client.
type Client = client.Client

// APIError is client.APIError.
//
// Deprecated: use client.APIError.
type APIError = client.APIError

// TaskFilter is client.TaskFilter.
//
// Deprecated: use client.TaskFilter.
type TaskFilter = client.TaskFilter

// Found is client.Found.
//
// Deprecated: use client.Found.
type Found = client.Found

// Status is client.Status.
//
// Deprecated: use client.Status.
type Status = client.Status

// Dial is client.Dial.
//
// Deprecated: use client.Dial.
func Dial(pid int) (*Client, error) { return client.Dial(pid) }

// DialPath is client.DialPath.
//
// Deprecated: use client.DialPath.
func DialPath(path string) (*Client, error) { return client.DialPath(path) }

// Scan is client.Scan.
//
// Deprecated: use client.Scan.
func Scan(dir string) (live []Found, removed []string, err error) { return client.Scan(dir) }

// Ps is client.Ps.
//
// Deprecated: use client.Ps.
func Ps(ctx context.Context, dir string, timeout time.Duration) ([]Status, []string, error) {
	return client.Ps(ctx, dir, timeout)
}

// CheckEnvDir is client.CheckEnvDir.
//
// Deprecated: use client.CheckEnvDir.
func CheckEnvDir() error { return client.CheckEnvDir() }
