/**
 * The one lifecycle `start`, `run` and the benchmarks share: the first signal stops input and runs the stop
 * hooks, the grace hooks run when the grace period ends, the forced exit comes after the margin, a second
 * signal exits 130, and close() closes resources newest first, reporting the first failure. Signals come from
 * an EventEmitter standing in for `process` (the CLI tests send real ones to real processes).
 */
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createRootLogger, Lifecycle, type SignalSource } from '../../src/app/index.js';

function signals(): SignalSource & { exits: number[]; emitter: EventEmitter } {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  return {
    emitter,
    exits,
    on: (event, listener) => emitter.on(event, listener),
    off: (event, listener) => emitter.off(event, listener),
    exit: (code) => void exits.push(code),
  };
}

function logger(lines: string[]) {
  return createRootLogger('info', { destination: new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }) });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Lifecycle', () => {
  it('stops input on the first signal, runs the grace hooks after the grace period, then forces exit 1', async () => {
    const source = signals();
    const lines: string[] = [];
    const life = new Lifecycle({ logger: logger(lines), graceMs: 40, marginMs: 40, signals: source }).install();
    const order: string[] = [];
    life.onStop(() => order.push('stop'));
    life.onGraceEnd(() => order.push('grace'));
    expect(life.stopping).toBe(false);
    source.emitter.emit('SIGTERM', 'SIGTERM');
    expect(life.signal.aborted).toBe(true);
    await life.stopped();
    expect(order).toEqual(['stop']);
    await sleep(60);
    expect(order).toEqual(['stop', 'grace']);
    expect(source.exits).toEqual([]);
    await sleep(60);
    expect(source.exits).toEqual([1]);
    await life.close();
    expect(lines.join('')).toContain('shutdown did not finish in time');
  });

  it('exits 130 on a second signal', () => {
    const source = signals();
    const life = new Lifecycle({ logger: logger([]), graceMs: 10_000, signals: source }).install();
    source.emitter.emit('SIGINT', 'SIGINT');
    expect(source.exits).toEqual([]);
    source.emitter.emit('SIGINT', 'SIGINT');
    expect(source.exits).toEqual([130]);
    void life.close();
  });

  it('closes resources newest first, each once, returns the first failure, and removes its handlers', async () => {
    const source = signals();
    const lines: string[] = [];
    const life = new Lifecycle({ logger: logger(lines), graceMs: 10, signals: source }).install();
    const closed: string[] = [];
    const boom = new Error('disk full');
    life.adopt('monitor', 'm', (r) => void closed.push(r));
    life.adopt('cache', 'c', () => {
      closed.push('c');
      throw boom;
    });
    life.adopt('models', 'x', async (r) => void closed.push(r));
    expect(source.emitter.listenerCount('SIGINT')).toBe(1);
    expect(await life.close()).toBe(boom);
    expect(closed).toEqual(['x', 'c', 'm']);
    expect(await life.close()).toBeUndefined();
    expect(closed).toHaveLength(3);
    expect(source.emitter.listenerCount('SIGINT')).toBe(0);
    expect(source.emitter.listenerCount('SIGTERM')).toBe(0);
    expect(lines.join('')).toContain('closing cache failed');
  });

  it('a timer left by a stop does not outlive close()', async () => {
    const source = signals();
    const life = new Lifecycle({ logger: logger([]), graceMs: 20, marginMs: 0, signals: source }).install();
    life.stop();
    await life.close();
    await sleep(50);
    expect(source.exits).toEqual([]);
  });
});
