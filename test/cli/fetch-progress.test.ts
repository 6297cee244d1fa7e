/** The progress line of the encoder's first download: in place on a terminal, a line per quarter elsewhere. */
import { describe, expect, it } from 'vitest';
import { fetchProgressLine, terminalFetchProgress } from '../../src/cli/fetch-progress.js';

function stream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const out = { isTTY, text: '', write: (s: string) => ((out.text += s), true) };
  return out as unknown as NodeJS.WriteStream & { text: string };
}

const feed = (report: (p: { receivedBytes: number; totalBytes: number }) => void): void => {
  for (let mb = 0; mb <= 20; mb++) report({ receivedBytes: mb * 1e6, totalBytes: 20e6 });
};

describe('the download progress line', () => {
  it('rewrites one line in place on a terminal and ends it at 100 %', () => {
    const tty = stream(true);
    feed(fetchProgressLine('the encoder', tty));
    expect(tty.text.split('\r').filter(Boolean)).toHaveLength(21);
    expect(tty.text.endsWith('fetching the encoder: 20.0 of 20.0 MB (100 %)\n')).toBe(true);
    expect(tty.text.split('\n')).toHaveLength(2);
  });

  it('writes a line per quarter elsewhere', () => {
    const file = stream(false);
    feed(fetchProgressLine('the encoder', file));
    expect(file.text.trim().split('\n')).toEqual([0, 25, 50, 75, 100].map((p) => `fetching the encoder: ${(p / 5).toFixed(1)} of 20.0 MB (${p} %)`));
  });

  it('is left out of the services where stderr is not a terminal (their log lines say it)', () => {
    expect(terminalFetchProgress('the encoder', stream(false))).toBeUndefined();
    expect(terminalFetchProgress('the encoder', stream(true))).toBeTypeOf('function');
  });
});
