/** The executor's public surface for the controller and the CLI. */
export * from './agent-id.js';
export * from './env.js';
export * from './executor.js';
export * from './metadata.js';
export * from './rc.js';
export * from './recurring.js';
export * from './resolve.js';
export * from './run.js';
