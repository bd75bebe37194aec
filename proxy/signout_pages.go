package proxy

import "html/template"

// pageStyle is the look the sign-out pages share.
const pageStyle = `<style>body{font-family:system-ui,sans-serif;background:#f4f5f7;display:flex;min-height:100vh;align-items:center;justify-content:center;margin:0}
main{background:#fff;padding:2rem 2.5rem;border-radius:10px;box-shadow:0 2px 12px rgba(0,0,0,.08)}
a{color:#2f6fde}button{font:inherit;padding:.55rem 1.1rem;background:#2f6fde;color:#fff;border:0;border-radius:6px;cursor:pointer}</style>`

var signedOutPage = template.Must(template.New("out").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signed out · Gatehouse</title>
` + pageStyle + `</head>
<body><main><h1>You are signed out</h1><p><a href="/">Sign in again</a></p></main></body></html>
`))

// confirmSignOutPage is what GET /oauth2/sign_out shows a signed-in
// browser. The form's action is relative, so that it works wherever the
// gateway's /oauth2/ paths are mounted (its own host or an application's,
// behind forward-auth).
var confirmSignOutPage = template.Must(template.New("confirm").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign out · Gatehouse</title>
` + pageStyle + `</head>
<body><main><h1>Sign out?</h1>
<form method="post" action="sign_out">
{{if .RD}}<input type="hidden" name="rd" value="{{.RD}}">{{end}}
<button type="submit" id="sign-out">Sign out</button>
</form></main></body></html>
`))

// endSessionForm is the RP-initiated logout request of the POST binding.
type endSessionForm struct {
	Action string // the AS's end_session_endpoint
	Fields []formField
	Nonce  string // of the Content-Security-Policy script-src
}

type formField struct{ Name, Value string }

// endSessionPage submits the logout request to the AS at once; without
// JavaScript the user presses the button.
var endSessionPage = template.Must(template.New("end").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signing out · Gatehouse</title>
` + pageStyle + `</head>
<body><main><h1>Signing out…</h1>
<form method="post" action="{{.Action}}" id="end-session">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<p>Signing you out at the sign-in service as well.</p>
<button type="submit" id="continue">Continue</button>
</form>
<script nonce="{{.Nonce}}">document.getElementById("end-session").submit()</script>
</main></body></html>
`))
