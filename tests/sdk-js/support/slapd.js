// A real OpenLDAP slapd for the LDAP strategy's tests. It loads a test directory into an mdb
// database under a temporary folder, makes a test CA and a server certificate for 127.0.0.1, and
// runs slapd in the foreground as the current user, listening on 127.0.0.1 only.
// scripts/install-slapd.sh installs slapd and slapadd, and openssl makes the certificates.

'use strict';

const { execFileSync, spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const SUFFIX = 'dc=example,dc=org';
const SCHEMA_DIR = '/etc/ldap/schema';
const START_TIMEOUT_MS = 15_000;

/** The test directory's accounts: `username` is the `uid`, `groups` the group names. */
const PEOPLE = [
  { username: 'alice', password: 'alice-secret', cn: 'Alice Liddell', mail: 'alice@example.org', groups: ['admins', 'staff'] },
  { username: 'bob', password: 'bob-secret', cn: 'Bob Marley', mail: 'bob@example.org', groups: ['staff'] },
  { username: 'carol', password: 'carol-secret', cn: 'Carol Danvers', mail: 'carol@example.org', groups: [] },
  // A username that needs RFC 4514 escaping in a DN.
  { username: 'dan, jr', password: 'dan-secret', cn: 'Dan Junior', mail: 'dan@example.org', groups: ['staff'] },
];
/** Two entries share this `uid`, so a search for it is ambiguous. */
const TWIN_UID = 'twin';
const SERVICE = { dn: `cn=service,ou=services,${SUFFIX}`, password: 'service-secret' };
const GROUPS = ['admins', 'staff'];

/** Returns `{SSHA}` followed by base64(SHA-1(password + salt) + salt), as slappasswd writes. */
function ssha(password) {
  const salt = crypto.randomBytes(8);
  const digest = crypto.createHash('sha1').update(password).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

/** Escapes a DN attribute value (RFC 4514) for the few characters the test data uses. */
function dnValue(value) {
  return value.replace(/[\\,+"<>;=]/g, (character) => `\\${character}`);
}

function personDn(username) {
  return `uid=${dnValue(username)},ou=people,${SUFFIX}`;
}

function groupDn(name) {
  return `cn=${name},ou=groups,${SUFFIX}`;
}

/** Writes an LDIF attribute line, base64-encoded when the value is not a safe string. */
function ldifLine(name, value) {
  if (/^[\x21-\x39\x3b\x3d-\x7e][\x20-\x7e]*$/.test(value) && !value.endsWith(' ')) {
    return `${name}: ${value}`;
  }
  return `${name}:: ${Buffer.from(value).toString('base64')}`;
}

function directoryLdif() {
  const entries = [
    [`dn: ${SUFFIX}`, 'objectClass: dcObject', 'objectClass: organization', 'o: Example', 'dc: example'],
    ...['people', 'groups', 'services'].map((ou) => [
      `dn: ou=${ou},${SUFFIX}`, 'objectClass: organizationalUnit', `ou: ${ou}`,
    ]),
    [
      ldifLine('dn', SERVICE.dn), 'objectClass: organizationalRole', 'objectClass: simpleSecurityObject',
      'cn: service', ldifLine('userPassword', ssha(SERVICE.password)),
    ],
  ];
  for (const person of PEOPLE) {
    entries.push([
      ldifLine('dn', personDn(person.username)), 'objectClass: inetOrgPerson',
      ldifLine('uid', person.username), ldifLine('cn', person.cn), ldifLine('sn', person.cn.split(' ').pop()),
      ldifLine('mail', person.mail), ldifLine('userPassword', ssha(person.password)),
      // slapadd does not run the memberof overlay, so the LDIF carries memberOf itself.
      ...person.groups.map((group) => ldifLine('memberOf', groupDn(group))),
    ]);
  }
  for (const rdn of [`uid=${TWIN_UID}`, `cn=${TWIN_UID}-2`]) {
    entries.push([
      `dn: ${rdn},ou=people,${SUFFIX}`, 'objectClass: inetOrgPerson', `uid: ${TWIN_UID}`,
      `cn: ${rdn.split('=')[1]}`, 'sn: Twin', ldifLine('userPassword', ssha('twin-secret')),
    ]);
  }
  for (const group of GROUPS) {
    const members = PEOPLE.filter((person) => person.groups.includes(group));
    entries.push([
      `dn: ${groupDn(group)}`, 'objectClass: groupOfNames', `cn: ${group}`,
      ...members.map((person) => ldifLine('member', personDn(person.username))),
    ]);
  }
  return `${entries.map((lines) => lines.join('\n')).join('\n\n')}\n`;
}

function slapdConf(folder) {
  return `${['core', 'cosine', 'inetorgperson'].map((name) => `include ${SCHEMA_DIR}/${name}.schema`).join('\n')}
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile ${folder}/slapd.pid
argsfile ${folder}/slapd.args
TLSCACertificateFile ${folder}/ca.pem
TLSCertificateFile ${folder}/server.pem
TLSCertificateKeyFile ${folder}/server.key
# Unauthenticated binds (a DN with an empty password) succeed as anonymous, so a client that
# sends one would log in: the tests check that the strategy never does.
allow bind_anon_dn

database mdb
suffix "${SUFFIX}"
rootdn "cn=admin,${SUFFIX}"
rootpw ${ssha(crypto.randomBytes(12).toString('hex'))}
directory ${folder}/db
overlay memberof

access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by users read
  by * none
`;
}

function openssl(folder, args) {
  execFileSync('openssl', args, { cwd: folder, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Creates a CA `<name>-ca.pem`/`<name>-ca.key` in `folder`. */
function makeCa(folder, name) {
  openssl(folder, [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=Palisade test CA ${name}`,
    '-keyout', `${name}-ca.key`, '-out', `${name}-ca.pem`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/** Writes ca.pem (trusted), other-ca.pem (never signs anything here), server.pem and server.key. */
function makeCertificates(folder) {
  makeCa(folder, 'test');
  makeCa(folder, 'other');
  fs.renameSync(path.join(folder, 'test-ca.pem'), path.join(folder, 'ca.pem'));
  openssl(folder, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr']);
  fs.writeFileSync(path.join(folder, 'server.ext'), [
    'subjectAltName=IP:127.0.0.1',
    'basicConstraints=CA:FALSE',
    'keyUsage=digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
  ].join('\n'));
  openssl(folder, [
    'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'test-ca.key', '-CAcreateserial',
    '-days', '2', '-extfile', 'server.ext', '-out', 'server.pem',
  ]);
}

/** Resolves to a TCP port that is free on 127.0.0.1 at the time of the call. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function waitForPorts(child, ports, output) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`slapd exited with code ${child.exitCode}:\n${output.join('')}`);
    }
    const open = await Promise.all(ports.map(canConnect));
    if (open.every(Boolean)) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`slapd did not listen within ${START_TIMEOUT_MS} ms:\n${output.join('')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts slapd with the test directory and resolves to `{ldapPort, ldapsPort, caFile,
 * otherCaFile, suffix, service, people, twinUid, groupDn(name), personDn(username), stop()}`.
 */
async function startSlapd() {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'palisade-slapd-'));
  fs.mkdirSync(path.join(folder, 'db'));
  makeCertificates(folder);
  const conf = path.join(folder, 'slapd.conf');
  fs.writeFileSync(conf, slapdConf(folder));
  fs.writeFileSync(path.join(folder, 'directory.ldif'), directoryLdif());
  execFileSync('slapadd', ['-q', '-f', conf, '-l', path.join(folder, 'directory.ldif')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });

  const ldapPort = await freePort();
  const ldapsPort = await freePort();
  const urls = `ldap://127.0.0.1:${ldapPort}/ ldaps://127.0.0.1:${ldapsPort}/`;
  // `-d 0` keeps slapd in the foreground, attached to this process, without debug output.
  const child = spawn('slapd', ['-f', conf, '-h', urls, '-d', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  child.stdout.on('data', (chunk) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk) => output.push(chunk.toString()));

  try {
    await waitForPorts(child, [ldapPort, ldapsPort], output);
  } catch (error) {
    await stop(child, folder);
    throw error;
  }

  return {
    ldapPort,
    ldapsPort,
    caFile: path.join(folder, 'ca.pem'),
    otherCaFile: path.join(folder, 'other-ca.pem'),
    suffix: SUFFIX,
    service: SERVICE,
    people: PEOPLE,
    twinUid: TWIN_UID,
    groupDn,
    personDn,
    output,
    stop: () => stop(child, folder),
  };
}

/** Stops slapd by its process id and removes its folder. */
function stop(child, folder) {
  return new Promise((resolve) => {
    const finish = () => {
      fs.rmSync(folder, { recursive: true, force: true });
      resolve();
    };
    if (child.exitCode !== null || child.signalCode !== null) {
      finish();
      return;
    }
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('exit', () => {
      clearTimeout(killer);
      finish();
    });
    child.kill('SIGTERM');
  });
}

module.exports = { startSlapd };
