package harness

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nginxReadyTimeout bounds how long StartNginx waits for nginx to accept connections.
const nginxReadyTimeout = 10 * time.Second

// Nginx is a running nginx, started by StartNginx.
type Nginx struct {
	// URL is http://127.0.0.1:PORT.
	URL string
	// ErrorLog is the path of nginx's error log.
	ErrorLog string
}

// nginxBinary returns nginx's path: on PATH, or Debian's /usr/sbin/nginx (not on the PATH of
// ordinary users). It skips the test (fails it under CI) when there is none.
func nginxBinary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	unavailable(t, "nginx not found: install the Debian package nginx-light (apt-get install nginx-light)")
	return ""
}

// StartNginx runs nginx in the foreground (daemon off) on 127.0.0.1:port, with its own
// prefix, pid file, temporary paths and logs under t.TempDir(), and stops it when the test
// ends. server is the body of the server block, without listen (StartNginx adds it); http is
// more http-level configuration (may be empty). When the test fails, the error log is printed.
func StartNginx(t testing.TB, port int, http, server string) *Nginx {
	t.Helper()
	return StartNginxWithModules(t, port, nil, http, server)
}

// nginxModuleDir is where Debian's libnginx-mod-* packages put dynamic modules.
const nginxModuleDir = "/usr/lib/nginx/modules"

// StartNginxWithModules is StartNginx with dynamic modules loaded first (load_module), each
// named by its file in Debian's module directory ("ndk_http_module"). A missing module
// skips the test (fails it under CI), naming pkg, the Debian package that has it.
func StartNginxWithModules(t testing.TB, port int, modules []NginxModule, http, server string) *Nginx {
	t.Helper()
	bin := nginxBinary(t)
	var load string
	for _, m := range modules {
		p := filepath.Join(nginxModuleDir, m.File+".so")
		if _, err := os.Stat(p); err != nil {
			unavailable(t, "nginx module %s not found: install the Debian package %s (apt-get install %s)", m.File, m.Package, m.Package)
		}
		load += fmt.Sprintf("load_module %s;\n", p)
	}
	dir := t.TempDir()
	errorLog := filepath.Join(dir, "error.log")
	var userLine string
	if os.Geteuid() == 0 { // workers would run as nobody, which cannot enter dir
		if u, err := user.Current(); err == nil {
			userLine = fmt.Sprintf("user %s;\n", u.Username)
		}
	}
	conf := fmt.Sprintf(`%s%sdaemon off;
worker_processes 1;
pid %[3]s/nginx.pid;
error_log %[3]s/error.log info;
events { worker_connections 64; }
http {
  access_log %[3]s/access.log;
  client_body_temp_path %[3]s/client_body;
  proxy_temp_path %[3]s/proxy;
  fastcgi_temp_path %[3]s/fastcgi;
  uwsgi_temp_path %[3]s/uwsgi;
  scgi_temp_path %[3]s/scgi;
%[4]s
  server {
    listen 127.0.0.1:%[5]d;
%[6]s
  }
}
`, load, userLine, dir, http, port, server)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	n := &Nginx{URL: fmt.Sprintf("http://127.0.0.1:%d", port), ErrorLog: errorLog}
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(errorLog)
			t.Logf("nginx error log %s:\n%s\nnginx.conf:\n%s", errorLog, tail(string(b), 64<<10), conf)
		}
	})

	out := newTailBuffer(16 << 10)
	cmd := exec.Command(bin, "-p", dir, "-c", path, "-e", errorLog)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT) // graceful stop
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	deadline := time.Now().Add(nginxReadyTimeout)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return n
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(errorLog)
			t.Fatalf("nginx exited at start-up: %v\n%s%s", waitErr, out, tail(string(b), 16<<10))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not accept connections within %v\n%s", nginxReadyTimeout, out)
		}
	}
}

// NginxModule is a dynamic nginx module: its file name without ".so" and the Debian
// package that installs it.
type NginxModule struct{ File, Package string }

// SetMiscModules are the modules of set_escape_uri (ingress-nginx's auth-signin uses it).
var SetMiscModules = []NginxModule{
	{File: "ndk_http_module", Package: "libnginx-mod-http-ndk"},
	{File: "ngx_http_set_misc_module", Package: "libnginx-mod-http-set-misc"},
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := strings.IndexByte(s[len(s)-n:], '\n')
	return s[len(s)-n+i+1:]
}
