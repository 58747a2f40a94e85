import { describe, expect, it } from 'vitest';
import {
  PRICE_REGION,
  PRICES,
  PRICES_READ_ON,
  tieredCost,
  unverifiedPrices,
} from '../../../../tools/cost/prices.ts';

describe('price table', () => {
  const prices = Object.entries(PRICES);

  it('is for us-east-1 and dated', () => {
    expect(PRICE_REGION).toBe('us-east-1');
    expect(PRICES_READ_ON).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(Number.isNaN(Date.parse(PRICES_READ_ON))).toBe(false);
  });

  it.each(prices)(
    '%s has its id, an AWS pricing page as source, the date it was read and a description',
    (id, price) => {
      expect(price.id).toBe(id);
      expect(price.source).toMatch(/^https:\/\/aws\.amazon\.com\/[a-z0-9-]+\/pricing\//);
      expect(price.readOn).toBe(PRICES_READ_ON);
      expect(price.description.length).toBeGreaterThan(5);
      expect(price.service.length).toBeGreaterThan(1);
    },
  );

  it.each(prices)('%s is verified by evidence, or says it was not checked', (_id, price) => {
    if (price.verified) {
      expect(price.evidence.length).toBeGreaterThan(0);
      for (const evidence of price.evidence) expect(evidence).toMatch(/^https:\/\//);
    } else {
      expect(price.note ?? '').toMatch(/not checked/i);
    }
  });

  it.each(prices)('%s has ascending tiers ending unbounded, with non-negative prices', (_id, price) => {
    expect(price.tiers.length).toBeGreaterThan(0);
    expect(price.tiers.at(-1)?.upTo).toBeNull();
    let previous = 0;
    for (const tier of price.tiers.slice(0, -1)) {
      expect(tier.upTo).not.toBeNull();
      expect(tier.upTo ?? 0).toBeGreaterThan(previous);
      previous = tier.upTo ?? 0;
    }
    for (const tier of price.tiers) expect(tier.price).toBeGreaterThanOrEqual(0);
    expect(price.per).toBeGreaterThan(0);
  });

  it('prices tiers cumulatively', () => {
    const rest = PRICES.apigwRestRequests;
    expect(tieredCost(rest, 0)).toBe(0);
    expect(tieredCost(rest, 1_000_000)).toBeCloseTo(3.5, 12);
    expect(tieredCost(rest, 333_000_000)).toBeCloseTo(333 * 3.5, 9);
    expect(tieredCost(rest, 1_000_000_000)).toBeCloseTo(333 * 3.5 + 667 * 2.8, 9);
    expect(tieredCost(rest, 21_000_000_000)).toBeCloseTo(
      333 * 3.5 + 667 * 2.8 + 19_000 * 2.38 + 1_000 * 1.51,
      6,
    );
    const lambda = PRICES.lambdaArmGbSeconds;
    expect(tieredCost(lambda, 1_000)).toBeCloseTo(1_000 * 0.0000133334, 12);
    const sfn = PRICES.sfnExpressDuration;
    expect(tieredCost(sfn, 3600 * 2000)).toBeCloseTo(1000 * 0.06 + 1000 * 0.03, 9);
  });

  it('lists what could not be verified', () => {
    const ids = unverifiedPrices().map((p) => p.id);
    expect(ids).toContain('iotRulesTriggered');
    expect(ids).not.toContain('apigwRestRequests');
  });
});
