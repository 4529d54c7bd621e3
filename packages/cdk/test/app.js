// A real TypeScript-style CDK app (aws-cdk-lib from npm) with unsafe tables, for the tests.
// Run on its own (`node test/app.js OUTDIR`) it synthesizes like `cdk synth` runs an app.
const { App, RemovalPolicy, Stack, Stage, Validations } = require('aws-cdk-lib');
const dynamodb = require('aws-cdk-lib/aws-dynamodb');
const { TableSafetyValidator, suppress } = require('../lib');

const ENV = { account: '111111111111', region: 'us-east-1' };
const KEY = { name: 'pk', type: dynamodb.AttributeType.STRING };
const PITR = { pointInTimeRecoveryEnabled: true };

/** The tablesafe command line of the tests: TABLESAFE_COMMAND (a JSON array), else `tablesafe`. */
function tablesafeCommand() {
  return process.env.TABLESAFE_COMMAND ? JSON.parse(process.env.TABLESAFE_COMMAND) : ['tablesafe'];
}

function buildApp(outdir, command = tablesafeCommand()) {
  const app = new App({ outdir, context: { '@aws-cdk/core:enableAdditionalMetadataCollection': true } });
  const shop = new Stack(app, 'Shop', { env: ENV });
  new dynamodb.Table(shop, 'Orders', { partitionKey: KEY }); // TS001, TS003
  new dynamodb.Table(shop, 'Safe', { partitionKey: KEY, pointInTimeRecoverySpecification: PITR, deletionProtection: true });
  const sessions = new dynamodb.Table(shop, 'Sessions', { partitionKey: KEY, pointInTimeRecoverySpecification: PITR });
  suppress(sessions, 'TS003', 'Sessions expire after 24 h anyway', '2030-12-31'); // suppressed: not reported
  new dynamodb.Table(shop, 'Scratch', {
    partitionKey: KEY,
    pointInTimeRecoverySpecification: PITR,
    deletionProtection: true,
    removalPolicy: RemovalPolicy.DESTROY,
  }); // TS004
  new dynamodb.TableV2(shop, 'Global', {
    partitionKey: KEY,
    pointInTimeRecoverySpecification: PITR,
    deletionProtection: true,
    replicas: [{ region: 'eu-west-1', deletionProtection: false }],
  }); // TS003 for the eu-west-1 replica only
  const prod = new Stage(app, 'Prod', { env: ENV }); // a Stage: its own assembly, reached from the App
  new dynamodb.Table(new Stack(prod, 'Svc'), 'Bare', { partitionKey: KEY }); // TS001, TS003
  Validations.of(app).addPlugins(new TableSafetyValidator({ command }));
  return app;
}

module.exports = { buildApp, tablesafeCommand };

if (require.main === module) {
  buildApp(process.argv[2]).synth();
}
