/** The configuration's generated documentation (a developer tool): see config-docs.ts. */
export { configKeys, fillConfigTables, renderConfigTable, renderExampleYaml, type ConfigKey } from './config-docs.js';
export { CONFIG_DOCS, writeConfigDocs } from './write-config-docs.js';
