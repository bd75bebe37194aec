package devop

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"
)

// pages holds the provider's HTML pages. Every page is self-contained (inline
// style, no script).
var pages = template.Must(template.New("layout").Parse(`{{define "layout"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1f2328;margin:0}
main{max-width:24rem;margin:4rem auto;background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:2rem}
h1{font-size:1.25rem;margin:0 0 .25rem}
p.sub{color:#57606a;margin:0 0 1.5rem;font-size:.9rem}
label{display:block;font-size:.875rem;font-weight:600;margin:.75rem 0 .25rem}
input[type=text],input[type=password]{box-sizing:border-box;width:100%;padding:.5rem;border:1px solid #d0d7de;border-radius:6px;font-size:1rem}
.actions{display:flex;gap:.5rem;margin-top:1.25rem}
button{flex:1;padding:.55rem;border-radius:6px;font-size:1rem;cursor:pointer;border:1px solid #d0d7de;background:#f6f8fa}
button#login{background:#1f883d;border-color:#1a7f37;color:#fff}
.error{background:#ffebe9;border:1px solid #ff8182;border-radius:6px;padding:.5rem .75rem;margin-bottom:1rem;font-size:.9rem}
.hint{margin-top:1.5rem;font-size:.8rem;color:#57606a;border-top:1px solid #d0d7de;padding-top:.75rem}
code{background:#f6f8fa;padding:0 .25rem;border-radius:4px}
</style>
</head>
<body><main>{{template "body" .}}</main></body>
</html>
{{end}}`))

var loginPage = template.Must(template.Must(pages.Clone()).Parse(`{{define "body"}}
<h1>Gatehouse development login</h1>
<p class="sub">Sign in to continue to <strong>{{.ClientID}}</strong>.</p>
{{if .Error}}<div class="error" id="error" role="alert">{{.Error}}</div>{{end}}
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<label for="username">Username</label>
<input type="text" id="username" name="username" value="{{.Username}}" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<div class="actions">
<button type="submit" id="login" name="action" value="login">Sign in</button>
<button type="submit" id="deny" name="action" value="deny" formnovalidate>Deny</button>
</div>
</form>
{{if .Hint}}<div class="hint" id="hint">Demo credentials:
{{range $i, $u := .Hint}}{{if $i}}, {{end}}<code>{{$u.Username}}</code>&nbsp;/&nbsp;<code>{{$u.Password}}</code>{{end}}</div>{{end}}
{{end}}`))

var messagePage = template.Must(template.Must(pages.Clone()).Parse(`{{define "body"}}
<h1>{{.Title}}</h1>
<p class="sub" id="message">{{.Message}}</p>
{{end}}`))

// hiddenField is a form field that carries the authorization request.
type hiddenField struct{ Name, Value string }

// loginData fills loginPage.
type loginData struct {
	Title    string
	Action   string
	ClientID string
	Error    string
	Username string
	Hidden   []hiddenField
	Hint     []User
}

// messageData fills messagePage.
type messageData struct{ Title, Message string }

// writeHTML renders tmpl with data. The page may not be framed or cached.
func writeHTML(log *slog.Logger, w http.ResponseWriter, status int, tmpl *template.Template, data any) {
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, "layout", data); err != nil {
		log.Error("devop: render page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// No form-action: browsers would apply it to the redirect that
	// follows the login POST, which leaves for the client's origin.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	noStore(h)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// showMessage renders a page with a title and one message.
func showMessage(log *slog.Logger, w http.ResponseWriter, status int, title, msg string) {
	writeHTML(log, w, status, messagePage, messageData{Title: title, Message: msg})
}
