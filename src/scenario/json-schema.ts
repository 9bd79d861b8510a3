/**
 * The JSON Schema of the scenario format (`hmmlab schema`), for editors: with it, a YAML or JSON
 * language server completes keys and flags unknown ones while the file is written. It describes
 * the file as written (sizes and durations may be strings); the cross-reference checks (a
 * workload's GPU must exist, ...) are beyond JSON Schema and only the loader makes them.
 */
import { z } from 'zod';
import { CURRENT_SCENARIO_VERSION, ScenarioSchemaV1 } from './schema.js';

/** The JSON Schema (draft 2020-12) of the current scenario format. */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ScenarioSchemaV1, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: `urn:hmmlab:scenario:v${CURRENT_SCENARIO_VERSION}`,
    title: `hmmlab scenario, version ${CURRENT_SCENARIO_VERSION}`,
    ...schema,
  };
}
