/** Small statistics shared by the monitor and the cascade: the Wilson score interval of a proportion. */
export { wilsonInterval, Z_95, type WilsonInterval } from './wilson.js';
