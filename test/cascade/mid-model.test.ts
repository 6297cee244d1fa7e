import { beforeAll, describe, expect, it } from 'vitest';
import { Featurizer } from '../../src/cascade/featurizer.js';
import { MidModel } from '../../src/cascade/mid-model.js';
import { selectBackend } from '../../src/cascade/tf-backend.js';
import { loadWordVectors } from '../../src/cascade/word-vectors.js';
import { argmax } from '../../src/cascade/stages.js';
import { readLabelledStream } from '../../tools/bench/index.js';
import { ISEAR } from '../helpers/paths.js';

const TEACHER = 'gpt-3.5-turbo-1106';

describe('MidModel on isear', () => {
  beforeAll(async () => {
    await selectBackend('auto');
  });

  it('runs on a non-native tfjs backend here and says which', async () => {
    const info = await selectBackend('auto');
    expect(['wasm', 'cpu', 'tensorflow']).toContain(info.name);
    expect(info.provider).toMatch(/@tensorflow\//);
  });

  it('lowers its loss as it learns and beats chance on held-out items', () => {
    const rows = readLabelledStream(ISEAR).filter((r) => (r.llm[TEACHER] ?? -1) >= 0);
    const featurizer = new Featurizer({ dim: 2 ** 18, maxTextChars: 5000 });
    const model = new MidModel({ classes: 7, vectors: loadWordVectors(), seed: 1 });
    const encode = (text: string) => model.encode(featurizer.featurize(text));
    const train = rows.slice(0, 2000);
    const test = rows.slice(2000, 2600);
    const logLoss = (): number => {
      let sum = 0;
      for (const r of test) sum -= Math.log(Math.max(model.predict(encode(r.text))[r.llm[TEACHER] as number] as number, 1e-9));
      return sum / test.length;
    };
    const before = logLoss();
    for (const r of train) model.learn(encode(r.text), r.llm[TEACHER] as number);
    const after = logLoss();
    expect(after).toBeLessThan(before - 0.2);
    const agreement = test.filter((r) => argmax(model.predict(encode(r.text))) === r.llm[TEACHER]).length / test.length;
    expect(agreement).toBeGreaterThan(0.35); // chance is 1/7 ≈ 0.14
    expect(model.updates).toBe(train.length / 4);
  });
});
