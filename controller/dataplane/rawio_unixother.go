//go:build unix && !linux

package dataplane

import "syscall"

// Elsewhere than on Linux the socket calls are syscall's (rawio_linux.go).

func sysRead(fd int, p []byte) (int, error) {
	for {
		n, err := syscall.Read(fd, p)
		if err != syscall.EINTR {
			return n, err
		}
	}
}

func sysWrite(fd int, p []byte) (int, error) {
	for {
		n, err := syscall.Write(fd, p)
		if err != syscall.EINTR {
			return n, err
		}
	}
}

// sysWritev2 writes a only: the caller writes b after it.
func sysWritev2(fd int, a, _ []byte) (int, error) { return sysWrite(fd, a) }

func sysPeek(fd int, b *[1]byte) error {
	_, _, err := syscall.Recvfrom(fd, b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err
}
