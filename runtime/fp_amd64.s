#include "textflag.h"

// func fpwalk(pcs []uintptr, stop uintptr) int
//
// fpwalk fills pcs with the return addresses found by following the frame
// pointer chain, starting with the return address of the function that called
// fpwalk, and returns how many it wrote; it stops after writing stop (if
// non-zero). It costs about 1 ns per frame.
TEXT ·fpwalk(SB),NOSPLIT|NOFRAME,$0-40
	MOVQ pcs_base+0(FP), DI
	MOVQ pcs_len+8(FP), CX
	MOVQ stop+24(FP), R8
	MOVQ BP, SI
	XORQ AX, AX
loop:
	CMPQ AX, CX
	JGE done
	TESTQ SI, SI
	JZ done
	MOVQ 8(SI), DX
	MOVQ DX, (DI)(AX*8)
	MOVQ 0(SI), SI
	INCQ AX
	CMPQ DX, R8
	JNE loop
done:
	MOVQ AX, ret+32(FP)
	RET

// func callerpc() uintptr
//
// callerpc returns the return address of the function that called callerpc:
// a PC inside that function's caller.
TEXT ·callerpc(SB),NOSPLIT|NOFRAME,$0-8
	MOVQ 8(BP), AX
	MOVQ AX, ret+0(FP)
	RET

// func getg() uintptr
//
// getg returns the address of the calling goroutine's g: an identity, never
// dereferenced.
TEXT ·getg(SB),NOSPLIT|NOFRAME,$0-8
	MOVQ (TLS), AX
	MOVQ AX, ret+0(FP)
	RET

// func prefetch(addr uintptr)
//
// prefetch asks the CPU to bring the 384 bytes at addr (six cache lines)
// into its caches, without waiting for them. A prefetch never faults.
TEXT ·prefetch(SB),NOSPLIT|NOFRAME,$0-8
	MOVQ addr+0(FP), AX
	PREFETCHT0 0(AX)
	PREFETCHT0 64(AX)
	PREFETCHT0 128(AX)
	PREFETCHT0 192(AX)
	PREFETCHT0 256(AX)
	PREFETCHT0 320(AX)
	RET

// func rdtsc() uint64
//
// rdtsc returns the CPU's time-stamp counter (~9 ns here, against ~24 for
// the vDSO's monotonic clock, which reads it too and scales it).
TEXT ·rdtsc(SB),NOSPLIT|NOFRAME,$0-8
	RDTSC
	SHLQ $32, DX
	ORQ DX, AX
	MOVQ AX, ret+0(FP)
	RET
