/**
 * The CLI's public surface for the developer tools (tools/cli): the program, the root logger, the cascade
 * wiring and the option parsers, so a tool command looks and behaves like a product command.
 */
export { main, createProgram, type CommandRegistrar } from './main.js';
export { createRootLogger, type Logger } from './logger.js';
export { buildCascade, type BuildCascadeOptions, type BuiltCascade } from './build-cascade.js';
export { parseInteger, parseList, parseNumber } from './commands/options.js';
