package dataplane

import (
	"syscall"
	"unsafe"
)

// On Linux the data plane's socket reads and writes are raw system calls
// (syscall.RawSyscall), made inside a syscall.RawConn callback so that the
// descriptor stays referenced, and only on non-blocking sockets, which
// never block in the kernel. They skip what syscall.Syscall does around
// every call for a call that might block: entersyscall hands the P over
// for sysmon to retake, and wakes sysmon when it sleeps because every P
// was idle. A proxy at moderate load goes idle between requests all the
// time, so sysmon was woken (futex) on most requests and then ran its
// 20 µs polling loop before it slept again: in a CPU profile of the
// controller at half its maximum, the wake alone was 3 % of the process's
// samples, and sysmon's own thread, which the profile does not sample,
// used about a sixth of the process's CPU (per-thread /proc times).

// sysRead is read(2) as a raw system call, EINTR retried.
func sysRead(fd int, p []byte) (int, error) { return sysRW(syscall.SYS_READ, fd, p) }

// sysWrite is write(2) as a raw system call, EINTR retried.
func sysWrite(fd int, p []byte) (int, error) { return sysRW(syscall.SYS_WRITE, fd, p) }

// sysRW makes read(2) or write(2) (trap) of p on fd.
func sysRW(trap uintptr, fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, _, e := syscall.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		switch e {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		}
		return -1, e
	}
}

// sysWritev2 is writev(2) of a then b as a raw system call, EINTR
// retried; a and b are not empty.
func sysWritev2(fd int, a, b []byte) (int, error) {
	var iov [2]syscall.Iovec
	iov[0].Base, iov[1].Base = &a[0], &b[0]
	iov[0].SetLen(len(a))
	iov[1].SetLen(len(b))
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), 2)
		switch e {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		}
		return -1, e
	}
}

// sysPeek is a non-blocking recv(2) of one byte with MSG_PEEK as a raw
// system call: EAGAIN when nothing is pending.
func sysPeek(fd int, b *[1]byte) error {
	for {
		_, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		}
		return e
	}
}
