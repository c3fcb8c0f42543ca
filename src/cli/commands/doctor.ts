/**
 * @module cli/commands/doctor
 *
 * `bluetick doctor`: prints the readiness checklist (or `--json`) and exits with what the
 * host is ready for: 0 for EnableX and Meta, 3 for local testing only (plain HTTP, loopback,
 * a self-signed certificate, ...), 1 when a check a local test needs failed.
 */
import { runDoctor, formatReport, type DoctorOptions } from '../../doctor/doctor.js';

/** Exit code per verdict. */
export const DOCTOR_EXIT = { providers: 0, local: 3, none: 1 } as const;

export interface DoctorCommandOptions {
  url?: string;
  config?: string;
  ca?: string[];
  resolve?: string[];
  httpPort?: string;
  timeout?: string;
  json?: boolean;
}

export interface DoctorIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  version: string;
}

export async function runDoctorCommand(opts: DoctorCommandOptions, io: DoctorIo): Promise<number> {
  const options: DoctorOptions = { cwd: io.cwd, env: io.env, userAgent: `bluetick-doctor/${io.version}` };
  if (opts.url !== undefined) options.url = opts.url;
  if (opts.config !== undefined) options.configFile = opts.config;
  if (opts.ca !== undefined && opts.ca.length > 0) options.caFiles = opts.ca;
  if (opts.resolve !== undefined && opts.resolve.length > 0) options.resolve = opts.resolve;
  for (const [flag, raw, set] of [
    ['--http-port', opts.httpPort, (n: number) => (options.httpPort = n)],
    ['--timeout', opts.timeout, (n: number) => (options.timeoutMs = n)],
  ] as const) {
    if (raw === undefined) continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n <= 0 || (flag === '--http-port' && n > 65_535)) {
      io.stderr.write(`bluetick: ${flag}: expected a positive integer${flag === '--http-port' ? ' up to 65535' : ' (milliseconds)'}\n`);
      return 2;
    }
    set(n);
  }
  let report;
  try {
    report = await runDoctor(options);
  } catch (error) {
    io.stderr.write(`bluetick: ${(error as Error).message}\n`);
    return 2;
  }
  io.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return DOCTOR_EXIT[report.readiness];
}
