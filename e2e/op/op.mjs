// op.mjs runs a real OpenID Provider (panva's oidc-provider, pinned in package.json) for
// Gatehouse's end-to-end tests. It is a test fixture: never expose it beyond loopback.
//
//   node op.mjs config.json
//
// config.json: {"port", "issuer", "accessTokenTTL", "idTokenTTL", "refreshTokenTTL" (seconds),
// "clients": [client metadata], "users": [{sub, email, email_verified, name, preferred_username,
// groups}], "conformIdTokenClaims"?, "resources"?: [{indicator, scope, format ("jwt" or
// "opaque"), userClaims}], "tokenExchange"?, "fapi"?: {profile, requirePAR, dpopNonce, jar, jarm},
// "tls"?: {cert, key}}.
// e2e/harness writes it; see harness.OPConfig.
//
// Without "fapi" the provider keeps oidc-provider's defaults: pushed authorization requests
// (RFC 9126) and DPoP (RFC 9449) are offered, neither is required. With it: "profile" turns on
// features.fapi with profile '2.0' and signs ID tokens ES256 (FAPI 2.0 allows PS256, ES256 and
// EdDSA only); "requirePAR" makes the server require PAR of every client (and say so in its
// metadata); "dpopNonce" requires a server nonce in every DPoP proof (RFC 9449 section 8), which
// POST /__test/rotate_dpop_nonce invalidates at once; "jar" accepts request objects (RFC 9101),
// "jarm" offers the JWT response modes. Clients may set require_pushed_authorization_requests,
// dpop_bound_access_tokens and require_signed_request_object themselves.
//
// "tls": {cert, key} (PEM file paths) serves https with mutual TLS (RFC 8705): the server asks
// every client for a certificate, authenticates self_signed_tls_client_auth clients by theirs,
// and binds the tokens of clients with tls_client_certificate_bound_access_tokens to it.
//
// It prints "OP listening on <issuer>" once it accepts connections, and exits on SIGTERM,
// SIGINT or when its standard input closes, so a parent that dies never leaves it running.
//
// Plain http on 127.0.0.1 works in any NODE_ENV: oidc-provider marks its cookies Secure only
// when the request itself is secure (ctx.secure), and it accepts an http issuer.
import { X509Certificate, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTLSServer } from 'node:https';

import Provider, { errors } from 'oidc-provider';
// For POST /__test/rotate_dpop_nonce: the provider's internal state (the package has no exports map).
import ServerChallenge from 'oidc-provider/lib/helpers/challenge.js';
import instance from 'oidc-provider/lib/helpers/weak_cache.js';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const users = new Map();
for (const u of cfg.users ?? []) {
  users.set(u.sub, u);
}

// The devInteractions login form accepts any login and password. The login names a
// configured user by preferred_username or sub; any other name is a generated account whose
// sub is the name itself.
function subFor(login) {
  for (const u of users.values()) {
    if (u.preferred_username === login) return u.sub;
  }
  return login;
}

async function findAccount(_ctx, sub) {
  const u = users.get(sub) ?? {
    sub,
    email: `${sub}@example.test`,
    email_verified: true,
    name: sub,
    preferred_username: sub,
    groups: [],
  };
  return {
    accountId: sub,
    // oidc-provider filters these by the granted scopes (see claims below).
    async claims() {
      return {
        sub,
        email: u.email,
        email_verified: u.email_verified ?? true,
        name: u.name,
        preferred_username: u.preferred_username,
        groups: u.groups ?? [],
      };
    },
  };
}

function clientMetadata(c) {
  const m = {
    client_id: c.client_id,
    redirect_uris: c.redirect_uris ?? [],
    post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
    token_endpoint_auth_method: c.token_endpoint_auth_method ?? (c.client_secret ? 'client_secret_basic' : 'none'),
    application_type: c.application_type ?? 'web',
    // refresh_token must be listed, or oidc-provider silently drops offline_access.
    grant_types: c.grant_types ?? ['authorization_code', 'refresh_token'],
    response_types: c.response_types
      ?? ((c.grant_types ?? ['authorization_code']).includes('authorization_code') ? ['code'] : []),
  };
  if (c.client_secret) m.client_secret = c.client_secret;
  if (c.require_pushed_authorization_requests) m.require_pushed_authorization_requests = true;
  if (c.dpop_bound_access_tokens) m.dpop_bound_access_tokens = true;
  if (c.require_signed_request_object) m.require_signed_request_object = true;
  if (c.tls_client_certificate_bound_access_tokens) m.tls_client_certificate_bound_access_tokens = true;
  if (fapi?.profile) m.id_token_signed_response_alg = 'ES256';
  // The public keys of a private_key_jwt client (RFC 7523).
  if (c.jwks) m.jwks = c.jwks;
  if (c.backchannel_logout_uri) {
    m.backchannel_logout_uri = c.backchannel_logout_uri;
    // Puts sid in ID tokens and logout tokens, as most real OPs do.
    m.backchannel_logout_session_required = true;
  }
  return m;
}

// Resource servers (RFC 8707 resource indicators), by indicator. An access token requested with
// resource=INDICATOR is issued for that audience, as a JWT (RFC 9068) or an opaque token.
const resources = new Map((cfg.resources ?? []).map((r) => [r.indicator, r]));

const fapi = cfg.fapi ?? null;

// Resource servers that want the user's claims get them in the access token (and so in the
// introspection response), as Keycloak, Entra ID and Auth0 can be configured to do.
async function extraTokenClaims(_ctx, token) {
  const indicator = token.resourceServer?.identifier();
  if (!token.accountId || !resources.get(indicator)?.userClaims) return undefined;
  const u = users.get(token.accountId);
  return {
    email: u?.email ?? `${token.accountId}@example.test`,
    email_verified: u?.email_verified ?? true,
    preferred_username: u?.preferred_username ?? token.accountId,
    groups: u?.groups ?? [],
  };
}

// A fresh signing key for each run: tests fetch it through the jwks_uri like any RP.
const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
// With the FAPI 2.0 profile, ID tokens are signed ES256 with this key.
const ecJwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const day = 24 * 60 * 60;
const refreshTTL = cfg.refreshTokenTTL ?? day;

const provider = new Provider(cfg.issuer, {
  clients: (cfg.clients ?? []).map(clientMetadata),
  findAccount,
  jwks: {
    keys: [
      { ...jwk, kid: 'e2e', alg: 'RS256', use: 'sig' },
      ...(fapi?.profile ? [{ ...ecJwk, kid: 'e2e-ec', alg: 'ES256', use: 'sig' }] : []),
    ],
  },
  cookies: { keys: ['gatehouse-e2e-cookie-key-not-a-secret'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
  // With the default (true) an ID token from the token endpoint carries only sub and the
  // protocol claims, the scope claims going to userinfo alone. Most OPs put them in the ID token.
  conformIdTokenClaims: cfg.conformIdTokenClaims ?? false,
  extraTokenClaims,
  pkce: { required: () => true }, // and oidc-provider 9 supports only S256
  // oidc-provider's default methods, and with cfg.tls (mutual TLS) self-signed certificates.
  clientAuthMethods: ['client_secret_basic', 'client_secret_jwt', 'client_secret_post', 'private_key_jwt', 'none',
    ...(cfg.tls ? ['self_signed_tls_client_auth'] : [])],
  // Refresh tokens are issued only when the grant has offline_access, and oidc-provider keeps
  // offline_access only when the authorization request has prompt=consent (and
  // response_type=code, and the client may use refresh_token); otherwise it drops the scope
  // without an error. Reusing a rotated refresh token revokes the whole grant.
  rotateRefreshToken: true,
  ttl: {
    AccessToken: cfg.accessTokenTTL ?? 600,
    IdToken: cfg.idTokenTTL ?? 600,
    RefreshToken: refreshTTL,
    AuthorizationCode: 60,
    Interaction: 600,
    Grant: Math.max(refreshTTL, 14 * day),
    Session: 14 * day,
  },
  // oidc-provider's outgoing requests (back-channel logout tokens) refuse special-use
  // addresses, 127.0.0.0/8 included, as an SSRF guard. The RPs under test are on loopback.
  fetch: (url, { dispatcher, ...options }) => globalThis.fetch(url, options),
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    // For service clients (grant_types ["client_credentials"]); others are unaffected.
    clientCredentials: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    backchannelLogout: { enabled: true },
    claimsParameter: { enabled: false },
    // With cfg.tls: mutual TLS (RFC 8705). The server asks every client for a certificate and
    // accepts any (self-signed ones are matched against the client's registered keys).
    ...(cfg.tls ? {
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        selfSignedTlsClientAuth: true,
        getCertificate(ctx) {
          const peer = ctx.socket.getPeerCertificate?.();
          return peer?.raw ? new X509Certificate(peer.raw) : undefined;
        },
      },
    } : {}),
    ...(fapi ? {
      fapi: fapi.profile ? { enabled: true, profile: '2.0' } : { enabled: false },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: !!fapi.requirePAR },
      dPoP: fapi.dpopNonce ? { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true } : { enabled: true },
      requestObjects: { enabled: !!fapi.jar },
      jwtResponseModes: { enabled: !!fapi.jarm },
    } : {}),
    // Without configured resource servers it stays off (oidc-provider enables it by default,
    // and would then refuse every resource parameter with invalid_target). With them, a
    // request without a resource parameter gets the usual opaque token for userinfo.
    resourceIndicators: resources.size === 0 ? { enabled: false } : {
      enabled: true,
      // The token request may omit resource when the grant holds exactly one (RFC 8707 2.2).
      useGrantedResource: () => true,
      getResourceServerInfo(_ctx, indicator) {
        const r = resources.get(indicator);
        if (!r) throw new errors.InvalidTarget();
        return {
          scope: r.scope ?? '',
          audience: indicator,
          accessTokenFormat: r.format === 'opaque' ? 'opaque' : 'jwt',
          ...(r.format === 'opaque' ? {} : { jwt: { sign: { alg: 'RS256' } } }),
        };
      },
    },
  },
});
provider.proxy = false;

// Token exchange (RFC 8693), which oidc-provider leaves to the deployment, on when
// cfg.tokenExchange is set: a user's access token of this OP (subject_token) is exchanged for an
// access token for one configured resource server (named by resource or audience), for the
// same user and grant, issued to the requesting client with the requested scopes that the
// subject token and the resource server both have.
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

async function tokenExchange(ctx) {
  const { params, client } = ctx.oidc;
  if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
    throw new errors.InvalidRequest('only access tokens can be exchanged');
  }
  if (params.requested_token_type && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
    throw new errors.InvalidRequest('only access tokens are issued');
  }
  if (params.actor_token) throw new errors.InvalidRequest('delegation is not supported');
  const subject = await provider.AccessToken.find(params.subject_token);
  if (!subject || !subject.accountId) {
    throw new errors.InvalidRequest('subject_token is invalid, expired, or not a user\'s token');
  }
  const targets = [params.resource, params.audience].flat().filter(Boolean);
  if (targets.length !== 1 || !resources.has(targets[0])) {
    throw new errors.InvalidTarget('name exactly one configured resource server');
  }
  const r = resources.get(targets[0]);
  const held = new Set((subject.scope ?? '').split(' '));
  const offered = new Set((r.scope ?? '').split(' '));
  const requested = params.scope ? params.scope.split(' ') : [...held];
  const token = new provider.AccessToken({
    accountId: subject.accountId,
    client,
    grantId: subject.grantId,
    gty: subject.gty,
    sessionUid: subject.sessionUid,
    sid: subject.sid,
    scope: requested.filter((s) => held.has(s) && offered.has(s)).join(' ') || undefined,
  });
  token.resourceServer = new provider.ResourceServer(r.indicator, {
    scope: r.scope ?? '',
    audience: r.indicator,
    accessTokenFormat: r.format === 'opaque' ? 'opaque' : 'jwt',
    ...(r.format === 'opaque' ? {} : { jwt: { sign: { alg: 'RS256' } } }),
  });
  const value = await token.save();
  ctx.body = {
    access_token: value,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: token.expiration,
    ...(token.scope ? { scope: token.scope } : {}),
  };
}

if (cfg.tokenExchange) {
  provider.registerGrantType(TOKEN_EXCHANGE, tokenExchange, [
    'subject_token', 'subject_token_type', 'requested_token_type', 'actor_token', 'actor_token_type',
    'audience', 'resource', 'scope',
  ], ['audience', 'resource']);
}

// devInteractions finishes the login step with accountId = the login typed in the form.
// Map it to the user's sub before oidc-provider stores it in the session.
const interactionFinished = provider.interactionFinished.bind(provider);
provider.interactionFinished = (req, res, result, options) => {
  if (result?.login?.accountId) result.login.accountId = subFor(result.login.accountId);
  return interactionFinished(req, res, result, options);
};

// Counters for GET /__test/events.
const counts = {};
const bump = (name) => { counts[name] = (counts[name] ?? 0) + 1; };
provider.on('authorization.success', (ctx) => {
  bump('authorization.success');
  remember(ctx);
});
provider.on('authorization.error', (_ctx, err) => {
  bump('authorization.error');
  if (err?.error_description?.includes('Pushed Authorization Request')) bump('par.required');
});
provider.on('pushed_authorization_request.success', () => bump('pushed_authorization_request.success'));
// The latest refresh token issued to each client, for GET /__test/refresh_token (the DPoP tests
// present it with the wrong key).
const lastRefreshToken = new Map();
provider.on('grant.success', (ctx) => {
  bump(`grant.${ctx.oidc.params.grant_type}`);
  if (ctx.body?.refresh_token) lastRefreshToken.set(ctx.oidc.client.clientId, ctx.body.refresh_token);
});
provider.on('grant.error', (ctx, err) => {
  bump(`grant.error.${ctx.oidc?.params?.grant_type ?? 'unknown'}`);
  if (err?.error === 'use_dpop_nonce') bump('dpop.use_nonce');
  if (err?.error === 'invalid_dpop_proof' || `${err?.error_description} ${err?.error_detail}`.includes('DPoP')) bump('dpop.refused');
  if (err?.error_detail === 'refresh token already used') bump('refresh_token.reuse');
});
provider.on('grant.revoked', () => bump('grant.revoked'));
provider.on('revocation.error', () => bump('revocation.error'));
provider.on('introspection.error', () => bump('introspection.error'));
provider.on('end_session.success', () => bump('end_session.success'));
provider.on('backchannel.success', () => bump('backchannel.success'));
provider.on('backchannel.error', (_ctx, err, client) => {
  bump('backchannel.error');
  console.error(`backchannel logout to ${client.clientId} failed: ${err.message}`);
});
provider.on('server_error', (_ctx, err) => {
  bump('server_error');
  console.error('server_error', err);
});

// Sessions by account, for POST /__test/backchannel: sub -> clientId -> {sid, session id}.
const sessions = new Map();
function remember(ctx) {
  const { session, client } = ctx.oidc;
  if (!session?.accountId || !client) return;
  if (!sessions.has(session.accountId)) sessions.set(session.accountId, new Map());
  sessions.get(session.accountId).set(client.clientId, { sid: session.sidFor(client.clientId), jti: session.jti });
}

// POST /__test/backchannel?sub=S sends a back-channel logout token (OIDC Back-Channel Logout
// 1.0) for each client S signed in to that registered a backchannel_logout_uri, and ends S's
// OP sessions, as an administrator's "sign out everywhere" does. Grants (and so refresh tokens
// with offline_access) stay valid, as they do after an RP-initiated logout.
async function backchannel(ctx, sub) {
  let sent = 0;
  let failed = 0;
  const jtis = new Set();
  for (const [clientId, { sid, jti }] of sessions.get(sub) ?? []) {
    // Skip sessions that ended or left the client since (RP-initiated logout, expiry).
    const stored = await provider.Session.adapter.find(jti);
    if (!stored?.authorizations?.[clientId]) continue;
    jtis.add(jti);
    const client = await provider.Client.find(clientId);
    if (!client?.backchannelLogoutUri) continue;
    try {
      await client.backchannelLogout(sub, sid);
      sent += 1;
      provider.emit('backchannel.success', ctx, client, sub, sid);
    } catch (err) {
      failed += 1;
      provider.emit('backchannel.error', ctx, err, client, sub, sid);
    }
  }
  for (const jti of jtis) {
    await provider.Session.adapter.destroy(jti);
  }
  sessions.delete(sub);
  return { sent, failed };
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/__test/events' && ctx.method === 'GET') {
    ctx.body = counts;
    return;
  }
  if (ctx.path === '/__test/refresh_token' && ctx.method === 'GET') {
    ctx.body = { refresh_token: lastRefreshToken.get(ctx.query.client_id) ?? '' };
    return;
  }
  if (ctx.path === '/__test/rotate_dpop_nonce' && ctx.method === 'POST') {
    if (!fapi?.dpopNonce) ctx.throw(400, 'DPoP nonces are off');
    instance(provider).DPoPNonces = new ServerChallenge(randomBytes(32), 'DPoP');
    ctx.body = {};
    return;
  }
  if (ctx.path === '/__test/backchannel' && ctx.method === 'POST') {
    const sub = ctx.query.sub;
    if (!sub) ctx.throw(400, 'sub is required');
    ctx.body = await backchannel(ctx, sub);
    return;
  }
  await next();
  // Endpoints that emit no success event of their own.
  if (ctx.status === 200 && ['revocation', 'introspection', 'userinfo'].includes(ctx.oidc?.route)) {
    bump(ctx.oidc.route);
  }
});

// cfg.tls: {cert, key} (PEM file paths) serves https, asking for (not requiring) a client certificate.
const server = cfg.tls
  ? createTLSServer({
    cert: readFileSync(cfg.tls.cert), key: readFileSync(cfg.tls.key), requestCert: true, rejectUnauthorized: false,
  }, provider.callback())
  : createServer(provider.callback());
server.listen(cfg.port, '127.0.0.1', () => {
  console.log(`OP listening on ${cfg.tls ? 'https' : 'http'}://127.0.0.1:${server.address().port}`);
});
server.on('error', (err) => {
  console.error(`listen: ${err.message}`);
  process.exit(1);
});

const stop = () => {
  server.closeAllConnections();
  server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
