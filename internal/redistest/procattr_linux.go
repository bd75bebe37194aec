package redistest

import "syscall"

// sysProcAttr makes the kernel kill redis-server should the test binary die
// before its cleanup runs.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
