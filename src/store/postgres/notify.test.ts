import { describe, expect, it } from 'vitest';
import { Notifier } from './notify.js';

const channels = { journal: 'bt.s.journal', events: 'bt.s.events', deliveries: 'bt.s.deliveries' };

describe('Notifier', () => {
  it('sends one NOTIFY per burst of pokes, and one more for pokes made while it was on the wire', async () => {
    const sent: Array<[string, string]> = [];
    const pending: Array<() => void> = [];
    let onSend: (() => void) | undefined;
    const nextSend = (): Promise<void> => new Promise((resolve) => (onSend = resolve));
    const notifier = new Notifier(
      channels,
      (channel, payload) => {
        sent.push([channel, payload]);
        onSend?.();
        return new Promise<void>((resolve) => pending.push(resolve));
      },
      () => undefined,
      0,
    );
    notifier.poke('events', '1');
    notifier.poke('events', '2');
    notifier.poke('events', '3');
    notifier.poke('journal');
    expect(sent).toEqual([
      ['bt.s.events', '1'],
      ['bt.s.journal', ''],
    ]);
    const third = nextSend();
    pending.shift()!();
    await third;
    // The commits behind pokes 2 and 3 may have landed after the first NOTIFY was read: one more, newest payload.
    expect(sent.slice(2)).toEqual([['bt.s.events', '3']]);
    pending.shift()!();
    pending.shift()!();
    // Idle: nothing on the wire, nothing waiting; no further NOTIFY can follow without a poke.
    await notifier.idle();
    expect(sent).toHaveLength(3);
    notifier.poke('events', '4');
    expect(sent.slice(3)).toEqual([['bt.s.events', '4']]);
  });

  it('keeps going after a failed send, reporting the error', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const notifier = new Notifier(
      channels,
      () => (++calls === 1 ? Promise.reject(new Error('connection lost')) : Promise.resolve()),
      (err) => errors.push(err),
      0,
    );
    await notifier.idle();
    notifier.poke('journal');
    notifier.poke('journal');
    await notifier.idle();
    expect(calls).toBe(2);
    expect(errors).toEqual([new Error('connection lost')]);
  });
});
