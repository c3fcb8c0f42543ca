/**
 * A throw-away PKI made with the `openssl` CLI: a root, an intermediate, and leaves with any
 * names and validity (past dates too, through `openssl ca`), plus self-signed leaves.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** `YYYYMMDDHHMMSSZ` as `openssl ca` takes it. */
function asn1Time(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

export interface Leaf {
  /** Leaf only. */
  cert: string;
  /** Leaf followed by the intermediate. */
  fullchain: string;
  key: string;
}

export interface TestPki {
  dir: string;
  /** Root certificate file (what `--ca` takes). */
  root: string;
  intermediate: string;
  leaf(name: string, opts: { dns: string[]; notBefore?: number; notAfter?: number }): Leaf;
  selfSigned(name: string, dns: string[]): Leaf;
}

export function createPki(dir: string): TestPki {
  mkdirSync(join(dir, 'newcerts'), { recursive: true });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[ ca ]',
      'default_ca = CA_default',
      '[ CA_default ]',
      'dir = .',
      'database = index.txt',
      'new_certs_dir = newcerts',
      'serial = serial',
      'default_md = sha256',
      'policy = policy_any',
      'unique_subject = no',
      '[ policy_any ]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  openssl(
    ['req', '-x509', ...EC, '-keyout', 'root.key', '-out', 'root.crt', '-days', '30', '-subj', '/CN=Doctor Test Root',
      '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  openssl(['req', '-new', ...EC, '-keyout', 'int.key', '-out', 'int.csr', '-subj', '/CN=Doctor Test Intermediate'], dir);
  writeFileSync(join(dir, 'int.ext'), 'basicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n');
  openssl(['x509', '-req', '-in', 'int.csr', '-CA', 'root.crt', '-CAkey', 'root.key', '-CAcreateserial', '-days', '30', '-extfile', 'int.ext', '-out', 'int.crt'], dir);
  const intermediate = join(dir, 'int.crt');

  return {
    dir,
    root: join(dir, 'root.crt'),
    intermediate,
    leaf(name, opts) {
      const now = Date.now();
      openssl(['req', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${opts.dns[0] ?? name}`], dir);
      writeFileSync(
        join(dir, `${name}.ext`),
        `subjectAltName=${opts.dns.map((d) => `DNS:${d}`).join(',')}\nbasicConstraints=CA:false\nextendedKeyUsage=serverAuth\n`,
      );
      openssl(
        ['ca', '-batch', '-config', 'ca.cnf', '-cert', 'int.crt', '-keyfile', 'int.key', '-in', `${name}.csr`, '-out', `${name}.crt`,
          '-startdate', asn1Time(opts.notBefore ?? now - 3_600_000), '-enddate', asn1Time(opts.notAfter ?? now + 90 * 86_400_000),
          '-extfile', `${name}.ext`, '-notext'],
        dir,
      );
      const cert = join(dir, `${name}.crt`);
      const fullchain = join(dir, `${name}.fullchain.pem`);
      writeFileSync(fullchain, readFileSync(cert, 'utf8') + readFileSync(intermediate, 'utf8'));
      return { cert, fullchain, key: join(dir, `${name}.key`) };
    },
    selfSigned(name, dns) {
      openssl(
        ['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '90', '-subj', `/CN=${dns[0] ?? name}`,
          '-addext', `subjectAltName=${dns.map((d) => `DNS:${d}`).join(',')}`],
        dir,
      );
      const cert = join(dir, `${name}.crt`);
      return { cert, fullchain: cert, key: join(dir, `${name}.key`) };
    },
  };
}
