/**
 * The CLI's public surface for the developer tools (tools/cli): the program and the option parsers, so a tool
 * command looks and behaves like a product command. Context, lifecycle and wiring come from src/app.
 */
export { main, createProgram, type CommandRegistrar } from './main.js';
export { parseInteger, parseList, parseNumber } from './commands/options.js';
