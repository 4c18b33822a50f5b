// The JSON filter-pattern evaluator, on the documented examples, then the monitor's patterns on recorded-shape CloudTrail events.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { JsonFilterPattern } from './support/filter-pattern';
import {
  DISABLE_OR_SCHEDULE_DELETION_PATTERN,
  PENDING_DELETION_PATTERN,
  POLICY_CHANGE_OR_CANCEL_DELETION_PATTERN,
} from '../../src/monitoring/deletion-patterns';

const fixture = (name: string): string => fs.readFileSync(path.join(__dirname, 'fixtures', `${name}.json`), 'utf8');

// The example events of the CloudWatch Logs guide, "Using filter patterns to match terms in JSON log events".
const DOC_EVENT = JSON.stringify({
  eventType: 'UpdateTrail',
  sourceIPAddress: '111.111.111.111',
  arrayKey: ['value', 'another value'],
  objectList: [
    { name: 'a', id: 1 },
    { name: 'b', id: 2 },
  ],
  SomeObject: null,
  cluster: { name: 'c' },
  ThisFlag: true,
});
const DOC_COMPOUND_EVENT = JSON.stringify({
  user: { id: 1, email: 'John.Stiles@example.com' },
  users: [
    { id: 2, email: 'John.Doe@example.com' },
    { id: 3, email: 'Jane.Doe@example.com' },
  ],
  actions: ['GET', 'PUT', 'DELETE'],
  coordinates: [
    [0, 1],
    [2, 3],
  ],
});
const NUMERIC_EVENT = JSON.stringify({ bandwidth: 80, latency: 40, refreshRate: 60, responseTime: 5, errorCode: 400, number: [0.001, 1000] });

describe('JsonFilterPattern', () => {
  test.each([
    ['{ $.eventType = "UpdateTrail" }', true],
    ['{ $.eventType = "Update*" }', true],
    ['{ $.eventType = "CreateTrail" }', false],
    ['{ $.sourceIPAddress != 123.123.* }', true],
    ['{ $.sourceIPAddress != 111.111.* }', false],
    ['{ $.arrayKey[0] = "value" }', true],
    ['{ $.arrayKey[1] = "value" }', false],
    ['{ $.objectList[1].id = 2 }', true],
    ['{ $.objectList[0].id = 2 }', false],
    ['{ $.SomeObject IS NULL }', true],
    ['{ $.eventType IS NULL }', false],
    ['{ $.SomeOtherObject NOT EXISTS }', true],
    ['{ $.SomeObject NOT EXISTS }', false],
    ['{ $.ThisFlag IS TRUE }', true],
    ['{ $.ThisFlag IS FALSE }', false],
    ['{ $.cluster.name = "c" }', true],
    ['{ $.eventType = %Update[A-Za-z]+% }', true],
    ['{ $.eventType = %^Create% }', false],
  ])('GIVEN the documented example event WHEN %s is evaluated THEN it matches: %s', (pattern, expected) => {
    expect(new JsonFilterPattern(pattern).matches(DOC_EVENT)).toBe(expected);
  });

  test.each([
    ['{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', true],
    ['{ ($.user.id = 2 && $.users[0].email = "John.Doe@example.com") || $.actions[2] = "GET" }', false],
    ['{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch" && $.actions[2] = "nonmatch" }', true],
    ['{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch") && $.actions[2] = "nonmatch" }', false],
    ['{ $.coordinates[1][0] = 2 }', true],
  ])('GIVEN the documented compound example WHEN %s is evaluated THEN it matches: %s', (pattern, expected) => {
    expect(new JsonFilterPattern(pattern).matches(DOC_COMPOUND_EVENT)).toBe(expected);
  });

  test.each([
    ['{ $.bandwidth > 75 }', true],
    ['{ $.latency < 50 }', true],
    ['{ $.refreshRate >= 60 }', true],
    ['{ $.responseTime <= 4 }', false],
    ['{ $.errorCode = 400 }', true],
    ['{ $.errorCode != 500 }', true],
    ['{ $.number[0] = 1e-3 }', true],
    ['{ $.number[1] != 1e+3 }', false],
  ])('GIVEN numeric fields WHEN %s is evaluated THEN it matches: %s', (pattern, expected) => {
    expect(new JsonFilterPattern(pattern).matches(NUMERIC_EVENT)).toBe(expected);
  });

  test('GIVEN a message that is not JSON WHEN a JSON pattern is evaluated THEN it does not match', () => {
    expect(new JsonFilterPattern('{ $.eventType = "UpdateTrail" }').matches('eventType=UpdateTrail')).toBe(false);
  });

  test('GIVEN a malformed pattern WHEN it is compiled THEN it is rejected with the offset', () => {
    expect(() => new JsonFilterPattern('{ $.eventType "UpdateTrail" }')).toThrow(/expected a comparison operator.*offset 14/);
    expect(() => new JsonFilterPattern('{ ($.a = 1 }')).toThrow(/expected '\)'/);
  });
});

describe('KeyDeletionMonitor filter patterns', () => {
  const events = {
    pendingDeletion: fixture('decrypt-pending-deletion'),
    decryptOk: fixture('decrypt-success'),
    decryptDisabled: fixture('decrypt-disabled'),
    disableKey: fixture('disable-key'),
    scheduleDeletion: fixture('schedule-key-deletion'),
    putKeyPolicy: fixture('put-key-policy'),
    cancelDeletion: fixture('cancel-key-deletion'),
  };
  const matching = (pattern: string): string[] =>
    Object.entries(events)
      .filter(([, message]) => new JsonFilterPattern(pattern).matches(message))
      .map(([name]) => name);

  test('GIVEN CloudTrail KMS events WHEN the pending-deletion pattern is applied THEN only the Decrypt failing on a key pending deletion matches', () => {
    expect(matching(PENDING_DELETION_PATTERN)).toEqual(['pendingDeletion']);
  });

  test('GIVEN CloudTrail KMS events WHEN the CIS pattern is applied THEN DisableKey and ScheduleKeyDeletion match, nothing else', () => {
    expect(matching(DISABLE_OR_SCHEDULE_DELETION_PATTERN)).toEqual(['disableKey', 'scheduleDeletion']);
  });

  test('GIVEN CloudTrail KMS events WHEN the policy-change pattern is applied THEN PutKeyPolicy and CancelKeyDeletion match, nothing else', () => {
    expect(matching(POLICY_CHANGE_OR_CANCEL_DELETION_PATTERN)).toEqual(['putKeyPolicy', 'cancelDeletion']);
  });

  test('GIVEN the failure worded by key state WHEN the pending-deletion pattern is applied THEN it matches, and other states do not', () => {
    const byState = (state: string) =>
      JSON.stringify({ ...JSON.parse(events.pendingDeletion), errorMessage: `The request was rejected because the key state is ${state}.` });
    expect(new JsonFilterPattern(PENDING_DELETION_PATTERN).matches(byState('PendingDeletion'))).toBe(true);
    expect(new JsonFilterPattern(PENDING_DELETION_PATTERN).matches(byState('PendingImport'))).toBe(false);
    expect(new JsonFilterPattern(PENDING_DELETION_PATTERN).matches(byState('Disabled'))).toBe(false);
  });

  test('GIVEN the pending-deletion message WHEN matched without the leading wildcard THEN it does not match (the key ARN leads the message)', () => {
    const anchored = PENDING_DELETION_PATTERN.replace('"* is pending deletion."', '"is pending deletion."').replace('"*PendingDeletion*"', '"PendingDeletion"');
    expect(new JsonFilterPattern(anchored).matches(events.pendingDeletion)).toBe(false);
  });

  test('GIVEN the same event names from another service WHEN the patterns are applied THEN nothing matches', () => {
    const foreign = JSON.stringify({ ...JSON.parse(events.disableKey), eventSource: 'example.amazonaws.com' });
    const foreignError = JSON.stringify({ ...JSON.parse(events.pendingDeletion), eventSource: 'example.amazonaws.com' });
    for (const pattern of [PENDING_DELETION_PATTERN, DISABLE_OR_SCHEDULE_DELETION_PATTERN, POLICY_CHANGE_OR_CANCEL_DELETION_PATTERN]) {
      expect(new JsonFilterPattern(pattern).matches(foreign)).toBe(false);
      expect(new JsonFilterPattern(pattern).matches(foreignError)).toBe(false);
    }
  });

  test('GIVEN the CIS AWS Foundations KMS filter WHEN compared with the monitor pattern THEN it is the same text, character for character', () => {
    // Security Hub CloudWatch.7 compares the pattern text, so formatting is part of the contract.
    expect(DISABLE_OR_SCHEDULE_DELETION_PATTERN).toBe(
      '{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion))}',
    );
  });
});
