/**
 * The progress line of a model download (the e5-small encoder's first fetch): rewritten in place on a
 * terminal; elsewhere (a log file, a container's output) one line per quarter, so a slow download shows life
 * without filling the log. The services (`start`, `run`) show it on a terminal only: their stderr is
 * otherwise JSON log lines, which say when the download starts and ends.
 */
import type { FetchProgress } from '../cascade/index.js';

const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);

/** A progress callback for a terminal, or undefined when `stream` is not one. */
export function terminalFetchProgress(what: string, stream: NodeJS.WriteStream = process.stderr): ((progress: FetchProgress) => void) | undefined {
  return stream.isTTY === true ? fetchProgressLine(what, stream) : undefined;
}

/** A progress callback writing to `stream` (stderr by default). */
export function fetchProgressLine(what: string, stream: NodeJS.WriteStream = process.stderr): (progress: FetchProgress) => void {
  const tty = stream.isTTY === true;
  let lastQuarter = -1;
  return ({ receivedBytes, totalBytes }) => {
    const done = totalBytes !== undefined && receivedBytes >= totalBytes;
    const share = totalBytes === undefined ? undefined : receivedBytes / totalBytes;
    const line = `fetching ${what}: ${mb(receivedBytes)}${totalBytes === undefined ? '' : ` of ${mb(totalBytes)}`} MB${share === undefined ? '' : ` (${Math.floor(share * 100)} %)`}`;
    if (tty) {
      stream.write(`\r${line}${done ? '\n' : ''}`);
      return;
    }
    const quarter = share === undefined ? lastQuarter : Math.floor(share * 4);
    if (quarter > lastQuarter || done) {
      lastQuarter = quarter;
      stream.write(`${line}\n`);
    }
  };
}
