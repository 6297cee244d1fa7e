import pino, { type Logger } from 'pino';

/**
 * The root logger. Logs go to stderr so stdout stays free for data (JSONL, --json reports).
 * On a TTY they are pretty-printed; elsewhere one JSON object per line. The API key is redacted wherever it appears.
 */
export function createRootLogger(level: string, options: { pretty?: boolean } = {}): Logger {
  const pretty = options.pretty ?? process.stderr.isTTY === true;
  const redact = { paths: ['apiKey', '*.apiKey', 'llm.apiKey', 'config.llm.apiKey', 'headers.authorization'], censor: '[redacted]' };
  if (pretty) {
    return pino({
      level,
      redact,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino({ level, redact }, pino.destination({ fd: 2, sync: false }));
}

export type { Logger };
