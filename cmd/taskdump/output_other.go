//go:build !unix

package main

import "os"

// oNoFollow is not offered here: createOutput's Lstat check stands alone.
const oNoFollow = 0

// oNonBlock is not offered here.
const oNonBlock = 0

// fileOwner is unknown here: -1.
func fileOwner(os.FileInfo) int { return -1 }
