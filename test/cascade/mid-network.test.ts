import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MidNetwork, type DenseWeights } from '../../src/cascade/mid-network.js';
import { selectBackend } from '../../src/cascade/tf-backend.js';

const D = 12;
const H = 8;
const K = 3;

function tfjsModel(seed: number): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [D], units: H, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: K, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

function weightsOf(model: tf.LayersModel): DenseWeights {
  const [w1, b1, w2, b2] = model.getWeights().map((t) => (t.dataSync() as Float32Array).slice()) as [Float32Array, Float32Array, Float32Array, Float32Array];
  return { w1, b1, w2, b2 };
}

/** The step as tfjs takes it: softmax cross-entropy on logits + offset, gradients by variableGrads, Adam. */
function tfjsStep(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  inputs: Float32Array,
  labels: number[],
  offsets: Float32Array,
  weights?: number[],
): Float32Array {
  const B = labels.length;
  let dx: Float32Array = new Float32Array(0);
  tf.tidy(() => {
    const x = tf.variable(tf.tensor2d(inputs, [B, D]), true);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), K);
    const offset = tf.tensor2d(offsets, [B, K]);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const w = weights === undefined ? undefined : tf.tensor1d(weights);
    const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, tf.add(model.apply(x) as tf.Tensor, offset), w) as tf.Scalar, [x, ...vars]);
    dx = (grads[x.name] as tf.Tensor).dataSync().slice() as Float32Array;
    delete grads[x.name];
    optimizer.applyGradients(grads);
    x.dispose();
  });
  return dx;
}

describe('MidNetwork', () => {
  beforeAll(async () => {
    await selectBackend('auto');
  });

  it.each([
    ['unweighted', undefined],
    ['weighted, one weight 0', [1, 2.5, 0, 0.5, 1, 3]],
  ])('trains as tfjs does (variableGrads and tf.train.adam), to float32 rounding: %s', (_, weights) => {
    const model = tfjsModel(3);
    const optimizer = tf.train.adam(0.01);
    const network = new MidNetwork(D, weightsOf(model), 0.01);
    let s = 99;
    const uniform = (): number => (s = (s * 16807) % 2147483647) / 2147483647;
    for (let step = 0; step < 5; step++) {
      const B = 6;
      const inputs = Float32Array.from({ length: B * D }, (_, i) => (i % 5 === 0 ? 0 : uniform() * 2 - 1));
      const labels = Array.from({ length: B }, () => Math.floor(uniform() * K));
      const offsets = Float32Array.from({ length: B * K }, () => Math.log(0.1 + uniform()));
      const want = tfjsStep(model, optimizer, inputs, labels, offsets, weights);
      const got = network.trainStep(
        { size: B, inputs, labels: Int32Array.from(labels), offsets, ...(weights === undefined ? {} : { weights: Float32Array.from(weights) }) },
        2,
        7,
      );
      for (let b = 0; b < B; b++) for (let c = 0; c < 5; c++) expect(got[b * 5 + c]).toBeCloseTo(want[b * D + 2 + c] as number, 6);
      const tfjsWeights = weightsOf(model);
      for (const key of ['w1', 'b1', 'w2', 'b2'] as const) {
        tfjsWeights[key].forEach((v, i) => expect(network.weights[key][i]).toBeCloseTo(v, 5));
      }
    }
    const x = Float32Array.from({ length: D }, (_, i) => Math.sin(i));
    const offset = new Float32Array(K);
    const viaTfjs = (model.predict(tf.tensor2d(x, [1, D])) as tf.Tensor).softmax().dataSync();
    const probs = network.predict(x, offset, new Float32Array(K));
    probs.forEach((p, k) => expect(p).toBeCloseTo(viaTfjs[k] as number, 5));
  });

  it('refuses weights that do not fit its shape', () => {
    expect(() => new MidNetwork(D + 1, weightsOf(tfjsModel(1)), 0.01)).toThrow(RangeError);
  });
});
