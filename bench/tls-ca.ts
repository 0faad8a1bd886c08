// A throwaway certificate authority and a server certificate it signs, made with openssl: for a
// loopback registry on HTTPS in the image bench and tests (nothing here is trusted by the host).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCa {
  /** The CA's certificate (PEM): what a client is told to trust. */
  ca: string;
  /** The server's certificate and key (PEM). */
  cert: string;
  key: string;
}

/** Files in `dir`: a CA named `name`, and a certificate for the subject alternative names `san`
 *  (e.g. `IP:127.0.0.1`), valid for a day or two. */
export function makeTestCa(dir: string, name: string, san: string[]): TestCa {
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', `/CN=${name}`);
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('tls.key'), '-out', f('tls.csr'), '-subj', '/CN=localhost');
  writeFileSync(f('tls.ext'), `subjectAltName=${san.join(',')}\n`);
  ssl(
    'x509',
    '-req',
    '-in',
    f('tls.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('tls.pem'),
    '-days',
    '2',
    '-extfile',
    f('tls.ext'),
  );
  return { ca: f('ca.pem'), cert: f('tls.pem'), key: f('tls.key') };
}
