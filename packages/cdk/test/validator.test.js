// Node's test runner: `npm test` (tsc, then node --test). The apps are real CDK apps
// synthesized with aws-cdk-lib from npm; tablesafe runs as TABLESAFE_COMMAND says.
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { mkdtempSync, readdirSync, readFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { test } = require('node:test');
const { App, Duration, Stack } = require('aws-cdk-lib');
const dynamodb = require('aws-cdk-lib/aws-dynamodb');
const { INSTALL_HINT, NOT_CHECKED, RULE_SLUGS, TableSafetyValidator, suppress } = require('../lib');
const { buildApp, tablesafeCommand } = require('./app');

const APP = join(__dirname, 'app.js');
// In-process synths throw with the report (as under a unit-test runner), whatever runs these tests.
process.env.CDK_APP_MODE = 'inmemory';
// tablesafe looks for .tablesafe.yaml and tablesafe.lock.json from the working directory up:
// none of the checkout's may apply to these apps.
process.chdir(mkdtempSync(join(tmpdir(), 'tablesafe-cwd-')));
const outdir = (name) => mkdtempSync(join(tmpdir(), `tablesafe-${name}-`));

/** One plugin's report in the validation-report.json that CDK writes into the assembly. */
function pluginReport(directory, plugin = 'tablesafe') {
  const report = JSON.parse(readFileSync(join(directory, 'validation-report.json'), 'utf8'));
  const ours = report.pluginReports.find((p) => p.pluginName === plugin);
  assert.ok(ours, `no ${plugin} report in ${JSON.stringify(report.pluginReports.map((p) => p.pluginName))}`);
  return ours;
}

test('the validator reports every unsafe table of the app and its stages, with message and fix', () => {
  const directory = outdir('report');
  assert.throws(() => buildApp(directory).synth(), /\[TS004 removal-policy-not-retain\]/);
  const report = pluginReport(directory);
  assert.equal(report.conclusion, 'failure');
  const found = report.violations.map((v) => `${v.ruleName} ${v.violatingConstructs.map((c) => c.constructPath).join(',')}`);
  assert.deepEqual(found.sort(), [
    'TS001 Prod/Svc/Bare/Resource',
    'TS001 Shop/Orders/Resource',
    'TS003 Prod/Svc/Bare/Resource',
    'TS003 Shop/Global/Resource',
    'TS003 Shop/Orders/Resource',
    'TS004 Shop/Scratch/Resource',
  ]);
  const replica = report.violations.find((v) => v.violatingConstructs[0].constructPath === 'Shop/Global/Resource');
  assert.match(replica.description, /^\[TS003 deletion-protection-missing\] Replica eu-west-1: /);
  assert.equal(replica.severity, 'error');
  assert.match(replica.suggestedFix, /eu-west-1/);
  // the fix carries its TypeScript code, as `tablesafe check` prints it, and no Python
  const bare = report.violations.find((v) => v.ruleName === 'TS003' && v.violatingConstructs[0].constructPath === 'Prod/Svc/Bare/Resource');
  assert.equal(
    bare.suggestedFix,
    'Enable deletion protection on Prod/Svc/Bare in stack Prod-Svc.\nCDK TypeScript:\n' +
      '  // Prod/Svc/Bare in stack Prod-Svc: set in new dynamodb.Table(this, "Bare", { ... })\n  deletionProtection: true,',
  );
  const orders = report.violations.find((v) => v.ruleName === 'TS001' && v.violatingConstructs[0].constructPath === 'Shop/Orders/Resource');
  assert.deepEqual(Object.keys(orders.violatingConstructs[0].cloudFormationResource), ['templatePath', 'logicalId']);
  assert.equal(orders.violatingConstructs[0].cloudFormationResource.templatePath, 'Shop.template.json');
  assert.match(orders.violatingConstructs[0].cloudFormationResource.logicalId, /^Orders[0-9A-F]{8}$/);
});

test('synthesizing the app as a process fails with the report on stderr', () => {
  const run = spawnSync(process.execPath, [APP, outdir('process')], { encoding: 'utf8', env: { ...process.env, CDK_APP_MODE: 'process' } });
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /\[TS001 pitr-missing\] Point-in-time recovery is not enabled/);
  assert.match(run.stderr, /Replica eu-west-1/);
});

test('a missing tablesafe fails the synth with one fatal violation saying how to install it', () => {
  const directory = outdir('missing');
  assert.throws(() => buildApp(directory, ['tablesafe-not-installed-here']).synth(), /tablesafe-not-installed-here was not found/);
  const report = pluginReport(directory);
  assert.equal(report.conclusion, 'failure');
  assert.equal(report.violations.length, 1);
  const [notChecked] = report.violations;
  assert.equal(notChecked.ruleName, NOT_CHECKED);
  assert.equal(notChecked.severity, 'fatal'); // no acknowledgment can silence it
  assert.equal(notChecked.description, `tablesafe-not-installed-here was not found; ${INSTALL_HINT}`);
  assert.equal(notChecked.violatingConstructs.length, 1); // a violation without one is not printed by the CDK CLI
});

test('the timeout is a positive duration, 120 s unless set', () => {
  assert.throws(() => new TableSafetyValidator({ timeout: Duration.seconds(0) }), /timeout must be a positive duration/);
  assert.doesNotThrow(() => new TableSafetyValidator({ timeout: Duration.millis(1500) }));
});

test('the package loads no aws-cdk-lib or constructs of its own: the app\'s copy is used', () => {
  const lib = join(__dirname, '..', 'lib');
  for (const file of readdirSync(lib).filter((name) => name.endsWith('.js'))) {
    const required = [...readFileSync(join(lib, file), 'utf8').matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    assert.deepEqual(required.filter((name) => !name.startsWith('./') && !name.startsWith('node:')), [], file);
  }
});

test('suppress() writes the Metadata the Python helper writes, and refuses what would be ignored', () => {
  const stack = new Stack(new App(), 'Refusals');
  const table = new dynamodb.Table(stack, 'T', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
  assert.throws(() => suppress(table, 'TS003', 'because'), /at least 10 characters/);
  assert.throws(() => suppress(table, 'TS003', 'a long enough reason', 'next year'), /date like 2027-01-31/);
  assert.throws(() => suppress(table, 'TS003', 'a long enough reason', '2027-02-30'), /date like 2027-01-31/);
  assert.throws(() => suppress(table, 'TS999', 'a long enough reason'), /not a tablesafe rule/);
  assert.throws(() => suppress(stack, 'TS003', 'a long enough reason'), /not a DynamoDB table/);
  suppress(table, 'TS003', 'first reason, replaced below');
  suppress(table.node.defaultChild, 'deletion-protection-missing', '  the reason that stays ', '2027-01-31');
  suppress(table, 'pitr-missing', 'Waiting for the backup budget');
  assert.deepEqual(table.node.defaultChild.getMetadata('tablesafe'), {
    suppress: [
      { id: 'TS003', reason: 'the reason that stays', expires: '2027-01-31' },
      { id: 'TS001', reason: 'Waiting for the backup budget' },
    ],
  });
});

test('the rule ids and slugs are those of tablesafe rules', () => {
  const [program, ...leading] = tablesafeCommand();
  const run = spawnSync(program, [...leading, 'rules', '--format', 'json'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const listed = JSON.parse(run.stdout);
  const rules = Array.isArray(listed) ? listed : listed.rules;
  assert.deepEqual(Object.fromEntries(rules.map((r) => [r.id, r.slug])), RULE_SLUGS);
});
