import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const datasetsDir = path.resolve(repoRoot, '../shared/datasets');
export const isearPath = path.join(datasetsDir, 'isear.jsonl');
export const hatespeechPath = path.join(datasetsDir, 'hatespeech.jsonl');
export const GPT = 'gpt-3.5-turbo-1106';
export const LLAMA = 'llama-2-70b-chat';

export interface Row {
  id: string;
  text: string;
  label: number;
  llm: Record<string, number>;
}

/** Dataset rows, read from ../shared/datasets (never copied into the repo). */
export function readRows(file: string): Row[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Row);
}
