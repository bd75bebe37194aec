package upstream

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
)

// localHandler returns the handler of a route whose target the gateway
// answers itself, or nil for an http(s) target:
//
//   - "static://NNN" answers status NNN (200 to 599) to every request,
//     with the status text as a plain-text body (none for 204 and 304),
//     without any upstream: a health endpoint behind the gate, or an
//     "authenticated" answer for a forward-auth set-up.
//   - "file:///dir" serves the files under the directory dir (GET and HEAD
//     only). A directory is served by its index.html, never listed; a path
//     with a segment that starts with "." (dot-files such as .git or .env)
//     is 404; symbolic links that leave dir are refused (os.Root).
func localHandler(target *url.URL) (http.Handler, error) {
	if target == nil {
		return nil, nil
	}
	switch target.Scheme {
	case "static":
		code, err := strconv.Atoi(target.Host)
		if err != nil || code < 200 || code > 599 {
			return nil, fmt.Errorf("static target %q: want static://NNN with a status from 200 to 599", target)
		}
		return staticHandler(code), nil
	case "file":
		dir := target.Path
		if !path.IsAbs(dir) {
			return nil, fmt.Errorf("file target %q: the directory must be absolute", target)
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, fmt.Errorf("file target: %w", err)
		}
		return fileHandler(root.FS()), nil
	}
	return nil, nil
}

type staticHandler int

func (code staticHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(int(code))
	if code != http.StatusNoContent && code != http.StatusNotModified {
		_, _ = fmt.Fprintln(w, http.StatusText(int(code)))
	}
}

// fileHandler serves fsys with http.FileServerFS, through noListingFS.
func fileHandler(fsys fs.FS) http.Handler {
	files := http.FileServerFS(noListingFS{fsys})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		if hasDotSegment(r.URL.Path) {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// noListingFS hides dot-files and the directories that have no index.html,
// so that http.FileServer never lists a directory.
type noListingFS struct{ fs.FS }

func (f noListingFS) Open(name string) (fs.File, error) {
	if name != "." && hasDotSegment(name) {
		return nil, fs.ErrNotExist
	}
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	fi, err := file.Stat()
	if err != nil {
		_ = file.Close()
		return nil, err
	}
	if fi.IsDir() {
		if _, err := fs.Stat(f.FS, path.Join(name, "index.html")); err != nil {
			_ = file.Close()
			return nil, errors.Join(fs.ErrNotExist, err)
		}
	}
	return file, nil
}

// hasDotSegment reports whether a segment of p starts with ".".
func hasDotSegment(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}
