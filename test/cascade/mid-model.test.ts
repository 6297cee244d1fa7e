import { beforeAll, describe, expect, it } from 'vitest';
import { Featurizer } from '../../src/cascade/featurizer.js';
import { softmaxInto } from '../../src/cascade/logistic-regressor.js';
import { MidModel } from '../../src/cascade/mid-model.js';
import { selectBackend } from '../../src/cascade/tf-backend.js';
import { loadWordVectors } from '../../src/cascade/word-vectors.js';
import { argmax } from '../../src/cascade/stages.js';
import { readLabelledStream } from '../../tools/bench/index.js';
import { EMOTIONS } from '../helpers/paths.js';

const TEACHER = 'gpt-3.5-turbo-1106';

describe('MidModel on the emotions stream', () => {
  beforeAll(async () => {
    await selectBackend('auto');
  });

  it('runs on a non-native tfjs backend here and says which', async () => {
    const info = await selectBackend('auto');
    expect(['wasm', 'cpu', 'tensorflow']).toContain(info.name);
    expect(info.provider).toMatch(/@tensorflow\//);
  });

  it('lowers its loss as it learns and beats chance on held-out items', () => {
    const rows = readLabelledStream(EMOTIONS).filter((r) => (r.llm[TEACHER] ?? -1) >= 0);
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

describe('MidModel on a sentence encoder’s vectors (encoderDim)', () => {
  it('reads the item’s sentence vector instead of GloVe, and refuses an item without one', () => {
    const featurizer = new Featurizer({ dim: 2 ** 18, maxTextChars: 5000 });
    const model = new MidModel({ classes: 3, vectors: loadWordVectors(), encoderDim: 8, seed: 1 });
    expect(model.sentenceDim).toBe(8); // GloVe is not read when an encoder is configured
    expect(model.inputDim).toBe(8 + 32 + 3);
    const features = featurizer.featurize('a text');
    expect(() => model.encode(features)).toThrow(RangeError);
    features.sentence = Float32Array.from({ length: 8 }, (_, j) => (j % 2 === 0 ? 0.5 : -0.5));
    const encoded = model.encode(features);
    expect(Array.from(model.sentenceVector(encoded) ?? [])).toEqual(Array.from(features.sentence));
    // Two classes that only the sentence vector tells apart (same words) are learned.
    const a = { ...featurizer.featurize('same words'), sentence: Float32Array.from({ length: 8 }, (_, j) => (j < 4 ? 1 : 0)) };
    const b = { ...featurizer.featurize('same words'), sentence: Float32Array.from({ length: 8 }, (_, j) => (j < 4 ? 0 : 1)) };
    for (let i = 0; i < 200; i++) {
      model.learn(model.encode(a), 0);
      model.learn(model.encode(b), 2);
    }
    expect(argmax(model.predict(model.encode(a)))).toBe(0);
    expect(argmax(model.predict(model.encode(b)))).toBe(2);
  });

  it('with centreEncoder, feeds vectors minus their running mean, scaled; a peek leaves the mean as it was', () => {
    const featurizer = new Featurizer({ dim: 2 ** 10, maxTextChars: 5000 });
    const model = new MidModel({ classes: 2, encoderDim: 4, centreEncoder: true, encoderScale: 4, seed: 1 });
    const item = (v: number[]) => ({ ...featurizer.featurize('w'), sentence: Float32Array.from(v) });
    // Vectors that share one direction (as e5's do) and differ in a small part.
    const first = model.encode(item([0.9, 0.1, 0, 0]));
    expect(Array.from(model.sentenceVector(first) ?? [])).toEqual([0, 0, 0, 0]); // the mean is the one vector seen
    const second = model.encode(item([0.9, -0.1, 0, 0]));
    // The mean is now [0.9, 0, 0, 0]: what is left is the part that tells the items apart, ×4.
    expect(Array.from(model.sentenceVector(second) ?? []).map((x) => Number(x.toFixed(4)))).toEqual([0, -0.4, 0, 0]);
    const peek = model.encode(item([0.1, 0.1, 0.9, 0]), undefined, false);
    expect(Array.from(model.sentenceVector(peek) ?? []).map((x) => Number(x.toFixed(4)))).toEqual([-3.2, 0.4, 3.6, 0]);
    expect(model.state().sentenceSeen).toBe(2);
    expect(Array.from(model.state().sentenceMean ?? []).map((x) => Number(x.toFixed(4)))).toEqual([0.9, 0, 0, 0]);
  });
});

describe('MidModel inference', () => {
  beforeAll(async () => {
    await selectBackend('auto');
  });

  /** The network as the float32 mirror computed it before: input-major, each partial sum stored as float32. */
  function reference(model: MidModel, input: Float32Array, offset: Float32Array): Float32Array {
    const [w1, b1, w2, b2] = model.model.getWeights().map((t) => t.dataSync() as Float32Array) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const H = b1.length;
    const K = b2.length;
    const h = Float32Array.from(b1);
    input.forEach((xi, i) => {
      if (xi !== 0) for (let j = 0; j < H; j++) h[j] = (h[j] as number) + xi * (w1[i * H + j] as number);
    });
    const z = Array.from({ length: K }, (_, k) => (b2[k] as number) + (offset[k] as number));
    h.forEach((hj, j) => {
      if (hj > 0) for (let k = 0; k < K; k++) z[k] = (z[k] as number) + hj * (w2[j * K + k] as number);
    });
    const out = new Float32Array(K);
    softmaxInto(z, out);
    return out;
  }

  it('gives exactly the probabilities of the float32 input-major forward pass, before and after training', () => {
    const featurizer = new Featurizer({ dim: 2 ** 18, maxTextChars: 500 });
    const model = new MidModel({ classes: 3, seed: 5, hidden: 30, bagDim: 9 });
    const texts = Array.from({ length: 60 }, (_, i) => `text ${i} with words ${'abc'.repeat(i % 5)} and ${i * 7} more`);
    const check = (): void => {
      for (const text of texts) {
        const encoded = model.encode(featurizer.featurize(text), Float32Array.from([0.2, 0.3, 0.5]), false);
        expect(Array.from(model.predict(encoded))).toEqual(Array.from(reference(model, encoded.input, encoded.offset)));
      }
    };
    check();
    texts.forEach((text, i) => model.learn(model.encode(featurizer.featurize(text), Float32Array.from([0.2, 0.3, 0.5])), i % 3));
    expect(model.updates).toBeGreaterThan(0);
    check();
  });
});

describe('MidModel encoding', () => {
  it('sums GloVe vectors and bag rows exactly as word-by-word, row-by-row float32 sums do', () => {
    const vectors = loadWordVectors();
    expect(vectors).toBeDefined();
    const featurizer = new Featurizer({ dim: 2 ** 18, maxTextChars: 500 });
    const model = new MidModel({ classes: 2, vectors, seed: 3 });
    const { bag } = model.state();
    const texts = ['When I lost the person who meant the most to me.', 'zzqx unknownword the the of', '', 'a b c d e f g h i j k l m n o p'];
    for (const text of texts) {
      const features = featurizer.featurize(text);
      const encoded = model.encode(features, undefined, false);
      const glove = new Float32Array(100);
      let weight = 0;
      for (const word of features.words) weight += (vectors as NonNullable<typeof vectors>).addInto(word, glove, 1e-3);
      if (weight > 0) for (let j = 0; j < 100; j++) glove[j] = ((glove[j] as number) * 0.25) / weight;
      expect(Array.from(encoded.input.subarray(0, 100))).toEqual(Array.from(glove));
      const mean = new Float32Array(32);
      for (const r of encoded.rows) for (let j = 0; j < 32; j++) mean[j] = (mean[j] as number) + (bag[r * 32 + j] as number);
      if (encoded.rows.length > 0) for (let j = 0; j < 32; j++) mean[j] = (mean[j] as number) * (1 / encoded.rows.length);
      expect(Array.from(encoded.input.subarray(100, 132))).toEqual(Array.from(mean));
    }
  });
});

describe('MidModel novelty', () => {
  it('is the share of rows whose first squared-gradient sum moved, live and after a restore', async () => {
    await selectBackend('auto');
    const featurizer = new Featurizer({ dim: 2 ** 18, maxTextChars: 500 });
    const options = { classes: 2, seed: 9, bagBuckets: 2 ** 10, bagDim: 8, hidden: 8, trainEvery: 2, batchSize: 4 };
    const model = new MidModel(options);
    const texts = Array.from({ length: 80 }, (_, i) => `w${i % 13} w${(i * 7) % 29} common words ${i % 5}`);
    const reference = (m: MidModel, rows: Uint32Array): number => {
      const { bagGradSquares } = m.state();
      return rows.length === 0 ? 1 : rows.filter((r) => (bagGradSquares[r * 8] as number) <= 1e-2).length / rows.length;
    };
    texts.forEach((text, i) => {
      const encoded = model.encode(featurizer.featurize(text), undefined, false);
      expect(model.novelty(encoded)).toBe(reference(model, encoded.rows));
      if (i % 2 === 0) model.learn(encoded, i % 2);
    });
    expect(model.updates).toBeGreaterThan(5);
    const restored = new MidModel(options, { model: model.model, state: model.state() });
    for (const text of texts) {
      const encoded = restored.encode(featurizer.featurize(text), undefined, false);
      expect(restored.novelty(encoded)).toBe(reference(model, encoded.rows));
    }
  });
});
