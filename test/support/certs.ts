/** Throwaway certificates for the TLS tests, made by the openssl CLI in a directory of the test's. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * `<dir>/<name>.key` and `<dir>/<name>.crt`: a P-256 key and a one-day certificate for `subject`,
 * self-signed (a CA) or signed by the CA `<dir>/<ca>.crt`.
 */
export function certificate(dir: string, name: string, subject: string, opts: { ca?: string; san?: string } = {}): void {
  const file = (base: string) => path.join(dir, base);
  openssl(
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', file(`${name}.key`), '-out', file(`${name}.crt`), '-subj', `/CN=${subject}`,
    // A leaf says it is no CA: rustls (the worker's TLS) refuses a CA certificate as a server's or client's.
    ...(opts.ca ? ['-CA', file(`${opts.ca}.crt`), '-CAkey', file(`${opts.ca}.key`), '-addext', 'basicConstraints=critical,CA:FALSE'] : []),
    ...(opts.san ? ['-addext', `subjectAltName=${opts.san}`] : []),
  );
}
