/**
 * Scenario files: the format (schema.ts), loading with file:line:col errors (load.ts), and the
 * JSON Schema for editors (json-schema.ts).
 */
export { scenarioJsonSchema } from './json-schema.js';
export {
  DEFAULT_SEED,
  formatPath,
  formatScenarioError,
  type LoadResult,
  loadScenario,
  type ScenarioError,
  type ScenarioPath,
  toSimConfig,
} from './load.js';
export {
  CURRENT_SCENARIO_VERSION,
  SCENARIO_VERSIONS,
  type Scenario,
  type ScenarioInput,
  ScenarioSchema,
  ScenarioSchemaV1,
  type ScenarioV1,
  type ScenarioV1Input,
} from './schema.js';
export { formatDuration, formatSize, parseDuration, parseSize } from './units.js';
