// The LDAP strategy plugin (plugins/auth-ldap) against a real OpenLDAP slapd on 127.0.0.1,
// through the official kuzzle-sdk. The tests cover simple bind with a DN template over LDAPS,
// search-then-bind over StartTLS, group to profile mapping and user provisioning. They also
// cover credentials linked by an administrator, and the logins that must fail without creating
// a user.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Kuzzle, WebSocket, Http } = require('kuzzle-sdk');

const { startServer } = require('../support/server');
const { pluginsFolder, pluginCacheEnv } = require('../support/plugins');
const { startSlapd } = require('../support/slapd');

const admin = { username: 'admin', password: 'admin-password' };
// The tests log in many times on one connection.
const serverEnv = { ...pluginCacheEnv(), PALISADE_LIMITS__LOGINS_PER_SECOND: '1000' };

/** Writes a TOML value: strings, booleans, numbers and arrays of them. */
function tomlValue(value) {
  if (Array.isArray(value)) {
    return `[${value.map(tomlValue).join(', ')}]`;
  }
  // A JSON string or number is also a valid TOML one.
  return JSON.stringify(value);
}

/** Writes `table` as `[name]`, with nested objects as `[name.key]` tables after the values. */
function tomlTable(name, table) {
  const lines = [`[${name}]`];
  const nested = [];
  for (const [key, value] of Object.entries(table)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      nested.push(tomlTable(`${name}.${JSON.stringify(key)}`, value));
    } else {
      lines.push(`${JSON.stringify(key)} = ${tomlValue(value)}`);
    }
  }
  return [lines.join('\n'), ...nested].join('\n\n');
}

/** Builds the text of auth-ldap.toml: the plugin's settings, capabilities and provisioning. */
function pluginToml(slapd, settings, caFile = slapd.caFile) {
  return [
    tomlTable('settings', settings),
    tomlTable('tcp', { allowedHosts: [`127.0.0.1:${slapd.ldapPort}`, `127.0.0.1:${slapd.ldapsPort}`] }),
    tomlTable('tls', { caFile }),
    tomlTable('provisioning', { enabled: true, profiles: ['default'] }),
  ].join('\n\n');
}

function groupProfiles(slapd) {
  return {
    [slapd.groupDn('admins')]: ['admin'],
    [slapd.groupDn('staff')]: ['staff'],
  };
}

function simpleBindSettings(slapd) {
  return {
    url: `ldaps://127.0.0.1:${slapd.ldapsPort}`,
    bindDnTemplate: `uid={username},ou=people,${slapd.suffix}`,
    groupProfiles: groupProfiles(slapd),
    contentAttributes: { email: 'mail', name: 'cn' },
    timeoutMs: 5000,
  };
}

function searchSettings(slapd) {
  return {
    url: `ldap://127.0.0.1:${slapd.ldapPort}`,
    startTls: true,
    searchBase: `ou=people,${slapd.suffix}`,
    searchFilter: '(&(objectClass=inetOrgPerson)(uid={username}))',
    serviceDn: slapd.service.dn,
    servicePassword: slapd.service.password,
    groupSearchBase: `ou=groups,${slapd.suffix}`,
    groupProfiles: groupProfiles(slapd),
    contentAttributes: ['mail'],
  };
}

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('the request should have failed');
}

/**
 * Starts palisade with auth-ldap.toml `toml`, creates the first administrator and the `staff`
 * profile, and resolves to `{server, admin, client, stop()}`: two WebSocket connections, one
 * logged in as the administrator and one for the LDAP logins.
 */
async function startPalisade(toml) {
  const server = await startServer(serverEnv, { pluginsDir: pluginsFolder({ 'auth-ldap': toml }) });
  const adminKuzzle = new Kuzzle(new WebSocket(server.host, { port: server.port }));
  const client = new Kuzzle(new WebSocket(server.host, { port: server.port }));
  await adminKuzzle.connect();
  await client.connect();

  await adminKuzzle.security.createFirstAdmin('admin', { content: {}, credentials: { local: admin } }, { reset: true });
  await adminKuzzle.auth.login('local', admin);
  await adminKuzzle.security.createProfile('staff', { policies: [{ roleId: 'default' }] });

  const stop = async () => {
    adminKuzzle.disconnect();
    client.disconnect();
    await server.stop();
  };
  return { server, admin: adminKuzzle, client, stop };
}

async function userCount(adminKuzzle) {
  const result = await adminKuzzle.security.searchUsers({}, { size: 100 });
  return result.total;
}

/** Logs in on `client`, reads the current user, logs out, and returns the user. */
async function loginAndRead(client, username, password) {
  await client.auth.login('ldap', { username, password });
  const user = await client.auth.getCurrentUser();
  await client.auth.logout();
  return user;
}

/** Checks that a login fails with the 401 of a wrong password and creates no user. */
async function assertRejected(palisade, username, password) {
  const before = await userCount(palisade.admin);
  const error = await rejection(palisade.client.auth.login('ldap', { username, password }));
  assert.equal(error.status, 401, `${username}: ${error.message}`);
  assert.equal(error.id, 'plugin.strategy.missing_user', `${username}: ${error.message}`);
  assert.equal(palisade.client.jwt, null, `${username} got a token`);
  assert.equal(await userCount(palisade.admin), before, `${username} created a user`);
}

describe('LDAP strategy', () => {
  let slapd;

  before(async () => {
    slapd = await startSlapd();
  });

  after(async () => {
    await slapd?.stop();
  });

  describe('simple bind with a DN template over LDAPS', () => {
    let palisade;

    before(async () => {
      palisade = await startPalisade(pluginToml(slapd, simpleBindSettings(slapd)));
    });

    after(async () => {
      await palisade?.stop();
    });

    it('lists the ldap strategy', async () => {
      const strategies = await palisade.admin.auth.getStrategies();
      assert.ok(strategies.includes('ldap'), strategies.join(', '));
    });

    it('logs alice in and maps her groups to profiles', async () => {
      const user = await loginAndRead(palisade.client, 'alice', 'alice-secret');
      assert.deepEqual([...user.profileIds].sort(), ['admin', 'staff']);
      assert.equal(user.content.email, 'alice@example.org');
      assert.equal(user.content.name, 'Alice Liddell');

      const stored = await palisade.admin.security.getUser(user._id);
      assert.deepEqual([...stored.profileIds].sort(), ['admin', 'staff']);
      assert.equal(stored.content.email, 'alice@example.org');

      const credentials = await palisade.admin.security.getCredentials('ldap', user._id);
      assert.equal(credentials.username, 'alice');
      assert.equal(credentials.dn, slapd.personDn('alice'));
      assert.equal(credentials.password, undefined);
    });

    it('finds the same user on the next login', async () => {
      const first = await loginAndRead(palisade.client, 'alice', 'alice-secret');
      const count = await userCount(palisade.admin);
      const second = await loginAndRead(palisade.client, 'alice', 'alice-secret');
      assert.equal(second._id, first._id);
      assert.equal(await userCount(palisade.admin), count);
    });

    it('logs in over HTTP', async () => {
      const http = new Kuzzle(new Http(palisade.server.host, { port: palisade.server.port }));
      await http.connect();
      try {
        const user = await loginAndRead(http, 'bob', 'bob-secret');
        assert.deepEqual(user.profileIds, ['staff']);
        assert.equal(user.content.email, 'bob@example.org');
      } finally {
        http.disconnect();
      }
    });

    it('escapes a username with a comma in the DN', async () => {
      const user = await loginAndRead(palisade.client, 'dan, jr', 'dan-secret');
      assert.deepEqual(user.profileIds, ['staff']);
      assert.equal(user.content.email, 'dan@example.org');
    });

    it('gives a user without mapped groups the provisioning profiles', async () => {
      const user = await loginAndRead(palisade.client, 'carol', 'carol-secret');
      assert.deepEqual(user.profileIds, ['default']);
      assert.equal(user.content.name, 'Carol Danvers');
    });

    it('rejects a wrong password', async () => {
      await assertRejected(palisade, 'bob', 'alice-secret');
    });

    it('rejects an unknown user', async () => {
      await assertRejected(palisade, 'mallory', 'mallory-secret');
    });

    it('rejects a filter injection as username', async () => {
      await assertRejected(palisade, '*)(uid=*', 'anything');
      await assertRejected(palisade, '*', 'alice-secret');
    });

    it('rejects an empty password', async () => {
      // The test slapd accepts unauthenticated binds, so a bind with an empty password would log in.
      await assertRejected(palisade, 'alice', '');
      await assertRejected(palisade, 'bob', '');
    });
  });

  describe('search then bind over StartTLS', () => {
    let palisade;

    before(async () => {
      palisade = await startPalisade(pluginToml(slapd, searchSettings(slapd)));
    });

    after(async () => {
      await palisade?.stop();
    });

    it('logs bob in with the groups of a group search', async () => {
      const user = await loginAndRead(palisade.client, 'bob', 'bob-secret');
      assert.deepEqual(user.profileIds, ['staff']);
      assert.equal(user.content.mail, 'bob@example.org');

      const stored = await palisade.admin.security.getUser(user._id);
      assert.deepEqual(stored.profileIds, ['staff']);
    });

    it('logs alice in with both mapped groups', async () => {
      const user = await loginAndRead(palisade.client, 'alice', 'alice-secret');
      assert.deepEqual([...user.profileIds].sort(), ['admin', 'staff']);
    });

    it('rejects a wrong password', async () => {
      await assertRejected(palisade, 'bob', 'wrong');
    });

    it('rejects an unknown user', async () => {
      await assertRejected(palisade, 'mallory', 'bob-secret');
    });

    it('rejects a username that matches two entries', async () => {
      await assertRejected(palisade, slapd.twinUid, 'twin-secret');
    });

    it('rejects a filter injection as username', async () => {
      await assertRejected(palisade, '*)(uid=*', 'bob-secret');
      await assertRejected(palisade, '*', 'bob-secret');
      await assertRejected(palisade, 'b*', 'bob-secret');
    });

    it('rejects an empty password', async () => {
      await assertRejected(palisade, 'bob', '');
    });

    it('links an existing user to an LDAP account', async () => {
      const created = await palisade.admin.security.createUser('carol-local', {
        content: { profileIds: ['default'], note: 'created by an administrator' },
      });
      assert.equal(created._id, 'carol-local');
      const credentials = await palisade.admin.security.createCredentials('ldap', 'carol-local', { username: 'carol' });
      assert.equal(credentials.username, 'carol');
      assert.equal(credentials.dn, slapd.personDn('carol'));

      const user = await loginAndRead(palisade.client, 'carol', 'carol-secret');
      assert.equal(user._id, 'carol-local');
      assert.equal(user.content.note, 'created by an administrator');
      assert.deepEqual(user.profileIds, ['default']);
    });

    it('rejects credentials for a username the directory does not have', async () => {
      await palisade.admin.security.createUser('ghost', { content: { profileIds: ['default'] } });
      const error = await rejection(palisade.admin.security.createCredentials('ldap', 'ghost', { username: 'ghost' }));
      assert.equal(error.status, 400);
      assert.equal(error.id, 'security.credentials.rejected');
      assert.equal(await palisade.admin.security.hasCredentials('ldap', 'ghost'), false);
    });

    it('rejects credentials with a password', async () => {
      await palisade.admin.security.createUser('eve', { content: { profileIds: ['default'] } });
      const error = await rejection(
        palisade.admin.security.createCredentials('ldap', 'eve', { username: 'bob', password: 'bob-secret' }),
      );
      assert.equal(error.status, 400);
      assert.equal(error.id, 'security.credentials.rejected');
      assert.equal(await palisade.admin.security.hasCredentials('ldap', 'eve'), false);
    });
  });

  describe('plain text when the settings allow it', () => {
    let palisade;

    before(async () => {
      const settings = {
        url: `ldap://127.0.0.1:${slapd.ldapPort}`,
        allowPlainText: true,
        bindDnTemplate: `uid={username},ou=people,${slapd.suffix}`,
      };
      palisade = await startPalisade(pluginToml(slapd, settings));
    });

    after(async () => {
      await palisade?.stop();
    });

    it('logs bob in without groups or content', async () => {
      const user = await loginAndRead(palisade.client, 'bob', 'bob-secret');
      assert.deepEqual(user.profileIds, ['default']);
    });
  });

  for (const [name, settingsOf] of Object.entries({ LDAPS: simpleBindSettings, StartTLS: searchSettings })) {
    describe(`${name} with a server certificate from an untrusted CA`, () => {
      let palisade;

      before(async () => {
        palisade = await startPalisade(pluginToml(slapd, settingsOf(slapd), slapd.otherCaFile));
      });

      after(async () => {
        await palisade?.stop();
      });

      it('fails the login with a TLS error and creates no user', async () => {
        const before = await userCount(palisade.admin);
        const error = await rejection(palisade.client.auth.login('ldap', { username: 'alice', password: 'alice-secret' }));
        assert.equal(error.status, 502, error.message);
        assert.equal(error.id, 'plugin.tcp.tls_failed', error.message);
        assert.equal(palisade.client.jwt, null);
        assert.equal(await userCount(palisade.admin), before);
      });
    });
  }
});
