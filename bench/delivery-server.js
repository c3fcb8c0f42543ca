// The delivery bench's "delivery only" server: bluetick as `serve` runs it (same config, same
// store in its own thread, same delivery runtime) but with the delivery worker stopped until
// this process reads the line `deliver` on stdin. The bench posts every event, waits until
// the pipeline has recorded them all, then starts delivery and times it alone.
// Usage: node bench/delivery-server.js CONFIG_FILE
import { createInterface } from 'node:readline';
import { loadConfig } from '../dist/config/load.js';
import { launchServer } from '../dist/server.js';

const { config } = await loadConfig({ file: process.argv[2] });
const running = await launchServer(config, { delivery: { start: false } });
process.stdout.write(`listening on ${running.url}\n`);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'deliver') running.delivery.start();
});
process.on('SIGTERM', () => {
  running.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
