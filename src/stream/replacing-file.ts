/**
 * An output file that replaces the previous one only once the new run has something to write. The first
 * write goes to `<path>.<pid>.part` beside it, which is then renamed over `<path>` (atomic on one file
 * system), and later writes follow through the same descriptor, so `tail -f` works from there on. A run that
 * fails or is interrupted before its first line leaves the previous output as it was; a run that ends
 * normally with nothing to write leaves an empty file (its true output).
 */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

export class ReplacingFile extends Writable {
  private handle: FileHandle | undefined;
  private opening: Promise<FileHandle> | undefined;
  /** Set before `end()` when the run did not finish: nothing written then leaves the previous file. */
  keepPreviousIfEmpty = false;

  constructor(readonly path: string) {
    super();
  }

  /** True once the file has replaced the previous one. */
  get replaced(): boolean {
    return this.handle !== undefined;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.file()
      .then((handle) => handle.write(chunk))
      .then(
        () => done(),
        (err: unknown) => done(err as Error),
      );
  }

  override _final(done: (err?: Error | null) => void): void {
    if (this.handle === undefined && this.keepPreviousIfEmpty) {
      done();
      return;
    }
    this.file()
      .then((handle) => handle.close())
      .then(
        () => done(),
        (err: unknown) => done(err as Error),
      );
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    const handle = this.handle;
    if (handle === undefined) done(err);
    else
      handle.close().then(
        () => done(err),
        () => done(err),
      );
  }

  /** The open file, created aside and renamed into place on first use. */
  private file(): Promise<FileHandle> {
    this.opening ??= (async () => {
      const part = `${this.path}.${process.pid}.part`;
      const handle = await open(part, 'w');
      try {
        await rename(part, this.path);
      } catch (err: unknown) {
        await handle.close();
        await rm(part, { force: true });
        throw err;
      }
      this.handle = handle;
      return handle;
    })();
    return this.opening;
  }
}
