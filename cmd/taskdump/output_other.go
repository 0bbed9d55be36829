//go:build !unix

package main

// oNoFollow is not offered here: createOutput's Lstat check stands alone.
const oNoFollow = 0

// oNonBlock is not offered here.
const oNonBlock = 0
