/**
 * Scenario files: the format (schema.ts), loading with file:line:col errors (load.ts), overrides
 * applied to the document before validation (overrides.ts), the work guard (work.ts), reading
 * input files with size and encoding checks (read.ts, the only part that touches the file
 * system), and the JSON Schema for editors (json-schema.ts).
 */
export { scenarioJsonSchema } from './json-schema.js';
export {
  applyOverrides,
  ConfigError,
  type ConfigIssue,
  DEFAULT_SEED,
  formatPath,
  formatScenarioError,
  type LoadOptions,
  type LoadResult,
  loadScenario,
  MAX_NESTING_DEPTH,
  MAX_YAML_ALIASES,
  MAX_YAML_TOKENS,
  type ParsedText,
  type PreparedScenario,
  parseConfig,
  parseYamlText,
  prepareScenario,
  type ScenarioError,
  type ScenarioPath,
} from './load.js';
export { applyOverride, overrideLabel, parseSetArgument, type ScenarioOverride } from './overrides.js';
export {
  DEFAULT_MAX_FILE_BYTES,
  decodeInput,
  type ReadResult,
  readInputFile,
} from './read.js';
export {
  ConfigSchema,
  CURRENT_SCENARIO_VERSION,
  SCENARIO_VERSIONS,
  type Scenario,
  type ScenarioInput,
  ScenarioSchema,
  ScenarioSchemaV1,
  type ScenarioV1,
  type ScenarioV1Input,
  type SimConfig,
  type SimConfigInput,
} from './schema.js';
export { formatDuration, formatSize, parseDuration, parseSize } from './units.js';
export { DEFAULT_MAX_WORK, estimateWork, formatCount, type WorkloadWork } from './work.js';
