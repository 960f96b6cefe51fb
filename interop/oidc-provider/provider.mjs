// A real OpenID Provider for Tollgate's interop suite: panva's oidc-provider (pinned in
// package.json), configured like an Auth0 tenant where it matters to an RP.
//
// It listens on 127.0.0.1 on a free port, then prints one JSON line on stdout:
//   {"issuer":"http://127.0.0.1:<port>","clients":{"basic":{"id":…,"secret":…},"post":{…},"dpop":{…}}}
// and afterwards one JSON line per back-channel logout it delivered (or failed to deliver):
//   {"event":"backchannel.success","client_id":"…","sid":"…"}
// It exits when its stdin closes, so it never outlives the test that started it.
//
// Environment:
//   RP_BASE             the relying party's base URL (required), e.g. http://127.0.0.1:3000
//   DPOP_REQUIRE_NONCE  1: every DPoP proof needs a server nonce, at /userinfo too (by default
//                       only the tollgate-dpop client's token requests need one)
//
// Clients (both with that RP's callback, post-logout and back-channel logout URLs):
//   tollgate-basic  client_secret_basic, with a secret holding '+', '%' and ':' (RFC 6749 §2.3.1)
//   tollgate-post   client_secret_post
//   tollgate-dpop   client_secret_post; DPoP-bound access tokens required, and a DPoP nonce
//
// Logins: the built-in development login form accepts any login and password; the login becomes
// the subject. A login asked for the multi-factor acr gets acr = multi-factor and amr
// ["pwd","mfa"], except logins starting with "nomfa-", which never get MFA; every other login gets
// acr = silver and amr ["pwd"].

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

import Provider, { interactionPolicy } from 'oidc-provider';

const MFA = 'http://schemas.openid.net/pape/policies/2007/06/multi-factor';
const SILVER = 'urn:mace:incommon:iap:silver';

const BASIC_CLIENT = { id: 'tollgate-basic', secret: 'b+s%25ic:se/cr=et+0123456789abcdef%' };
const POST_CLIENT = { id: 'tollgate-post', secret: 'post-secret-0123456789abcdef0123456789' };
const DPOP_CLIENT = { id: 'tollgate-dpop', secret: 'dpop-secret-0123456789abcdef0123456789' };
const REQUIRE_NONCE_EVERYWHERE = process.env.DPOP_REQUIRE_NONCE === '1';

const rpBase = process.env.RP_BASE?.replace(/\/+$/, '');
if (!rpBase) {
  console.error('provider.mjs: set RP_BASE to the relying party base URL, e.g. http://127.0.0.1:3000');
  process.exit(2);
}

function log(line) {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

// The acr values an authorization request asks for: `acr_values`, and the `claims` parameter's
// `id_token.acr` (value or values).
function requestedAcrs(params) {
  const wanted = String(params.acr_values ?? '').split(' ').filter(Boolean);
  if (params.claims) {
    try {
      const acr = JSON.parse(params.claims)?.id_token?.acr;
      if (acr?.value) wanted.push(acr.value);
      if (Array.isArray(acr?.values)) wanted.push(...acr.values);
    } catch {
      // oidc-provider itself rejects a malformed claims parameter.
    }
  }
  return wanted;
}

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

function client({ id, secret }, method) {
  return {
    client_id: id,
    client_secret: secret,
    token_endpoint_auth_method: method,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [`${rpBase}/auth/callback`],
    post_logout_redirect_uris: [`${rpBase}/`],
    backchannel_logout_uri: `${rpBase}/auth/backchannel-logout`,
    backchannel_logout_session_required: true,
  };
}

// Step-up: when the multi-factor acr is requested and the session's login was not multi-factor,
// the user logs in again. A login completed in this very interaction is final, whatever acr it
// produced (otherwise a user who cannot do MFA would see the login page forever).
const policy = interactionPolicy.base();
policy.get('login').checks.add(
  new interactionPolicy.Check('acr_values_mfa', 'multi-factor authentication was requested', (ctx) => {
    const { oidc } = ctx;
    if (!requestedAcrs(oidc.params).includes(MFA) || oidc.result?.login) {
      return interactionPolicy.Check.NO_NEED_TO_PROMPT;
    }
    return oidc.session.acr === MFA
      ? interactionPolicy.Check.NO_NEED_TO_PROMPT
      : interactionPolicy.Check.REQUEST_PROMPT;
  }),
);

const configuration = {
  clients: [
    client(BASIC_CLIENT, 'client_secret_basic'),
    client(POST_CLIENT, 'client_secret_post'),
    { ...client(DPOP_CLIENT, 'client_secret_post'), dpop_bound_access_tokens: true },
  ],
  jwks: { keys: [signingKey()] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  pkce: { required: () => true },
  // Auth0 rotates refresh tokens of every client on every use; oidc-provider's default rotates
  // only for public clients or late in the token's life.
  rotateRefreshToken: () => true,
  // Lifetimes in seconds, set explicitly (oidc-provider asks for it) and Auth0-like.
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 600,
    RefreshToken: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
    Session: 14 * 24 * 3600,
  },
  acrValues: [SILVER, MFA],
  claims: {
    // Every ID token carries how the user logged in.
    openid: ['sub', 'acr', 'amr', 'auth_time'],
    profile: ['name', 'nickname'],
    email: ['email', 'email_verified'],
  },
  async findAccount(_ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          name: `User ${sub}`,
          nickname: sub,
          email: `${sub}@example.test`,
          email_verified: true,
        };
      },
    };
  },
  interactions: { policy },
  features: {
    devInteractions: { enabled: true },
    claimsParameter: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    backchannelLogout: { enabled: true },
    // RFC 9449. The DPoP client must send a server nonce; with DPOP_REQUIRE_NONCE=1 everyone must
    // (at /userinfo the client is not known yet when the proof is checked).
    dPoP: {
      enabled: true,
      nonceSecret: randomBytes(32),
      requireNonce: (ctx) => REQUIRE_NONCE_EVERYWHERE || ctx.oidc?.client?.clientId === DPOP_CLIENT.id,
    },
  },
  // oidc-provider guards its outgoing requests against special-use addresses (SSRF). The RP of
  // these tests lives on 127.0.0.1, so the back-channel logout must be allowed to reach it.
  // Its 2.5 s timeout is also relaxed: a test machine under load may answer slowly.
  fetch(url, options) {
    delete options.dispatcher;
    return globalThis.fetch(url, { ...options, signal: AbortSignal.timeout(60_000) });
  },
};

const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;
const provider = new Provider(issuer, configuration);

// acr and amr of a login from the development login form (which knows neither).
const finish = provider.interactionFinished.bind(provider);
provider.interactionFinished = async (req, res, result, options) => {
  if (result?.login) {
    const { params } = await provider.interactionDetails(req, res);
    const mfa = requestedAcrs(params).includes(MFA)
      && !String(result.login.accountId).startsWith('nomfa-');
    result = {
      ...result,
      login: { ...result.login, acr: mfa ? MFA : SILVER, amr: mfa ? ['pwd', 'mfa'] : ['pwd'] },
    };
  }
  return finish(req, res, result, options);
};

// Auth0 issues a refresh token for `offline_access` without `prompt=consent`; OpenID Connect Core
// §11 (and oidc-provider) drop the scope unless the user is asked to consent. Ask, as Auth0 would
// have issued the token anyway.
provider.use(async (ctx, next) => {
  if (ctx.path === '/auth' && ctx.method === 'GET') {
    const query = new URLSearchParams(ctx.querystring);
    const scopes = String(query.get('scope') ?? '').split(' ');
    const prompts = String(query.get('prompt') ?? '').split(' ').filter(Boolean);
    if (scopes.includes('offline_access') && !prompts.includes('consent') && !prompts.includes('none')) {
      query.set('prompt', [...prompts, 'consent'].join(' '));
      ctx.querystring = query.toString();
    }
  }
  await next();
});

provider.on('backchannel.success', (_ctx, c, _accountId, sid) => {
  log({ event: 'backchannel.success', client_id: c.clientId, sid });
});
provider.on('backchannel.error', (_ctx, err, c, _accountId, sid) => {
  log({ event: 'backchannel.error', client_id: c.clientId, sid, error: String(err) });
});
// Why a grant failed is only in this event (the response says "grant request is invalid").
provider.on('grant.error', (_ctx, err) => {
  console.error(`grant.error: ${err.message}: ${err.error_detail ?? ''}`);
});
provider.on('server_error', (_ctx, err) => {
  console.error(`server_error: ${err.stack}`);
});

server.on('request', provider.callback());
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
log({ issuer, clients: { basic: BASIC_CLIENT, post: POST_CLIENT, dpop: DPOP_CLIENT } });
