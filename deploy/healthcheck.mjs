// The container's HEALTHCHECK: GET /healthz on this process's own port, over TLS when the
// server was given a certificate (files or ACME), else plain HTTP. Exit 0 when it answers 200.
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';

const env = process.env;
const tls = Boolean(env.BLUETICK_TLS_CERT || env.BLUETICK_ACME_DOMAINS);
const port = Number(env.BLUETICK_PORT || 8080);
const get = tls ? httpsGet : httpGet;
// The certificate names the public host, not 127.0.0.1: this check is about liveness only.
const req = get({ host: '127.0.0.1', port, path: '/healthz', timeout: 4000, rejectUnauthorized: false }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
