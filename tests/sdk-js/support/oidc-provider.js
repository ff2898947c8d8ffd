// A real OpenID Connect provider (the `oidc-provider` package) on 127.0.0.1 for the auth-oidc
// tests, with one confidential client, test accounts, and login and consent interactions that
// a test drives like a browser (see `browser.js`).

'use strict';

const crypto = require('node:crypto');
const http = require('node:http');

/** Returns a new RSA signing key as a private JWK with a random `kid`. */
function newSigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };
}

/** Returns the compact JWS of `claims` signed with RS256 by the private JWK `key`. */
function signJwt(claims, key) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ alg: 'RS256', typ: 'JWT', kid: key.kid })}.${encode(claims)}`;
  const privateKey = crypto.createPrivateKey({ key, format: 'jwk' });
  const signature = crypto.sign('sha256', Buffer.from(input), privateKey).toString('base64url');
  return `${input}.${signature}`;
}

/** Returns the claims of a compact JWT, without checking it. */
function decodeJwtClaims(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

/**
 * Starts the provider on a port of 127.0.0.1 and resolves to a handle:
 * - `issuer`, `host` (`127.0.0.1:<port>`), `signingKey` (the current private JWK);
 * - `rotateKeys()`: replaces the signing key with a new one, with a new `kid`, the way a provider
 *   rotates keys: a new provider instance with the same issuer, clients and accounts;
 * - `replaceNextIdToken(change)`: the next token response carries `change(idToken, claims)`
 *   instead of the ID token the provider issued;
 * - `stop()`.
 *
 * `client` is `{clientId, clientSecret, redirectUri}`; `accounts` maps a login to
 * `{password, claims}`, where `claims` contains `email`, `name` and so on.
 */
async function startOidcProvider({ client, accounts }) {
  // oidc-provider is an ES module.
  const { default: Provider } = await import('oidc-provider');
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${server.address().port}`;
  const issuer = `http://${host}`;

  const handle = {
    issuer, host, signingKey: newSigningKey(), tokenChange: null,
    cookieKey: crypto.randomBytes(32).toString('hex'),
  };
  let provider = createProvider(Provider, issuer, handle, client, accounts);

  server.on('request', (req, res) => {
    const url = new URL(req.url, issuer);
    if (url.pathname.startsWith('/interaction/')) {
      interact(provider, accounts, client, req, res).catch((error) => {
        res.statusCode = 500;
        res.end(String(error.stack));
      });
      return;
    }
    provider.callback()(req, res);
  });

  handle.rotateKeys = () => {
    handle.signingKey = newSigningKey();
    provider = createProvider(Provider, issuer, handle, client, accounts);
  };
  handle.replaceNextIdToken = (change) => {
    handle.tokenChange = change;
  };
  handle.stop = () => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(resolve);
  });
  return handle;
}

function createProvider(Provider, issuer, handle, client, accounts) {
  const provider = new Provider(issuer, {
    clients: [{
      client_id: client.clientId,
      client_secret: client.clientSecret,
      redirect_uris: [client.redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [handle.signingKey] },
    cookies: { keys: [handle.cookieKey] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // Claims in the ID token itself, which is all the plugin reads.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 3600, IdToken: 600, Interaction: 600, Session: 3600 },
    features: { devInteractions: { enabled: false } },
    findAccount: (ctx, sub) => {
      if (!accounts[sub]) {
        return undefined;
      }
      return { accountId: sub, claims: () => ({ sub, ...accounts[sub].claims }) };
    },
  });
  provider.on('server_error', (ctx, error) => {
    console.error('oidc-provider server error:', error);
  });

  // Replaces the ID token of one token response, after the provider redeemed the code with the
  // client's secret and the PKCE verifier. The tests send the plugin tokens that a broken or
  // hostile provider could send this way, because the provider has no setting for them.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && ctx.status === 200 && handle.tokenChange && ctx.body?.id_token) {
      const change = handle.tokenChange;
      handle.tokenChange = null;
      ctx.body = { ...ctx.body, id_token: change(ctx.body.id_token, decodeJwtClaims(ctx.body.id_token)) };
    }
  });
  return provider;
}

/**
 * Serves the login and consent pages the provider redirects to. `GET /interaction/<uid>`
 * returns the pending prompt as JSON; `POST /interaction/<uid>/login` checks `login` and
 * `password`; `POST /interaction/<uid>/confirm` grants the requested scopes to the client.
 */
async function interact(provider, accounts, client, req, res) {
  const details = await provider.interactionDetails(req, res);
  const action = new URL(req.url, 'http://127.0.0.1').pathname.split('/')[3];

  if (req.method === 'GET' && action === undefined) {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ uid: details.uid, prompt: details.prompt.name }));
    return;
  }

  if (req.method === 'POST' && action === 'login') {
    const form = await readForm(req);
    const account = accounts[form.get('login')];
    if (!account || account.password !== form.get('password')) {
      res.statusCode = 401;
      res.end('wrong login or password');
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: form.get('login') } },
      { mergeWithLastSubmission: false });
    return;
  }

  if (req.method === 'POST' && action === 'confirm') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: client.clientId });
    const missing = details.prompt.details.missingOIDCScope;
    if (missing) {
      grant.addOIDCScope(missing.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } },
      { mergeWithLastSubmission: true });
    return;
  }

  res.statusCode = 404;
  res.end();
}

module.exports = { startOidcProvider, newSigningKey, signJwt, decodeJwtClaims };
