/**
 * Integrity of saved model state: every file written is listed in the manifest with its size, SHA-256 and
 * (for float arrays) its shape; on load each is checked, and every weight must be finite. A truncated file,
 * a flipped bit or NaN weights are refused with CorruptModelStateError instead of loading silently (a NaN
 * model answers one label everywhere with confidence null).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CorruptModelStateError } from '../errors.js';

/** One file of a save, as the manifest records it. */
export interface FileEntry {
  bytes: number;
  sha256: string;
  /** Shape of a float32 array file (product × 4 = bytes). */
  shape?: number[];
}

/** SHA-256 of bytes, hex. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The byte view of a float array, without copying. */
export function floatBytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Index of the first non-finite value, or -1. */
export function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i] as number)) return i;
  return -1;
}

/** Throws CorruptModelStateError when any value is NaN or infinite. */
export function requireFinite(dir: string, file: string, values: ArrayLike<number>): void {
  const at = firstNonFinite(values);
  if (at >= 0) throw new CorruptModelStateError(dir, file, `value ${at} is ${String(values[at])}: the weights are not finite`);
}

/**
 * Reads one file of a save and checks it against its manifest entry (when the save has checksums).
 * @throws CorruptModelStateError when it is missing, or its size, checksum or shape differ.
 */
export async function readChecked(dir: string, file: string, entry: FileEntry | undefined, expectFloats?: number): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(`${dir}/${file}`);
  } catch (err: unknown) {
    throw new CorruptModelStateError(dir, file, 'is missing or unreadable', { cause: err });
  }
  if (entry !== undefined) {
    if (bytes.byteLength !== entry.bytes)
      throw new CorruptModelStateError(dir, file, `is ${bytes.byteLength} bytes, the manifest says ${entry.bytes} (truncated or replaced)`);
    if (sha256(bytes) !== entry.sha256) throw new CorruptModelStateError(dir, file, 'checksum mismatch: the file changed after it was saved');
  }
  if (expectFloats !== undefined && bytes.byteLength !== expectFloats * 4) {
    throw new CorruptModelStateError(dir, file, `holds ${bytes.byteLength / 4} floats, expected ${expectFloats} for this configuration`);
  }
  return bytes;
}
