import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { scenarioJsonSchema } from '../../src/scenario/json-schema.js';

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: unknown;
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
  const?: unknown;
  enum?: unknown[];
  pattern?: string;
};

/** Every object schema in `s`. */
function objects(s: Schema, out: Schema[] = []): Schema[] {
  if (s.type === 'object' && s.properties) out.push(s);
  for (const p of Object.values(s.properties ?? {})) objects(p, out);
  if (s.items) objects(s.items, out);
  for (const o of [...(s.oneOf ?? []), ...(s.anyOf ?? [])]) objects(o, out);
  return out;
}

/** A small JSON Schema check, enough for the shapes the scenario schema uses. */
function conforms(s: Schema, v: unknown, path = ''): string[] {
  if (s.oneOf) {
    const fits = s.oneOf.filter((o) => conforms(o, v, path).length === 0);
    return fits.length === 1 ? [] : [`${path}: ${fits.length} oneOf branches fit`];
  }
  if (s.anyOf)
    return s.anyOf.some((o) => conforms(o, v, path).length === 0) ? [] : [`${path}: no anyOf fits`];
  if (s.const !== undefined && v !== s.const) return [`${path}: not ${String(s.const)}`];
  if (s.enum && !s.enum.includes(v)) return [`${path}: not in enum`];
  if (s.type === 'string' && s.pattern && !new RegExp(s.pattern, 'u').test(String(v)))
    return [`${path}: pattern`];
  if (s.type === 'object' && typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    const errs: string[] = [];
    for (const r of s.required ?? []) if (!(r in o)) errs.push(`${path}.${r}: required`);
    for (const [k, x] of Object.entries(o)) {
      const p = s.properties?.[k];
      if (p) errs.push(...conforms(p, x, `${path}.${k}`));
      else if (s.additionalProperties === false) errs.push(`${path}.${k}: additional`);
    }
    return errs;
  }
  if (s.type === 'array' && Array.isArray(v) && s.items)
    return v.flatMap((x, i) => conforms(s.items!, x, `${path}[${i}]`));
  return [];
}

describe('scenarioJsonSchema', () => {
  const schema = scenarioJsonSchema() as Schema & Record<string, unknown>;

  it('is JSON (draft 2020-12) with an id and a title', () => {
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe('urn:hmmlab:scenario:v1');
    expect(schema.properties!.version!.const).toBe(1);
    expect(schema.required).toEqual(expect.arrayContaining(['version', 'profile', 'buffers', 'workloads']));
  });

  it('closes every object: editors flag unknown keys as the loader does', () => {
    const all = objects(schema);
    expect(all.length).toBeGreaterThan(10);
    for (const o of all) expect(o.additionalProperties).toBe(false);
  });

  it('sizes accept numbers or strings with a unit', () => {
    const vram = schema.properties!.devices!.properties!.gpus!.items!.properties!.vram!;
    expect(vram.anyOf?.map((b) => b.type)).toEqual(['integer', 'string']);
    expect(new RegExp(vram.anyOf![1]!.pattern!, 'u').test('12.8GiB')).toBe(true);
    expect(new RegExp(vram.anyOf![1]!.pattern!, 'u').test('12.8GB')).toBe(false);
  });

  it('every scenario file conforms to it', () => {
    const dirs = [join(import.meta.dirname, '../../scenarios'), join(import.meta.dirname, 'fixtures')];
    for (const dir of dirs) {
      for (const f of readdirSync(dir).filter((x) => /\.(ya?ml|json)$/.test(x))) {
        const data = parse(readFileSync(join(dir, f), 'utf8')) as unknown;
        expect(conforms(schema, data), f).toEqual([]);
      }
    }
  });
});
