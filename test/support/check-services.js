// Run by .ci/run before the tests: the services the suites need must answer, or the run stops
// here saying which are missing (instead of failing suite by suite later).
//   PostgreSQL at BLUETICK_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test)
//   NATS with JetStream at 127.0.0.1:4222
import { createConnection } from 'node:net';
import pg from 'pg';

const POSTGRES = process.env.BLUETICK_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function postgres() {
  const client = new pg.Client({ connectionString: POSTGRES, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    const { rows } = await client.query('SHOW server_version');
    return { ok: true, detail: `PostgreSQL ${rows[0].server_version}` };
  } catch (err) {
    return { ok: false, detail: `PostgreSQL at ${POSTGRES.replace(/:[^:@/]*@/, ':***@')}: ${err.message}` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A NATS server greets every connection with `INFO {json}`; JetStream must be on. */
function nats(host = '127.0.0.1', port = 4222) {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let seen = '';
    const done = (result) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(5_000, () => done({ ok: false, detail: `NATS at ${host}:${port}: no INFO greeting within 5 s` }));
    socket.on('error', (err) => done({ ok: false, detail: `NATS at ${host}:${port}: ${err.message}` }));
    socket.on('data', (chunk) => {
      seen += chunk;
      const line = /^INFO (\{.*\})\s*\n/.exec(seen);
      if (!line) return;
      const info = JSON.parse(line[1]);
      if (!info.jetstream) done({ ok: false, detail: `NATS ${info.version} at ${host}:${port} runs without JetStream (start it with -js)` });
      else done({ ok: true, detail: `NATS ${info.version} with JetStream` });
    });
  });
}

const results = await Promise.all([postgres(), nats()]);
for (const r of results) console.log(`${r.ok ? 'ok     ' : 'MISSING'} ${r.detail}`);
if (results.some((r) => !r.ok)) {
  console.error('The suites need these services; start them before running the tests.');
  process.exit(1);
}
