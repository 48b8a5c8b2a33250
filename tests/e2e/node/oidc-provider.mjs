// A real, certified OpenID Connect provider (panva's `oidc-provider`) for
// tests/e2e/sign_in.rs: one confidential client, the portal, and three
// accounts. Its development login form accepts any password.
//
//   node oidc-provider.mjs <redirect-uri> <client-id> <client-secret>
//
// Listens on a free port of 127.0.0.1 and prints `issuer <url>` once it
// serves. PKCE is required of every authorization request, so a client that
// does not send it is refused, and claims other than `sub` are kept for the
// user-info endpoint (the provider's default, `conformIdTokenClaims`).

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const [redirectUri, clientId, clientSecret] = process.argv.slice(2);
if (!redirectUri || !clientId || !clientSecret) {
  console.error('usage: node oidc-provider.mjs <redirect-uri> <client-id> <client-secret>');
  process.exit(2);
}

// Whom the provider knows. Maya is in the demo catalog (by her e-mail);
// Eve is not; Mallory claims Maya's address without having verified it.
const accounts = {
  'maya.okafor': {
    email: 'maya.okafor@acme-retail.example',
    email_verified: true,
    name: 'Maya Okafor',
    preferred_username: 'maya.okafor',
  },
  eve: {
    email: 'eve@elsewhere.example',
    email_verified: true,
    name: 'Eve',
    preferred_username: 'eve',
  },
  mallory: {
    email: 'maya.okafor@acme-retail.example',
    email_verified: false,
    name: 'Mallory',
    preferred_username: 'mallory',
  },
};

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'e2e', use: 'sig', alg: 'RS256' };

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    async findAccount(_ctx, id) {
      const account = accounts[id];
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...account }) };
    },
    pkce: { required: () => true },
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
  });
  server.on('request', provider.callback());
  console.log(`issuer ${issuer}`);
});

// The test ends the process; stop cleanly if its stdin closes first.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
