package ui

// message is a text in the languages other than English; the English text
// is its key. A test checks that every message has every language, and that
// every key the templates and the gateway's error pages use is here.
type message struct{ de, fr, it string }

// catalog holds every text of the pages: the templates' own and the titles
// and details of the gateway's errors (proxy).
var catalog = map[string]message{
	// The templates.
	"Sign in":                          {"Anmelden", "Se connecter", "Accedi"},
	"Sign out":                         {"Abmelden", "Se déconnecter", "Esci"},
	"Sign out?":                        {"Abmelden?", "Se déconnecter ?", "Uscire?"},
	"Start again":                      {"Erneut beginnen", "Recommencer", "Ricomincia"},
	"Signed in as %s":                  {"Angemeldet als %s", "Connecté en tant que %s", "Accesso effettuato come %s"},
	"Use another account":              {"Anderes Konto verwenden", "Utiliser un autre compte", "Usa un altro account"},
	"Links":                            {"Links", "Liens", "Link"},
	"Continue":                         {"Weiter", "Continuer", "Continua"},
	"Sign in again":                    {"Erneut anmelden", "Se reconnecter", "Accedi di nuovo"},
	"You are signed out":               {"Sie sind abgemeldet", "Vous êtes déconnecté", "Disconnessione effettuata"},
	"Signing out…":                     {"Abmeldung läuft…", "Déconnexion en cours…", "Disconnessione in corso…"},
	"You are about to sign out of %s.": {"Sie melden sich von %s ab.", "Vous allez vous déconnecter de %s.", "Stai per uscire da %s."},
	"You can close this window or sign in again.": {"Sie können dieses Fenster schließen oder sich erneut anmelden.",
		"Vous pouvez fermer cette fenêtre ou vous reconnecter.", "Puoi chiudere questa finestra o accedere di nuovo."},
	"Signing you out at the sign-in service as well.": {"Die Abmeldung erfolgt auch beim Anmeldedienst.",
		"La déconnexion a lieu aussi auprès du service de connexion.", "La disconnessione avviene anche presso il servizio di accesso."},

	// Titles of the gateway's errors.
	"Access denied":                  {"Zugriff verweigert", "Accès refusé", "Accesso negato"},
	"Access token rejected":          {"Zugriffstoken abgelehnt", "Jeton d'accès refusé", "Token di accesso rifiutato"},
	"Access token required":          {"Zugriffstoken erforderlich", "Jeton d'accès requis", "Token di accesso richiesto"},
	"Access was denied":              {"Der Zugriff wurde verweigert", "L'accès a été refusé", "L'accesso è stato negato"},
	"Application timed out":          {"Zeitüberschreitung der Anwendung", "L'application n'a pas répondu à temps", "L'applicazione non ha risposto in tempo"},
	"Application unavailable":        {"Anwendung nicht erreichbar", "Application indisponible", "Applicazione non disponibile"},
	"Bad request":                    {"Ungültige Anfrage", "Requête invalide", "Richiesta non valida"},
	"Client closed the request":      {"Der Client hat die Anfrage abgebrochen", "Le client a interrompu la requête", "Il client ha interrotto la richiesta"},
	"Logout not accepted":            {"Abmeldung nicht angenommen", "Déconnexion refusée", "Disconnessione non accettata"},
	"Malformed request":              {"Fehlerhafte Anfrage", "Requête mal formée", "Richiesta malformata"},
	"Not found":                      {"Nicht gefunden", "Introuvable", "Non trovato"},
	"Request refused":                {"Anfrage abgelehnt", "Requête refusée", "Richiesta rifiutata"},
	"Request timed out":              {"Zeitüberschreitung der Anfrage", "Délai de la requête dépassé", "Tempo della richiesta scaduto"},
	"Request too large":              {"Anfrage zu groß", "Requête trop volumineuse", "Richiesta troppo grande"},
	"Sign out by POST":               {"Abmelden mit POST", "Déconnexion par POST", "Uscita tramite POST"},
	"Sign-in could not be completed": {"Die Anmeldung konnte nicht abgeschlossen werden", "La connexion n'a pas pu aboutir", "Impossibile completare l'accesso"},
	"Sign-in could not be verified":  {"Die Anmeldung konnte nicht überprüft werden", "La connexion n'a pas pu être vérifiée", "Impossibile verificare l'accesso"},
	"Sign-in failed":                 {"Anmeldung fehlgeschlagen", "Échec de la connexion", "Accesso non riuscito"},
	"Sign-in required":               {"Anmeldung erforderlich", "Connexion requise", "Accesso richiesto"},
	"Sign-in service error":          {"Fehler des Anmeldedienstes", "Erreur du service de connexion", "Errore del servizio di accesso"},
	"Sign-in service unavailable":    {"Anmeldedienst nicht erreichbar", "Service de connexion indisponible", "Servizio di accesso non disponibile"},
	"Sign-in was not completed":      {"Die Anmeldung wurde nicht abgeschlossen", "La connexion n'a pas abouti", "L'accesso non è stato completato"},
	"Sign-out refused":               {"Abmeldung abgelehnt", "Déconnexion refusée", "Uscita rifiutata"},
	"Something went wrong":           {"Etwas ist schiefgelaufen", "Une erreur s'est produite", "Qualcosa è andato storto"},
	"Temporarily unavailable":        {"Vorübergehend nicht verfügbar", "Temporairement indisponible", "Temporaneamente non disponibile"},
	"Timed out":                      {"Zeitüberschreitung", "Délai dépassé", "Tempo scaduto"},
	"Too many failed sign-ins":       {"Zu viele fehlgeschlagene Anmeldungen", "Trop de connexions échouées", "Troppi accessi non riusciti"},
	"Too many sign-ins":              {"Zu viele Anmeldungen", "Trop de connexions", "Troppi accessi"},

	// Details of the gateway's errors.
	"A service the gateway depends on took too long to answer.": {
		"Ein Dienst, den das Gateway benötigt, hat zu lange nicht geantwortet.",
		"Un service dont dépend la passerelle a mis trop de temps à répondre.",
		"Un servizio da cui dipende il gateway ha impiegato troppo tempo a rispondere."},
	"No application is served at this address.": {
		"Unter dieser Adresse ist keine Anwendung erreichbar.",
		"Aucune application n'est servie à cette adresse.",
		"Nessuna applicazione è servita a questo indirizzo."},
	"Sign out with POST /oauth2/sign_out.": {
		"Melden Sie sich mit POST /oauth2/sign_out ab.",
		"Déconnectez-vous avec POST /oauth2/sign_out.",
		"Esci con POST /oauth2/sign_out."},
	"The Authorization header is malformed: send exactly one \"Authorization: Bearer <token>\".": {
		"Der Authorization-Header ist fehlerhaft: Senden Sie genau einen \"Authorization: Bearer <token>\".",
		"L'en-tête Authorization est mal formé : envoyez exactement un \"Authorization: Bearer <token>\".",
		"L'intestazione Authorization è malformata: inviane esattamente una \"Authorization: Bearer <token>\"."},
	"The access token could not be checked with the sign-in service. Please try again.": {
		"Das Zugriffstoken konnte beim Anmeldedienst nicht geprüft werden. Bitte versuchen Sie es erneut.",
		"Le jeton d'accès n'a pas pu être vérifié auprès du service de connexion. Veuillez réessayer.",
		"Non è stato possibile verificare il token di accesso presso il servizio di accesso. Riprova."},
	"The access token is invalid, expired, revoked, or not meant for this resource.": {
		"Das Zugriffstoken ist ungültig, abgelaufen, widerrufen oder nicht für diese Ressource bestimmt.",
		"Le jeton d'accès est invalide, expiré, révoqué ou non destiné à cette ressource.",
		"Il token di accesso non è valido, è scaduto, è stato revocato o non è destinato a questa risorsa."},
	"The application behind the gateway cannot be reached. Please try again in a moment.": {
		"Die Anwendung hinter dem Gateway ist nicht erreichbar. Bitte versuchen Sie es gleich noch einmal.",
		"L'application derrière la passerelle est injoignable. Veuillez réessayer dans un instant.",
		"L'applicazione dietro il gateway non è raggiungibile. Riprova tra un momento."},
	"The application behind the gateway took too long to answer.": {
		"Die Anwendung hinter dem Gateway hat zu lange nicht geantwortet.",
		"L'application derrière la passerelle a mis trop de temps à répondre.",
		"L'applicazione dietro il gateway ha impiegato troppo tempo a rispondere."},
	"The client went away before the answer was ready.": {
		"Der Client war nicht mehr verbunden, bevor die Antwort fertig war.",
		"Le client est parti avant que la réponse soit prête.",
		"Il client si è disconnesso prima che la risposta fosse pronta."},
	"The gateway could not complete the request. Please try again.": {
		"Das Gateway konnte die Anfrage nicht abschließen. Bitte versuchen Sie es erneut.",
		"La passerelle n'a pas pu traiter la requête. Veuillez réessayer.",
		"Il gateway non è riuscito a completare la richiesta. Riprova."},
	"The gateway could not obtain the credentials this application needs from the sign-in service. Please try again.": {
		"Das Gateway konnte die Zugangsdaten, die diese Anwendung braucht, nicht vom Anmeldedienst erhalten. Bitte versuchen Sie es erneut.",
		"La passerelle n'a pas pu obtenir du service de connexion les identifiants dont cette application a besoin. Veuillez réessayer.",
		"Il gateway non è riuscito a ottenere dal servizio di accesso le credenziali necessarie a questa applicazione. Riprova."},
	"The identity the sign-in service returned could not be verified.": {
		"Die vom Anmeldedienst übermittelte Identität konnte nicht überprüft werden.",
		"L'identité renvoyée par le service de connexion n'a pas pu être vérifiée.",
		"Non è stato possibile verificare l'identità restituita dal servizio di accesso."},
	"The logout request names another issuer.": {
		"Die Abmeldeanfrage nennt einen anderen Aussteller.",
		"La demande de déconnexion désigne un autre émetteur.",
		"La richiesta di disconnessione indica un altro emittente."},
	"The proxy in front of this application did not say which page was asked for, so access cannot be decided.": {
		"Der Proxy vor dieser Anwendung hat nicht mitgeteilt, welche Seite angefordert wurde; daher kann über den Zugriff nicht entschieden werden.",
		"Le proxy placé devant cette application n'a pas indiqué la page demandée : l'accès ne peut donc pas être décidé.",
		"Il proxy davanti a questa applicazione non ha indicato quale pagina è stata richiesta, quindi non è possibile decidere l'accesso."},
	"The proxy asked with rules the gateway cannot apply.": {
		"Der Proxy hat Regeln übermittelt, die das Gateway nicht anwenden kann.",
		"Le proxy a transmis des règles que la passerelle ne peut pas appliquer.",
		"Il proxy ha inviato regole che il gateway non può applicare."},
	"The proxy asked with rules that need a signed-in user, but this address is served without sign-in.": {
		"Der Proxy hat Regeln übermittelt, die einen angemeldeten Benutzer verlangen, aber diese Adresse wird ohne Anmeldung ausgeliefert.",
		"Le proxy a transmis des règles qui exigent un utilisateur connecté, mais cette adresse est servie sans connexion.",
		"Il proxy ha inviato regole che richiedono un utente connesso, ma questo indirizzo è servito senza accesso."},
	"The proxy's headers describe two different requests.": {
		"Die Header des Proxys beschreiben zwei verschiedene Anfragen.",
		"Les en-têtes du proxy décrivent deux requêtes différentes.",
		"Le intestazioni del proxy descrivono due richieste diverse."},
	"The request body could not be read (it is malformed or incomplete).": {
		"Der Inhalt der Anfrage konnte nicht gelesen werden (er ist fehlerhaft oder unvollständig).",
		"Le corps de la requête n'a pas pu être lu (il est mal formé ou incomplet).",
		"Non è stato possibile leggere il corpo della richiesta (è malformato o incompleto)."},
	"The request body is larger than the gateway accepts.": {
		"Der Inhalt der Anfrage ist größer, als das Gateway annimmt.",
		"Le corps de la requête dépasse la taille acceptée par la passerelle.",
		"Il corpo della richiesta è più grande di quanto il gateway accetti."},
	"The request body was not sent in time.": {
		"Der Inhalt der Anfrage wurde nicht rechtzeitig gesendet.",
		"Le corps de la requête n'a pas été envoyé à temps.",
		"Il corpo della richiesta non è stato inviato in tempo."},
	"The request path is ambiguous and was refused.": {
		"Der Pfad der Anfrage ist mehrdeutig und wurde abgelehnt.",
		"Le chemin de la requête est ambigu et a été refusé.",
		"Il percorso della richiesta è ambiguo ed è stato rifiutato."},
	"The request's host name is malformed and was refused.": {
		"Der Hostname der Anfrage ist fehlerhaft und wurde abgelehnt.",
		"Le nom d'hôte de la requête est mal formé et a été refusé.",
		"Il nome host della richiesta è malformato ed è stato rifiutato."},
	"The session store cannot be reached. Please try again in a moment.": {
		"Der Sitzungsspeicher ist nicht erreichbar. Bitte versuchen Sie es gleich noch einmal.",
		"Le stockage des sessions est injoignable. Veuillez réessayer dans un instant.",
		"L'archivio delle sessioni non è raggiungibile. Riprova tra un momento."},
	"The sign-in response carries no authorization code.": {
		"Die Antwort der Anmeldung enthält keinen Autorisierungscode.",
		"La réponse de connexion ne contient aucun code d'autorisation.",
		"La risposta di accesso non contiene alcun codice di autorizzazione."},
	"The sign-in response did not come from the expected sign-in service.": {
		"Die Antwort der Anmeldung stammt nicht vom erwarteten Anmeldedienst.",
		"La réponse de connexion ne provient pas du service de connexion attendu.",
		"La risposta di accesso non proviene dal servizio di accesso previsto."},
	"The sign-in response is incomplete. Please start again.": {
		"Die Antwort der Anmeldung ist unvollständig. Bitte beginnen Sie erneut.",
		"La réponse de connexion est incomplète. Veuillez recommencer.",
		"La risposta di accesso è incompleta. Ricomincia."},
	"The sign-in service cannot renew your session right now. You stay signed in; please try again in a moment.": {
		"Der Anmeldedienst kann Ihre Sitzung gerade nicht verlängern. Sie bleiben angemeldet; bitte versuchen Sie es gleich noch einmal.",
		"Le service de connexion ne peut pas renouveler votre session pour le moment. Vous restez connecté ; veuillez réessayer dans un instant.",
		"Il servizio di accesso non può rinnovare la tua sessione in questo momento. Resti connesso; riprova tra un momento."},
	"The sign-in service did not accept the authorization code (expired or already used). Please start again.": {
		"Der Anmeldedienst hat den Autorisierungscode nicht angenommen (abgelaufen oder bereits verwendet). Bitte beginnen Sie erneut.",
		"Le service de connexion n'a pas accepté le code d'autorisation (expiré ou déjà utilisé). Veuillez recommencer.",
		"Il servizio di accesso non ha accettato il codice di autorizzazione (scaduto o già usato). Ricomincia."},
	"The sign-in service issued tokens too large to keep in this browser's cookies. Please tell the administrator (session.store = \"cookie\" needs smaller tokens, or a server-side store).": {
		"Der Anmeldedienst hat Tokens ausgestellt, die zu groß für die Cookies dieses Browsers sind. Bitte informieren Sie den Administrator (session.store = \"cookie\" braucht kleinere Tokens oder einen serverseitigen Speicher).",
		"Le service de connexion a émis des jetons trop grands pour les cookies de ce navigateur. Veuillez prévenir l'administrateur (session.store = \"cookie\" exige des jetons plus petits, ou un stockage côté serveur).",
		"Il servizio di accesso ha emesso token troppo grandi per i cookie di questo browser. Avvisa l'amministratore (session.store = \"cookie\" richiede token più piccoli, o un archivio lato server)."},
	"The sign-in service did not answer as expected. Please try again.": {
		"Der Anmeldedienst hat nicht wie erwartet geantwortet. Bitte versuchen Sie es erneut.",
		"Le service de connexion n'a pas répondu comme prévu. Veuillez réessayer.",
		"Il servizio di accesso non ha risposto come previsto. Riprova."},
	"The sign-in service did not grant access (the request was declined or cancelled).": {
		"Der Anmeldedienst hat keinen Zugriff gewährt (die Anfrage wurde abgelehnt oder abgebrochen).",
		"Le service de connexion n'a pas accordé l'accès (la demande a été refusée ou annulée).",
		"Il servizio di accesso non ha concesso l'accesso (la richiesta è stata rifiutata o annullata)."},
	"The sign-in service is not available yet. Please try again in a moment.": {
		"Der Anmeldedienst ist noch nicht verfügbar. Bitte versuchen Sie es gleich noch einmal.",
		"Le service de connexion n'est pas encore disponible. Veuillez réessayer dans un instant.",
		"Il servizio di accesso non è ancora disponibile. Riprova tra un momento."},
	"The sign-in service is temporarily unavailable. Please try again in a moment.": {
		"Der Anmeldedienst ist vorübergehend nicht verfügbar. Bitte versuchen Sie es gleich noch einmal.",
		"Le service de connexion est temporairement indisponible. Veuillez réessayer dans un instant.",
		"Il servizio di accesso è temporaneamente non disponibile. Riprova tra un momento."},
	"The sign-in service needs you to sign in again.": {
		"Der Anmeldedienst verlangt, dass Sie sich erneut anmelden.",
		"Le service de connexion vous demande de vous reconnecter.",
		"Il servizio di accesso richiede di accedere di nuovo."},
	"The sign-in service refused the gateway's sign-in request.": {
		"Der Anmeldedienst hat die Anmeldeanfrage des Gateways abgelehnt.",
		"Le service de connexion a refusé la demande de connexion de la passerelle.",
		"Il servizio di accesso ha rifiutato la richiesta di accesso del gateway."},
	"The sign-in service reported an error.": {
		"Der Anmeldedienst hat einen Fehler gemeldet.",
		"Le service de connexion a signalé une erreur.",
		"Il servizio di accesso ha segnalato un errore."},
	"The sign-out form could not be read.": {
		"Das Abmeldeformular konnte nicht gelesen werden.",
		"Le formulaire de déconnexion n'a pas pu être lu.",
		"Non è stato possibile leggere il modulo di uscita."},
	"The user information the sign-in service returned does not match the sign-in.": {
		"Die vom Anmeldedienst übermittelten Benutzerdaten passen nicht zur Anmeldung.",
		"Les informations utilisateur renvoyées par le service de connexion ne correspondent pas à la connexion.",
		"Le informazioni utente restituite dal servizio di accesso non corrispondono all'accesso."},
	"The user name or password is wrong.": {
		"Benutzername oder Passwort ist falsch.",
		"Le nom d'utilisateur ou le mot de passe est incorrect.",
		"Il nome utente o la password non sono corretti."},
	"This endpoint answers only the proxies the gateway is configured to trust.": {
		"Dieser Endpunkt antwortet nur den Proxys, denen das Gateway vertraut.",
		"Ce point d'accès ne répond qu'aux proxys auxquels la passerelle est configurée pour faire confiance.",
		"Questo endpoint risponde solo ai proxy di cui il gateway è configurato per fidarsi."},
	"This request method is not allowed here.": {
		"Diese Anfragemethode ist hier nicht erlaubt.",
		"Cette méthode de requête n'est pas autorisée ici.",
		"Questo metodo di richiesta non è consentito qui."},
	"This resource requires a session. Sign in first.": {
		"Für diese Ressource ist eine Sitzung erforderlich. Melden Sie sich zuerst an.",
		"Cette ressource nécessite une session. Connectez-vous d'abord.",
		"Questa risorsa richiede una sessione. Accedi prima."},
	"This resource requires a user name and password (HTTP Basic).": {
		"Für diese Ressource sind Benutzername und Passwort erforderlich (HTTP Basic).",
		"Cette ressource nécessite un nom d'utilisateur et un mot de passe (HTTP Basic).",
		"Questa risorsa richiede nome utente e password (HTTP Basic)."},
	"This resource requires an access token (Authorization: Bearer).": {
		"Für diese Ressource ist ein Zugriffstoken erforderlich (Authorization: Bearer).",
		"Cette ressource nécessite un jeton d'accès (Authorization: Bearer).",
		"Questa risorsa richiede un token di accesso (Authorization: Bearer)."},
	"This sign-in attempt has expired or was already used. Please start again.": {
		"Dieser Anmeldeversuch ist abgelaufen oder wurde bereits verwendet. Bitte beginnen Sie erneut.",
		"Cette tentative de connexion a expiré ou a déjà été utilisée. Veuillez recommencer.",
		"Questo tentativo di accesso è scaduto o è già stato usato. Ricomincia."},
	"This sign-in was started in another browser. Please start again here.": {
		"Diese Anmeldung wurde in einem anderen Browser begonnen. Bitte beginnen Sie hier erneut.",
		"Cette connexion a été commencée dans un autre navigateur. Veuillez recommencer ici.",
		"Questo accesso è stato avviato in un altro browser. Ricomincia qui."},
	"This sign-out request came from another site. Sign out with the button on the sign-out page.": {
		"Diese Abmeldeanfrage kam von einer anderen Website. Melden Sie sich mit der Schaltfläche auf der Abmeldeseite ab.",
		"Cette demande de déconnexion provient d'un autre site. Déconnectez-vous avec le bouton de la page de déconnexion.",
		"Questa richiesta di uscita proviene da un altro sito. Esci con il pulsante della pagina di uscita."},
	"Too many sign-ins were started from your network. Please wait a moment and try again.": {
		"Aus Ihrem Netzwerk wurden zu viele Anmeldungen begonnen. Bitte warten Sie einen Moment und versuchen Sie es erneut.",
		"Trop de connexions ont été commencées depuis votre réseau. Veuillez patienter un instant et réessayer.",
		"Dalla tua rete sono stati avviati troppi accessi. Attendi un momento e riprova."},
	"Too many wrong passwords were given for this user name. Please try again later.": {
		"Für diesen Benutzernamen wurden zu viele falsche Passwörter eingegeben. Bitte versuchen Sie es später erneut.",
		"Trop de mots de passe erronés ont été saisis pour ce nom d'utilisateur. Veuillez réessayer plus tard.",
		"Sono state inserite troppe password errate per questo nome utente. Riprova più tardi."},
	"You are signed in, but you are not in a group allowed to use this application.": {
		"Sie sind angemeldet, gehören aber keiner Gruppe an, die diese Anwendung nutzen darf.",
		"Vous êtes connecté, mais vous n'appartenez à aucun groupe autorisé à utiliser cette application.",
		"Hai effettuato l'accesso, ma non fai parte di un gruppo autorizzato a usare questa applicazione."},
	"You are signed in, but your account lacks an attribute this application requires.": {
		"Sie sind angemeldet, aber Ihrem Konto fehlt eine Eigenschaft, die diese Anwendung verlangt.",
		"Vous êtes connecté, mais il manque à votre compte un attribut requis par cette application.",
		"Hai effettuato l'accesso, ma al tuo account manca un attributo richiesto da questa applicazione."},
	"You are signed in, but your e-mail address is not allowed to use this application.": {
		"Sie sind angemeldet, aber Ihre E-Mail-Adresse darf diese Anwendung nicht nutzen.",
		"Vous êtes connecté, mais votre adresse e-mail n'est pas autorisée à utiliser cette application.",
		"Hai effettuato l'accesso, ma il tuo indirizzo e-mail non è autorizzato a usare questa applicazione."},
	"You signed in, but your account is not allowed to use any application behind this gateway.": {
		"Sie haben sich angemeldet, aber Ihr Konto darf keine Anwendung hinter diesem Gateway nutzen.",
		"Vous vous êtes connecté, mais votre compte n'est autorisé à utiliser aucune application derrière cette passerelle.",
		"Hai effettuato l'accesso, ma il tuo account non è autorizzato a usare alcuna applicazione dietro questo gateway."},
	"Your e-mail address is not verified at the sign-in service, so it cannot be used to grant access.": {
		"Ihre E-Mail-Adresse ist beim Anmeldedienst nicht bestätigt und kann daher keinen Zugriff gewähren.",
		"Votre adresse e-mail n'est pas vérifiée auprès du service de connexion : elle ne peut donc pas donner accès.",
		"Il tuo indirizzo e-mail non è verificato presso il servizio di accesso, quindi non può essere usato per concedere l'accesso."},
}
