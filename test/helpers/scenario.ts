/**
 * A realistic, deterministic stream of webhook bodies for projection tests, and a dump of
 * the projection tables to compare stores byte for byte.
 */
import Database from 'better-sqlite3';
import { inboundBody, numberChangeBody, reactionBody, statusBody, templateQualityBody, templateStatusBody } from './meta-bodies.js';

const TABLES = ['proj_messages', 'proj_conversations', 'proj_contacts', 'proj_templates', 'proj_reactions'] as const;

/** Every projection table, every column, in rowid order: the bytes a rebuild must reproduce. */
export function dumpProjections(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return TABLES.map((t) => `${t}\n${JSON.stringify(db.prepare(`SELECT * FROM ${t} ORDER BY pos`).raw().all())}`).join('\n');
  } finally {
    db.close();
  }
}

/** A small deterministic PRNG (mulberry32), so the scenario is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Bodies as providers send them: statuses late, duplicated, out of order and with steps
 * skipped; replies, reactions and their removal; a number change; template events out of order.
 */
export function scenarioBodies(seed: number, messages: number): string[] {
  const random = prng(seed);
  const t0 = Date.UTC(2025, 4, 1, 9, 0, 0);
  const contacts = Array.from({ length: Math.max(3, Math.floor(messages / 5)) }, (_, i) => `1555${String(700000 + i)}`);
  const bodies: string[] = [];
  for (let m = 0; m < messages; m++) {
    const to = contacts[m % contacts.length]!;
    const at = t0 + m * 60_000;
    const id = `wamid.out.${seed}.${m}`;
    const steps = random() < 0.1 ? ['sent', 'failed'] : random() < 0.3 ? ['sent', 'read'] : ['sent', 'delivered', 'read'];
    const statuses = steps.map((s, k) => ({ id, status: s, to, at: at + k * 5_000, ...(s === 'failed' ? { errors: [131026] } : {}) }));
    const sent = shuffle(statuses, random);
    // Duplicates: some notifications arrive twice.
    if (random() < 0.4) sent.push(sent[0]!);
    // Sometimes two notifications share one POST.
    for (let k = 0; k < sent.length; k++) {
      if (k + 1 < sent.length && random() < 0.3) {
        bodies.push(statusBody([sent[k]!, sent[k + 1]!]));
        k++;
      } else bodies.push(statusBody([sent[k]!]));
    }
    if (random() < 0.5) bodies.push(inboundBody([{ id: `wamid.in.${seed}.${m}`, from: to, name: `Contact ${to} v${m}`, text: `reply ${m}`, at: at + 30_000 }]));
    if (random() < 0.2) {
      bodies.push(reactionBody({ id: `wamid.re.${seed}.${m}`, from: to, target: id, emoji: '👍', at: at + 40_000 }));
      if (random() < 0.5) bodies.push(reactionBody({ id: `wamid.rx.${seed}.${m}`, from: to, target: id, emoji: '', at: at + 50_000 }));
    }
  }
  bodies.push(numberChangeBody({ id: `wamid.sys.${seed}`, from: contacts[0]!, to: '15559999999', at: t0 + 10_000 }));
  const templates = [
    templateStatusBody({ templateId: '9007199254740993123', name: 'order', language: 'en_US', event: 'PAUSED', at: t0 + 3_600_000 }),
    templateStatusBody({ templateId: '9007199254740993123', name: 'order', language: 'en_US', event: 'APPROVED', at: t0 }),
    templateQualityBody({ templateId: '9007199254740993123', name: 'order', language: 'en_US', previous: 'GREEN', score: 'YELLOW', at: t0 + 1_800_000 }),
    templateStatusBody({ templateId: '77', name: 'welcome', language: 'de', event: 'REJECTED', reason: 'INVALID_FORMAT', at: t0 }),
  ];
  bodies.push(...templates, templates[0]!);
  // Notifications are not delivered in the order they happened.
  return shuffle(bodies, random);
}

