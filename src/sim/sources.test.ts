// Every measured or published number of every built-in profile names where it is written (an
// http(s) URL) and what is written there (the value, as the source writes it): citationProblem.
import { describe, expect, it } from 'vitest';
import { type CostParameter, citationProblem, PROFILES, profileNames } from './costs.js';

describe('citations of the built-in profiles', () => {
  for (const name of profileNames()) {
    it(`${name}: every measured or published parameter has a URL and states its value`, () => {
      const problems = Object.values(PROFILES[name].parameters)
        .map(citationProblem)
        .filter((m) => m !== undefined);
      expect(problems).toEqual([]);
    });
  }
});

describe('citationProblem', () => {
  const base: CostParameter = {
    name: 'iommuFlushQueueEntries',
    group: 'dma-iommu',
    value: 256,
    unit: 'count',
    kind: 'published',
    conditions: 'entries per CPU queue (256)',
    source:
      "Linux dma-iommu.c, quote: '#define IOVA_DEFAULT_FQ_SIZE 256', https://github.com/torvalds/linux/blob/master/drivers/iommu/dma-iommu.c",
  };

  it('accepts a URL and the value in the source', () => {
    expect(citationProblem(base)).toBeUndefined();
  });

  it('fails a source without a URL (the old newsletter-style citation planted)', () => {
    expect(
      citationProblem({ ...base, source: "dma-iommu.c, quote: '#define IOVA_DEFAULT_FQ_SIZE 256'" }),
    ).toMatch(/no http\(s\) URL/);
  });

  it('fails a value the source does not state, even when conditions state it', () => {
    // The misapplied value: 250 is the 2008 intel-iommu queue, not what dma-iommu.c says.
    const planted = { ...base, value: 250, conditions: 'entries before a flush (250)' };
    expect(citationProblem(planted)).toMatch(
      /does not state|neither its source nor its note states the value 250/,
    );
  });

  it('does not take a longer number for the value', () => {
    expect(citationProblem({ ...base, value: 25 })).toMatch(/states the value 25 /);
    expect(citationProblem({ ...base, value: 2.56 })).toMatch(/states the value 2.56 /);
  });

  it('accepts a scaled unit only when the unit follows the number', () => {
    const ns: CostParameter = {
      ...base,
      name: 'iommuFlushQueueTimeoutNs',
      unit: 'ns',
      value: 10_000_000,
      source: 'a 10 ms timeout, https://example.org/x',
    };
    expect(citationProblem(ns)).toBeUndefined();
    expect(citationProblem({ ...ns, source: 'timeout 10, https://example.org/x' })).toMatch(
      /states the value/,
    );
    const bytes: CostParameter = {
      ...base,
      name: 'bar1ApertureBytes',
      unit: 'B',
      value: 128 * 1024 ** 3,
      source: 'Total : 131072 MiB, https://example.org/x',
    };
    expect(citationProblem(bytes)).toBeUndefined();
    const bw: CostParameter = {
      ...base,
      name: 'deviceMemoryBandwidth',
      unit: 'GB/s',
      value: 2000,
      source: 'https://example.org/x',
      note: 'greater than 2,000 gigabytes per second; 2 TB/s',
    };
    expect(citationProblem(bw)).toBeUndefined();
    expect(citationProblem({ ...bw, value: 3350 })).toMatch(/states the value 3,350/);
  });

  it('leaves derived and assumed numbers to their schema-checked prefixes', () => {
    expect(citationProblem({ ...base, kind: 'assumed', source: 'assumption: none' })).toBeUndefined();
    expect(citationProblem({ ...base, kind: 'derived', source: 'derived: 2 x 128' })).toBeUndefined();
  });
});
