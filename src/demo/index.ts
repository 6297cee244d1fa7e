/** The built-in demo of `spillway start`: a synthetic review stream and its simulated (keyword-rule) teacher. */
export { demoItems, DEMO_TASK, SimulatedTeacher } from './demo-stream.js';
